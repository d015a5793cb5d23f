"""The integral probability metrics, tested against their theory: kernels, MMD and its witness, the energy distance,
Wasserstein-1, and the losses built from them (tinygan/kernels.py, tinygan/losses/ipm.py, metrics.wasserstein1_1d).

Closed forms used below (N(m, s^2) a Gaussian, Phi its distribution function):
- Gaussian kernel of bandwidth h, X ~ N(m1, s1^2) and Y ~ N(m2, s2^2) independent in 1-D: X - Y ~ N(m1 - m2, s1^2
  + s2^2) and E exp(-Z^2 / (2 h^2)) = h / sqrt(h^2 + s^2) exp(-mu^2 / (2 (h^2 + s^2))) for Z ~ N(mu, s^2), so
  E k(X, Y) = h / sqrt(v) exp(-(m1 - m2)^2 / (2 v)), v = h^2 + s1^2 + s2^2, and MMD^2 = E_PP + E_QQ - 2 E_PQ.
- The V-statistic's bias: E MMD^2_b = MMD^2 + (k(0) - E_PP) / m + (k(0) - E_QQ) / n (the diagonal terms).
- Energy distance: MMD^2 with k(x, y) = |x| + |y| - |x - y| is 2 E|X - Y| - E|X - X'| - E|Y - Y'|, term by term.
- Wasserstein-1 in 1-D: W1 = integral |F_P - F_Q|; |m1 - m2| for N(m1, s^2), N(m2, s^2); |s1 - s2| sqrt(2/pi) for
  N(m, s1^2), N(m, s2^2) (the monotone coupling moves s1 z to s2 z, and E|z| = sqrt(2/pi)).
- The witness: w = mu_P - mu_Q in the RKHS, so 1/m sum w(x_i) - 1/n sum w(y_j) = ||w||^2 = MMD^2_b, and by
  Cauchy-Schwarz no f of unit norm does better: (E_x f - E_y f) / ||f|| <= ||w|| = sqrt(MMD^2_b).
- WGAN-GP's critic maximises E_P f - E_Q f - lambda E (|f'(x_hat)| - 1)^2. In 1-D its slope is, pointwise,
  1 + |F_P - F_Q| / (2 lambda rho) (rho the density of the interpolates x_hat), so E_P f - E_Q f at the optimum is
  W1 + integral (F_P - F_Q)^2 / (2 lambda rho): above W1 by an amount the test computes by quadrature.
"""

import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygan as tg
from tinygan import kernels, losses, metrics
from tinygan.testing import gradcheck, gradgradcheck


def t64(array, requires_grad=False):
    return tg.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


def pairwise_distances(a, b):
    """|a_i - b_j| from the differences (the reference: exact where the kernels' product form rounds)."""
    return np.sqrt(((np.asarray(a)[:, None, :] - np.asarray(b)[None, :, :]) ** 2).sum(axis=2))


def reference_gram(kind, a, b, parameters=()):
    d = pairwise_distances(a, b)
    if kind == "gaussian":
        return sum(np.exp(-d ** 2 / (2 * s * s)) for s in parameters)
    if kind == "rational_quadratic":
        return sum((1 + d ** 2 / (2 * alpha)) ** (-alpha) for alpha in parameters)
    norms = lambda z: np.sqrt((np.asarray(z) ** 2).sum(axis=1))  # noqa: E731
    return norms(a)[:, None] + norms(b)[None, :] - d


def reference_mmd2(gram, x, y, unbiased):
    kxx, kyy, kxy = gram(x, x), gram(y, y), gram(x, y)
    m, n = len(x), len(y)
    if unbiased:
        return ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                - 2 * kxy.mean())
    return kxx.mean() + kyy.mean() - 2 * kxy.mean()


KERNELS = {
    "gaussian": (kernels.gaussian([0.5, 1.0, 2.5]), (0.5, 1.0, 2.5)),
    "rational_quadratic": (kernels.rational_quadratic([0.2, 1.0, 5.0]), (0.2, 1.0, 5.0)),
    "distance": (kernels.distance(), ()),
}


# ---------------------------------------------------------------------------------------------------------------
# kernels
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(KERNELS))
@settings(max_examples=15)
@given(seed=st.integers(0, 2 ** 16), n=st.integers(1, 9), m=st.integers(1, 9), d=st.integers(1, 4),
       shift=st.floats(-100, 100))
def test_kernels_give_the_gram_matrix_of_their_formula(kind, seed, n, m, d, shift):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, d)) + shift, 1.5 * rng.normal(size=(m, d)) + shift
    kernel, parameters = KERNELS[kind]
    gram = kernel(t64(x), t64(y))
    assert gram.shape == (n, m) and gram.dtype == tg.float64
    # the product form |x|^2 + |y|^2 - 2 x.y is taken after shifting both samples by y's mean, so a common shift of
    # 100 costs no digits (without the shift its error would be about 1e4 * eps = 2e-12 per squared distance)
    np.testing.assert_allclose(gram.numpy(), reference_gram(kind, x, y, parameters), rtol=1e-11,
                               atol=1e-11 * (1 + abs(shift)))


def test_squared_distances_and_distances_are_those_of_the_differences():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(7, 3)) + 1e3, rng.normal(size=(5, 3)) + 1e3
    np.testing.assert_allclose(kernels.squared_distances(t64(x), t64(y)).numpy(), pairwise_distances(x, y) ** 2,
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(kernels.distances(t64(x), t64(y)).numpy(), pairwise_distances(x, y), rtol=1e-12)


def test_a_point_and_itself_are_at_distance_zero_with_finite_derivatives_of_every_order():
    # |x - y| has no derivative at x = y; the distance kernel must still give 0 there, and a gradient (and a gradient
    # of the gradient) without NaN or infinity: the subgradient 0.
    rng = np.random.default_rng(2)
    x = t64(rng.normal(size=(6, 2)) * 3.0, requires_grad=True)
    d = kernels.distances(x, x)
    assert (np.diag(d.numpy()) == 0).all()
    gram = kernels.distance()(x, x)
    np.testing.assert_allclose(np.diag(gram.numpy()), 2 * np.sqrt((x.numpy() ** 2).sum(axis=1)), rtol=1e-14)
    (gx,) = tg.grad(d.sum(), [x], create_graph=True)
    (gxx,) = tg.grad((gx * gx).sum(), [x])
    assert np.isfinite(gx.numpy()).all() and np.isfinite(gxx.numpy()).all()
    # off the diagonal the gradient is the sum of unit vectors (x_i - x_j)/|x_i - x_j|, twice (rows and columns)
    xs = x.numpy()
    differences = xs[:, None, :] - xs[None, :, :]
    lengths = np.sqrt((differences ** 2).sum(axis=2, keepdims=True))
    np.fill_diagonal(lengths[:, :, 0], np.inf)
    np.testing.assert_allclose(gx.numpy(), 2 * (differences / lengths).sum(axis=1), rtol=1e-10, atol=1e-12)
    # one point repeated: every distance 0, every derivative 0
    same = t64(np.ones((4, 2)), requires_grad=True)
    (g_same,) = tg.grad(kernels.distances(same, same).sum(), [same])
    assert (kernels.distances(same, same).numpy() == 0).all() and (g_same.numpy() == 0).all()


@pytest.mark.parametrize("kind", sorted(KERNELS))
def test_kernels_pass_gradcheck_and_gradgradcheck(kind):
    rng = np.random.default_rng(3)
    x = t64(rng.normal(size=(4, 2)), requires_grad=True)
    y = t64(rng.normal(size=(3, 2)) + 0.5, requires_grad=True)
    kernel = KERNELS[kind][0]
    assert gradcheck(kernel, (x, y))
    assert gradgradcheck(kernel, (x, y))


def test_the_gaussian_kernel_is_one_per_bandwidth_on_the_diagonal_and_falls_with_distance():
    x = t64([[0.0], [1.0], [3.0]])
    gram = kernels.gaussian([1.0, 2.0])(x, x).numpy()
    np.testing.assert_allclose(np.diag(gram), 2.0)
    np.testing.assert_allclose(gram[0, 1], math.exp(-0.5) + math.exp(-1 / 8), rtol=1e-14)   # s, not s^2
    assert gram[0, 1] > gram[0, 2]


def test_median_heuristic_is_the_median_pairwise_distance():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(20, 2)), rng.normal(1.0, 1.0, size=(15, 2))
    pooled = np.concatenate([x, y])
    expected = np.median(pairwise_distances(pooled, pooled)[np.triu_indices(len(pooled), k=1)])
    assert kernels.median_heuristic(t64(x), t64(y)) == pytest.approx(expected, rel=1e-12)
    assert metrics.median_heuristic(x, y) == kernels.median_heuristic(t64(x), t64(y))       # one implementation
    with pytest.raises(ValueError, match="median pairwise distance of the 6 pooled points is 0; pass a positive"):
        kernels.median_heuristic(t64(np.zeros((3, 2))), t64(np.zeros((3, 2))))


# pairs: 595 and 21 (odd), 1,770 and 913,276 (even); the last pooled sample is taken in two blocks of rows
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sizes", [(20, 15), (4, 3), (30, 30), (700, 652)])
def test_median_heuristic_equals_numpy_median_of_the_distances_to_the_bit(dtype, sizes):
    """The median is taken of the squared distances and only the middle ones are square-rooted: the same number as
    numpy.median of kernels.distances over the pairs i < j, in either dtype, coincident points included."""
    rng = np.random.default_rng(sum(sizes))
    x, y = rng.normal(size=(sizes[0], 2)), 2.0 * rng.normal(size=(sizes[1], 2))
    y[:3] = x[:3]                                        # pairs that distances() counts as one point (distance 0)
    x, y = tg.tensor(x.astype(dtype)), tg.tensor(y.astype(dtype))
    pooled = tg.cat([x, y])
    upper = kernels.distances(pooled, pooled).numpy()[np.triu_indices(pooled.shape[0], k=1)]
    assert upper.dtype == dtype and (upper == 0).sum() >= 3
    assert kernels.median_heuristic(x, y) == float(np.median(upper))


# ---------------------------------------------------------------------------------------------------------------
# MMD^2: the estimates, the witness, the closed form
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(KERNELS))
@pytest.mark.parametrize("unbiased", [True, False])
def test_mmd2_is_the_formula_written_out_in_any_blocks(kind, unbiased):
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(13, 2)), rng.normal(0.4, 1.3, size=(9, 2))
    kernel, parameters = KERNELS[kind]
    expected = reference_mmd2(lambda a, b: reference_gram(kind, a, b, parameters), x, y, unbiased)
    for block_rows in (None, 1, 4, 100):
        value = losses.mmd2(t64(x), t64(y), kernel, unbiased=unbiased, block_rows=block_rows)
        assert value.shape == () and value.item() == pytest.approx(expected, rel=1e-12)


def test_metrics_use_the_same_mmd_and_energy_distance():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(30, 2)), rng.normal(0.5, 1.0, size=(25, 2))
    assert metrics.mmd2_unbiased(x, y, bandwidth=0.7) == pytest.approx(
        losses.mmd2(t64(x), t64(y), kernels.gaussian(0.7)).item(), rel=1e-13)
    for unbiased in (True, False):
        assert metrics.energy_distance(x, y, unbiased=unbiased) == pytest.approx(
            losses.mmd2(t64(x), t64(y), kernels.distance(), unbiased=unbiased).item(), rel=1e-13)


@settings(max_examples=20)
@given(seed=st.integers(0, 2 ** 16), m=st.integers(2, 12), n=st.integers(2, 12),
       kind=st.sampled_from(sorted(KERNELS)))
def test_the_normalised_witness_attains_the_mmd(seed, m, n, kind):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(m, 2)), rng.normal(0.8, 1.2, size=(n, 2))
    kernel = KERNELS[kind][0]
    witness = losses.mmd_witness(t64(x), t64(y), kernel)
    mmd2_biased = losses.mmd2(t64(x), t64(y), kernel, unbiased=False).item()
    gap = witness(t64(x)).mean().item() - witness(t64(y)).mean().item()
    # E_x w - E_y w = ||w||_H^2 = MMD^2_b, so the witness divided by its norm reaches sqrt(MMD^2_b)
    assert gap == pytest.approx(mmd2_biased, rel=1e-9, abs=1e-12)
    assert gap / math.sqrt(mmd2_biased) == pytest.approx(math.sqrt(mmd2_biased), rel=1e-9)
    assert losses.mmd(t64(x), t64(y), kernel).item() == pytest.approx(math.sqrt(mmd2_biased), rel=1e-12)
    # no other function f = sum_l a_l k(., z_l) of unit norm does better (Cauchy-Schwarz): ||f||^2 = a^T K_zz a
    z = t64(rng.normal(size=(6, 2)) * 2)
    a = rng.normal(size=6)
    norm = math.sqrt(a @ kernel(z, z).numpy() @ a)
    f_gap = (kernel(t64(x), z).numpy() @ a).mean() - (kernel(t64(y), z).numpy() @ a).mean()
    assert f_gap / norm <= math.sqrt(mmd2_biased) * (1 + 1e-9) + 1e-12


def test_the_witness_is_the_difference_of_mean_embeddings():
    rng = np.random.default_rng(7)
    x, y, t = rng.normal(size=(8, 1)), rng.normal(1.0, 1.0, size=(5, 1)), np.linspace(-3, 4, 11)[:, None]
    w = losses.mmd_witness(t64(x), t64(y), kernels.gaussian(0.8))(t64(t))
    expected = (np.exp(-(t - x.T) ** 2 / (2 * 0.64)).mean(axis=1) - np.exp(-(t - y.T) ** 2 / (2 * 0.64)).mean(axis=1))
    assert w.shape == (11,)
    np.testing.assert_allclose(w.numpy(), expected, rtol=1e-12, atol=1e-15)


def gaussian_kernel_expectation(m1, s1, m2, s2, h):
    """E exp(-(X - Y)^2 / (2 h^2)) for X ~ N(m1, s1^2), Y ~ N(m2, s2^2) independent (the closed form above)."""
    v = h * h + s1 * s1 + s2 * s2
    return h / math.sqrt(v) * math.exp(-(m1 - m2) ** 2 / (2 * v))


def gaussian_mmd2(m1, s1, m2, s2, bandwidths):
    """Population MMD^2 between N(m1, s1^2) and N(m2, s2^2) for the sum of Gaussian kernels over ``bandwidths``."""
    return sum(gaussian_kernel_expectation(m1, s1, m1, s1, h) + gaussian_kernel_expectation(m2, s2, m2, s2, h)
               - 2 * gaussian_kernel_expectation(m1, s1, m2, s2, h) for h in bandwidths)


def simpson_weights(low, high, intervals):
    nodes = np.linspace(low, high, intervals + 1)
    weights = np.ones(intervals + 1)
    weights[1:-1:2], weights[2:-1:2] = 4.0, 2.0
    return nodes, weights * (high - low) / intervals / 3.0


def normal_pdf(x, m, s):
    return np.exp(-0.5 * ((x - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))


@settings(max_examples=10)
@given(m1=st.floats(-2, 2), s1=st.floats(0.3, 2), m2=st.floats(-2, 2), s2=st.floats(0.3, 2), h=st.floats(0.2, 3))
def test_the_gaussian_kernel_expectation_formula_is_the_double_integral(m1, s1, m2, s2, h):
    x, wx = simpson_weights(m1 - 10 * s1, m1 + 10 * s1, 600)
    y, wy = simpson_weights(m2 - 10 * s2, m2 + 10 * s2, 600)
    integrand = np.exp(-(x[:, None] - y[None, :]) ** 2 / (2 * h * h))
    numeric = (wx * normal_pdf(x, m1, s1)) @ integrand @ (wy * normal_pdf(y, m2, s2))
    assert gaussian_kernel_expectation(m1, s1, m2, s2, h) == pytest.approx(numeric, rel=1e-7, abs=1e-12)


def test_mmd2_of_one_dimensional_gaussians_has_its_closed_form_on_quantile_samples():
    # quantile points Phi^-1((i + 1/2) / N) stand in for a sample (errors O(1/N)); 0.17727 is the value in
    # tests/test_metrics.py for N(0, 1), N(1, 1), h = 1
    assert gaussian_mmd2(0.0, 1.0, 1.0, 1.0, [1.0]) == pytest.approx(0.177268, abs=1e-6)
    unit = NormalDist()
    z = np.array([unit.inv_cdf((i + 0.5) / 1500) for i in range(1500)])[:, None]
    bandwidths = [0.5, 2.0]
    value = losses.mmd2(t64(0.3 + 1.2 * z), t64(-0.5 + 0.7 * z), kernels.gaussian(bandwidths)).item()
    assert value == pytest.approx(gaussian_mmd2(0.3, 1.2, -0.5, 0.7, bandwidths), abs=2e-3)


def test_the_unbiased_estimate_is_unbiased_and_the_biased_one_is_off_by_its_diagonal():
    # 400 draws of small samples: the mean of MMD^2_u is the closed form within 3.5 standard errors; the mean of
    # MMD^2_b is the closed form plus (k(0) - E_PP)/m + (k(0) - E_QQ)/n, and that bias is clearly resolved
    rng = np.random.default_rng(8)
    m, n, bandwidths = 10, 7, [0.7, 2.0]
    kernel = kernels.gaussian(bandwidths)
    population = gaussian_mmd2(0.0, 1.0, 0.5, 1.5, bandwidths)
    bias = sum((1 - gaussian_kernel_expectation(0, 1, 0, 1, h)) / m
               + (1 - gaussian_kernel_expectation(0.5, 1.5, 0.5, 1.5, h)) / n for h in bandwidths)
    unbiased, biased = [], []
    for _ in range(400):
        x, y = t64(rng.normal(0.0, 1.0, size=(m, 1))), t64(rng.normal(0.5, 1.5, size=(n, 1)))
        unbiased.append(losses.mmd2(x, y, kernel).item())
        biased.append(losses.mmd2(x, y, kernel, unbiased=False).item())
    unbiased, biased = np.array(unbiased), np.array(biased)
    se_u, se_b = unbiased.std(ddof=1) / 20, biased.std(ddof=1) / 20
    assert abs(unbiased.mean() - population) < 3.5 * se_u, (unbiased.mean(), population, se_u)
    assert abs(biased.mean() - (population + bias)) < 3.5 * se_b, (biased.mean(), population + bias, se_b)
    assert bias > 6 * se_b


def test_the_unbiased_estimate_goes_negative_without_a_nan_anywhere():
    rng = np.random.default_rng(9)
    kernel = kernels.gaussian([0.5, 1.0, 2.0])
    values, checked_negative = [], False
    for _ in range(60):
        x = t64(rng.normal(size=(8, 2)), requires_grad=True)
        y = t64(rng.normal(size=(8, 2)), requires_grad=True)
        value = losses.mmd2(x, y, kernel)
        values.append(value.item())
        if value.item() < 0 and not checked_negative:
            checked_negative = True
            value.backward()
            assert np.isfinite(x.grad.numpy()).all() and np.isfinite(y.grad.numpy()).all()
            # sqrt of a negative estimate: 0, with gradient 0 (not NaN)
            x.grad = y.grad = None
            root = losses.mmd(x, y, kernel, unbiased=True)
            root.backward()
            assert root.item() == 0.0 and (x.grad.numpy() == 0).all() and (y.grad.numpy() == 0).all()
    assert np.mean(np.array(values) < 0) > 0.3 and checked_negative


def test_mmd_of_identical_samples_is_zero_with_finite_gradients():
    x = t64(np.random.default_rng(10).normal(size=(6, 2)), requires_grad=True)
    y = t64(x.numpy(), requires_grad=True)
    for loss in (losses.mmd(x, y, kernels.gaussian(1.0)), losses.gmmn_generator_loss(x, y, kernels.gaussian(1.0))):
        assert loss.item() == pytest.approx(0.0, abs=1e-7)
        gx, gy = tg.grad(loss, [x, y])
        assert np.isfinite(gx.numpy()).all() and np.isfinite(gy.numpy()).all()


# ---------------------------------------------------------------------------------------------------------------
# the energy distance and Wasserstein-1
# ---------------------------------------------------------------------------------------------------------------


@settings(max_examples=20)
@given(seed=st.integers(0, 2 ** 16), m=st.integers(2, 10), n=st.integers(2, 10), d=st.integers(1, 3),
       shift=st.floats(-20, 20))
def test_the_energy_distance_is_mmd2_with_the_distance_kernel_exactly(seed, m, n, d, shift):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(m, d)) + shift, rng.normal(0.5, 2.0, size=(n, d)) + shift
    dxy, dxx, dyy = pairwise_distances(x, y), pairwise_distances(x, x), pairwise_distances(y, y)
    v_statistic = 2 * dxy.mean() - dxx.mean() - dyy.mean()
    u_statistic = 2 * dxy.mean() - dxx.sum() / (m * (m - 1)) - dyy.sum() / (n * (n - 1))
    scale = 1e-12 * (1 + abs(shift))        # the |x| + |y| terms cancel: their rounding, relative to |x|, remains
    assert losses.mmd2(t64(x), t64(y), kernels.distance(), unbiased=False).item() == pytest.approx(
        v_statistic, rel=1e-10, abs=scale)
    assert losses.mmd2(t64(x), t64(y), kernels.distance()).item() == pytest.approx(
        u_statistic, rel=1e-10, abs=scale)
    assert losses.energy_generator_loss(t64(x), t64(y)).item() == pytest.approx(u_statistic, rel=1e-10, abs=scale)


@settings(max_examples=20)
@given(seed=st.integers(0, 2 ** 16), m=st.integers(1, 30), n=st.integers(1, 30))
def test_wasserstein1_1d_is_the_area_between_the_distribution_functions(seed, m, n):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=m), rng.exponential(size=n)
    # brute force: |F_x - F_y| on a fine grid of every gap between pooled points (the CDFs are steps)
    pooled = np.sort(np.concatenate([x, y]))
    middles = (pooled[1:] + pooled[:-1]) / 2
    area = sum(abs((x <= t).mean() - (y <= t).mean()) * w for t, w in zip(middles, np.diff(pooled)))
    assert metrics.wasserstein1_1d(x, y) == pytest.approx(area, rel=1e-12, abs=1e-15)
    if m == n:  # the monotone coupling: sorted against sorted
        assert metrics.wasserstein1_1d(x, y) == pytest.approx(np.abs(np.sort(x) - np.sort(y)).mean(), rel=1e-12)
    assert metrics.wasserstein1_1d(x[:, None], t64(y)) == pytest.approx(metrics.wasserstein1_1d(x, y), rel=1e-15)


def test_wasserstein1_1d_matches_scipy():
    stats = pytest.importorskip("scipy.stats", reason="scipy is not installed: the reference check is optional")
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=200), rng.exponential(size=150)
    assert metrics.wasserstein1_1d(x, y) == pytest.approx(stats.wasserstein_distance(x, y), rel=1e-12)


def w1_by_quadrature(m1, s1, m2, s2):
    """integral |F_P - F_Q| for two Gaussians, by Simpson's rule."""
    low, high = min(m1 - 12 * s1, m2 - 12 * s2), max(m1 + 12 * s1, m2 + 12 * s2)
    t, w = simpson_weights(low, high, 4000)
    p, q = NormalDist(m1, s1), NormalDist(m2, s2)
    return float(w @ np.abs([p.cdf(v) - q.cdf(v) for v in t]))


@pytest.mark.parametrize("m1, s1, m2, s2, closed_form", [
    (0.0, 1.0, 1.0, 1.0, 1.0),                                          # |m1 - m2|
    (-1.0, 0.5, 2.5, 0.5, 3.5),
    (0.0, 1.0, 0.0, 2.0, math.sqrt(2 / math.pi)),                       # |s1 - s2| sqrt(2 / pi)
    (3.0, 0.3, 3.0, 1.7, 1.4 * math.sqrt(2 / math.pi)),
])
def test_w1_between_gaussians_has_its_closed_forms(m1, s1, m2, s2, closed_form):
    assert w1_by_quadrature(m1, s1, m2, s2) == pytest.approx(closed_form, rel=1e-8)
    unit = NormalDist()
    z = np.array([unit.inv_cdf((i + 0.5) / 4000) for i in range(4000)])
    assert metrics.wasserstein1_1d(m1 + s1 * z, m2 + s2 * z) == pytest.approx(closed_form, rel=1e-3)


def test_a_trained_wgan_gp_critic_recovers_w1_and_the_penalty_s_excess():
    """A critic MLP trained with WGAN-GP (lambda = 10) on N(0, 1) against N(2, 1), whose W1 is 2. Its estimate
    E_P f - E_Q f on 10^5 fresh points lands within 0.06 of the penalised optimum W1 + integral (F_P - F_Q)^2 /
    (2 lambda rho) = 2.210 (quadrature below), and within 12.5% of W1 itself: the penalty is soft, so the optimal
    critic is steeper than 1 where interpolates are rare. (Measured, seeds 0-2: 2.191, 2.209, 2.216.)"""
    lam, shift = 10.0, 2.0
    x = np.linspace(-9, 11, 2001)
    t = np.linspace(0, 1, 1001)[:, None]                       # x_hat = t real + (1 - t) fake, t ~ U(0, 1)
    rho = np.trapezoid(normal_pdf(x, shift * (1 - t), np.sqrt(t ** 2 + (1 - t) ** 2)), t[:, 0], axis=0)
    unit = NormalDist()
    gap = np.array([unit.cdf(v) - unit.cdf(v - shift) for v in x])
    assert np.trapezoid(gap, x) == pytest.approx(shift, rel=1e-6)
    penalised_optimum = shift + np.trapezoid(gap ** 2 / (2 * lam * rho), x)
    assert penalised_optimum == pytest.approx(2.2103, abs=1e-3)

    g = tg.Generator(seed=0)
    critic = tg.nn.MLP(1, [32, 32], 1, activation="leaky_relu", generator=g).double()
    opt = tg.optim.Adam(critic.parameters(), lr=3e-3, betas=(0.5, 0.9))
    for _ in range(400):
        real = tg.randn(512, 1, generator=g, dtype=tg.float64)
        fake = tg.randn(512, 1, generator=g, dtype=tg.float64) + shift
        loss = (losses.wasserstein_critic_loss(critic(real), critic(fake))
                + losses.gradient_penalty(critic, real, fake, weight=lam, generator=g))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with tg.no_grad():
        real = tg.randn(100000, 1, generator=g, dtype=tg.float64)
        fake = tg.randn(100000, 1, generator=g, dtype=tg.float64) + shift
        estimate = (critic(real).mean() - critic(fake).mean()).item()
    assert abs(estimate - penalised_optimum) < 0.06, estimate
    assert abs(estimate - shift) < 0.125 * shift, estimate


# ---------------------------------------------------------------------------------------------------------------
# the objectives: derivatives, and that they train
# ---------------------------------------------------------------------------------------------------------------


def tanh_features(w1, b1, w2):
    """A small smooth critic x (batch, 2) -> features (batch, 3), its parameters passed in (for gradcheck)."""
    return lambda x: (x @ w1 + b1).tanh() @ w2


def feature_parameters(seed=0):
    g = tg.Generator(seed)
    return (tg.randn(2, 4, dtype=tg.float64, generator=g, requires_grad=True),
            tg.randn(4, dtype=tg.float64, generator=g, requires_grad=True),
            tg.randn(4, 3, dtype=tg.float64, generator=g, requires_grad=True))


def samples(seed=1, m=5, n=4):
    rng = np.random.default_rng(seed)
    x = t64(rng.normal(size=(m, 2)), requires_grad=True)
    y = t64(rng.normal(0.5, 1.0, size=(n, 2)), requires_grad=True)
    return x, y


GAUSS = kernels.gaussian([0.7, 1.5])
SAMPLE_LOSSES = {
    "mmd2 unbiased, gaussian": lambda x, y: losses.mmd2(x, y, GAUSS),
    "mmd2 biased, rational quadratic": lambda x, y: losses.mmd2(x, y, kernels.rational_quadratic([0.5, 2.0]),
                                                                unbiased=False),
    "mmd2 unbiased, distance": lambda x, y: losses.mmd2(x, y, kernels.distance()),
    "mmd": lambda x, y: losses.mmd(x, y, GAUSS),
    "witness": lambda x, y: losses.mmd_witness(x, y, GAUSS)(x[:3] * 0.5 + 1.0),
    "gmmn_generator_loss": lambda x, y: losses.gmmn_generator_loss(x, y, GAUSS),
    "mmd_generator_loss": lambda x, y: losses.mmd_generator_loss(x, y, GAUSS),
    "mmd_critic_loss": lambda x, y: losses.mmd_critic_loss(x, y, GAUSS),
    "energy_generator_loss": losses.energy_generator_loss,
}


@pytest.mark.parametrize("name", sorted(SAMPLE_LOSSES))
def test_every_sample_loss_passes_gradcheck_and_gradgradcheck(name):
    x, y = samples()
    assert gradcheck(SAMPLE_LOSSES[name], (x, y))
    assert gradgradcheck(SAMPLE_LOSSES[name], (x, y))


def test_the_witness_penalty_is_the_gradient_penalty_of_the_witness_in_closed_form():
    # features h(x) = x in 1-D and one Gaussian kernel: f(t) = mean_i k(t, r_i) - mean_j k(t, f_j), with
    # f'(t) = mean_i -(t - r_i)/s^2 k(t, r_i) - mean_j -(t - f_j)/s^2 k(t, f_j), evaluated at the interpolates
    rng = np.random.default_rng(12)
    real, fake, s = rng.normal(size=(6, 1)), rng.normal(1.0, 1.0, size=(6, 1)), 0.8
    penalty = losses.witness_penalty(lambda x: x, t64(real), t64(fake), kernels.gaussian(s), weight=3.0,
                                     generator=tg.Generator(5)).item()
    t = tg.rand(6, 1, dtype=tg.float64, generator=tg.Generator(5)).numpy()     # the same draw
    x_hat = t * real + (1 - t) * fake

    def slope(points, centres):
        k = np.exp(-(points - centres.T) ** 2 / (2 * s * s))
        return (-(points - centres.T) / (s * s) * k).mean(axis=1)
    derivative = slope(x_hat, real) - slope(x_hat, fake)
    expected = 3.0 * np.mean((np.sqrt(derivative ** 2 + 1e-12) - 1) ** 2)
    assert penalty == pytest.approx(expected, rel=1e-12)


def test_the_witness_penalty_passes_gradcheck_in_the_critic_parameters():
    rng = np.random.default_rng(13)
    real, fake = t64(rng.normal(size=(4, 2))), t64(rng.normal(1.0, 1.0, size=(4, 2)))

    def penalty(w1, b1, w2):
        return losses.witness_penalty(tanh_features(w1, b1, w2), real, fake, GAUSS, weight=10.0,
                                      generator=tg.Generator(7))
    assert gradcheck(penalty, feature_parameters())


def test_the_mmd_critic_loss_and_penalty_train_features_that_separate_the_samples():
    # a few critic steps raise the unbiased MMD^2 between the features of two fixed samples
    rng = np.random.default_rng(14)
    real, fake = t64(rng.normal(size=(64, 2))), t64(rng.normal(0.7, 1.0, size=(64, 2)))
    g = tg.Generator(0)
    critic = tg.nn.MLP(2, [16], 4, activation="tanh", generator=g).double()
    opt = tg.optim.Adam(critic.parameters(), lr=1e-2)
    kernel = kernels.gaussian([1.0])
    with tg.no_grad():
        before = losses.mmd2(critic(real), critic(fake), kernel).item()
    for _ in range(40):
        loss = (losses.mmd_critic_loss(critic(real), critic(fake), kernel)
                + losses.witness_penalty(critic, real, fake, kernel, weight=1.0, generator=g))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with tg.no_grad():
        after = losses.mmd2(critic(real), critic(fake), kernel).item()
    assert after > 2 * before, (before, after)


@pytest.mark.parametrize("loss_name", ["gmmn", "energy"])
def test_a_gmmn_and_an_energy_generator_learn_a_gaussian(loss_name):
    """G(z) = a z + b with z ~ N(0, 1), trained by the loss alone (no discriminator) against N(2, 0.5^2): MMD and the
    energy distance are metrics, 0 only at P = Q, so G must reach a = +-0.5, b = 2."""
    g = tg.Generator(0)
    a = tg.tensor([[1.0]], dtype=tg.float64, requires_grad=True)
    b = tg.tensor([0.0], dtype=tg.float64, requires_grad=True)
    opt = tg.optim.Adam([a, b], lr=0.05)
    kernel = kernels.gaussian([0.25, 1.0, 4.0])
    for _ in range(250):
        fake = tg.randn(128, 1, generator=g, dtype=tg.float64) @ a + b
        real = tg.randn(128, 1, generator=g, dtype=tg.float64) * 0.5 + 2.0
        loss = (losses.gmmn_generator_loss(fake, real, kernel) if loss_name == "gmmn"
                else losses.energy_generator_loss(fake, real))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert abs(abs(a.item()) - 0.5) < 0.1 and abs(b.item() - 2.0) < 0.1, (a.item(), b.item())


# ---------------------------------------------------------------------------------------------------------------
# bad input: one line that names the argument, the values and the fix
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make, pattern", [
    (lambda: kernels.gaussian([1.0, 0.0]), r"gaussian: bandwidths must be positive finite numbers .*got \[1.0, 0.0\]"
                                           r"; pass e.g."),
    (lambda: kernels.gaussian(-2), r"gaussian: bandwidths .* got -2; pass e.g. \[0.5, 1.0, 2.0\]"),
    (lambda: kernels.gaussian([]), r"gaussian: bandwidths .*got \[\]"),
    (lambda: kernels.gaussian(float("nan")), r"gaussian: bandwidths .*got nan"),
    (lambda: kernels.rational_quadratic([0.5, -1]), r"rational_quadratic: alphas .*got \[0.5, -1\]"),
])
def test_kernel_parameters_must_be_positive(make, pattern):
    with pytest.raises(ValueError, match=pattern) as error:
        make()
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("call", [
    lambda x, y, e: kernels.gaussian(1.0)(x, y),
    lambda x, y, e: kernels.distance()(x, y),
    lambda x, y, e: losses.mmd2(x, y, kernels.gaussian(1.0)),
    lambda x, y, e: losses.mmd_witness(x, y, kernels.gaussian(1.0)),
    lambda x, y, e: kernels.median_heuristic(x, y),
    lambda x, y, e: losses.energy_generator_loss(x, y),
])
def test_samples_of_different_dimensions_or_empty_are_refused(call):
    x, y, empty = tg.zeros(4, 2, dtype=tg.float64), tg.zeros(3, 3, dtype=tg.float64), tg.zeros(0, 2,
                                                                                               dtype=tg.float64)
    with pytest.raises(ValueError, match=r"x has points of dimension 2 \(shape \(4, 2\)\) but y of dimension 3 "
                                         r"\(shape \(3, 3\)\); pass samples of one dimension") as error:
        call(x, y, empty)
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match=r"y is an empty sample \(shape \(0, 2\)\); pass at least one point"):
        call(x, empty, empty)
    with pytest.raises(ValueError, match=r"x must have shape \(n, d\).*got shape \(4,\); reshape 1-D values with "
                                         r"\.reshape\(-1, 1\)"):
        call(tg.zeros(4, dtype=tg.float64), x, empty)


def test_other_mistakes_say_what_to_do():
    x = tg.zeros(3, 2, dtype=tg.float64)
    with pytest.raises(ValueError, match="mmd2: the unbiased estimate needs at least 2 points in each sample, got 3 "
                                         "and 1; pass more points or unbiased=False"):
        losses.mmd2(x, x[:1], GAUSS)
    assert losses.mmd2(x, x[:1], GAUSS, unbiased=False).item() == pytest.approx(0.0)
    with pytest.raises(TypeError, match="mmd2: kernel must be a callable k\\(x, y\\)"):
        losses.mmd2(x, x, 1.0)
    with pytest.raises(ValueError, match="mmd2: block_rows must be None .* got 0"):
        losses.mmd2(x, x, GAUSS, block_rows=0)
    with pytest.raises(ValueError, match=r"mmd2: the kernel returned shape \(3,\) for samples of 3 and 3 points"):
        losses.mmd2(x, x, lambda a, b: a.sum(axis=1))
    with pytest.raises(TypeError, match="x is float64 but y is float32; convert one"):
        losses.mmd2(x, x.float(), GAUSS)
    with pytest.raises(ValueError, match="wasserstein1_1d: only 1-D samples"):
        metrics.wasserstein1_1d(np.zeros((3, 2)), np.zeros((3, 2)))
