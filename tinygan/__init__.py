"""tinygan: a small, readable tensor-and-autograd library on NumPy/CuPy, for learning and studying GANs.

    import tinygan as tg
    x = tg.tensor([[0.5, -1.0]], requires_grad=True)
    w = tg.randn(2, 3, generator=tg.Generator(seed=0), requires_grad=True)
    y = (x @ w).relu().sum()
    y.backward()
    x.grad

How the package is laid out, and the order in which to read it, is in docs/DESIGN.md.
"""

from . import autograd, backend, cuda, distributions, fast, init, kernels, losses, metrics, nn, optim, testing
from .autograd import Context, Function, grad
from .autograd import once_differentiable
from .backend import (CPU, Device, Generator, bool_, float32, float64, get_default_device, get_default_dtype, int32,
                      int64, manual_seed, set_default_device, set_default_dtype)
from .backend import as_device as device
from .factories import (arange, eye, from_numpy, full, full_like, linspace, ones, ones_like, rand, rand_like, randint,
                        randn, randn_like, tensor, zeros, zeros_like)
from .autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .fast import compile
from .graph_picture import graph_dot as graph
from .nn.functional import binary_cross_entropy_with_logits, linear
from .ops import (abs, add, all, any, argmax, argmin, broadcast_to, cast, cat, chunk, clamp, clip, clone, concatenate,
                  cos, div, elu, equal, exp, expand, flatten, getitem, greater, greater_equal, isfinite, isnan,
                  leaky_relu, less, less_equal, log, log1p, logical_and, logical_not, logical_or, logsigmoid,
                  logsumexp, matmul, max, maximum, mean, min, minimum, mm, mul, neg, norm, not_equal, permute, pow,
                  relu, repeat, reshape, sigmoid, sign, sin, softplus, split, sqrt, squeeze, stack, std, sub, sum,
                  sum_to, swapaxes, t, tanh, to_device, transpose, unsqueeze, var, where)
from .serialization import CheckpointError, load, save
from .tensor import Tensor
from .version import __version__
