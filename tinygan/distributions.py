"""Toy distributions for GAN experiments: data with known densities, and the latent priors.

Every distribution has a dimension ``dim`` and

    sample(n, generator=None, device=None, dtype=None) -> Tensor (n, dim)
    log_prob(x) -> Tensor (...)      for x of shape (..., dim), written in differentiable tinygan ops
    prob(x)     -> Tensor (...)      exp(log_prob(x))

``sample`` draws from a ``tg.Generator`` on that generator's device (without one, from the default generator of
``device``, the default device unless given), in float32 unless ``dtype`` says otherwise. ``log_prob`` works in x's
dtype on x's device and is differentiable in x, so the optimal discriminator of the GAN paper,

    D*(x) = p_data(x) / (p_data(x) + p_g(x)) = sigmoid(log p_data(x) - log p_g(x)),

and its gradient can be computed exactly when both densities are known.

    data = distributions.ring()                        # 8 Gaussians on the unit circle
    x = data.sample(512, generator=tg.Generator(seed=0))
    data.log_prob(x)                                   # shape (512,)
    data.means, data.stds, data.weights                # the mixture's components, for the metrics

What is here:
    one-dimensional   Gaussian, GaussianMixture with scalar means, Uniform
    two-dimensional   ring, grid, gmm2d (Gaussian mixtures), SwissRoll, TwoMoons (sample only), Checkerboard
    latent priors     StandardNormal(dim), UniformPrior(dim, low=-1, high=1)
    by name           DATASETS and get(name, **kwargs), the names a command line accepts

Parameters are held as float64 tensors on the CPU (the exact values, for reading and for the metrics) and copied
to a device and dtype the first time they are needed there; treat them as read-only.
"""

import functools
import itertools
import math
import numbers

from . import backend, ops
from .factories import eye, tensor
from .tensor import Tensor

_LOG_2PI = math.log(2 * math.pi)

MAX_MODES = 100_000
"""The most modes (or dark squares) the ring, grid and checkerboard are made with: toy data, and a limit that keeps
a typo such as n_modes=10**9 from filling the memory before anything else can say no."""


# ---------------------------------------------------------------------------------------------------------------
# the base class
# ---------------------------------------------------------------------------------------------------------------


class Distribution:
    """A probability distribution on R^dim that can be sampled and, where it has a closed form, evaluated.

    Subclasses set ``dim`` and write ``_sample(n, generator, dtype)``; those with a density write ``log_prob``.
    Samples are data, never part of a graph: ``_sample`` computes on the generator's raw arrays (the same
    formulas, without a tensor and its checks per operation, which at a batch of a few hundred points cost more
    than the arithmetic) and returns the array, which ``sample`` wraps once.
    """

    dim = None
    has_density = True  # False where there is no closed-form density (log_prob raises NotImplementedError)

    def sample(self, n, generator=None, device=None, dtype=None):
        """n independent draws as a tensor of shape (n, dim).

        generator: a tg.Generator; the samples are drawn on its device. Without one, the default generator of
            ``device`` (the default device if None) is used, which tg.manual_seed seeds.
        device: only needed without a generator; with one it must be the generator's device.
        dtype: tg.float32 (the default) or tg.float64.
        """
        generator, dtype = _sampling_source(f"{type(self).__name__}.sample", n, generator, device, dtype)
        samples = self._sample(int(n), generator, dtype)
        if isinstance(samples, Tensor):
            raise TypeError(f"{type(self).__name__}._sample returned a Tensor; it returns the raw array of the "
                            f"samples, shape (n, dim), which sample() wraps (for a tensor t, return t.array)")
        return Tensor._make(samples)

    def _sample(self, n, generator, dtype):
        """n draws as an array (n, dim) of ``dtype``, on the generator's device."""
        raise NotImplementedError

    def log_prob(self, x):
        """log p(x) for points x of shape (..., dim), as a tensor of shape (...)."""
        raise NotImplementedError(f"{type(self).__name__}.log_prob: this distribution has no closed-form density; "
                                  f"it can only be sampled")

    def prob(self, x):
        """The density p(x) = exp(log_prob(x))."""
        return ops.exp(self.log_prob(x))

    # --- helpers for subclasses ---

    def _points(self, x):
        """x as a float tensor of shape (..., dim), or a ValueError saying what shape was expected.

        Numbers, lists and arrays become tensors (float32 by default). A one-dimensional distribution also takes
        an array of scalars of any shape: x of shape (n,) gives log_prob of shape (n,).
        """
        if not isinstance(x, Tensor):
            x = tensor(x)
        if not backend.is_floating(x.dtype):
            x = x.to(backend.get_default_dtype())
        if self.dim == 1 and (x.ndim == 0 or x.shape[-1] != 1):
            x = x.unsqueeze(-1)
        if x.ndim == 0 or x.shape[-1] != self.dim:
            raise ValueError(f"{type(self).__name__}.log_prob: expected points of shape (..., {self.dim}), got "
                             f"shape {tuple(x.shape)}")
        return x

    def _parameter(self, name, like):
        """The float64 CPU tensor ``self._host[name]`` on the device and in the dtype of ``like`` (a tensor or an
        array), made once and kept, so a training loop does not copy the parameters to the GPU at every step."""
        if not hasattr(self, "_cache"):
            self._cache = {}
        array = like.array if isinstance(like, Tensor) else like
        device = backend.device_of(array)
        key = (name, device.type, array.dtype)
        if key not in self._cache:
            self._cache[key] = self._host[name].to(device).to(array.dtype)
        return self._cache[key]


def _sampling_source(where, n, generator, device, dtype):
    """Check sample's arguments; return the generator to draw from and the float dtype."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"{where}: the number of samples must be a non-negative int, got {n!r}")
    dtype = backend.as_dtype(dtype)
    if not backend.is_floating(dtype):
        raise TypeError(f"{where}: samples are float32 or float64, got dtype {dtype}")
    if generator is None:
        return backend.default_generator(device), dtype
    if not isinstance(generator, backend.Generator):
        raise TypeError(f"{where}: generator must be a tg.Generator, got {type(generator).__name__}")
    if device is not None and backend.as_device(device) != generator.device:
        raise ValueError(f"{where}: the generator is on {generator.device} but device={device!r} was asked for; "
                         f"make the generator on that device: tg.Generator(seed, device={str(device)!r})")
    return generator, dtype


def _flat_log_density(x, inside, log_density):
    """log p(x) for a density equal to exp(log_density) on a set and 0 outside it: ``log_density`` where
    ``inside`` (a bool tensor of x's batch shape) and -inf elsewhere.

    The value does not depend on x except through ``inside``, so its gradient is 0. The term 0 * x (of x only
    inside the set, so an infinite x makes no NaN) keeps the result on x's graph anyway: tg.grad(log_prob, x)
    then returns the zero gradient instead of saying x was not used.
    """
    on_graph = ops.where(inside.unsqueeze(-1), x, 0.0).sum(axis=-1) * 0.0
    return ops.where(inside, on_graph + log_density, float("-inf"))


# --- parameter checking (on the host, once, when a distribution is made) ---


def _host_tensor(owner, name, value):
    """A parameter as a float64 tensor on the CPU, checked to be finite."""
    try:
        result = tensor(value, dtype=backend.float64, device="cpu")
    except (TypeError, ValueError) as error:
        raise TypeError(f"{owner}: {name} must be a number or a (nested) list of numbers, got {value!r} "
                        f"({error})") from None
    if not ops.isfinite(result).all():
        raise ValueError(f"{owner}: {name} must be finite, got {result.tolist()}")
    return result


def _vector(owner, name, value, length=None):
    """A number or a 1-D sequence as a 1-D float64 tensor; a number is repeated ``length`` times when given."""
    result = _host_tensor(owner, name, value)
    if result.ndim == 0:
        result = result.reshape(1) if length is None else ops.broadcast_to(result, (length,)).clone()
    if result.ndim != 1 or (length is not None and result.shape[0] != length):
        expected = "a number or a 1-D sequence" if length is None else f"a number or {length} numbers"
        raise ValueError(f"{owner}: {name} must be {expected}, got shape {tuple(result.shape)}")
    return result


def _check_positive(owner, name, value):
    if not (value > 0).all():
        raise ValueError(f"{owner}: {name} must be positive, got {value.tolist()}")


def _positive_int(owner, name, value, maximum=None):
    """``value`` as an int, or a ValueError unless it is a positive integer (not a bool, not a float), at most
    ``maximum`` when one is given."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1
            or (maximum is not None and value > maximum)):
        allowed = "a positive int" if maximum is None else f"an int in [1, {maximum}]"
        raise ValueError(f"{owner}: {name} must be {allowed}, got {value!r}")
    return int(value)


def _check_scale_and_noise(owner, noise, scale):
    if not (0 <= noise < math.inf and 0 < scale < math.inf):
        raise ValueError(f"{owner}: noise must be >= 0 and scale > 0 (both finite), got noise={noise!r}, "
                         f"scale={scale!r}")


def _format(values):
    """A parameter tensor as short text for a repr: one number when all its elements are equal."""
    flat = values.tolist()
    return f"{flat[0]:g}" if len(set(flat)) == 1 else str([round(v, 4) for v in flat])


# ---------------------------------------------------------------------------------------------------------------
# Gaussians and uniform boxes (any dimension)
# ---------------------------------------------------------------------------------------------------------------


class Gaussian(Distribution):
    """The normal distribution N(mean, diag(std^2)) with independent coordinates.

        log p(x) = sum_j [ -(x_j - mean_j)^2 / (2 std_j^2) - log std_j - log(2 pi) / 2 ]
        sample:    x = mean + std * z,  z ~ N(0, I)

    mean: a number (a one-dimensional Gaussian) or a sequence of ``dim`` numbers.
    std: a positive number (the same in every coordinate) or one per coordinate.
    Attributes ``mean`` and ``std`` are float64 CPU tensors of shape (dim,).
    """

    def __init__(self, mean=0.0, std=1.0):
        owner = type(self).__name__
        self.mean = _vector(owner, "mean", mean)
        self.dim = self.mean.shape[0]
        self.std = _vector(owner, "std", std, self.dim)
        _check_positive(owner, "std", self.std)
        # the constant part of log p: -sum_j log std_j - dim log(2 pi) / 2
        self.log_normalizer = -sum(math.log(s) for s in self.std.tolist()) - self.dim * _LOG_2PI / 2
        self._host = {"mean": self.mean, "std": self.std}

    def _sample(self, n, generator, dtype):
        z = generator.normal((n, self.dim), dtype)
        return self._parameter("mean", z).array + self._parameter("std", z).array * z

    def log_prob(self, x):
        x = self._points(x)
        z = (x - self._parameter("mean", x)) / self._parameter("std", x)
        return (z * z).sum(axis=-1) * -0.5 + self.log_normalizer

    def __repr__(self):
        dim = f"dim={self.dim}, " if self.dim > 1 else ""
        return f"{type(self).__name__}({dim}mean={_format(self.mean)}, std={_format(self.std)})"


class StandardNormal(Gaussian):
    """The latent prior N(0, I) in ``dim`` dimensions:  log p(z) = -|z|^2 / 2 - dim log(2 pi) / 2."""

    def __init__(self, dim):
        super().__init__(mean=[0.0] * _positive_int("StandardNormal", "dim", dim), std=1.0)

    def __repr__(self):
        return f"StandardNormal(dim={self.dim})"


class Uniform(Distribution):
    """The uniform distribution on the interval [low, high], or on the box [low_1, high_1] x ... x [low_d, high_d].

        p(x) = 1 / prod_j (high_j - low_j)  inside the box (bounds included, as in scipy.stats.uniform), 0 outside
        log p(x) = -log(volume) inside, -inf outside; the gradient in x is 0 everywhere (never NaN)
        sample:  x = low + (high - low) * u,  u ~ U[0, 1)

    low, high: numbers (a one-dimensional uniform) or sequences of ``dim`` numbers (a number is used in every
    coordinate), with low < high. Attributes ``low`` and ``high`` are float64 CPU tensors of shape (dim,).
    """

    def __init__(self, low=0.0, high=1.0):
        owner = type(self).__name__
        low_values, high_values = _host_tensor(owner, "low", low), _host_tensor(owner, "high", high)
        dim = max(low_values.numel(), high_values.numel())
        self.low, self.high = _vector(owner, "low", low, dim), _vector(owner, "high", high, dim)
        self.dim = dim
        if not (self.low < self.high).all():
            raise ValueError(f"{owner}: low must be below high in every coordinate, got low={self.low.tolist()} "
                             f"and high={self.high.tolist()}")
        self.log_volume = sum(math.log(h - lo) for lo, h in zip(self.low.tolist(), self.high.tolist()))
        self._host = {"low": self.low, "high": self.high, "width": self.high - self.low}

    def _sample(self, n, generator, dtype):
        u = generator.uniform((n, self.dim), dtype)
        x = self._parameter("low", u).array + self._parameter("width", u).array * u
        # rounding in float32 can land low + width one step above high; keep every sample inside the support
        return generator.device.xp.minimum(x, self._parameter("high", u).array)

    def log_prob(self, x):
        x = self._points(x)
        inside = ((x >= self._parameter("low", x)) & (x <= self._parameter("high", x))).all(axis=-1)
        return _flat_log_density(x, inside, -self.log_volume)

    def __repr__(self):
        dim = f"dim={self.dim}, " if self.dim > 1 else ""
        return f"{type(self).__name__}({dim}low={_format(self.low)}, high={_format(self.high)})"


class UniformPrior(Uniform):
    """The latent prior U[low, high]^dim (the GAN paper's uniform noise), by default on [-1, 1]^dim."""

    def __init__(self, dim, low=-1.0, high=1.0):
        dim = _positive_int("UniformPrior", "dim", dim)
        super().__init__(low=[float(low)] * dim, high=[float(high)] * dim)

    def __repr__(self):
        return f"UniformPrior(dim={self.dim}, low={self.low[0].item():g}, high={self.high[0].item():g})"


# ---------------------------------------------------------------------------------------------------------------
# Gaussian mixtures: 1-D, ring, grid and general
# ---------------------------------------------------------------------------------------------------------------


class GaussianMixture(Distribution):
    """A mixture of k isotropic Gaussians:  p(x) = sum_k w_k N(x; mu_k, sigma_k^2 I).

        log p(x) = logsumexp_k [ log w_k - |x - mu_k|^2 / (2 sigma_k^2) - d log sigma_k - d log(2 pi) / 2 ]
        sample:    pick component k with probability w_k, then x = mu_k + sigma_k z,  z ~ N(0, I)

    logsumexp keeps log p finite (and its gradient exact) far from every mode, where each p_k underflows to 0.

    means: shape (k, d); a flat list of k numbers means k one-dimensional components.
    stds: one positive number for all components, or k of them.
    weights: k positive numbers, normalised to sum to 1; equal weights when None.
    Attributes (float64 CPU tensors): ``means`` (k, d), ``stds`` (k,), ``weights`` (k,); and ``n_modes`` = k.
    """

    def __init__(self, means, stds, weights=None):
        owner = type(self).__name__
        means = _host_tensor(owner, "means", means)
        if means.ndim == 1:
            means = means.reshape(means.shape[0], 1)
        if means.ndim != 2 or means.shape[0] == 0:
            raise ValueError(f"{owner}: means must have shape (k, d) with k >= 1 (or be a list of k numbers), got "
                             f"shape {tuple(means.shape)}")
        self.means = means
        self.n_modes, self.dim = means.shape
        self.stds = _vector(owner, "stds", stds, self.n_modes)
        _check_positive(owner, "stds", self.stds)
        weights = _vector(owner, "weights", 1.0 if weights is None else weights, self.n_modes)
        _check_positive(owner, "weights", weights)
        self.weights = weights / weights.sum()

        # Per-component constants of log p, and the cumulative weights the sampler compares a uniform draw with.
        stds, weights = self.stds.tolist(), self.weights.tolist()
        log_normalizers = [math.log(w) - self.dim * math.log(s) - self.dim * _LOG_2PI / 2
                           for w, s in zip(weights, stds)]
        cumulative = list(itertools.accumulate(weights))[:-1]  # k - 1 boundaries between components in [0, 1)
        self._host = {
            "means": self.means,
            "stds": self.stds,
            "log_normalizers": tensor(log_normalizers, dtype=backend.float64),
            "half_precisions": tensor([1 / (2 * s * s) for s in stds], dtype=backend.float64),
            "cumulative": tensor(cumulative, dtype=backend.float64).reshape(self.n_modes - 1),
        }

    def sample_with_components(self, n, generator=None, device=None, dtype=None):
        """Like ``sample``, and also the component each sample came from: (samples (n, dim), int64 indices (n,)).
        The component is the sample's label in a conditional GAN (tinygan.train.Trainer(..., conditional=True))."""
        generator, dtype = _sampling_source(f"{type(self).__name__}.sample", n, generator, device, dtype)
        samples, components = self._sample_with_components(int(n), generator, dtype)
        return Tensor._make(samples), Tensor._make(components)

    def _sample_with_components(self, n, generator, dtype):
        component = self._components(n, generator)
        z = generator.normal((n, self.dim), dtype)
        means, stds = self._parameter("means", z).array, self._parameter("stds", z).array
        return means[component] + stds[component][:, None] * z, component

    def sample_components(self, n, generator=None, device=None):
        """n component indices (int64, (n,)) drawn with the mixture's weights: labels y ~ p(y) without samples."""
        generator, _ = _sampling_source(f"{type(self).__name__}.sample_components", n, generator, device, None)
        return Tensor._make(self._components(int(n), generator))

    def _components(self, n, generator):
        # Component k is chosen when u falls in [w_0 + ... + w_{k-1}, w_0 + ... + w_k): k is the number of
        # cumulative weights u has passed. u is float64 so that small weights are resolved exactly.
        u = generator.uniform((n, 1), backend.float64)
        return (u >= self._parameter("cumulative", u).array).sum(axis=1)

    def _sample(self, n, generator, dtype):
        return self._sample_with_components(n, generator, dtype)[0]

    def log_prob(self, x):
        x = self._points(x)
        difference = x.unsqueeze(-2) - self._parameter("means", x)             # (..., k, d)
        squared_distance = (difference * difference).sum(axis=-1)              # (..., k)
        log_terms = self._parameter("log_normalizers", x) - squared_distance * self._parameter("half_precisions", x)
        return ops.logsumexp(log_terms, axis=-1)                               # (...)

    def __repr__(self):
        return f"GaussianMixture(n_modes={self.n_modes}, dim={self.dim}, stds={_format(self.stds)})"


def ring(n_modes=8, radius=1.0, std=0.01):
    """The 2-D ring: ``n_modes`` equally weighted Gaussians with means on a circle,

        mu_i = radius * (cos(2 pi i / n_modes), sin(2 pi i / n_modes)),  i = 0, ..., n_modes - 1,  sigma = std.

    The defaults are the 2D-ring of the mode-collapse benchmarks (8 modes, radius 1, std 0.01, as in PacGAN,
    which gives variance 1e-4); other papers change radius and std, which is what the arguments are for.
    """
    n_modes = _positive_int("ring", "n_modes", n_modes, MAX_MODES)
    angles = [2 * math.pi * i / n_modes for i in range(n_modes)]
    return GaussianMixture([[radius * math.cos(a), radius * math.sin(a)] for a in angles], std)


def grid(n_per_side=5, spacing=2.0, std=0.05):
    """The 2-D grid: n_per_side^2 equally weighted Gaussians on a square grid centred at 0,

        mu_(i, j) = ((i - (n - 1) / 2) * spacing, (j - (n - 1) / 2) * spacing),  mode number i * n + j.

    The defaults give the 25 modes at {-4, -2, 0, 2, 4}^2 with std 0.05 (variance 0.0025) of the 2D-grid benchmark.
    """
    n_per_side = _positive_int("grid", "n_per_side", n_per_side, math.isqrt(MAX_MODES))
    coordinates = [(i - (n_per_side - 1) / 2) * spacing for i in range(n_per_side)]
    return GaussianMixture([[a, b] for a in coordinates for b in coordinates], std)


# ---------------------------------------------------------------------------------------------------------------
# other 2-D shapes
# ---------------------------------------------------------------------------------------------------------------


class SwissRoll(Distribution):
    """The 2-D swiss roll (sample only: it has no closed-form density).

        t = 1.5 pi (1 + 2 u),  u ~ U[0, 1)
        x = scale * ((t cos t, t sin t) + noise * z),  z ~ N(0, I)

    As scikit-learn's make_swiss_roll (its x and z coordinates), with noise 0.25 and the scale 1 / 7.5 of the
    WGAN-GP toy experiments, so the points lie in about [-1.7, 2]^2.
    """

    dim = 2
    has_density = False

    def __init__(self, noise=0.25, scale=1 / 7.5):
        self.noise, self.scale = float(noise), float(scale)
        _check_scale_and_noise("SwissRoll", self.noise, self.scale)

    def _sample(self, n, generator, dtype):
        xp = generator.device.xp
        t = 1.5 * math.pi * (1 + 2 * generator.uniform((n, 1), dtype))
        roll = xp.concatenate([t * xp.cos(t), t * xp.sin(t)], axis=1)
        return (roll + self.noise * generator.normal((n, 2), dtype)) * self.scale

    def __repr__(self):
        return f"SwissRoll(noise={self.noise:g}, scale={self.scale:g})"


class TwoMoons(Distribution):
    """Two interleaving half circles (sample only: no closed-form density), as scikit-learn's make_moons.

        theta ~ U[0, pi);  upper moon (cos theta, sin theta), lower moon (1 - cos theta, 1/2 - sin theta),
        each with probability 1/2;  x = scale * (moon point - (1/2, 1/4) + noise * z),  z ~ N(0, I)

    Centred at 0, so the points lie in about [-1.5, 1.5] x [-0.75, 0.75] (times scale).
    """

    dim = 2
    has_density = False

    def __init__(self, noise=0.1, scale=1.0):
        self.noise, self.scale = float(noise), float(scale)
        _check_scale_and_noise("TwoMoons", self.noise, self.scale)

    def _sample(self, n, generator, dtype):
        xp = generator.device.xp
        theta = math.pi * generator.uniform((n, 1), dtype)
        upper = generator.integers(0, 2, (n, 1)) == 1
        cos, sin = xp.cos(theta), xp.sin(theta)
        moon_x = xp.where(upper, cos, 1 - cos) - 0.5
        moon_y = xp.where(upper, sin, 0.5 - sin) - 0.25
        moons = xp.concatenate([moon_x, moon_y], axis=1)
        return (moons + self.noise * generator.normal((n, 2), dtype)) * self.scale

    def __repr__(self):
        return f"TwoMoons(noise={self.noise:g}, scale={self.scale:g})"


class Checkerboard(Distribution):
    """Uniform on the dark squares of an n x n checkerboard of squares of side ``square``, centred at 0.

    Square (i, j), i, j = 0..n-1, covers [(i - n/2) s, (i + 1 - n/2) s] x [(j - n/2) s, (j + 1 - n/2) s] and is
    dark when i + j is even, so there are m = ceil(n^2 / 2) dark squares and

        p(x) = 1 / (m s^2) on a dark square (sides included), 0 elsewhere
        sample: a dark square uniformly, then a uniform point in it

    The defaults (4 x 4 squares of side 1) fill [-2, 2]^2 with 8 dark squares.
    """

    dim = 2

    def __init__(self, n_per_side=4, square=1.0):
        self.n_per_side = _positive_int("Checkerboard", "n_per_side", n_per_side, math.isqrt(2 * MAX_MODES))
        self.square = float(square)
        if not 0 < self.square < math.inf:
            raise ValueError(f"Checkerboard: square must be a positive number, got {square!r}")
        n, half = self.n_per_side, self.n_per_side / 2
        corners = [[(i - half) * self.square, (j - half) * self.square]
                   for i in range(n) for j in range(n) if (i + j) % 2 == 0]
        self.n_squares = len(corners)
        self.log_density = -math.log(self.n_squares * self.square ** 2)
        self._host = {"corners": tensor(corners, dtype=backend.float64)}

    def _sample(self, n, generator, dtype):
        which = generator.integers(0, self.n_squares, (n,))
        offset = generator.uniform((n, 2), dtype) * self.square
        return self._parameter("corners", offset).array[which] + offset

    def log_prob(self, x):
        x = self._points(x)
        # Which squares hold each point: t is its position in units of squares from the board's corner, and the
        # closed square (i, j) holds it when i <= t_0 <= i + 1 and j <= t_1 <= j + 1: one square, or two or four
        # on a shared side or corner. The squares are closed so that a sample rounded onto a side still counts.
        # This bookkeeping has no gradient, so it is done on raw arrays.
        xp, n = x.device.xp, self.n_per_side
        t = xp.clip(x.array / self.square + n / 2, -1, n + 1)  # clipped: far-off (or infinite) points stay off
        lower, upper = xp.ceil(t) - 1, xp.floor(t)
        inside = xp.zeros(t.shape[:-1], dtype=bool)
        for i in (lower[..., 0], upper[..., 0]):
            for j in (lower[..., 1], upper[..., 1]):
                inside |= (i >= 0) & (i < n) & (j >= 0) & (j < n) & ((i + j) % 2 == 0)
        return _flat_log_density(x, Tensor._make(inside), self.log_density)

    def __repr__(self):
        return f"Checkerboard(n_per_side={self.n_per_side}, square={self.square:g})"


def one_hot(labels, n_classes, dtype=None):
    """Labels as one-hot rows: int labels (n,) -> (n, n_classes) of ``dtype`` (default float32), row i all 0 but a 1
    in column labels[i]; on the labels' device. How a conditional GAN gives its label to G(z, y) and D(x, y)
    (Mirza and Osindero 2014: the one-hot vector is concatenated to the network's input)."""
    return eye(n_classes, dtype=dtype, device=labels.device)[labels]


# ---------------------------------------------------------------------------------------------------------------
# the registry: names a command line accepts
# ---------------------------------------------------------------------------------------------------------------


# name -> factory; each factory takes keyword arguments that replace its defaults (see ``get``).
DATASETS = {
    # one-dimensional
    "gaussian": functools.partial(Gaussian, mean=4.0, std=1.25),          # away from the prior N(0, 1)
    "mixture1d": functools.partial(GaussianMixture, means=[-2.0, 2.0], stds=0.5),   # two well separated modes
    "uniform": functools.partial(Uniform, low=0.0, high=1.0),
    # two-dimensional
    "ring": ring,
    "grid": grid,
    "gmm2d": functools.partial(GaussianMixture, means=[[-1.0, -1.0], [1.0, -1.0], [0.0, 1.0]],
                               stds=[0.2, 0.2, 0.2], weights=[0.6, 0.3, 0.1]),      # unbalanced: keep the 10% mode?
    "swiss_roll": SwissRoll,
    "moons": TwoMoons,
    "checkerboard": Checkerboard,
}


def get(name, **kwargs):
    """The dataset called ``name`` (a key of DATASETS; "-" is read as "_", case does not matter), made with its
    defaults, replaced by ``kwargs``:  get("ring"),  get("ring", n_modes=6, std=0.02),  get("gaussian", mean=0).
    """
    if not isinstance(name, str):
        raise TypeError(f"get: a dataset name must be a string, got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_")
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(sorted(DATASETS))}")
    return DATASETS[key](**kwargs)
