"""The layers an MLP is made of: Linear, the activations, Sequential, and MLP itself.

    G = tg.nn.MLP(2, [128, 128], 2, generator=tg.Generator(seed=0))      # z (batch, 2) -> x (batch, 2)
    D = tg.nn.Sequential(tg.nn.Linear(2, 64), tg.nn.LeakyReLU(0.2), tg.nn.Linear(64, 1))
    list(G.named_parameters())   # [('net.0.weight', Parameter ...), ('net.0.bias', ...), ...]

Each layer's forward is a line or two of tinygan ops: the gradients come from the ops themselves.
"""

import math

from .. import init, ops
from ..factories import zeros
from . import functional
from .activations import ELU, LeakyReLU, Sigmoid, Tanh
from .module import Module, Parameter

# ---------------------------------------------------------------------------------------------------------------
# layers
# ---------------------------------------------------------------------------------------------------------------


class Linear(Module):
    """y = x @ weight^T + bias, with weight (out_features, in_features) and bias (out_features,).

    Default initialisation as PyTorch's: weight ~ kaiming_uniform(a=sqrt(5)), which is U(-1/sqrt(in), 1/sqrt(in)),
    and bias ~ U(-1/sqrt(in), 1/sqrt(in)). Draws come from ``generator`` (a CPU tg.Generator; the default one when
    None), so a seed gives the same weights on either device.
    """

    def __init__(self, in_features, out_features, bias=True, *, generator=None, dtype=None, device=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(_zeros((out_features, in_features), dtype, device))
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if bias:
            bound = 1.0 / math.sqrt(in_features) if in_features > 0 else 0.0
            self.bias = Parameter(_zeros((out_features,), dtype, device))
            init.uniform_(self.bias, -bound, bound, generator=generator)
        else:
            self.bias = None

    def forward(self, x):
        return functional.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def _zeros(shape, dtype, device):
    return zeros(*shape, dtype=dtype, device=device)


class Sequential(Module):
    """Modules applied one after the other: Sequential(a, b, c)(x) = c(b(a(x))). Children are named "0", "1"..."""

    def __init__(self, *modules):
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: item {index} is a {type(module).__name__}, not a Module")
            setattr(self, str(index), module)

    def named_children(self):
        """Its layers "0", "1", ... in order: a Sequential holds nothing else."""
        return [(name, value) for name, value in vars(self).items() if isinstance(value, Module)]

    def __len__(self):
        return len(self.named_children())

    def __getitem__(self, index):
        children = list(self.children())
        if isinstance(index, slice):
            return Sequential(*children[index])  # model[:-1] is a model too, as in PyTorch
        return children[index]

    def __iter__(self):
        return iter(list(self.children()))

    def forward(self, x):
        for module in self:
            x = module(x)
        return x


class ReLU(Module):
    """max(x, 0). (PyTorch's inplace=True is accepted; the result is computed out of place, the same values.)"""

    def __init__(self, inplace=False):
        super().__init__()

    def forward(self, x):
        return ops.relu(x)


ACTIVATIONS = {
    "relu": ReLU,
    "leaky_relu": lambda: LeakyReLU(0.2),  # the GAN convention (DCGAN), not PyTorch's 0.01 default
    "tanh": Tanh,
    "elu": ELU,
    "sigmoid": Sigmoid,
}


def make_activation(name):
    """A new activation module from its name: relu, leaky_relu (slope 0.2), tanh, elu, sigmoid."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class MLP(Module):
    """A multilayer perceptron: Linear layers of widths in_features -> hidden... -> out_features, with
    ``activation`` after every hidden layer and ``output_activation`` (or none) after the last.

        tg.nn.MLP(2, [128, 128], 1, activation="leaky_relu")   # a toy-GAN discriminator giving logits
    """

    def __init__(self, in_features, hidden, out_features, activation="relu", output_activation=None, *,
                 generator=None, dtype=None, device=None):
        super().__init__()
        for name in (activation, output_activation):
            if name is not None and name not in ACTIVATIONS:
                raise ValueError(f"MLP: unknown activation {name!r}; choose from {sorted(ACTIVATIONS)}")
        if isinstance(hidden, int):
            hidden = [hidden]   # one hidden layer: MLP(2, 64, 1)
        if not all(isinstance(width, int) and width > 0 for width in hidden):
            raise ValueError(f"MLP: hidden must be a list of positive layer widths (or one width), got {hidden!r}")
        widths = [in_features, *hidden, out_features]
        layers = []
        for index, (width_in, width_out) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(Linear(width_in, width_out, generator=generator, dtype=dtype, device=device))
            if index < len(widths) - 2:
                layers.append(make_activation(activation))
        if output_activation is not None:
            layers.append(make_activation(output_activation))
        self.net = Sequential(*layers)

    def forward(self, x):
        return self.net(x)
