"""Initializers: fill a tensor in place with values from a distribution, as torch.nn.init does.

    w = tg.zeros(128, 2)
    tg.init.kaiming_uniform_(w, a=math.sqrt(5), generator=tg.Generator(seed=0))

Values are drawn on the host from a CPU ``tg.Generator`` (in float64, then rounded to the tensor's dtype) and
copied to the tensor's device, so the same seed gives the same initial weights on the CPU and on the GPU.

For a weight of shape (out_features, in_features): fan_in = in_features, fan_out = out_features (for more axes,
both are multiplied by the product of the trailing axes, the "receptive field", as in PyTorch).
"""

import math

from . import backend
from .factories import tensor
from .grad_mode import no_grad
from .tensor import Tensor


def _host_generator(generator):
    if generator is None:
        return backend.default_generator("cpu")
    if generator.device.type != "cpu":
        raise ValueError("initializers draw on the host, so that a seed gives the same weights on every device; "
                         'pass a CPU generator, tg.Generator(seed, device="cpu")')
    return generator


def _fill(target, host_values):
    """Copy float64 host values into ``target`` (rounded to its dtype, moved to its device), in place."""
    if not isinstance(target, Tensor):
        raise TypeError(f"initializers fill a tinygan Tensor, got {type(target).__name__}")
    with no_grad():
        target.copy_(tensor(host_values, dtype=target.dtype, device=target.device))
    return target


def _fans(target):
    if target.ndim < 2:
        raise ValueError(f"fan_in and fan_out need a tensor with at least 2 axes, got shape {tuple(target.shape)}")
    receptive_field = 1
    for size in target.shape[2:]:
        receptive_field *= size
    return target.shape[1] * receptive_field, target.shape[0] * receptive_field


def calculate_gain(nonlinearity, param=None):
    """The gain that keeps activations' variance steady through a nonlinearity (PyTorch's values):
    linear/conv/sigmoid 1, tanh 5/3, relu sqrt(2), leaky_relu sqrt(2 / (1 + slope^2)) (slope 0.01 unless
    given), selu 3/4."""
    if nonlinearity in ("linear", "sigmoid", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                        "conv_transpose3d"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")


def _empty(target):
    """True for a tensor with no elements: there is nothing to draw (and fans may be 0), as in PyTorch."""
    return target.size == 0


def uniform_(target, a=0.0, b=1.0, generator=None):
    """Fill with draws from U(a, b)."""
    draws = _host_generator(generator).uniform(target.shape, backend.float64)
    return _fill(target, a + (b - a) * draws)


def normal_(target, mean=0.0, std=1.0, generator=None):
    """Fill with draws from N(mean, std^2)."""
    draws = _host_generator(generator).normal(target.shape, backend.float64)
    return _fill(target, mean + std * draws)


def constant_(target, value):
    """Fill with ``value``."""
    with no_grad():
        return target.fill_(value)


def zeros_(target):
    """Fill with 0."""
    return constant_(target, 0.0)


def ones_(target):
    """Fill with 1."""
    return constant_(target, 1.0)


def xavier_uniform_(target, gain=1.0, generator=None):
    """Glorot & Bengio (2010): U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    if _empty(target):
        return target
    fan_in, fan_out = _fans(target)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(target, -bound, bound, generator)


def xavier_normal_(target, gain=1.0, generator=None):
    """Glorot & Bengio (2010): N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    if _empty(target):
        return target
    fan_in, fan_out = _fans(target)
    return normal_(target, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(target, a, mode, nonlinearity):
    fan_in, fan_out = _fans(target)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(target, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He et al. (2015): U(-bound, bound) with bound = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity,
    a). PyTorch's Linear uses a = sqrt(5), which gives bound = 1 / sqrt(fan_in)."""
    if _empty(target):
        return target
    bound = math.sqrt(3.0) * _kaiming_std(target, a, mode, nonlinearity)
    return uniform_(target, -bound, bound, generator)


def kaiming_normal_(target, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He et al. (2015): N(0, std^2) with std = gain / sqrt(fan)."""
    if _empty(target):
        return target
    return normal_(target, 0.0, _kaiming_std(target, a, mode, nonlinearity), generator)


def orthogonal_(target, gain=1.0, generator=None):
    """Saxe et al. (2013): a (semi-)orthogonal matrix times ``gain``, from the QR decomposition of a Gaussian
    matrix with the signs of R's diagonal folded into Q (so the result is uniformly distributed). Trailing axes
    are flattened: the tensor is viewed as (shape[0], rest)."""
    if target.ndim < 2:
        raise ValueError(f"orthogonal_: needs at least 2 axes, got shape {tuple(target.shape)}")
    if _empty(target):
        return target
    rows = target.shape[0]
    cols = target.size // rows
    host = backend.CPU.xp
    gaussian = _host_generator(generator).normal((rows, cols), backend.float64)
    if rows < cols:
        gaussian = gaussian.T
    q, r = host.linalg.qr(gaussian)
    q = q * host.sign(host.diag(r))
    if rows < cols:
        q = q.T
    return _fill(target, (gain * q).reshape(target.shape))
