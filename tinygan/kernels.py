"""Kernels k(x, y) for the two-sample distances (MMD, the energy distance), differentiable to any order.

    import tinygan as tg

    k = tg.kernels.gaussian([0.5, 1.0, 2.0])       # k(x, y) = sum_s exp(-|x - y|^2 / (2 s^2))
    K = k(x, y)                                      # x (n, d), y (m, d) -> (n, m), K[i, j] = k(x_i, y_j)
    h = tg.kernels.median_heuristic(x, y)            # a bandwidth from the data: the median pairwise distance
    tg.losses.mmd2(x, y, k)                          # what the kernels are for (tinygan/losses/ipm.py)

The kernels (each a callable object; call it on two samples to get their Gram matrix):

    gaussian(bandwidths)          k(x, y) = sum_s exp(-|x - y|^2 / (2 s^2))
    rational_quadratic(alphas)    k(x, y) = sum_a (1 + |x - y|^2 / (2 a))^(-a)
    distance()                    k(x, y) = |x| + |y| - |x - y|

A bandwidth s is a standard deviation (the kernel is s sqrt(2 pi) times the density of N(y, s^2) at x); code in the
field mixes this with exp(-|x - y|^2 / s) and exp(-|x - y|^2 / s^2), which are other kernels for the same number.
The rational quadratic kernel is a mixture of Gaussian kernels over bandwidths (a Gamma mixture of 1/s^2 with
shape a): its tails are heavy, so its gradients do not vanish far from the data, which is why Binkowski et al.
(2018) use a sum of them for MMD GANs. The distance kernel turns MMD^2 into the energy distance (Sejdinovic et al.
2013): with it, MMD^2(P, Q) = 2 E|X - Y| - E|X - X'| - E|Y - Y'|; it is a kernel only in the weaker sense that
MMD^2 built from it is a distance (it is conditionally positive definite), which is all an MMD needs.

Theory. For a kernel k with feature map phi (k(x, y) = <phi(x), phi(y)> in its reproducing kernel Hilbert space H),
MMD(P, Q) = sup over f in H with ||f||_H <= 1 of E_P f - E_Q f = ||E_P phi(X) - E_Q phi(Y)||_H, and its square is
MMD^2 = E k(X, X') + E k(Y, Y') - 2 E k(X, Y) (Gretton et al. 2012). The f that attains the supremum is the
witness w = E_P k(., X) - E_Q k(., Y), divided by its norm ||w||_H = MMD.

How the Gram matrix is computed: squared distances from |x - y|^2 = |x|^2 + |y|^2 - 2 x.y, one matrix product, so
memory is O(n m), never the O(n m d) of an array of all the differences. The product form cancels digits when x and
y are close to each other and far from the origin, so both samples are first shifted by the mean of y (distances do
not change) and the result is clamped at 0. Its rounding error is about eps (|x|^2 + |y|^2) (eps = 2.2e-16 in
float64, 1.2e-7 in float32), so in float32 distances below about 1e-3 times the spread of the points are noise;
compute in float64 where that matters (the metrics do).

References: Gretton et al. 2012 (A kernel two-sample test: MMD, the witness, the median heuristic); Li, Swersky and
Zemel 2015 and Dziugaite, Roy and Ghahramani 2015 (GMMN: sums of Gaussian kernels); Binkowski et al. 2018
(Demystifying MMD GANs: rational quadratic kernels); Szekely and Rizzo 2013 and Sejdinovic et al. 2013 (the energy
distance as an MMD).
"""

import math

from . import backend, ops
from .autograd.grad_mode import no_grad
from .ops.arguments import constant
from .tensor import Tensor

__all__ = ["gaussian", "rational_quadratic", "distance", "median_heuristic", "squared_distances", "distances",
           "sqrt_or_zero", "GaussianKernel", "RationalQuadraticKernel", "DistanceKernel"]


# ---------------------------------------------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------------------------------------------


def check_sample(function_name, sample, argument):
    """``sample`` after checking it is a non-empty float Tensor of shape (n, d)."""
    if not isinstance(sample, Tensor):
        raise TypeError(f"{function_name}: {argument} must be a tinygan Tensor of shape (n, d), got "
                        f"{type(sample).__name__}; make one with tg.tensor(...)")
    if not backend.is_floating(sample.dtype):
        raise TypeError(f"{function_name}: {argument} must be a floating-point tensor, got {sample.dtype}; convert "
                        f"it with .float() or .double()")
    if sample.ndim != 2:
        raise ValueError(f"{function_name}: {argument} must have shape (n, d), one point per row, got shape "
                         f"{tuple(sample.shape)}; reshape 1-D values with .reshape(-1, 1)")
    if sample.shape[0] == 0:
        raise ValueError(f"{function_name}: {argument} is an empty sample (shape {tuple(sample.shape)}); pass at "
                         f"least one point")
    return sample


def check_pair(function_name, x, y, x_name="x", y_name="y"):
    """x and y checked by check_sample, with points of one dimension, dtype and device."""
    check_sample(function_name, x, x_name)
    check_sample(function_name, y, y_name)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"{function_name}: {x_name} has points of dimension {x.shape[1]} (shape {tuple(x.shape)}) "
                         f"but {y_name} of dimension {y.shape[1]} (shape {tuple(y.shape)}); pass samples of one "
                         f"dimension")
    if x.dtype != y.dtype:
        raise TypeError(f"{function_name}: {x_name} is {x.dtype} but {y_name} is {y.dtype}; convert one of them "
                        f"(.float() or .double())")
    if x.device != y.device:
        raise ValueError(f"{function_name}: {x_name} is on {x.device} but {y_name} on {y.device}; move one of them "
                         f"with .to(...)")


def _positive_numbers(function_name, argument, values, example):
    """values (a number or a non-empty sequence of numbers) as a tuple of positive finite floats."""
    numbers = [values] if backend.is_scalar(values) else list(values) if isinstance(values, (list, tuple)) else None
    try:
        numbers = None if not numbers else tuple(float(value) for value in numbers)
    except (TypeError, ValueError):
        numbers = None
    if numbers is None or not all(value > 0 and math.isfinite(value) for value in numbers):
        raise ValueError(f"{function_name}: {argument} must be positive finite numbers (a number or a non-empty "
                         f"list), got {values!r}; pass e.g. {example}")
    return numbers


# ---------------------------------------------------------------------------------------------------------------
# distances
# ---------------------------------------------------------------------------------------------------------------


def squared_distances(x, y):
    """D[i, j] = |x_i - y_j|^2 for x (n, d) and y (m, d): an (n, m) tensor, differentiable to any order.

    Computed as |x_i - c|^2 + |y_j - c|^2 - 2 (x_i - c).(y_j - c), c the mean of y (a constant: distances do not
    depend on it, so neither do their gradients), and clamped at 0 where rounding makes it negative.
    """
    check_pair("squared_distances", x, y)
    return _squared_distances(x, y)[0]


def _squared_distances(x, y):
    """(D, scale): D as in squared_distances (unchecked arguments), and scale[i, j] = |x_i - c|^2 + |y_j - c|^2, the
    size that D's rounding error is proportional to."""
    centre = y.detach().mean(axis=0, keepdims=True)             # (1, d); detached: D does not depend on it
    x, y = x - centre, y - centre
    x_norms = (x * x).sum(axis=1, keepdims=True)                # (n, 1)
    y_norms = (y * y).sum(axis=1, keepdims=True).T              # (1, m)
    norms = x_norms + y_norms                                   # (n, m)
    squared = ops.clamp(norms - 2.0 * (x @ y.T), min=0.0)
    return squared, norms.detach()


def sqrt_or_zero(values, zero):
    """sqrt(values) where the bool array ``zero`` is False, and exactly 0 with gradient 0 where it is True.

    For square roots that may meet 0 (or a small negative rounding error): the derivative of sqrt at 0 is
    infinite. Taking the square root of a stand-in 1 where ``zero`` holds keeps every derivative finite (the
    discarded branch never sees a 0), so gradients of gradients stay finite too.
    """
    zero = constant(values, zero)
    safe = ops.where(zero, 1.0, values)
    return ops.where(zero, 0.0, ops.sqrt(safe))


def distances(x, y):
    """The Euclidean distances |x_i - y_j| for x (n, d) and y (m, d): an (n, m) tensor, differentiable to any order.

    The square root of squared_distances, except where the squared distance is within its own rounding error of 0
    (below 8 sqrt(d) eps (|x_i - c|^2 + |y_j - c|^2), see squared_distances): such a pair counts as one point, with
    distance 0 and gradient 0 (the subgradient of |x - y| at x = y that points nowhere). Without this, a point and
    itself would get a distance of about sqrt(eps) |x| and a gradient of length 1 in a direction made of rounding
    errors.
    """
    check_pair("distances", x, y)
    squared, scale = _squared_distances(x, y)
    return sqrt_or_zero(squared, _coincident(squared, scale, x.shape[1]))


def _coincident(squared, scale, dim):
    """Which pairs count as one point: a bool array, True where the squared distance (squared, scale: tensors from
    _squared_distances of points in ``dim`` dimensions) is within its own rounding error of 0, below
    8 sqrt(dim) eps (|x_i - c|^2 + |y_j - c|^2)."""
    return squared.array <= 8.0 * math.sqrt(dim) * _eps(squared) * scale.array


def _eps(tensor):
    """The machine epsilon of a float tensor's dtype (the gap between 1 and the next float)."""
    xp = backend.array_namespace(tensor.array)
    return float(xp.finfo(tensor.dtype).eps)


def _norms(x):
    """|x_i| for x (n, d): an (n, 1) tensor, 0 with gradient 0 at x_i = 0."""
    squared = (x * x).sum(axis=1, keepdims=True)
    return sqrt_or_zero(squared, squared.array == 0)


# ---------------------------------------------------------------------------------------------------------------
# the kernels
# ---------------------------------------------------------------------------------------------------------------


class GaussianKernel:
    """k(x, y) = sum_s exp(-|x - y|^2 / (2 s^2)) over the bandwidths s (standard deviations). Make one with
    ``gaussian(bandwidths)``; call it on x (n, d) and y (m, d) for the (n, m) Gram matrix. k(x, x) = len(bandwidths)."""

    def __init__(self, bandwidths):
        self.bandwidths = _positive_numbers("gaussian", "bandwidths", bandwidths, "[0.5, 1.0, 2.0]")

    def __call__(self, x, y):
        check_pair("gaussian kernel", x, y)
        squared = _squared_distances(x, y)[0]
        gram = None
        for s in self.bandwidths:
            term = ops.exp(squared * (-0.5 / (s * s)))
            gram = term if gram is None else gram + term
        return gram

    def __repr__(self):
        return f"gaussian(bandwidths={list(self.bandwidths)})"


class RationalQuadraticKernel:
    """k(x, y) = sum_a (1 + |x - y|^2 / (2 a))^(-a) over the shapes a. Make one with ``rational_quadratic(alphas)``;
    call it on x (n, d) and y (m, d) for the (n, m) Gram matrix. As a -> infinity, a term tends to the Gaussian
    kernel of bandwidth 1; small a gives heavy tails (a term decays like |x - y|^(-2a))."""

    def __init__(self, alphas):
        self.alphas = _positive_numbers("rational_quadratic", "alphas", alphas, "[0.2, 0.5, 1, 2, 5]")

    def __call__(self, x, y):
        check_pair("rational_quadratic kernel", x, y)
        squared = _squared_distances(x, y)[0]
        gram = None
        for a in self.alphas:
            term = (1.0 + squared * (0.5 / a)) ** (-a)
            gram = term if gram is None else gram + term
        return gram

    def __repr__(self):
        return f"rational_quadratic(alphas={list(self.alphas)})"


class DistanceKernel:
    """k(x, y) = |x| + |y| - |x - y|, the kernel of the energy distance: MMD^2 with it is 2 E|X - Y| - E|X - X'|
    - E|Y - Y'|. Make one with ``distance()``; call it on x (n, d) and y (m, d) for the (n, m) Gram matrix.
    The origin is arbitrary (|x - z| + |y - z| - |x - y| gives the same MMD for every z); 0 is used."""

    def __call__(self, x, y):
        check_pair("distance kernel", x, y)
        return _norms(x) + _norms(y).T - distances(x, y)

    def __repr__(self):
        return "distance()"


def gaussian(bandwidths):
    """The Gaussian kernel summed over bandwidths: k(x, y) = sum_s exp(-|x - y|^2 / (2 s^2)).

    bandwidths: a positive number or a list of them, each a standard deviation s (not s^2). A sum over several
    scales, e.g. [0.5, 1, 2] times the median heuristic, is what GMMNs use: no single bandwidth suits both the
    start of training (samples far apart) and the end (samples close).
    """
    return GaussianKernel(bandwidths)


def rational_quadratic(alphas):
    """The rational quadratic kernel summed over shapes: k(x, y) = sum_a (1 + |x - y|^2 / (2 a))^(-a).

    alphas: a positive number or a list of them; Binkowski et al. (2018) use [0.2, 0.5, 1, 2, 5] for MMD GANs.
    """
    return RationalQuadraticKernel(alphas)


def distance():
    """The distance kernel k(x, y) = |x| + |y| - |x - y|: MMD^2 with it is the energy distance."""
    return DistanceKernel()


# ---------------------------------------------------------------------------------------------------------------
# the median heuristic
# ---------------------------------------------------------------------------------------------------------------


def median_heuristic(x, y, max_points=2000):
    """The median heuristic bandwidth: h = median { |z_i - z_j| : i < j } over the pooled sample z = x U y.

    This is the median of the pairwise Euclidean distances (not squared, not halved), meant as the bandwidth s of
    ``gaussian``. x (n, d) and y (m, d) are Tensors; the result is a Python float, computed without a graph (a
    bandwidth is chosen, not learned). When the pooled sample has more than ``max_points`` points, the median is
    taken over ``max_points`` of them at evenly spaced positions of the pooled order (x first, then y), which keeps
    the cost O(max_points^2) and the result deterministic. Raises ValueError when the median is 0 (more than half
    the pairs coincide): pass a bandwidth yourself then.
    """
    name = "median_heuristic"
    check_pair(name, x, y)
    if int(max_points) < 2:
        raise ValueError(f"{name}: max_points must be at least 2, got {max_points}")
    xp = backend.array_namespace(x.array)
    with no_grad():
        pooled = ops.concatenate([x.detach(), y.detach()], axis=0)
        total = pooled.shape[0]
        if total > max_points:
            pooled = pooled[(xp.arange(int(max_points)) * total) // int(max_points)]
        count, dim = pooled.shape
        columns = xp.arange(count)
        rows_per_block = max(1, 2 ** 20 // count)
        upper = []                                      # squared distances of the pairs i < j, block by block
        for start in range(0, count, rows_per_block):
            squared, scale = _squared_distances(pooled[start:start + rows_per_block], pooled)
            # the pairs that ``distances`` counts as one point get distance 0, as there (where, not a masked
            # assignment: on the GPU that would wait for the device)
            squared = xp.where(_coincident(squared, scale, dim), squared.array.dtype.type(0), squared.array)
            rows = start + xp.arange(squared.shape[0])
            upper.append(squared[columns[None, :] > rows[:, None]])
    bandwidth = _median_of_square_roots(xp.concatenate(upper))
    if not bandwidth > 0:
        raise ValueError(f"{name}: the median pairwise distance of the {count} pooled points is 0; pass a positive "
                         f"bandwidth explicitly")
    return bandwidth


def _median_of_square_roots(squared):
    """median(sqrt(squared)) for a 1-D array of squared distances, as a Python float.

    The square root is increasing, so the middle values of sqrt(squared) are the square roots of the middle values
    of squared: a partial sort finds the one or two middle values, and only they are square-rooted and averaged,
    in the array's dtype, as numpy.median would average them."""
    xp = backend.array_namespace(squared)
    half = squared.size // 2
    first = half if squared.size % 2 else half - 1      # the middle values sit at first ... half once partitioned
    middle = xp.partition(squared, (first, half))[first:half + 1]
    return float(xp.sqrt(middle).mean().item())
