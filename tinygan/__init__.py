"""tinygan: a small, readable tensor-and-autograd library on NumPy/CuPy, for learning and studying GANs.

    import tinygan as tg
    x = tg.tensor([[0.5, -1.0]], requires_grad=True)
    w = tg.randn(2, 3, generator=tg.Generator(seed=0), requires_grad=True)
    y = (x @ w).relu().sum()
    y.backward()
    x.grad

Layers (each imports only those before it): backend -> tensor/autograd/ops -> testing. See ../shared/DESIGN.md.
"""

# tensor first: it defines Tensor, then imports autograd and ops, which build on it.
from .tensor import (Tensor, arange, eye, full, full_like, linspace, ones, ones_like, rand, randint, randn,
                     tensor, zeros, zeros_like)

from . import backend, testing  # noqa: E402
from . import distributions, init, losses, metrics, nn, optim  # noqa: E402
from .serialization import CheckpointError, load, save  # noqa: E402
from .autograd import Context, Function, enable_grad, grad, graph, is_grad_enabled, no_grad, once_differentiable
from .backend import (CPU, Device, Generator, bool_, float32, float64, get_default_device, get_default_dtype,
                      int32, int64, manual_seed, set_default_device, set_default_dtype)
from .ops import (abs, elu, add, all, any, argmax, argmin, binary_cross_entropy_with_logits, broadcast_to, cast,
                  cat, clamp, clip, clone, concatenate, cos, div, equal, exp, expand, expand_dims, flatten, getitem,
                  greater, greater_equal, isfinite, isnan, leaky_relu, less, less_equal, linear, log, log1p,
                  logical_and, logical_not, logical_or, logsigmoid, logsumexp, matmul, max, maximum, mean, min,
                  minimum, mul, neg, norm, not_equal, permute, pow, relu, reshape, sigmoid, sign, sin, softplus, sqrt,
                  squeeze, stack, std, sub, sum, sum_to, swapaxes, tanh, to_device, transpose, unsqueeze, var, where)
__version__ = "0.1.0"
