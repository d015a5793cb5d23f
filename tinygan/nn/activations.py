"""The activations other than ReLU (which is in layers.py, with the layers an MLP is made of), and Identity. Each
forward is one op; PyTorch's ``inplace`` arguments are accepted and the result computed out of place."""

from .. import ops
from . import functional
from .module import Module


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x (PyTorch's default slope 0.01; GAN discriminators often use 0.2)."""

    def __init__(self, negative_slope=0.01, inplace=False):
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

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return ops.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class Softplus(Module):
    """log(1 + exp(beta x)) / beta (PyTorch's Softplus, with its threshold: x itself where beta x > threshold)."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return functional.softplus(x, self.beta, self.threshold)


class Identity(Module):
    """x as it is (a placeholder layer, PyTorch's Identity)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x
