"""Tests of tinygan.distributions: the toy data sets and latent priors.

  - sampling: shapes, dtypes and devices; the same seed gives the same samples; no value comes to the host;
  - statistics: means, spreads and mode frequencies of 20,000 samples agree with the distribution within five
    standard errors (the seeds are fixed, so these tests are deterministic on a device);
  - log_prob: against scipy.stats (norm, multivariate_normal, uniform; mixtures through scipy's logsumexp) on points
    drawn by hypothesis; it integrates to 1 (numerically, in 1-D and on a 2-D grid); it is finite, with finite
    gradients, far from every mode and outside the support; its gradients pass gradcheck and gradgradcheck;
  - the ring and grid constants, the registry and the error messages.
"""

import math

import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygan as tg
from tinygan import distributions
from tinygan.distributions import (Checkerboard, Gaussian, GaussianMixture, StandardNormal, SwissRoll, TwoMoons,
                                   Uniform, UniformPrior)
from tinygan.testing import gradcheck, gradgradcheck

N = 20_000          # samples for the statistical tests
Z = 5.0             # how many standard errors a statistic may be off
NAMES = sorted(distributions.DATASETS)
DIMS = {"gaussian": 1, "mixture1d": 1, "uniform": 1, "ring": 2, "grid": 2, "gmm2d": 2, "swiss_roll": 2, "moons": 2,
        "checkerboard": 2}
PRIORS = [StandardNormal(3), UniformPrior(3), UniformPrior(2, low=0.0, high=2.0)]


def examples():
    """@settings for hypothesis tests that also take the ``device`` fixture (which only names a device)."""
    profile = settings.default
    return settings(suppress_health_check=[*profile.suppress_health_check, HealthCheck.function_scoped_fixture])


def host(t):
    """A tensor's values as a float64 numpy array."""
    return np.asarray(t.numpy(), dtype=np.float64)


def within(statistic, expected, standard_error, what):
    assert abs(statistic - expected) <= Z * standard_error, \
        f"{what}: {statistic} is more than {Z} standard errors ({standard_error}) from {expected}"


@pytest.fixture
def restore_default_seed():
    yield
    tg.manual_seed(None)


# ---------------------------------------------------------------------------------------------------------------
# sampling: shapes, dtypes, devices, reproducibility
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [None, tg.float32, tg.float64])
def test_samples_have_shape_n_by_dim_and_the_asked_dtype_on_the_generators_device(name, dtype, device):
    data = distributions.get(name)
    x = data.sample(7, generator=tg.Generator(0, device=device), dtype=dtype)
    assert x.shape == (7, DIMS[name]) and data.dim == DIMS[name]
    assert x.dtype == (tg.float32 if dtype is None else dtype)
    assert x.device == device
    assert not x.requires_grad
    assert np.isfinite(host(x)).all()
    assert data.sample(0, generator=tg.Generator(0, device=device)).shape == (0, DIMS[name])


@pytest.mark.parametrize("prior", PRIORS, ids=repr)
def test_priors_sample_any_dimension(prior, device):
    z = prior.sample(5, device=device)
    assert z.shape == (5, prior.dim) and z.device == device and z.dtype == tg.float32
    assert StandardNormal(17).sample(3, generator=tg.Generator(0)).shape == (3, 17)


@pytest.mark.parametrize("name", NAMES)
def test_the_same_seed_gives_the_same_samples(name, device):
    data = distributions.get(name)
    first = data.sample(50, generator=tg.Generator(3, device=device))
    again = data.sample(50, generator=tg.Generator(3, device=device))
    other = data.sample(50, generator=tg.Generator(4, device=device))
    np.testing.assert_array_equal(host(first), host(again))
    assert not np.array_equal(host(first), host(other))


def test_the_default_generator_follows_manual_seed(device, restore_default_seed):
    data = distributions.ring()
    tg.manual_seed(11)
    first = data.sample(20, device=device)
    tg.manual_seed(11)
    again = data.sample(20, device=device)
    assert first.device == device
    np.testing.assert_array_equal(host(first), host(again))


@pytest.mark.parametrize("name", NAMES)
def test_sampling_and_log_prob_bring_nothing_to_the_host(name, device, monkeypatch):
    data = distributions.get(name)
    generator = tg.Generator(0, device=device)

    def host_transfer(*args, **kwargs):
        raise AssertionError("a value was brought to the host")

    for method in ("item", "numpy", "tolist", "__bool__", "__float__", "__int__"):
        monkeypatch.setattr(tg.Tensor, method, host_transfer)
    monkeypatch.setattr(tg.backend, "to_host", host_transfer)
    x = data.sample(16, generator=generator)
    if data.has_density:
        assert data.log_prob(x).shape == (16,)


def test_the_dtype_changes_the_precision_of_the_draws_not_the_components_picked(device):
    """The component is chosen from a float64 uniform draw whatever the samples' dtype, so a seed picks the same
    components in float32 and float64."""
    for name in ("ring", "gmm2d", "mixture1d"):
        data = distributions.get(name)
        _, first = data.sample_with_components(500, generator=tg.Generator(5, device=device), dtype=tg.float32)
        _, again = data.sample_with_components(500, generator=tg.Generator(5, device=device), dtype=tg.float64)
        np.testing.assert_array_equal(first.numpy(), again.numpy())


# ---------------------------------------------------------------------------------------------------------------
# sample statistics
# ---------------------------------------------------------------------------------------------------------------


def check_mean_and_std(x, mean, std, what):
    """Per coordinate: the sample mean within Z standard errors std / sqrt(n), and the sample variance within Z
    standard errors of a normal variance, var sqrt(2 / n) (a slight underestimate for other shapes)."""
    n = x.shape[0]
    for j in range(x.shape[1]):
        within(x[:, j].mean(), mean[j], std[j] / math.sqrt(n), f"{what} mean[{j}]")
        within(x[:, j].var(), std[j] ** 2, std[j] ** 2 * math.sqrt(2 / n), f"{what} variance[{j}]")


def test_gaussian_samples_have_its_mean_and_std(device):
    generator = tg.Generator(1, device=device)
    data = Gaussian(mean=[4.0, -1.0, 0.5], std=[1.25, 0.1, 3.0])
    check_mean_and_std(host(data.sample(N, generator=generator)), [4.0, -1.0, 0.5], [1.25, 0.1, 3.0], "gaussian")
    check_mean_and_std(host(StandardNormal(4).sample(N, generator=generator)), [0.0] * 4, [1.0] * 4, "N(0, I)")
    x = host(distributions.get("gaussian").sample(N, generator=generator))
    check_mean_and_std(x, [4.0], [1.25], "registry gaussian")


def test_uniform_samples_fill_the_box_with_its_mean_and_variance(device):
    generator = tg.Generator(2, device=device)
    low, high = np.array([-1.0, 0.0, 2.0]), np.array([1.0, 0.1, 5.0])
    x = host(Uniform(low.tolist(), high.tolist()).sample(N, generator=generator))
    assert (x >= low).all() and (x <= high).all()
    width = high - low
    n = x.shape[0]
    for j in range(3):
        within(x[:, j].mean(), (low[j] + high[j]) / 2, width[j] / math.sqrt(12 * n), f"mean[{j}]")
        # Var of (u - mean)^2 for a uniform is width^4 / 180
        within(x[:, j].var(), width[j] ** 2 / 12, width[j] ** 2 / math.sqrt(180 * n), f"variance[{j}]")
    z = host(UniformPrior(2).sample(N, generator=generator))
    assert (np.abs(z) <= 1).all() and z.min() < -0.99 and z.max() > 0.99


@pytest.mark.parametrize("name", ["ring", "grid", "gmm2d", "mixture1d"])
def test_mixture_components_are_picked_with_their_weights_and_spread_by_their_stds(name, device):
    data = distributions.get(name)
    x, component = data.sample_with_components(N, generator=tg.Generator(3, device=device))
    assert component.dtype == tg.int64 and component.shape == (N,) and component.device == device
    x, component = host(x), component.numpy()
    weights, means, stds = host(data.weights), host(data.means), host(data.stds)
    counts = np.bincount(component, minlength=data.n_modes)
    assert len(counts) == data.n_modes
    for k, (count, w) in enumerate(zip(counts, weights)):
        within(count, N * w, math.sqrt(N * w * (1 - w)), f"{name}: samples from component {k}")
    # (x - mu_k) / sigma_k is N(0, I) for the samples of component k
    standardized = (x - means[component]) / stds[component][:, None]
    check_mean_and_std(standardized, [0.0] * data.dim, [1.0] * data.dim, f"{name}: standardized samples")


@pytest.mark.parametrize("name", ["ring", "grid"])
def test_every_ring_and_grid_sample_is_nearest_its_own_mode(name):
    data = distributions.get(name)
    x, component = data.sample_with_components(N, generator=tg.Generator(4))
    distances = np.linalg.norm(host(x)[:, None, :] - host(data.means)[None], axis=2)
    np.testing.assert_array_equal(distances.argmin(axis=1), component.numpy())
    # "high quality" samples of PacGAN/VEEGAN: within 3 std of a mode (a 2-D normal leaves exp(-4.5) ~ 1.1% out)
    outside = (distances.min(axis=1) > 3 * data.stds.numpy()[0]).mean()
    within(outside, math.exp(-4.5), math.sqrt(math.exp(-4.5) / N), f"{name}: share beyond 3 std")


def test_uneven_weights_are_normalised_and_respected(device):
    data = GaussianMixture([[0.0], [10.0], [20.0]], stds=0.1, weights=[2.0, 1.0, 1.0])
    np.testing.assert_allclose(host(data.weights), [0.5, 0.25, 0.25])
    _, component = data.sample_with_components(N, generator=tg.Generator(5, device=device))
    counts = np.bincount(component.numpy(), minlength=3)
    for count, w in zip(counts, [0.5, 0.25, 0.25]):
        within(count, N * w, math.sqrt(N * w * (1 - w)), "component count")
    tiny = GaussianMixture([[0.0], [1.0]], stds=0.1, weights=[1 - 1e-3, 1e-3])
    _, component = tiny.sample_with_components(N, generator=tg.Generator(6, device=device))
    within(component.numpy().sum(), N * 1e-3, math.sqrt(N * 1e-3), "samples of a 0.1% component")


def test_swiss_roll_without_noise_lies_on_the_spiral(device):
    x = host(SwissRoll(noise=0.0, scale=1.0).sample(N, generator=tg.Generator(7, device=device)))
    t = np.linalg.norm(x, axis=1)                  # |(t cos t, t sin t)| = t
    assert (t >= 1.5 * np.pi - 1e-4).all() and (t <= 4.5 * np.pi + 1e-4).all()
    np.testing.assert_allclose(x[:, 0], t * np.cos(t), atol=2e-4)
    np.testing.assert_allclose(x[:, 1], t * np.sin(t), atol=2e-4)
    within(t.mean(), 3 * np.pi, 3 * np.pi / math.sqrt(3 * N), "mean of t")  # t uniform on [1.5 pi, 4.5 pi]
    scaled = host(SwissRoll().sample(N, generator=tg.Generator(7, device=device)))
    assert np.abs(scaled).max() < 2.5       # normalised to about the range of the ring and the grid


def test_two_moons_without_noise_lie_on_two_half_circles_in_equal_shares(device):
    x = host(TwoMoons(noise=0.0).sample(N, generator=tg.Generator(8, device=device)))
    shifted = x + [0.5, 0.25]                     # undo the centring
    on_upper = np.isclose(np.linalg.norm(shifted, axis=1), 1.0, atol=1e-5) & (shifted[:, 1] >= -1e-6)
    on_lower = np.isclose(np.linalg.norm(shifted - [1.0, 0.5], axis=1), 1.0, atol=1e-5) & (shifted[:, 1] <= 0.5 + 1e-6)
    assert (on_upper | on_lower).all()
    within(on_upper.sum(), N / 2, math.sqrt(N / 4), "points on the upper moon")
    within(x.mean(axis=0)[0], 0.0, 1 / math.sqrt(N), "centred in x")
    noisy = host(TwoMoons(noise=0.1, scale=2.0).sample(N, generator=tg.Generator(8, device=device)))
    assert np.abs(noisy).max() < 2 * 2.0


def test_checkerboard_samples_cover_the_dark_squares_evenly(device):
    data = Checkerboard()
    x = data.sample(N, generator=tg.Generator(9, device=device))
    assert np.isfinite(host(data.log_prob(x))).all()         # every sample is on a dark square
    cells = np.floor(host(x) + 2).astype(int)
    assert ((cells.sum(axis=1) % 2) == 0).all()
    counts = np.bincount(cells[:, 0] * 4 + cells[:, 1], minlength=16)
    dark = [i * 4 + j for i in range(4) for j in range(4) if (i + j) % 2 == 0]
    assert counts[[c for c in range(16) if c not in dark]].sum() == 0
    for count in counts[dark]:
        within(count, N / 8, math.sqrt(N / 8 * 7 / 8), "samples per dark square")


@pytest.mark.parametrize("data", [Uniform(0.1, 0.7), Uniform([-0.3, 1 / 3], [0.2, 0.9]), Checkerboard(3, 0.3)],
                         ids=repr)
def test_float32_samples_never_fall_outside_the_support(data):
    """low + (high - low) * u can round above high in float32; the samples are kept inside."""
    x = data.sample(200_000, generator=tg.Generator(10))
    assert np.isfinite(host(data.log_prob(x))).all()


# ---------------------------------------------------------------------------------------------------------------
# log_prob against scipy.stats
# ---------------------------------------------------------------------------------------------------------------

reals = st.floats(-4, 4, allow_nan=False, width=64)
scales = st.floats(0.1, 3.0, width=64)


@st.composite
def points(draw, dim, low=-6.0, high=6.0):
    n = draw(st.integers(1, 6))
    return draw(hnp.arrays(np.float64, (n, dim), elements=st.floats(low, high, width=64)))


@st.composite
def mixtures(draw):
    """(means (k, d), stds (k,), weights (k,)) with k in 1..4 and d in 1..3."""
    k, d = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    means = draw(hnp.arrays(np.float64, (k, d), elements=reals))
    stds = draw(hnp.arrays(np.float64, (k,), elements=scales))
    weights = draw(hnp.arrays(np.float64, (k,), elements=st.floats(0.05, 1.0, width=64)))
    return means, stds, weights


def log_prob64(data, x, device="cpu"):
    return host(data.log_prob(tg.tensor(x, dtype=tg.float64, device=device)))


@examples()
@given(data=st.data())
def test_gaussian_log_prob_is_scipys_normal(data, device):
    d = data.draw(st.integers(1, 3))
    mean = data.draw(hnp.arrays(np.float64, (d,), elements=reals))
    std = data.draw(hnp.arrays(np.float64, (d,), elements=scales))
    x = data.draw(points(d))
    expected = scipy.stats.norm.logpdf(x, mean, std).sum(axis=1)
    np.testing.assert_allclose(log_prob64(Gaussian(mean.tolist(), std.tolist()), x, device), expected, rtol=1e-12,
                               atol=1e-12)
    if d == 1:   # scalar parameters make a 1-D Gaussian, and a flat x is read as n scalars
        one_d = Gaussian(float(mean[0]), float(std[0]))
        np.testing.assert_allclose(log_prob64(one_d, x[:, 0], device), expected, rtol=1e-12, atol=1e-12)


@examples()
@given(x=points(3))
def test_standard_normal_log_prob_is_scipys_multivariate_normal(x, device):
    expected = scipy.stats.multivariate_normal(np.zeros(3), np.eye(3)).logpdf(x)
    np.testing.assert_allclose(log_prob64(StandardNormal(3), x, device), np.atleast_1d(expected), rtol=1e-12)


@examples()
@given(mixture=mixtures(), data=st.data())
def test_mixture_log_prob_is_the_logsumexp_of_scipys_components(mixture, data, device):
    means, stds, weights = mixture
    x = data.draw(points(means.shape[1]))
    w = weights / weights.sum()
    terms = [np.log(w_k) + np.atleast_1d(scipy.stats.multivariate_normal(m_k, s_k ** 2 * np.eye(len(m_k)))
                                         .logpdf(x)) for m_k, s_k, w_k in zip(means, stds, w)]
    expected = scipy.special.logsumexp(np.stack(terms, axis=1), axis=1)
    result = log_prob64(GaussianMixture(means.tolist(), stds.tolist(), weights.tolist()), x, device)
    np.testing.assert_allclose(result, expected, rtol=1e-10, atol=1e-10)


@examples()
@given(data=st.data())
def test_uniform_log_prob_is_scipys_uniform_with_minus_infinity_outside(data, device):
    d = data.draw(st.integers(1, 3))
    low = data.draw(hnp.arrays(np.float64, (d,), elements=reals))
    width = data.draw(hnp.arrays(np.float64, (d,), elements=scales))
    x = data.draw(points(d))
    high = low + width
    x = np.concatenate([x, low[None], high[None]])   # the bounds belong to the support, as in scipy
    expected = scipy.stats.uniform.logpdf(x, low, high - low).sum(axis=1)   # (x - low) / (high - low) is 1 at high
    result = log_prob64(Uniform(low.tolist(), high.tolist()), x, device)
    np.testing.assert_allclose(result, expected, rtol=1e-12)    # -inf where scipy gives -inf


def checkerboard_reference(x, n, side):
    """log p from the definition, for points off the squares' sides: dark square (i + j even) or not."""
    cell = np.floor(x / side + n / 2)
    dark = ((cell >= 0) & (cell < n)).all(axis=1) & (cell.sum(axis=1) % 2 == 0)
    return np.where(dark, -np.log(math.ceil(n * n / 2) * side ** 2), -np.inf)


@examples()
@given(n=st.integers(1, 5), side=st.sampled_from([0.5, 1.0, 1.5]), x=points(2, -4, 4))
def test_checkerboard_log_prob_follows_its_definition(n, side, x, device):
    t = x / side + n / 2                                             # in squares from the board's corner
    x = x[(np.abs(t - np.round(t)) > 1e-6).all(axis=1)]              # off the sides (at integer t)
    np.testing.assert_allclose(log_prob64(Checkerboard(n, side), x, device), checkerboard_reference(x, n, side))


def test_checkerboard_sides_and_corners_count_as_dark():
    data = Checkerboard()      # dark squares: [-2, -1] x [-2, -1], [-1, 0] x [-1, 0], ...
    x = [[-1.0, -1.5], [0.0, 0.0], [-2.0, -2.0], [2.0, 2.0], [-1.0, -1.0], [2.0, 1.5], [-1.5, -0.5], [2.5, 0.5]]
    np.testing.assert_allclose(host(data.log_prob(x)), [-math.log(8)] * 6 + [-np.inf] * 2)


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
def test_log_prob_works_in_the_dtype_and_on_the_device_of_x(dtype, device):
    for name in NAMES:
        data = distributions.get(name)
        if not data.has_density:
            continue
        x = data.sample(64, generator=tg.Generator(12, device=device), dtype=dtype)
        result = data.log_prob(x)
        assert result.shape == (64,) and result.dtype == dtype and result.device == device
        reference = log_prob64(data, host(x))
        np.testing.assert_allclose(host(result), reference, rtol=1e-4 if dtype == tg.float32 else 1e-12, atol=1e-4)
        np.testing.assert_allclose(host(data.prob(x)), np.exp(reference), rtol=1e-3)


def test_log_prob_takes_batches_of_points_lists_and_flat_1d_input():
    ring = distributions.ring()
    grid_points = tg.tensor(np.random.default_rng(0).normal(size=(3, 4, 2)))
    assert ring.log_prob(grid_points).shape == (3, 4)
    np.testing.assert_allclose(host(ring.log_prob(grid_points)).ravel(),
                               host(ring.log_prob(grid_points.reshape(12, 2))), rtol=1e-6)
    assert ring.log_prob([1.0, 0.0]).shape == ()
    mixture = distributions.get("mixture1d")
    flat, column = mixture.log_prob([0.0, 2.0, -2.0]), mixture.log_prob([[0.0], [2.0], [-2.0]])
    assert flat.shape == column.shape == (3,)
    np.testing.assert_array_equal(host(flat), host(column))
    assert mixture.log_prob(2.0).shape == ()
    assert mixture.log_prob(tg.tensor([1, 2])).dtype == tg.float32    # integer points become floats


# ---------------------------------------------------------------------------------------------------------------
# densities integrate to 1
# ---------------------------------------------------------------------------------------------------------------


def midpoint_integral(data, box, step):
    """The integral of exp(log_prob) over a box [(low, high)] * dim by the midpoint rule."""
    axes = [np.arange(low + step / 2, high, step) for low, high in box]
    mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    return host(data.prob(tg.tensor(mesh, dtype=tg.float64))).sum() * step ** len(box)


INTEGRATION_CASES = {            # name: (distribution, box [(low, high)] * dim, step)
    "gaussian": (distributions.get("gaussian"), [(-6.0, 14.0)], 1e-3),
    "mixture1d": (distributions.get("mixture1d"), [(-6.0, 6.0)], 1e-3),
    "uniform": (distributions.get("uniform"), [(-1.0, 2.0)], 1e-3),
    "uniform_shifted": (Uniform(-0.5, 2.5), [(-1.0, 3.0)], 1e-3),
    "mixture1d_uneven": (GaussianMixture([-1.0, 0.5, 3.0], stds=[0.3, 1.0, 0.05], weights=[1, 2, 3]), [(-8.0, 8.0)],
                         1e-3),
    "gmm2d": (distributions.get("gmm2d"), [(-2.5, 2.5)] * 2, 0.01),
    "ring_std_0.05": (distributions.ring(std=0.05), [(-1.5, 1.5)] * 2, 0.005),
    "grid_std_0.2": (distributions.grid(std=0.2), [(-6.0, 6.0)] * 2, 0.02),
    "checkerboard": (distributions.get("checkerboard"), [(-2.5, 2.5)] * 2, 0.01),
    "standard_normal": (StandardNormal(2), [(-7.0, 7.0)] * 2, 0.02),
    "uniform_prior": (UniformPrior(2), [(-1.5, 1.5)] * 2, 0.01),
}


@pytest.mark.parametrize("case", list(INTEGRATION_CASES))
def test_density_integrates_to_one(case):
    data, box, step = INTEGRATION_CASES[case]
    assert midpoint_integral(data, box, step) == pytest.approx(1.0, abs=1e-4)


# ---------------------------------------------------------------------------------------------------------------
# gradients of log_prob
# ---------------------------------------------------------------------------------------------------------------

GRADIENT_CASES = {
    "gaussian": (Gaussian([1.0, -2.0], [0.5, 2.0]), [[0.3, -1.0], [2.0, 0.5]]),
    "standard_normal": (StandardNormal(3), [[0.1, -0.4, 2.0]]),
    "mixture1d": (distributions.get("mixture1d"), [[-2.3], [0.1], [1.7]]),
    "gmm2d": (distributions.get("gmm2d"), [[-0.8, -1.1], [0.4, 0.2], [3.0, -2.0]]),
    # near a mode, or where one mode dominates: between modes the sharp switch of responsibilities (std 0.01)
    # needs a far smaller step than gradcheck's for finite differences to be accurate
    "ring": (distributions.ring(), [[0.99, 0.02], [0.7, 0.72], [-0.01, 1.003], [0.5, 0.5]]),
    "grid": (distributions.grid(), [[-4.03, 1.98], [1.0, 1.0], [0.02, -0.04]]),
    "uniform": (Uniform([0.0, -1.0], [1.0, 1.0]), [[0.5, 0.0], [0.2, 0.9]]),
    "checkerboard": (Checkerboard(), [[-1.5, -1.5], [0.5, 0.5]]),
}


@pytest.mark.parametrize("case", sorted(GRADIENT_CASES))
def test_log_prob_passes_gradcheck_and_gradgradcheck(case):
    data, x = GRADIENT_CASES[case]
    x = tg.tensor(x, dtype=tg.float64, requires_grad=True)
    assert gradcheck(data.log_prob, (x,))
    assert gradgradcheck(data.log_prob, (x,))


def test_gaussian_gradient_is_the_score_formula(device):
    data = Gaussian([1.0, -2.0], [0.5, 2.0])
    x = tg.tensor([[0.3, -1.0], [2.0, 0.5]], dtype=tg.float64, device=device, requires_grad=True)
    (score,) = tg.grad(data.log_prob(x).sum(), [x])
    np.testing.assert_allclose(host(score), -(host(x) - [1.0, -2.0]) / np.array([0.5, 2.0]) ** 2, rtol=1e-12)


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
def test_mixture_log_prob_and_gradient_stay_finite_far_from_every_mode(dtype, device):
    """Each component's density underflows to 0 out there; logsumexp keeps log p and its gradient exact."""
    ring = distributions.ring()
    x = tg.tensor([[30.0, -40.0], [1e3, 0.0]], dtype=dtype, device=device, requires_grad=True)
    log_p = ring.log_prob(x)
    (gradient,) = tg.grad(log_p.sum(), [x])
    assert np.isfinite(host(log_p)).all() and np.isfinite(host(gradient)).all()
    means = host(ring.means)
    terms = [np.log(1 / 8) + scipy.stats.multivariate_normal(m, 1e-4 * np.eye(2)).logpdf(host(x)) for m in means]
    np.testing.assert_allclose(host(log_p), scipy.special.logsumexp(np.stack(terms), axis=0), rtol=1e-6)
    # the gradient points from x back to the nearest mode (1, 0): -(x - mu) / sigma^2
    np.testing.assert_allclose(host(gradient)[1], [-(1e3 - 1) / 1e-4, 0.0], rtol=1e-6, atol=1e-3)


@pytest.mark.parametrize("data", [Uniform(0.0, 1.0), Checkerboard()], ids=repr)
def test_flat_densities_have_zero_gradient_everywhere_even_at_infinity(data, device):
    inf = math.inf
    rows = [[0.5], [2.0], [-inf], [inf]] if data.dim == 1 else [[-1.5, -1.5], [-1.5, -0.5], [inf, 0.0], [-inf, inf]]
    x = tg.tensor(rows, dtype=tg.float64, device=device, requires_grad=True)
    log_p = data.log_prob(x)
    assert np.isfinite(host(log_p)[0]) and (host(log_p)[1:] == -inf).all()
    (gradient,) = tg.grad(log_p.sum(), [x])       # x is on the graph (the gradient exists) and it is 0, not NaN
    np.testing.assert_array_equal(host(gradient), np.zeros_like(host(x)))


def test_optimal_discriminator_from_log_probs_and_its_gradient():
    """D*(x) = p_data / (p_data + p_g) = sigmoid(log p_data - log p_g), differentiable in x."""
    p_data, p_g = distributions.get("mixture1d"), Gaussian(0.0, 1.0)
    x = tg.tensor([[-2.0], [0.0], [1.0], [3.0]], dtype=tg.float64, requires_grad=True)
    d_star = tg.sigmoid(p_data.log_prob(x) - p_g.log_prob(x))
    values = host(x)[:, 0]
    mix = 0.5 * scipy.stats.norm.pdf(values, -2, 0.5) + 0.5 * scipy.stats.norm.pdf(values, 2, 0.5)
    np.testing.assert_allclose(host(d_star), mix / (mix + scipy.stats.norm.pdf(values)), rtol=1e-10)
    assert gradcheck(lambda t: tg.sigmoid(p_data.log_prob(t) - p_g.log_prob(t)), (x,))
    same = tg.sigmoid(p_g.log_prob(x) - p_g.log_prob(x))       # p_g = p_data: D* = 1/2
    np.testing.assert_allclose(host(same), 0.5)


# ---------------------------------------------------------------------------------------------------------------
# ring and grid constants; mixture attributes
# ---------------------------------------------------------------------------------------------------------------


def test_ring_defaults_are_eight_modes_on_the_unit_circle_with_std_0_01():
    ring = distributions.ring()
    assert isinstance(ring, GaussianMixture) and ring.n_modes == 8 and ring.dim == 2
    angles = 2 * np.pi * np.arange(8) / 8
    np.testing.assert_allclose(host(ring.means), np.stack([np.cos(angles), np.sin(angles)], axis=1), atol=1e-15)
    np.testing.assert_array_equal(host(ring.stds), [0.01] * 8)
    np.testing.assert_allclose(host(ring.weights), [1 / 8] * 8)
    assert ring.means.dtype == tg.float64 and ring.means.device == "cpu"
    six = distributions.ring(n_modes=6, radius=2.0, std=0.02)
    np.testing.assert_allclose(np.linalg.norm(host(six.means), axis=1), [2.0] * 6)
    assert six.n_modes == 6 and host(six.stds)[0] == 0.02


def test_grid_defaults_are_25_modes_at_minus_4_to_4_in_steps_of_2_with_std_0_05():
    grid = distributions.grid()
    assert isinstance(grid, GaussianMixture) and grid.n_modes == 25 and grid.dim == 2
    expected = [(a, b) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)]
    np.testing.assert_array_equal(host(grid.means), expected)     # mode i * 5 + j at (c_i, c_j)
    np.testing.assert_array_equal(host(grid.stds), [0.05] * 25)
    np.testing.assert_allclose(host(grid.weights), [1 / 25] * 25)
    small = distributions.grid(n_per_side=2, spacing=1.0, std=0.1)
    np.testing.assert_array_equal(host(small.means), [[-0.5, -0.5], [-0.5, 0.5], [0.5, -0.5], [0.5, 0.5]])


def test_mixture_takes_a_flat_list_of_means_as_one_dimensional_components():
    mixture = GaussianMixture([-2.0, 2.0], stds=0.5)
    assert mixture.means.shape == (2, 1) and mixture.dim == 1 and mixture.n_modes == 2
    np.testing.assert_array_equal(host(mixture.stds), [0.5, 0.5])
    one = GaussianMixture([[1.0, 2.0]], stds=[0.3])
    assert one.n_modes == 1 and one.sample(4, generator=tg.Generator(0)).shape == (4, 2)


def test_the_parameters_are_copied_to_a_device_once_and_kept(device):
    ring = distributions.ring()
    x = ring.sample(4, generator=tg.Generator(0, device=device))
    ring.log_prob(x)
    cached = dict(ring._cache)
    ring.log_prob(x)
    ring.sample(4, generator=tg.Generator(1, device=device))
    assert all(ring._cache[key] is value for key, value in cached.items())


# ---------------------------------------------------------------------------------------------------------------
# the registry
# ---------------------------------------------------------------------------------------------------------------


def test_registry_names():
    assert set(distributions.DATASETS) == set(DIMS)
    for name in NAMES:
        data = distributions.get(name)
        assert isinstance(data, distributions.Distribution) and data.dim == DIMS[name]
        assert repr(data)
    assert not distributions.get("swiss_roll").has_density and not distributions.get("moons").has_density


def test_get_passes_keyword_arguments_and_accepts_dashes_and_capitals():
    ring = distributions.get("ring", n_modes=6, std=0.02)
    assert ring.n_modes == 6 and host(ring.stds)[0] == 0.02
    gaussian = distributions.get("gaussian", mean=0.0)
    assert host(gaussian.mean)[0] == 0.0 and host(gaussian.std)[0] == 1.25
    assert isinstance(distributions.get("Swiss-Roll"), SwissRoll)
    assert isinstance(distributions.get(" moons "), TwoMoons)
    mixture = distributions.get("gmm2d")
    np.testing.assert_allclose(host(mixture.weights), [0.6, 0.3, 0.1])


def test_an_unknown_name_is_a_value_error_that_lists_the_names():
    with pytest.raises(ValueError, match="unknown dataset 'rings'") as error:
        distributions.get("rings")
    for name in NAMES:
        assert name in str(error.value)
    with pytest.raises(TypeError, match="string"):
        distributions.get(3)
    with pytest.raises(TypeError, match="n_mode"):
        distributions.get("ring", n_mode=3)


# ---------------------------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["swiss_roll", "moons"])
def test_sample_only_distributions_say_so(name):
    data = distributions.get(name)
    with pytest.raises(NotImplementedError, match="no closed-form density"):
        data.log_prob(tg.zeros(3, 2))
    with pytest.raises(NotImplementedError):
        data.prob(tg.zeros(3, 2))


def test_log_prob_of_points_of_the_wrong_dimension_names_the_expected_shape():
    with pytest.raises(ValueError, match=r"GaussianMixture.log_prob: expected points of shape \(\.\.\., 2\), got "
                                         r"shape \(4, 3\)"):
        distributions.ring().log_prob(tg.zeros(4, 3))
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        StandardNormal(3).log_prob(tg.zeros(4, 2))


@pytest.mark.parametrize("n", [-1, 2.5, True, "4"])
def test_the_number_of_samples_must_be_a_non_negative_int(n):
    with pytest.raises(ValueError, match="non-negative int"):
        distributions.ring().sample(n, generator=tg.Generator(0))


def test_numpy_integers_are_accepted_as_counts_and_sizes():
    assert distributions.ring().sample(np.int64(3), generator=tg.Generator(0)).shape == (3, 2)
    assert distributions.ring(n_modes=np.int32(4)).n_modes == 4
    assert StandardNormal(np.int64(2)).dim == 2


def test_sample_checks_dtype_generator_and_device():
    ring = distributions.ring()
    with pytest.raises(TypeError, match="float32 or float64"):
        ring.sample(3, dtype=tg.int64)
    with pytest.raises(TypeError, match="tg.Generator"):
        ring.sample(3, generator=0)
    with pytest.raises(ValueError, match="unknown device"):
        ring.sample(3, generator=tg.Generator(0), device="tpu")


@pytest.mark.cuda
def test_sample_refuses_a_device_other_than_the_generators():
    if not tg.backend.cuda_available():
        pytest.skip("needs a GPU to name a device other than the generator's")
    with pytest.raises(ValueError, match="the generator is on cpu but device='cuda'"):
        distributions.ring().sample(3, generator=tg.Generator(0), device="cuda")


@pytest.mark.parametrize("make, message", [
    (lambda: GaussianMixture([[0.0, 0.0], [1.0, 1.0]], stds=[0.1, -0.1]), "stds must be positive"),
    (lambda: GaussianMixture([[0.0, 0.0], [1.0, 1.0]], stds=[0.1, 0.1, 0.1]), "stds must be a number or 2"),
    (lambda: GaussianMixture([[0.0], [1.0]], stds=0.1, weights=[1.0, 0.0]), "weights must be positive"),
    (lambda: GaussianMixture([[0.0], [1.0]], stds=0.1, weights=[1.0]), "weights must be a number or 2"),
    (lambda: GaussianMixture([[[0.0]]], stds=0.1), r"means must have shape \(k, d\)"),
    (lambda: GaussianMixture([], stds=0.1), r"means must have shape \(k, d\)"),
    (lambda: GaussianMixture([[0.0, math.nan]], stds=0.1), "means must be finite"),
    (lambda: Gaussian(0.0, 0.0), "std must be positive"),
    (lambda: Gaussian([0.0, 1.0], [1.0, 2.0, 3.0]), "std must be a number or 2"),
    (lambda: Uniform(1.0, 1.0), "low must be below high"),
    (lambda: Uniform([0.0, 0.0], [1.0, 1.0, 1.0]), "low must be a number or 3"),
    (lambda: StandardNormal(0), "dim must be a positive int"),
    (lambda: UniformPrior(2.0), "dim must be a positive int"),
    (lambda: distributions.ring(n_modes=0), r"n_modes must be an int in \[1, 100000\]"),
    (lambda: distributions.ring(n_modes=10 ** 9), r"n_modes must be an int in \[1, 100000\]"),
    (lambda: distributions.grid(n_per_side=2.5), r"n_per_side must be an int in \[1, 316\]"),
    (lambda: distributions.grid(n_per_side=10 ** 5), r"n_per_side must be an int in \[1, 316\]"),
    (lambda: Checkerboard(n_per_side=10 ** 5), r"n_per_side must be an int in \[1, 447\]"),
    (lambda: Checkerboard(square=-1.0), "square must be a positive number"),
    (lambda: SwissRoll(noise=-0.1), "noise must be >= 0"),
    (lambda: TwoMoons(scale=0.0), "scale > 0"),
])
def test_invalid_parameters_are_value_errors_naming_the_parameter(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_parameters_that_are_not_numbers_are_type_errors():
    with pytest.raises(TypeError, match="means must be a number or a"):
        GaussianMixture("abc", stds=0.1)


def test_a_subclass_samples_on_arrays_and_one_that_returns_a_tensor_is_told_so():
    class Shifted(distributions.Distribution):
        dim = 2

        def _sample(self, n, generator, dtype):
            return generator.normal((n, self.dim), dtype) + 3.0

    x = Shifted().sample(5, generator=tg.Generator(0))
    assert isinstance(x, tg.Tensor) and x.shape == (5, 2) and x.dtype == tg.float32

    class OldStyle(distributions.Distribution):
        dim = 2

        def _sample(self, n, generator, dtype):
            return tg.randn(n, self.dim, dtype=dtype, generator=generator)

    with pytest.raises(TypeError, match=r"OldStyle._sample returned a Tensor; it returns the raw array"):
        OldStyle().sample(5, generator=tg.Generator(0))
