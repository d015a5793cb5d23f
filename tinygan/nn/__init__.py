"""Neural-network building blocks, shaped like torch.nn: Parameter, Module, Linear, Sequential, MLP, activations,
LayerNorm; ``tg.nn.init`` (initializers) and ``tg.nn.utils`` (spectral_norm, gradient and weight clipping).

    G = tg.nn.MLP(2, [128, 128], 2, generator=tg.Generator(seed=0))
    x = G(tg.randn(64, 2))
    list(G.named_parameters())   # [('net.0.weight', Parameter ...), ('net.0.bias', ...), ...]

A Module finds its parameters, buffers and submodules by looking at its attributes (also inside lists, tuples and
dicts), in the order they were assigned: there is nothing to register except buffers, the non-trainable tensors
that belong in a state dict (register_buffer).
"""

import math

from .. import backend
from .. import init
from .. import ops
from ..autograd import no_grad
from ..tensor import Tensor, tensor, zeros_like

# ---------------------------------------------------------------------------------------------------------------
# Parameter and Module
# ---------------------------------------------------------------------------------------------------------------


class Parameter(Tensor):
    """A Tensor that is a trainable part of a Module: requires grad, and is found by Module.parameters().

    Parameter(t) shares t's data (as in PyTorch); Parameter(numpy_array or list) makes a new tensor.
    """

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        source = data if isinstance(data, Tensor) else tensor(data)
        self.data = source.data
        self.grad = None
        self.grad_fn = None
        self.output_nr = 0
        self._version = source._version
        self._requires_grad = False
        self.requires_grad = requires_grad

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


def _members(name, value):
    """(dotted name, value) for the Parameters, Tensors and Modules in ``value``, opening lists, tuples, dicts."""
    if isinstance(value, (Module, Tensor)):
        yield name, value
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _members(f"{name}.{index}", item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _members(f"{name}.{key}", item)


class Module:
    """Base class of every layer and model. Subclasses set parameters and submodules as attributes in __init__
    (after calling super().__init__()) and define forward(); calling the module calls forward."""

    def __init__(self):
        self.training = True
        self._buffer_names = []

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def register_buffer(self, name, value):
        """Keep a tensor that is state but not trained (a running estimate, say) as attribute ``name``: it goes
        into state_dict() and moves with to(), but parameters() leaves it out."""
        if not isinstance(value, Tensor) or isinstance(value, Parameter):
            raise TypeError(f"register_buffer: {name!r} must be a plain Tensor (not a Parameter)")
        if name not in self._names_of_buffers():
            self._buffer_names.append(name)
        setattr(self, name, value)

    def _names_of_buffers(self):
        return self.__dict__.get("_buffer_names", [])

    # -- discovery ---------------------------------------------------------------------------------------

    def _own_members(self):
        """(name, value) for this module's own attributes that are Parameters, buffers or Modules."""
        buffers = self._names_of_buffers()
        for name, value in vars(self).items():
            if isinstance(value, Module):  # the usual members, without opening anything
                yield name, value
                continue
            if not isinstance(value, (Tensor, list, tuple, dict)):
                continue  # a number, a string, a flag: nothing to find in it
            for member_name, member in _members(name, value):
                if isinstance(member, Parameter) or isinstance(member, Module):
                    yield member_name, member
                elif isinstance(member, Tensor) and member_name in buffers:
                    yield member_name, member

    def named_children(self):
        """(name, submodule) for the modules directly inside this one."""
        for name, member in self._own_members():
            if isinstance(member, Module):
                yield name, member

    def children(self):
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix="", _seen=None):
        """(dotted name, module) for this module ("") and every module inside it, depth first; a module used in
        two places is listed once."""
        seen = set() if _seen is None else _seen
        if id(self) in seen:
            return
        seen.add(id(self))
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name, seen)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def _named_tensors(self, want_parameters):
        seen = set()
        for module_name, module in self.named_modules():
            buffers = set(module._names_of_buffers())
            for name, member in module._own_members():
                is_parameter = isinstance(member, Parameter)
                is_buffer = not is_parameter and isinstance(member, Tensor) and name in buffers
                if (want_parameters and is_parameter) or (not want_parameters and is_buffer):
                    if id(member) not in seen:  # a tensor shared by two layers is listed once
                        seen.add(id(member))
                        yield (f"{module_name}.{name}" if module_name else name), member

    def named_parameters(self):
        """(dotted name, Parameter) for every parameter, in a stable order: each module's own parameters in the
        order they were assigned, then its submodules' (PyTorch's order)."""
        return self._named_tensors(want_parameters=True)

    def parameters(self):
        for _, parameter in self.named_parameters():
            yield parameter

    def named_buffers(self):
        return self._named_tensors(want_parameters=False)

    def buffers(self):
        for _, buffer in self.named_buffers():
            yield buffer

    # -- training state ----------------------------------------------------------------------------------

    def zero_grad(self, set_to_none=True):
        """Forget the parameters' gradients (set them to None, or to zeros with set_to_none=False)."""
        for parameter in self.parameters():
            if set_to_none or parameter.grad is None:
                parameter.grad = None
            else:  # fresh zeros (multiplying by 0 would keep NaN and inf)
                parameter.grad = zeros_like(parameter.grad)

    def train(self, mode=True):
        """Put this module and every module inside it in training mode (or evaluation mode with mode=False)."""
        for module in self.modules():
            module.training = mode
        return self

    def eval(self):
        return self.train(False)

    def to(self, target):
        """Move every parameter and buffer (and gradient) to a device ("cpu", "cuda") or convert it to a dtype,
        in place; returns self."""
        to_dtype = not backend.is_device_spec(target)
        with no_grad():
            for member in list(self.parameters()) + list(self.buffers()):
                if to_dtype and not backend.is_floating(member.dtype):
                    continue  # a dtype applies to float tensors; integer buffers (counts, indices) stay as they are
                member.data = member.detach().to(target).data
                member._version[0] += 1
                if member.grad is not None:
                    member.grad = member.grad.detach().to(target)
        return self

    def float(self):
        return self.to(backend.float32)

    def double(self):
        return self.to(backend.float64)

    # -- state dicts -------------------------------------------------------------------------------------

    def state_dict(self):
        """{dotted name: tensor} for every parameter and buffer. The tensors share memory with the module
        (detached): save them with tg.save, or copy them before changing the model if you need the old values."""
        state = {}
        for name, member in list(self.named_parameters()) + list(self.named_buffers()):
            state[name] = member.detach()
        return state

    def load_state_dict(self, state_dict, strict=True):
        """Copy values from ``state_dict`` into this module's parameters and buffers.

        Everything is checked before anything is copied, so a failed load leaves the module unchanged: every
        shape and dtype must match, and with strict=True the keys must match exactly (a KeyError lists the
        missing and unexpected keys). Returns (missing_keys, unexpected_keys).
        """
        source = getattr(state_dict, "source", None)
        where = f" from {source}" if source else ""
        own = dict(list(self.named_parameters()) + list(self.named_buffers()))
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict{where} into {type(self).__name__}: missing keys {missing}, "
                           f"unexpected keys {unexpected}")
        for name, target in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            if not isinstance(value, Tensor):
                raise TypeError(f"load_state_dict{where}: {name!r} is a {type(value).__name__}, not a Tensor")
            if value.shape != target.shape:
                raise ValueError(f"load_state_dict{where}: {name!r} has shape {tuple(value.shape)} in the state "
                                 f"dict but {tuple(target.shape)} in {type(self).__name__}")
            if value.dtype != target.dtype:
                raise TypeError(f"load_state_dict{where}: {name!r} is {value.dtype} in the state dict but "
                                f"{target.dtype} in {type(self).__name__}; convert the model with .to(dtype) "
                                f"first (no silent conversion)")
        with no_grad():
            for name, target in own.items():
                if name in state_dict:
                    target.copy_(state_dict[name].to(target.device))
        return missing, unexpected

    # -- printing ----------------------------------------------------------------------------------------

    def extra_repr(self):
        """The text inside the parentheses of this module's repr line (layer sizes, say)."""
        return ""

    def __repr__(self):
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        if self.extra_repr():
            lines.append(f"  {self.extra_repr()}")
        for name, child in children:
            child_text = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_text}")
        lines.append(")")
        return "\n".join(lines)


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
        return ops.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def _zeros(shape, dtype, device):
    return tensor(backend.as_device(device).xp.zeros(shape, dtype=backend.as_dtype(dtype)))


class Sequential(Module):
    """Modules applied one after the other: Sequential(a, b, c)(x) = c(b(a(x))). Children are named "0", "1"..."""

    def __init__(self, *modules):
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: item {index} is a {type(module).__name__}, not a Module")
            setattr(self, str(index), module)

    def named_children(self):
        # A Sequential's children are its module attributes "0", "1", ... (in the order they were set): read
        # straight from the instance dict, which is quicker than Module's general search (forward runs this).
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
        modules = [module for _, module in self.named_children()]
        index = 0
        while index < len(modules):
            module = modules[index]
            following = modules[index + 1] if index + 1 < len(modules) else None
            if _is_linear_then_relu(module, following):
                x = ops.linear_relu(x, module.weight, module.bias)  # fast path: the pair as one graph node
                index += 2
            else:
                x = module(x)
                index += 1
        return x


def _is_linear_then_relu(module, following):
    """True for a plain Linear followed by a plain ReLU, which Sequential runs as one fused graph node
    (ops.linear_relu, the same numbers with half the graph). Subclasses and modules given their own forward
    are run as they are, since they may compute something else."""
    return (type(module) is Linear and type(following) is ReLU
            and "forward" not in vars(module) and "forward" not in vars(following))


class ReLU(Module):
    """max(x, 0)."""

    def forward(self, x):
        return ops.relu(x)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x (PyTorch's default slope 0.01; GAN discriminators often use 0.2)."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return ops.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    """tanh(x)."""

    def forward(self, x):
        return ops.tanh(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x)). For losses, keep logits and use softplus/logsigmoid instead."""

    def forward(self, x):
        return ops.sigmoid(x)


class ELU(Module):
    """x if x > 0 else alpha * (exp(x) - 1)."""

    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return ops.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


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


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, the statistics taken over the last axes
    (normalized_shape), per sample. The WGAN-GP paper recommends it over batch norm in critics, since a
    gradient penalty is taken per sample."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, *, dtype=None, device=None):
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(
            normalized_shape)
        self.eps = eps
        if elementwise_affine:
            self.weight = Parameter(_zeros(self.normalized_shape, dtype, device) + 1)
            self.bias = Parameter(_zeros(self.normalized_shape, dtype, device))
        else:
            self.weight = self.bias = None

    def forward(self, x):
        if tuple(x.shape[x.ndim - len(self.normalized_shape):]) != self.normalized_shape:
            raise ValueError(f"LayerNorm: input of shape {tuple(x.shape)} does not end with normalized_shape "
                             f"{self.normalized_shape}")
        axes = tuple(range(x.ndim - len(self.normalized_shape), x.ndim))
        centered = x - x.mean(axis=axes, keepdims=True)
        normalized = centered / ops.sqrt((centered * centered).mean(axis=axes, keepdims=True) + self.eps)
        if self.weight is None:
            return normalized
        return normalized * self.weight + self.bias

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.weight is not None}"


from . import utils  # noqa: E402  (utils builds on Module)

__all__ = ["Parameter", "Module", "Linear", "Sequential", "MLP", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "ELU",
           "LayerNorm", "make_activation", "init", "utils"]
