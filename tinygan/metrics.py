"""Quality measures for generated samples: mode collapse, two-sample distances, divergences to a known density.

    from tinygan import metrics

    stats = metrics.mode_statistics(fake, means, stds=0.05)     # means (k, d); stds a number, (k,) or (k, d)
    stats.modes_captured, stats.high_quality_fraction, stats.mode_kl, stats.mode_counts
    metrics.mmd2_unbiased(fake, real, bandwidth=1.0)          # or bandwidth=None: the median heuristic
    metrics.energy_distance(fake, real)
    metrics.wasserstein1_1d(fake, real)                       # 1-D samples: the integral of |F_fake - F_real|
    metrics.kl_and_js_from_samples(log_p, fake, bounds=(-6, 6), method="kde")    # 1-D or 2-D, known density p
    metrics.jsd_quadrature(log_p, log_q, -10.0, 10.0)         # two known densities, by Simpson's rule

Conventions, the same for every function here:

- Samples are Tensors, numpy/cupy arrays or nested lists of shape (n, d), or (n,) for d = 1. A Tensor is read
  without its graph (metrics are measured, not differentiated). Two samples compared with each other must live on
  one device (mixing devices is an error); the small parameters of mode_statistics (means, stds) may be numbers,
  lists, or arrays and Tensors on any device.
- Everything is computed in float64 on the samples' device (numpy or cupy) and returned as Python floats: one host
  transfer per call, which is fine for a measure taken every N training steps, not inside a step.
- Pairwise sums (MMD, energy distance, kernel density estimates) are computed in blocks of rows, so memory stays
  near PAIRWISE_CHUNK_ELEMENTS float64 numbers whatever the sample sizes. MMD and the energy distance are the
  differentiable losses of tinygan/losses/ipm.py with the kernels of tinygan/kernels.py (one implementation),
  evaluated here without a graph.
- A known density is given as a callable ``log_density(points)``: it receives a float64 Tensor of shape (m, d) (d = 1
  or 2, on the samples' device) and returns the natural log of the density at each point, as a Tensor or array of m
  numbers (shape (m,) or (m, 1)). It is called under ``tg.no_grad()``. Example for N(0, 1):
      log_p = lambda x: (-0.5 * x * x - 0.5 * math.log(2 * math.pi)).sum(axis=1)
- Divergences are in nats (divide by log 2 for bits); log is the natural logarithm.

References: Srivastava et al. 2017 (VEEGAN) and Lin et al. 2018 (PacGAN) for the mode-collapse measures on the
2-D ring and grid; Gretton et al. 2012 (A kernel two-sample test) for MMD; Szekely & Rizzo 2013 (Energy statistics)
for the energy distance; Villani 2009 (Optimal transport) for W1 in 1-D as the integral of |F - G|; Scott 1992 for
the kernel density bandwidth; Lin 1991 for the Jensen-Shannon divergence.
"""

import math
from dataclasses import dataclass

from . import backend, kernels
from .autograd.grad_mode import no_grad
from .losses.ipm import mmd2
from .tensor import Tensor

__all__ = [
    "ModeStatistics", "mode_statistics", "median_heuristic", "mmd2_unbiased", "energy_distance", "wasserstein1_1d",
    "DivergenceEstimate", "kl_and_js_from_samples", "jsd_quadrature", "PAIRWISE_CHUNK_ELEMENTS",
]

# Pairwise computations work on blocks of (rows x columns) float64 numbers of about this many elements
# (2**22 numbers = 32 MiB). Lower it to save memory, raise it for fewer, larger array operations.
PAIRWISE_CHUNK_ELEMENTS = 2 ** 22


# ---------------------------------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------------------------------


def _as_float64(function_name, name, value, like=None, move=False):
    """``value`` (a Tensor, a numpy/cupy array, a number or a nested list) as a float64 backend array.

    With ``like`` (an array), Python data is put on like's device, and an array or Tensor on another device is an
    error naming both, or, with ``move=True`` (for small parameters such as mode means), copied there.
    """
    if isinstance(value, Tensor):
        array = value.array
    elif backend.is_array(value):
        array = value
    else:
        device = None if like is None else backend.device_of(like)
        try:
            array = backend.to_array(value, backend.float64, device)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{function_name}: {name} must be a Tensor, an array, a number or a list of numbers, "
                            f"got {type(value).__name__} ({error})") from None
    if like is not None and backend.device_of(array) != backend.device_of(like):
        if move:
            return backend.to_array(array, backend.float64, backend.device_of(like))
        raise ValueError(f"{function_name}: {name} is on device {backend.device_of(array)} but the samples are on "
                         f"device {backend.device_of(like)}; move one of them with .to(...)")
    return array.astype(backend.float64, copy=False)


def _as_points(function_name, name, value, like=None, move=False):
    """Samples as a float64 array of shape (n, d): (n,) becomes (n, 1)."""
    array = _as_float64(function_name, name, value, like, move)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise ValueError(f"{function_name}: {name} must have shape (n,) or (n, d), got shape {tuple(array.shape)}")
    if array.shape[0] == 0:
        raise ValueError(f"{function_name}: {name} holds no samples (shape {tuple(array.shape)})")
    return array


def _two_samples(name, x, y):
    """x and y as float64 (n, d) arrays on x's device, checked to have the same dimension."""
    x = _as_points(name, "x", x)
    y = _as_points(name, "y", y, like=x)
    _same_dimension(name, x, y)
    return x, y


def _same_dimension(function_name, x, y, x_name="x", y_name="y"):
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"{function_name}: {x_name} has points of dimension {x.shape[1]} (shape "
                         f"{tuple(x.shape)}) but {y_name} of dimension {y.shape[1]} (shape {tuple(y.shape)})")


def _positive_number(function_name, name, value):
    value = float(value)
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{function_name}: {name} must be a positive finite number, got {value}")
    return value


# ---------------------------------------------------------------------------------------------------------------
# small array helpers (raw arrays of either namespace)
# ---------------------------------------------------------------------------------------------------------------


def _block_rows(columns):
    """How many rows of a pairwise (rows x columns) block fit in PAIRWISE_CHUNK_ELEMENTS numbers (at least 1)."""
    return max(1, PAIRWISE_CHUNK_ELEMENTS // max(1, columns))


def _squared_distance_blocks(a, b):
    """Yield (start, block): block = ||a_i - b_j||^2 (kernels.squared_distances) for a block of rows i = start,
    start + 1, ... and all j, as a raw array."""
    rows = _block_rows(b.shape[0])
    b = Tensor._make(b)
    for start in range(0, a.shape[0], rows):
        with no_grad():
            block = kernels.squared_distances(Tensor._make(a[start:start + rows]), b).array
        yield start, block


def _logsumexp(values, axis=None):
    """log(sum(exp(values))) along ``axis``, shifted by the maximum so nothing overflows; -inf if all are -inf."""
    xp = backend.array_namespace(values)
    peak = values.max(axis=axis, keepdims=True)
    peak = xp.where(xp.isfinite(peak), peak, 0.0)  # all -inf: shift by 0 and get log(0) = -inf below
    total = xp.exp(values - peak).sum(axis=axis, keepdims=True)
    result = _log_or_minus_inf(total) + peak
    return result.reshape(()) if axis is None else result.squeeze(axis)


def _log_or_minus_inf(values):
    """log(values) where values > 0, -inf where values == 0 (without numpy's divide-by-zero warning)."""
    xp = backend.array_namespace(values)
    positive = values > 0
    return xp.where(positive, xp.log(xp.where(positive, values, 1.0)), -xp.inf)


def _kl_terms(log_a, log_b):
    """The terms a_c (log a_c - log b_c) of KL(a || b) = sum_c a_c log(a_c / b_c), for a and b given by their logs.

    A term with a_c = 0 is 0 (0 log 0 = 0); a term with a_c > 0 and b_c = 0 is +inf.
    """
    xp = backend.array_namespace(log_a)
    a = xp.exp(log_a)
    positive = a > 0
    difference = xp.where(positive, log_a, 0.0) - xp.where(positive, log_b, 0.0)  # no inf - inf where a = 0
    return a * difference


def _evaluate_log_density(function_name, name, log_density, points):
    """log_density(points) as a float64 array of len(points) numbers (points: an (m, d) array, given as a Tensor)."""
    with no_grad():
        values = log_density(Tensor._make(points))
    values = _as_float64(function_name, f"the result of {name}", values, like=points)
    if values.size != points.shape[0]:
        raise ValueError(f"{function_name}: {name} must return one log-density per point: given {points.shape[0]} "
                         f"points of shape {tuple(points.shape)}, it returned shape {tuple(values.shape)}")
    values = values.reshape(-1)
    xp = backend.array_namespace(values)
    if bool(xp.isnan(values).any()):
        raise ValueError(f"{function_name}: {name} returned NaN at some of the {values.size} points")
    return values


# ---------------------------------------------------------------------------------------------------------------
# mode collapse (VEEGAN, PacGAN)
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModeStatistics:
    """What ``mode_statistics`` measures (see there for the definitions).

    modes_captured         number of modes that are the nearest mode of at least one high-quality sample
    high_quality_fraction  fraction of all samples that are high quality
    mode_kl                KL(q || uniform) of the high-quality samples' mode histogram q, in nats; NaN when no
                           sample is high quality
    mode_counts            number of high-quality samples assigned to each mode, a tuple of k ints
    """

    modes_captured: int
    high_quality_fraction: float
    mode_kl: float
    mode_counts: tuple


def mode_statistics(samples, means, stds, threshold=3.0):
    """Mode-collapse measures for a mixture of k Gaussian modes, as VEEGAN and PacGAN define them.

    samples: (n, d) generated points; means: (k, d) mode centres; stds: the modes' standard deviations, a number
    (all modes, all coordinates), k numbers (one per mode) or a (k, d) array (one per mode and coordinate). Means
    and stds may be on any device (they are copied to the samples' device), e.g. a mixture's CPU parameters.

    For each sample x the std-normalised distance to mode j is

        r_j(x) = sqrt( sum_c (x_c - mu_jc)^2 / sigma_jc^2 )

    and its nearest mode is j*(x) = argmin_j r_j(x) (ties go to the lower index; with equal stds this is the
    Euclidean nearest mode).

    - x is **high quality** when r_j*(x) < threshold (3: "within three standard deviations of the nearest mode").
    - **modes_captured** = number of modes j that are the nearest mode of at least one high-quality sample.
    - **high_quality_fraction** = (number of high-quality samples) / n.
    - **mode_counts** c_j = number of high-quality samples whose nearest mode is j (low-quality samples are not
      assigned to any mode).
    - **mode_kl** = KL(q || u) = sum_j q_j log(q_j / (1/k)) = log k - H(q), with q_j = c_j / sum_i c_i the generated
      mode histogram and u the uniform histogram of the k equally weighted true modes. Empty modes contribute
      0 (0 log 0 = 0): no epsilon is added, so the value is exactly 0 for a uniform histogram and exactly log k when
      every high-quality sample sits at one mode. The generated distribution comes first, the direction PacGAN's
      tables call "reverse KL"; it stays finite when modes are missing. It is NaN when no sample is high quality
      (q is then undefined).

    Counts, captured modes and the high-quality fraction follow the official PacGAN evaluation code for the 2-D
    ring and grid (github.com/fjxmlzn/PacGAN, synthetic_data_experiments/PacGAN/pacgan/extensions.py): distance
    normalised per coordinate, strict "< 3", a mode captured when it holds at least one high-quality sample, a
    histogram of the high-quality samples only. A sample with a NaN coordinate is never high quality.
    """
    name = "mode_statistics"
    x = _as_points(name, "samples", samples)
    centres = _as_points(name, "means", means, like=x, move=True)     # k x d numbers: moved to the samples
    _same_dimension(name, x, centres, "samples", "means")
    k, d = centres.shape
    sigma = _as_float64(name, "stds", stds, like=x, move=True)
    if sigma.ndim == 1 and sigma.shape[0] == k:
        sigma = sigma[:, None]                             # one std per mode
    elif not (sigma.ndim == 0 or sigma.shape == (k, d)):
        raise ValueError(f"{name}: stds must be a number, {k} numbers (one per mode) or shape ({k}, {d}), got shape "
                         f"{tuple(sigma.shape)}")
    xp = backend.array_namespace(x)
    if not bool((sigma > 0).all()):
        raise ValueError(f"{name}: stds must be positive")
    threshold = _positive_number(name, "threshold", threshold)

    nearest, distance = [], []
    rows = max(1, PAIRWISE_CHUNK_ELEMENTS // (k * d))
    for start in range(0, x.shape[0], rows):
        z = (x[start:start + rows, None, :] - centres[None, :, :]) / sigma   # (rows, k, d) normalised offsets
        r2 = (z * z).sum(axis=2)                                               # (rows, k) squared distances
        nearest.append(r2.argmin(axis=1))
        distance.append(xp.sqrt(r2.min(axis=1)))
    nearest, distance = xp.concatenate(nearest), xp.concatenate(distance)

    high_quality = distance < threshold
    counts = xp.bincount(nearest[high_quality], minlength=k)
    counts = tuple(int(c) for c in backend.to_host(counts).tolist())  # one host transfer; k numbers
    total = sum(counts)
    if total == 0:
        mode_kl = math.nan
    else:
        mode_kl = sum(c / total * math.log(c * k / total) for c in counts if c > 0)
    return ModeStatistics(modes_captured=sum(1 for c in counts if c > 0),
                          high_quality_fraction=total / x.shape[0],
                          mode_kl=mode_kl,
                          mode_counts=counts)


# ---------------------------------------------------------------------------------------------------------------
# two-sample distances: MMD and energy distance
# ---------------------------------------------------------------------------------------------------------------


def median_heuristic(x, y, max_points=2000):
    """The median heuristic bandwidth: h = median { ||z_i - z_j|| : i < j } over the pooled sample z = x U y.

    kernels.median_heuristic on the samples as float64 (see there): the median of the pairwise Euclidean
    distances (not squared, not halved), for the kernel k(a, b) = exp(-||a - b||^2 / (2 h^2)), over at most
    ``max_points`` evenly spaced points of the pooled sample (x first, then y). Raises ValueError when the median
    is 0 (more than half the pairs coincide): pass a bandwidth yourself then.
    """
    x, y = _two_samples("median_heuristic", x, y)
    return kernels.median_heuristic(Tensor._make(x), Tensor._make(y), max_points=max_points)


def mmd2_unbiased(x, y, bandwidth=None):
    """The unbiased estimate of the squared maximum mean discrepancy with a Gaussian kernel (Gretton et al. 2012).

        k(a, b) = exp(-||a - b||^2 / (2 h^2))

        MMD^2_u = 1/(m(m-1)) sum_{i != j} k(x_i, x_j) + 1/(n(n-1)) sum_{i != j} k(y_i, y_j)
                  - 2/(mn) sum_{i, j} k(x_i, y_j)

    for x of m points and y of n points (m, n >= 2). Its expectation is the population MMD^2 =
    E k(X, X') + E k(Y, Y') - 2 E k(X, Y), which is 0 exactly when the two distributions are equal, so estimates
    scatter around 0 and can be negative for equal distributions. Example: for N(0, 1) and N(1, 1) with h = 1 the
    population value is 2/sqrt(3) - 2 exp(-1/6)/sqrt(3) = 0.17727.

    bandwidth: h > 0, or None for ``median_heuristic(x, y)`` (the median pairwise distance of the pooled sample).
    """
    name = "mmd2_unbiased"
    x, y = _two_samples(name, x, y)
    m, n = x.shape[0], y.shape[0]
    if m < 2 or n < 2:
        raise ValueError(f"{name}: the unbiased estimate needs at least 2 points in each sample, got {m} and {n}")
    h = median_heuristic(x, y) if bandwidth is None else _positive_number(name, "bandwidth", bandwidth)
    with no_grad():
        value = mmd2(Tensor._make(x), Tensor._make(y), kernels.gaussian(h), unbiased=True,
                     block_rows=_block_rows(max(m, n)))
    return float(value.item())


def energy_distance(x, y, unbiased=False):
    """The energy distance of Szekely and Rizzo between two samples (its squared form, as in their papers).

    Population value: E(X, Y) = 2 E||X - Y|| - E||X - X'|| - E||Y - Y'||, which is >= 0 and 0 only for equal
    distributions. Estimate (default, the V-statistic):

        E_V = 2/(mn) sum_{i,j} ||x_i - y_j|| - 1/m^2 sum_{i,j} ||x_i - x_j|| - 1/n^2 sum_{i,j} ||y_i - y_j||

    which is always >= 0. scipy.stats.energy_distance(u, v) for 1-D samples is sqrt(E_V): scipy defines the
    distance as the square root of this quantity. With ``unbiased=True`` the within-sample sums are divided by
    m(m-1) and n(n-1) instead (the U-statistic: unbiased for E(X, Y), may be slightly negative).
    """
    name = "energy_distance"
    x, y = _two_samples(name, x, y)
    m, n = x.shape[0], y.shape[0]
    if unbiased and (m < 2 or n < 2):
        raise ValueError(f"{name}: the unbiased estimate needs at least 2 points in each sample, got {m} and {n}")
    with no_grad():      # MMD^2 with the distance kernel |x| + |y| - |x - y| is exactly this sum
        value = mmd2(Tensor._make(x), Tensor._make(y), kernels.distance(), unbiased=unbiased,
                     block_rows=_block_rows(max(m, n)))
    return float(value.item())


def wasserstein1_1d(x, y):
    """The Wasserstein-1 distance between two 1-D samples, exactly: the integral of |F_x(t) - F_y(t)| dt.

    F_x and F_y are the empirical distribution functions (steps of 1/m and 1/n); between consecutive pooled values
    both are constant, so the integral is a finite sum. For samples of equal size it equals the mean of
    |x_(i) - y_(i)| over the sorted samples (the monotone coupling is optimal in 1-D). As scipy.stats's
    wasserstein_distance. Population values: |m1 - m2| between N(m1, s^2) and N(m2, s^2); |s1 - s2| sqrt(2/pi)
    between N(m, s1^2) and N(m, s2^2). x, y: shape (n,) or (n, 1).
    """
    name = "wasserstein1_1d"
    x, y = _two_samples(name, x, y)
    if x.shape[1] != 1:
        raise ValueError(f"{name}: only 1-D samples (shape (n,) or (n, 1)) are supported, got points of dimension "
                         f"{x.shape[1]}")
    xp = backend.array_namespace(x)
    x, y = xp.sort(x[:, 0]), xp.sort(y[:, 0])
    pooled = xp.sort(xp.concatenate([x, y]))
    steps = pooled[1:] - pooled[:-1]
    cdf_x = xp.searchsorted(x, pooled[:-1], side="right") / x.shape[0]   # F_x on [pooled_k, pooled_k+1)
    cdf_y = xp.searchsorted(y, pooled[:-1], side="right") / y.shape[0]
    return float((xp.abs(cdf_x - cdf_y) * steps).sum().item())


# ---------------------------------------------------------------------------------------------------------------
# divergences to a known density (1-D and 2-D)
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DivergenceEstimate:
    """What ``kl_and_js_from_samples`` estimates (see there for the definitions).

    kl          KL(p_data || q_model) in nats: the "forward" KL, large when the model misses mass of the data
    reverse_kl  KL(q_model || p_data) in nats: large when the model puts mass where the data has little
    js          the Jensen-Shannon divergence, in nats, in [0, log 2]
    method      "kde" or "grid"
    data_mass   integral of the known density over the grid (midpoint rule): near 1 when the bounds hold its mass
    model_mass  "kde": integral of the kernel density estimate over the grid; "grid": fraction of the samples inside
                the bounds. Both divergences use the distributions renormalised on the grid, so a mass well below 1
                means the bounds cut off part of that distribution.
    bandwidth   "kde": the kernel standard deviation per coordinate, a tuple of d floats; "grid": None
    """

    kl: float
    reverse_kl: float
    js: float
    method: str
    data_mass: float
    model_mass: float
    bandwidth: tuple = None


_DEFAULT_GRID_SIZE = {("kde", 1): 1024, ("kde", 2): 100, ("grid", 1): 64, ("grid", 2): 32}


def _parse_bounds(function_name, bounds, d):
    """bounds as d (low, high) float pairs: (low, high) for d = 1, ((low0, high0), (low1, high1)) for d = 2."""
    try:
        if d == 1 and len(bounds) == 2 and all(backend.is_scalar(b) for b in bounds):
            bounds = [bounds]
        pairs = [(float(low), float(high)) for low, high in bounds]
    except (TypeError, ValueError):
        pairs = None
    if pairs is None or len(pairs) != d or not all(math.isfinite(lo) and math.isfinite(hi) and lo < hi
                                                   for lo, hi in pairs):
        raise ValueError(f"{function_name}: bounds must be (low, high) for 1-D samples or ((low0, high0), (low1, "
                         f"high1)) for 2-D samples, with finite low < high; got {bounds!r} for {d}-D samples")
    return pairs


def _grid_cells(xp, pairs, cells_per_axis):
    """Centres (G, d) of a regular grid of cells over the box ``pairs``, in C order, and the cell volume."""
    axes, volume = [], 1.0
    for low, high in pairs:
        width = (high - low) / cells_per_axis
        axes.append(low + (xp.arange(cells_per_axis, dtype=backend.float64) + 0.5) * width)
        volume *= width
    mesh = xp.meshgrid(*axes, indexing="ij")
    return xp.stack([axis.reshape(-1) for axis in mesh], axis=1), volume


def _kde_log_density(x, points, factor):
    """log of the Gaussian kernel density estimate of the samples x (n, d) at points (G, d), and the kernel stds.

        q(g) = 1/n sum_i N(g; x_i, H),   H = factor^2 * C,   C = sample covariance of x (divided by n - 1)

    as scipy.stats.gaussian_kde. Computed in the log domain with the Cholesky factor L of H:
        log q(g) = logsumexp_i(-||L^-1 (g - x_i)||^2 / 2) - log n - sum log diag(L) - (d/2) log(2 pi)
    """
    xp = backend.array_namespace(x)
    n, d = x.shape
    centred = x - x.mean(axis=0)
    kernel_cov = (centred.T @ centred) / (n - 1) * factor ** 2
    if not bool((xp.linalg.eigvalsh(kernel_cov) > 0).all()):
        raise ValueError(f"kl_and_js_from_samples: the samples' covariance is singular (all {n} samples on a point "
                         f"or a line), so a Gaussian kernel density estimate is undefined; use method='grid'")
    cholesky = xp.linalg.cholesky(kernel_cov)
    whiten = xp.linalg.inv(cholesky).T                                  # row vectors: v @ whiten = L^-1 v
    x_white, points_white = x @ whiten, points @ whiten
    log_norm = math.log(n) + float(xp.log(xp.diagonal(cholesky)).sum().item()) + 0.5 * d * math.log(2 * math.pi)
    log_q = [_logsumexp(-0.5 * block, axis=1) for _, block in _squared_distance_blocks(points_white, x_white)]
    stds = tuple(float(s) for s in backend.to_host(xp.sqrt(xp.diagonal(kernel_cov))).tolist())
    return xp.concatenate(log_q) - log_norm, stds


def _histogram_counts(x, pairs, cells_per_axis):
    """Number of samples in each cell of the grid (C order, like ``_grid_cells``), and the number inside the box.

    Cells are half-open [low + i w, low + (i + 1) w), except that the upper bound itself belongs to the last cell
    (as numpy.histogram). Samples outside the box are not counted.
    """
    xp = backend.array_namespace(x)
    flat = xp.zeros(x.shape[0], dtype=backend.int64)
    inside = xp.ones(x.shape[0], dtype=bool)
    for axis, (low, high) in enumerate(pairs):
        coordinate = x[:, axis]
        index = xp.floor((coordinate - low) / (high - low) * cells_per_axis)
        index = xp.where((index == cells_per_axis) & (coordinate <= high), cells_per_axis - 1, index)
        inside &= (index >= 0) & (index < cells_per_axis)               # NaN compares False: outside
        flat = flat * cells_per_axis + xp.where(inside, index, 0).astype(backend.int64)
    counts = xp.bincount(flat[inside], minlength=cells_per_axis ** len(pairs))
    return counts.astype(backend.float64), int(inside.sum().item())


def kl_and_js_from_samples(log_density, samples, bounds, method="kde", grid_size=None, bandwidth_factor=None):
    """KL and Jensen-Shannon divergences between a known 1-D or 2-D density p and generated samples.

    log_density: the data density as a callable, log p (see the module docstring for its calling convention).
    samples: (n,) or (n, d) generated points, d = 1 or 2; they stand for the model density q.
    bounds: the box the divergences are computed over: (low, high) in 1-D, ((low0, high0), (low1, high1)) in 2-D.
        Choose it to hold (almost all) the mass of the data density *and* of the samples: a collapsed generator
        still has to be compared with every mode of the data. ``data_mass`` and ``model_mass`` in the result say
        how much of each the box held.
    method: how q is estimated from the samples:
        "kde"  (default) a Gaussian kernel density estimate with full covariance, H = factor^2 * C, C the samples'
               covariance and factor = n^(-1/(d+4)) (Scott's rule, as scipy.stats.gaussian_kde), unless
               ``bandwidth_factor`` is given; evaluated at the centres of a regular grid of cells. The cells should
               be narrower than the kernel (the result reports the kernel's std per coordinate).
        "grid" a histogram: the fraction of the samples in each cell of the grid.
    grid_size: cells per axis; default 1024 (1-D) / 100 per axis (2-D) for "kde", 64 / 32 for "grid".

    Both methods discretise on the same cells c with centres g_c: P_c = p(g_c) / sum_c' p(g_c') (the midpoint
    rule), Q_c = q(g_c) / sum_c' q(g_c') for "kde", Q_c = (samples in c) / (samples in the box) for "grid"; then

        kl         = KL(P || Q) = sum_c P_c log(P_c / Q_c)        (KL(p_data || q_model), "forward")
        reverse_kl = KL(Q || P) = sum_c Q_c log(Q_c / P_c)        (KL(q_model || p_data))
        js         = (KL(P || M) + KL(Q || M)) / 2,  M = (P + Q) / 2

    in nats, with 0 log 0 = 0. A grid histogram has empty cells, so its forward KL is +inf as soon as a cell with
    data mass holds no sample (use coarser cells, more samples or "kde"); JS is always finite. If no sample lies in
    the box, Q is undefined and all three are NaN ("grid"; model_mass is then 0).

    These are estimates, biased in known ways: the kernel smooths q (the KDE of a sample of q is q convolved with
    the kernel, so even a sample of p itself gives divergences above 0), and cells lose detail finer than they are.
    Scott's factor is computed from the samples' overall covariance, so it oversmooths narrow, well-separated modes
    (8 modes of std 0.01 on a unit ring get kernels of std 0.2): pass a smaller ``bandwidth_factor`` and a finer
    grid there. A ``data_mass`` far from 1 says the cells are too coarse for p (or the box too small). The KDE costs
    (cells x samples) kernel evaluations: 100^2 cells and 10^4 samples are 10^8 of them.
    """
    name = "kl_and_js_from_samples"
    x = _as_points(name, "samples", samples)
    n, d = x.shape
    if d not in (1, 2):
        raise ValueError(f"{name}: only 1-D and 2-D samples are supported (a grid in {d}-D is too large), got "
                         f"shape {tuple(x.shape)}")
    if method not in ("kde", "grid"):
        raise ValueError(f"{name}: method must be 'kde' or 'grid', got {method!r}")
    pairs = _parse_bounds(name, bounds, d)
    cells_per_axis = _DEFAULT_GRID_SIZE[(method, d)] if grid_size is None else int(grid_size)
    if cells_per_axis < 1:
        raise ValueError(f"{name}: grid_size must be a positive number of cells per axis, got {grid_size}")
    xp = backend.array_namespace(x)
    centres, cell_volume = _grid_cells(xp, pairs, cells_per_axis)

    log_p = _evaluate_log_density(name, "log_density", log_density, centres)
    log_p_total = _logsumexp(log_p)
    if not bool(xp.isfinite(log_p_total)):
        raise ValueError(f"{name}: log_density is -inf at every cell centre inside bounds {pairs}; the box misses "
                         f"the data density")
    data_mass = math.exp(float(log_p_total.item())) * cell_volume
    log_P = log_p - log_p_total

    if method == "kde":
        if n < 2:
            raise ValueError(f"{name}: a kernel density estimate needs at least 2 samples, got {n}")
        factor = n ** (-1.0 / (d + 4)) if bandwidth_factor is None else _positive_number(
            name, "bandwidth_factor", bandwidth_factor)
        log_q, bandwidth = _kde_log_density(x, centres, factor)
        log_q_total = _logsumexp(log_q)
        model_mass = math.exp(float(log_q_total.item())) * cell_volume
        log_Q = log_q - log_q_total
    else:
        bandwidth = None
        counts, inside = _histogram_counts(x, pairs, cells_per_axis)
        model_mass = inside / n
        if inside == 0:
            return DivergenceEstimate(math.nan, math.nan, math.nan, method, data_mass, model_mass, bandwidth)
        log_Q = _log_or_minus_inf(counts) - math.log(inside)

    log_M = xp.logaddexp(log_P, log_Q) - math.log(2.0)
    kl = float(_kl_terms(log_P, log_Q).sum().item())
    reverse_kl = float(_kl_terms(log_Q, log_P).sum().item())
    js = float((0.5 * _kl_terms(log_P, log_M) + 0.5 * _kl_terms(log_Q, log_M)).sum().item())
    return DivergenceEstimate(kl, reverse_kl, js, method, data_mass, model_mass, bandwidth)


# ---------------------------------------------------------------------------------------------------------------
# exact Jensen-Shannon divergence between two known densities
# ---------------------------------------------------------------------------------------------------------------


def _simpson_nodes(xp, low, high, intervals):
    """Nodes and weights of the composite Simpson rule with ``intervals`` (even) intervals on [low, high]."""
    nodes = xp.linspace(low, high, intervals + 1, dtype=backend.float64)
    weights = xp.ones(intervals + 1, dtype=backend.float64)
    weights[1:-1:2] = 4.0
    weights[2:-1:2] = 2.0
    return nodes, weights * ((high - low) / intervals / 3.0)


def jsd_quadrature(log_p, log_q, low, high, n=None, device=None):
    """The Jensen-Shannon divergence between two known densities, in nats, by Simpson's rule on [low, high].

        JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m),   m = (p + q) / 2
                    = integral of  1/2 p log(p / m) + 1/2 q log(q / m)  over the box

    which is symmetric and lies in [0, log 2]. log_p, log_q: callables returning log-densities (see the module
    docstring; points are (N, d) Tensors). 1-D: ``low`` and ``high`` are numbers; 2-D: pairs (low0, low1) and
    (high0, high1), integrated with the tensor-product Simpson rule. n: Simpson intervals per axis (even; default
    2000 in 1-D, 400 in 2-D). The integrand is evaluated in the log domain (log m = logaddexp(log p, log q) - log 2)
    and points where a density is 0 contribute 0, so densities with bounded support work; the rule is highly
    accurate for smooth densities, only first-order accurate at a density's jumps. Mass outside the box is ignored:
    choose it to hold both densities (e.g. N(0, 1) and N(1, 1) on [-12, 13] give 0.111421 to 1e-6). device: where
    the points are made (default: tinygan's default device).
    """
    name = "jsd_quadrature"
    try:
        lows = [float(low)] if backend.is_scalar(low) else [float(v) for v in low]
        highs = [float(high)] if backend.is_scalar(high) else [float(v) for v in high]
    except (TypeError, ValueError):
        lows, highs = [], []
    if len(lows) != len(highs) or len(lows) not in (1, 2) or not all(
            math.isfinite(a) and math.isfinite(b) and a < b for a, b in zip(lows, highs)):
        raise ValueError(f"{name}: low and high must be finite numbers (1-D) or pairs (2-D) with low < high, got "
                         f"low={low!r}, high={high!r}")
    d = len(lows)
    intervals = (2000 if d == 1 else 400) if n is None else int(n)
    if intervals < 2 or intervals % 2:
        raise ValueError(f"{name}: n (Simpson intervals per axis) must be an even number >= 2, got {n}")
    xp = backend.as_device(device).xp
    axes = [_simpson_nodes(xp, a, b, intervals) for a, b in zip(lows, highs)]
    mesh = xp.meshgrid(*[nodes for nodes, _ in axes], indexing="ij")
    points = xp.stack([axis.reshape(-1) for axis in mesh], axis=1)
    weights = axes[0][1] if d == 1 else (axes[0][1][:, None] * axes[1][1][None, :]).reshape(-1)

    lp = _evaluate_log_density(name, "log_p", log_p, points)
    lq = _evaluate_log_density(name, "log_q", log_q, points)
    lm = xp.logaddexp(lp, lq) - math.log(2.0)
    integrand = 0.5 * _kl_terms(lp, lm) + 0.5 * _kl_terms(lq, lm)       # 1/2 p log(p/m) + 1/2 q log(q/m)
    return float((weights * integrand).sum().item())
