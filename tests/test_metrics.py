"""Tests for tinygan.metrics: closed forms, brute-force references, statistical properties, devices.

Reference values used below (N(mu, s^2) are Gaussians; kernel k(a, b) = exp(-||a - b||^2 / (2 h^2))):
- MMD^2(N(0,1), N(1,1)) with h = 1: E k(X,X') = 1/sqrt(3), E k(X,Y) = exp(-1/6)/sqrt(3), so
  MMD^2 = 2/sqrt(3) - 2 exp(-1/6)/sqrt(3) = 0.177268 (from E exp(-Z^2/2) = exp(-mu^2/(2(1+s^2)))/sqrt(1+s^2) for
  Z ~ N(mu, s^2)).
- Energy distance E(N(0,1), N(1,1)) = 2 E|N(1,2)| - 2 E|N(0,2)| = 0.541807 (E|Z| = s sqrt(2/pi) exp(-mu^2/2s^2)
  + mu (1 - 2 Phi(-mu/s))).
- KL(N(0,1) || N(mu,1)) = mu^2/2; KL(N(0,1) || N(0,s^2)) = log s + 1/(2 s^2) - 1/2; the reverse swaps them.
- JSD(N(0,1) || N(1,1)) = 0.111421 nats and JSD(N(0,1) || N(2,1)) = 0.336831 nats (from the issue; no closed form).

"Quantile samples" x_i = Phi^-1((i + 1/2)/N) are a deterministic stand-in for a sample: statistics of them are
quadratures of the population values, with errors O(1/N) instead of O(1/sqrt(N)).

scipy is optional (CI installs only pytest and hypothesis): the tests that compare with scipy skip without it, and
each has a plain numpy reference test beside it.
"""

import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygan as tg
from tinygan import metrics

LOG2 = math.log(2.0)
MMD2_N01_N11 = 2 / math.sqrt(3) - 2 * math.exp(-1 / 6) / math.sqrt(3)          # 0.177268


def gaussian_log_density(mean, std=1.0):
    """log N(x; mean, std^2 I) for points x of shape (m, d), written with tinygan ops (the metrics' convention)."""
    def log_density(x):
        d = x.shape[1]
        z = (x - tg.tensor(np.broadcast_to(np.asarray(mean, dtype=np.float64), (d,)).copy(), device=x.device)) / std
        return (-0.5 * z * z).sum(axis=1) - d * (math.log(std) + 0.5 * math.log(2 * math.pi))
    return log_density


def uniform_log_density(low, high):
    """log of the uniform density on [low, high] in 1-D (-inf outside)."""
    def log_density(x):
        inside = (x >= low) & (x <= high)
        return tg.where(inside, tg.full_like(x, -math.log(high - low)), tg.full_like(x, -math.inf)).sum(axis=1)
    return log_density


def quantile_sample(n, mean=0.0, std=1.0):
    unit = NormalDist()
    return mean + std * np.array([unit.inv_cdf((i + 0.5) / n) for i in range(n)])


def brute_force_mmd2(x, y, h):
    """The unbiased MMD^2 written out with full kernel matrices (small samples only)."""
    def gram(a, b):
        return np.exp(-((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2) / (2 * h * h))
    m, n = len(x), len(y)
    kxx, kyy, kxy = gram(x, x), gram(y, y), gram(x, y)
    return ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
            - 2 * kxy.mean())


def brute_force_energy(x, y):
    """The V-statistic energy distance with full distance matrices."""
    def dist(a, b):
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))
    return 2 * dist(x, y).mean() - dist(x, x).mean() - dist(y, y).mean()


def cdf_energy_1d(u, v):
    """The 1-D energy distance from empirical CDFs, as scipy.stats.energy_distance computes it (squared here):
    E = 2 * integral (F_u - F_v)^2 dt, integrated exactly between the pooled sorted values."""
    values = np.sort(np.concatenate([u, v]))
    steps = np.diff(values)
    cdf_u = np.searchsorted(np.sort(u), values[:-1], side="right") / len(u)
    cdf_v = np.searchsorted(np.sort(v), values[:-1], side="right") / len(v)
    return 2 * np.sum((cdf_u - cdf_v) ** 2 * steps)


@pytest.fixture
def small_chunks(monkeypatch):
    """Make every pairwise computation run in many tiny blocks."""
    monkeypatch.setattr(metrics, "PAIRWISE_CHUNK_ELEMENTS", 7)


# ---------------------------------------------------------------------------------------------------------------
# MMD^2
# ---------------------------------------------------------------------------------------------------------------


def test_mmd2_equals_the_formula_written_out():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 2)), rng.normal(1.0, 2.0, size=(45, 2))
    for h in (0.3, 1.0, 4.0):
        assert metrics.mmd2_unbiased(x, y, bandwidth=h) == pytest.approx(brute_force_mmd2(x, y, h), rel=1e-12)


def test_mmd2_is_the_same_in_small_blocks(small_chunks):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(23, 3)), rng.normal(size=(17, 3))
    assert metrics.mmd2_unbiased(x, y, bandwidth=1.5) == pytest.approx(brute_force_mmd2(x, y, 1.5), rel=1e-12)


def test_mmd2_closed_form_on_quantile_samples():
    # deterministic: the U-statistic of N quantile points is within O(1/N) of the population value
    # (measured: -8.7e-4 at N = 1000, -4.3e-4 at N = 2000), so 1e-3 at N = 2000 is a real check, tight enough to
    # tell kernel conventions apart (exp(-d^2/h^2) would give 0.162)
    x = quantile_sample(2000)
    assert metrics.mmd2_unbiased(x, x + 1.0, bandwidth=1.0) == pytest.approx(MMD2_N01_N11, abs=1e-3)
    assert MMD2_N01_N11 == pytest.approx(0.17727, abs=5e-6)


def test_mmd2_closed_form_on_random_samples_within_three_standard_errors():
    # For m = n, the U-statistic of the pairs z_i = (x_i, y_i) with kernel H(z, z') = k(x,x') + k(y,y') - k(x,y')
    # - k(x',y) (Gretton et al. 2012, Lemma 6) has variance 4 Var(H1(z)) / n to first order, H1(z) = E[H(z, z')|z]
    # (Hoeffding). Our estimate differs from it only by also counting the n cross terms k(x_i, y_i): a change of
    # O(1/n) with the same first-order variance. H1 is estimated from the same sample.
    rng = np.random.default_rng(2024)
    n = 2000
    x, y = rng.normal(size=(n, 1)), rng.normal(1.0, 1.0, size=(n, 1))
    estimate = metrics.mmd2_unbiased(x, y, bandwidth=1.0)

    def gram(a, b):
        return np.exp(-0.5 * (a - b.T) ** 2)
    kxy = gram(x, y)
    h = gram(x, x) + gram(y, y) - kxy - kxy.T
    np.fill_diagonal(h, 0.0)
    h1 = h.sum(axis=1) / (n - 1)
    standard_error = math.sqrt(4 * h1.var() / n)
    assert abs(estimate - h1.mean()) < 0.01 * standard_error  # the two unbiased statistics nearly agree
    assert abs(estimate - MMD2_N01_N11) < 3 * standard_error, (estimate, standard_error)


def test_mmd2_is_unbiased_for_equal_distributions():
    # many small pairs from one distribution: the mean of the estimates is 0 within its standard error, single
    # estimates are often negative; the biased V-statistic (diagonal kept) has a clearly positive mean instead.
    rng = np.random.default_rng(7)
    unbiased, biased = [], []
    for _ in range(400):
        x, y = rng.normal(size=(12, 2)), rng.normal(size=(12, 2))
        unbiased.append(metrics.mmd2_unbiased(x, y, bandwidth=1.0))
        m = len(x)
        # the biased V-statistic: the within-sample means keep their diagonal terms k(x_i, x_i) = 1
        kxx = np.exp(-0.5 * ((x[:, None] - x[None]) ** 2).sum(axis=2))
        kyy = np.exp(-0.5 * ((y[:, None] - y[None]) ** 2).sum(axis=2))
        kxy = np.exp(-0.5 * ((x[:, None] - y[None]) ** 2).sum(axis=2))
        biased.append(kxx.sum() / m ** 2 + kyy.sum() / m ** 2 - 2 * kxy.mean())
    unbiased, biased = np.array(unbiased), np.array(biased)
    standard_error = unbiased.std(ddof=1) / math.sqrt(len(unbiased))
    assert abs(unbiased.mean()) < 3 * standard_error, (unbiased.mean(), standard_error)
    assert (unbiased < 0).mean() > 0.3
    assert biased.mean() > 10 * biased.std(ddof=1) / math.sqrt(len(biased))


def test_mmd2_is_symmetric_and_ignores_sample_order():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(40, 2)), rng.normal(0.5, 1.0, size=(25, 2))
    value = metrics.mmd2_unbiased(x, y, bandwidth=0.8)
    assert metrics.mmd2_unbiased(y, x, bandwidth=0.8) == pytest.approx(value, rel=1e-12)
    assert metrics.mmd2_unbiased(x[::-1], y[rng.permutation(len(y))], bandwidth=0.8) == pytest.approx(value, rel=1e-12)


def test_median_heuristic_is_the_median_pairwise_distance_of_the_pooled_sample():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(30, 2)), rng.normal(2.0, 1.0, size=(21, 2))
    pooled = np.concatenate([x, y])
    distances = np.sqrt(((pooled[:, None] - pooled[None]) ** 2).sum(axis=2))[np.triu_indices(len(pooled), k=1)]
    assert metrics.median_heuristic(x, y) == pytest.approx(np.median(distances), rel=1e-12)
    # bandwidth=None uses it
    h = metrics.median_heuristic(x, y)
    assert metrics.mmd2_unbiased(x, y) == pytest.approx(metrics.mmd2_unbiased(x, y, bandwidth=h), rel=1e-12)


def test_median_heuristic_on_a_large_sample_uses_evenly_spaced_points(small_chunks):
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(70, 1)), rng.normal(size=(50, 1))
    pooled = np.concatenate([x, y])
    subset = pooled[(np.arange(40) * 120) // 40]
    distances = np.abs(subset - subset.T)[np.triu_indices(40, k=1)]
    assert metrics.median_heuristic(x, y, max_points=40) == pytest.approx(np.median(distances), rel=1e-12)


def test_median_heuristic_refuses_a_zero_bandwidth():
    with pytest.raises(ValueError, match="median pairwise distance .* is 0"):
        metrics.median_heuristic(np.zeros((5, 2)), np.zeros((5, 2)))


@given(shift=st.lists(st.floats(-50, 50), min_size=2, max_size=2), seed=st.integers(0, 2 ** 16))
def test_mmd2_is_invariant_to_translating_both_samples(shift, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(15, 2)), rng.normal(0.7, 1.3, size=(11, 2))
    shift = np.array(shift)
    for bandwidth in (1.0, None):
        assert metrics.mmd2_unbiased(x + shift, y + shift, bandwidth=bandwidth) == pytest.approx(
            metrics.mmd2_unbiased(x, y, bandwidth=bandwidth), rel=1e-9, abs=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# energy distance
# ---------------------------------------------------------------------------------------------------------------


def test_energy_distance_equals_the_formula_written_out(small_chunks):
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(20, 3)), rng.normal(0.5, 2.0, size=(13, 3))
    assert metrics.energy_distance(x, y) == pytest.approx(brute_force_energy(x, y), rel=1e-12)
    m, n = len(x), len(y)

    def dist(a, b):
        return np.sqrt(((a[:, None] - b[None]) ** 2).sum(axis=2))
    u_statistic = 2 * dist(x, y).mean() - dist(x, x).sum() / (m * (m - 1)) - dist(y, y).sum() / (n * (n - 1))
    assert metrics.energy_distance(x, y, unbiased=True) == pytest.approx(u_statistic, rel=1e-12)


def test_energy_distance_in_1d_is_the_square_of_the_cdf_distance():
    # scipy.stats.energy_distance computes sqrt(2 * integral (F_u - F_v)^2), which is sqrt of our V-statistic
    rng = np.random.default_rng(8)
    u, v = rng.normal(size=300), rng.normal(0.3, 2.0, size=170)
    assert metrics.energy_distance(u, v) == pytest.approx(cdf_energy_1d(u, v), rel=1e-10)


def test_energy_distance_in_1d_matches_scipy_squared():
    stats = pytest.importorskip("scipy.stats", reason="scipy is not installed: the reference check is optional")
    rng = np.random.default_rng(9)
    u, v = rng.normal(size=300), rng.exponential(size=170)
    assert metrics.energy_distance(u, v) == pytest.approx(stats.energy_distance(u, v) ** 2, rel=1e-10)


def test_energy_distance_closed_form_on_quantile_samples():
    unit = NormalDist()

    def mean_abs(mu, s):  # E|Z| for Z ~ N(mu, s^2)
        return s * math.sqrt(2 / math.pi) * math.exp(-mu * mu / (2 * s * s)) + mu * (1 - 2 * unit.cdf(-mu / s))
    population = 2 * mean_abs(1.0, math.sqrt(2)) - 2 * mean_abs(0.0, math.sqrt(2))
    assert population == pytest.approx(0.541807, abs=1e-6)
    x = quantile_sample(2000)
    # measured error 8e-6 (V-statistic) and -1.1e-3 (U-statistic, O(1/N)) at N = 2000
    assert metrics.energy_distance(x, x + 1.0) == pytest.approx(population, abs=1e-4)
    assert metrics.energy_distance(x, x + 1.0, unbiased=True) == pytest.approx(population, abs=2e-3)


@given(seed=st.integers(0, 2 ** 16), shift=st.floats(-100, 100))
def test_energy_distance_is_nonnegative_symmetric_and_translation_invariant(seed, shift):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(9, 2)), rng.normal(0.2, 1.5, size=(14, 2))
    value = metrics.energy_distance(x, y)
    assert value >= 0
    assert metrics.energy_distance(y, x) == pytest.approx(value, rel=1e-12, abs=1e-15)
    assert metrics.energy_distance(x + shift, y + shift) == pytest.approx(value, rel=1e-8, abs=1e-10)
    assert metrics.energy_distance(x, x) == pytest.approx(0.0, abs=1e-15)


# ---------------------------------------------------------------------------------------------------------------
# mode statistics
# ---------------------------------------------------------------------------------------------------------------


def ring_modes(k=8, radius=2.0):
    angles = 2 * math.pi * np.arange(k) / k
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)


def test_every_mode_covered_evenly():
    means, std = ring_modes(), 0.02
    rng = np.random.default_rng(10)
    samples = np.repeat(means, 5, axis=0) + rng.uniform(-0.7, 0.7, size=(40, 2)) * std  # r < 1
    stats = metrics.mode_statistics(samples, means, std)
    assert stats.modes_captured == 8
    assert stats.high_quality_fraction == 1.0
    assert stats.mode_counts == (5,) * 8
    assert stats.mode_kl == 0.0


def test_one_mode_missing():
    means, std = ring_modes(), 0.02
    samples = np.repeat(means[1:], 3, axis=0)  # modes 1..7, three samples each, none at mode 0
    stats = metrics.mode_statistics(samples, means, std)
    assert stats.modes_captured == 7
    assert stats.mode_counts == (0,) + (3,) * 7
    assert stats.high_quality_fraction == 1.0
    assert stats.mode_kl == pytest.approx(math.log(8 / 7), rel=1e-14)  # sum over 7 modes of (1/7) log((1/7) / (1/8))


def test_all_samples_at_one_mode_and_far_samples():
    means, std = ring_modes(), 0.02
    samples = np.concatenate([np.repeat(means[3:4], 6, axis=0), [[0.0, 0.0], [10.0, 10.0], [2.0, 0.5]]])
    stats = metrics.mode_statistics(samples, means, std)
    assert stats.modes_captured == 1
    assert stats.mode_counts == (0, 0, 0, 6, 0, 0, 0, 0)
    assert stats.high_quality_fraction == pytest.approx(6 / 9, rel=1e-15)  # the 3 far samples count in n
    assert stats.mode_kl == pytest.approx(math.log(8), rel=1e-14)


def test_mode_kl_of_an_uneven_histogram():
    means = np.array([[0.0], [10.0], [20.0], [30.0]])
    samples = np.array([0.0, 0.1, 0.2, 10.0, 30.0, 30.1, 55.0])  # 1-D samples of shape (n,)
    stats = metrics.mode_statistics(samples, means, 1.0)
    assert stats.mode_counts == (3, 1, 0, 2)
    q = np.array([3, 1, 2]) / 6
    assert stats.mode_kl == pytest.approx(float(np.sum(q * np.log(q * 4))), rel=1e-14)
    assert stats.mode_kl == pytest.approx(math.log(4) + float(np.sum(q * np.log(q))), rel=1e-14)  # log k - H(q)
    assert stats.high_quality_fraction == pytest.approx(6 / 7, rel=1e-15)


def test_high_quality_means_strictly_within_threshold_standard_deviations():
    means = np.array([[0.0, 0.0]])
    samples = np.array([[1.5, 0.0], [1.49, 0.0], [0.0, -1.5]])   # distances 3 (exactly), 2.98, 3 in units of 0.5
    stats = metrics.mode_statistics(samples, means, 0.5)
    assert stats.mode_counts == (1,)
    assert metrics.mode_statistics(samples, means, 0.5, threshold=3.01).mode_counts == (3,)


def test_no_high_quality_sample_gives_nan_kl():
    stats = metrics.mode_statistics(np.array([[5.0, 5.0], [np.nan, 0.0]]), ring_modes(), 0.02)
    assert stats.modes_captured == 0 and stats.high_quality_fraction == 0.0 and math.isnan(stats.mode_kl)


def test_stds_per_mode_and_per_coordinate_normalise_the_distance():
    means = np.array([[0.0], [1.0]])
    # 0.45 is nearer mode 0 in plain distance but 4.5 of mode 0's stds (0.1) and 0.55 of mode 1's stds (1.0)
    assert metrics.mode_statistics([[0.45]], means, [0.1, 1.0]).mode_counts == (0, 1)
    means2 = np.array([[0.0, 0.0], [10.0, 10.0]])
    stds2 = np.array([[0.1, 1.0], [0.1, 1.0]])
    samples = np.array([[0.0, 2.5], [0.5, 0.0], [10.2, 10.0]])  # r = 2.5 (yes), 5 (no), 2 (yes)
    stats = metrics.mode_statistics(samples, means2, stds2)
    assert stats.mode_counts == (1, 1)
    assert stats.high_quality_fraction == pytest.approx(2 / 3)


def test_mode_statistics_is_the_same_in_small_blocks(small_chunks):
    rng = np.random.default_rng(11)
    means = ring_modes()
    samples = means[rng.integers(0, 8, size=200)] + rng.normal(scale=0.05, size=(200, 2))
    stats = metrics.mode_statistics(samples, means, 0.02)
    assert sum(stats.mode_counts) == round(stats.high_quality_fraction * 200)
    distances = np.sqrt(((samples[:, None] - means[None]) ** 2).sum(axis=2)) / 0.02
    nearest, good = distances.argmin(axis=1), distances.min(axis=1) < 3
    assert stats.mode_counts == tuple(np.bincount(nearest[good], minlength=8).tolist())


@given(seed=st.integers(0, 2 ** 16), k=st.integers(1, 6))
def test_mode_statistics_properties(seed, k):
    rng = np.random.default_rng(seed)
    means = rng.uniform(-5, 5, size=(k, 2))
    samples = means[rng.integers(0, k, size=30)] + rng.normal(scale=rng.uniform(0.05, 2.0), size=(30, 2))
    stats = metrics.mode_statistics(samples, means, 0.5)
    assert 0 <= stats.modes_captured <= k
    assert 0.0 <= stats.high_quality_fraction <= 1.0
    if stats.modes_captured:
        assert -1e-12 <= stats.mode_kl <= math.log(k) + 1e-12
    else:
        assert math.isnan(stats.mode_kl)
    # reordering the samples changes nothing; reordering the modes reorders the counts
    reversed_samples = metrics.mode_statistics(samples[::-1], means, 0.5)
    assert reversed_samples.mode_counts == stats.mode_counts
    assert reversed_samples.high_quality_fraction == stats.high_quality_fraction
    order = rng.permutation(k)
    permuted = metrics.mode_statistics(samples, means[order], 0.5)
    assert permuted.mode_counts == tuple(stats.mode_counts[j] for j in order)
    assert permuted.modes_captured == stats.modes_captured
    if stats.modes_captured:
        assert reversed_samples.mode_kl == stats.mode_kl
        assert permuted.mode_kl == pytest.approx(stats.mode_kl, abs=1e-12)


def test_mode_statistics_checks_its_arguments():
    means = ring_modes()
    with pytest.raises(ValueError, match="stds must be a number, 8 numbers"):
        metrics.mode_statistics(means, means, [0.1, 0.2])
    with pytest.raises(ValueError, match="dimension"):
        metrics.mode_statistics(np.zeros((4, 3)), means, 0.1)
    with pytest.raises(ValueError, match="stds must be positive"):
        metrics.mode_statistics(means, means, 0.0)


# ---------------------------------------------------------------------------------------------------------------
# KL and JS between a known density and samples
# ---------------------------------------------------------------------------------------------------------------


def test_kde_log_density_equals_the_formula_written_out(small_chunks):
    rng = np.random.default_rng(12)
    x = rng.multivariate_normal([0.0, 1.0], [[1.0, 0.6], [0.6, 2.0]], size=50)
    points = rng.normal(size=(9, 2)) * 2
    factor = 50 ** (-1 / 6)
    log_q, stds = metrics._kde_log_density(x, points, factor)
    h = np.cov(x.T) * factor ** 2
    diff = points[:, None, :] - x[None, :, :]
    quad = np.einsum("gni,ij,gnj->gn", diff, np.linalg.inv(h), diff)
    reference = np.log(np.exp(-0.5 * quad).mean(axis=1) / (2 * math.pi * math.sqrt(np.linalg.det(h))))
    np.testing.assert_allclose(log_q, reference, rtol=1e-12)
    np.testing.assert_allclose(stds, np.sqrt(np.diag(h)), rtol=1e-12)


def test_kde_log_density_matches_scipy_gaussian_kde():
    stats = pytest.importorskip("scipy.stats", reason="scipy is not installed: the reference check is optional")
    rng = np.random.default_rng(13)
    for d in (1, 2):
        x = rng.normal(size=(80, d)) * np.arange(1, d + 1)
        points = rng.normal(size=(11, d)) * 2
        log_q, _ = metrics._kde_log_density(x, points, 80 ** (-1 / (d + 4)))
        np.testing.assert_allclose(log_q, stats.gaussian_kde(x.T).logpdf(points.T), rtol=1e-10)


def test_kl_and_js_kde_1d_close_to_exact_values():
    # samples from q = N(0, 2^2), data p = N(0, 1): the two KL directions differ (0.318 vs 0.807), so the test
    # also pins which is which. Tolerances: the estimate is close to the KL to the Gaussian the KDE smooths the
    # sample into, N(mean, var * (1 + factor^2)), within 0.005; and within 0.05 of the truth (sampling error of
    # the variance, SE sqrt(2/n) = 1% at n = 20000, moves the reverse KL by about 0.02, plus the kernel's bias).
    rng = np.random.default_rng(14)
    n = 20000
    samples = rng.normal(0.0, 2.0, size=n)
    result = metrics.kl_and_js_from_samples(gaussian_log_density(0.0), samples, bounds=(-14, 14))
    assert result.method == "kde"
    forward_exact, reverse_exact = math.log(2) + 1 / 8 - 1 / 2, -math.log(2) + 2 - 1 / 2
    assert result.kl == pytest.approx(forward_exact, abs=0.02)
    assert result.reverse_kl == pytest.approx(reverse_exact, abs=0.05)
    s2 = samples.var(ddof=1) * (1 + n ** (-0.4))       # the KDE's variance: sample variance + kernel variance
    mu = samples.mean()
    assert result.kl == pytest.approx(0.5 * math.log(s2) + (1 + mu * mu) / (2 * s2) - 0.5, abs=0.005)
    assert result.reverse_kl == pytest.approx(-0.5 * math.log(s2) + (s2 + mu * mu) / 2 - 0.5, abs=0.005)
    js_exact = metrics.jsd_quadrature(gaussian_log_density(0.0), gaussian_log_density(0.0, 2.0), -20, 20)
    assert result.js == pytest.approx(js_exact, abs=0.005)
    assert result.data_mass == pytest.approx(1.0, abs=1e-6) and result.model_mass == pytest.approx(1.0, abs=1e-3)
    assert result.bandwidth[0] == pytest.approx(samples.std(ddof=1) * n ** -0.2, rel=1e-9)


def test_kl_and_js_kde_2d_close_to_exact_values():
    # q = N((0.5, 0), I), p = N(0, I): KL = 0.125 both ways; JS by 2-D quadrature. n = 5000: the sample mean's
    # error (SE 0.014 per coordinate) moves the KL by about 0.5 * 0.014 = 0.007; tolerance 0.025 (3 SE plus the
    # kernel's bias, about +0.005).
    rng = np.random.default_rng(15)
    samples = rng.normal(size=(5000, 2)) + [0.5, 0.0]
    bounds = ((-7, 7.5), (-7, 7))
    result = metrics.kl_and_js_from_samples(gaussian_log_density([0.0, 0.0]), samples, bounds, grid_size=80)
    assert result.kl == pytest.approx(0.125, abs=0.025)
    assert result.reverse_kl == pytest.approx(0.125, abs=0.025)
    js_exact = metrics.jsd_quadrature(gaussian_log_density([0.0, 0.0]), gaussian_log_density([0.5, 0.0]),
                                      (-9, -9), (9.5, 9), n=200)
    assert result.js == pytest.approx(js_exact, abs=0.005)


def binned_gaussian(edges, mean):
    """Exact probabilities of the cells between ``edges`` under N(mean, 1), renormalised to the cells."""
    cdf = np.array([NormalDist(mean, 1.0).cdf(e) for e in edges])
    probabilities = np.diff(cdf)
    return probabilities / probabilities.sum()


def midpoint_gaussian(edges, mean):
    """The method's P for a N(mean, 1) data density: the density at the cell centres, renormalised."""
    centres = (edges[:-1] + edges[1:]) / 2
    weights = np.exp(-0.5 * (centres - mean) ** 2)
    return weights / weights.sum()


def discrete_divergences(p, q):
    """KL(p || q), KL(q || p) and JS of two discrete distributions with no zero cells."""
    m = (p + q) / 2
    return (float(np.sum(p * np.log(p / q))), float(np.sum(q * np.log(q / p))),
            float(0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))))


def test_kl_and_js_grid_1d_estimates_the_binned_divergences():
    # The histogram estimate converges to the divergences between the method's P and the binned, truncated and
    # renormalised model distribution, which are themselves close to the continuous values (0.125, 0.125, 0.0303)
    # for cells of width 0.25 on [-3, 3.5]. Sampling error with 50000 samples: about 0.003 (checked over seeds).
    rng = np.random.default_rng(16)
    samples = rng.normal(0.5, 1.0, size=50000)
    result = metrics.kl_and_js_from_samples(gaussian_log_density(0.0), samples, bounds=(-3, 3.5), method="grid",
                                            grid_size=26)
    edges = np.linspace(-3, 3.5, 27)
    kl, reverse_kl, js = discrete_divergences(midpoint_gaussian(edges, 0.0), binned_gaussian(edges, 0.5))
    assert result.kl == pytest.approx(kl, abs=0.01)
    assert result.reverse_kl == pytest.approx(reverse_kl, abs=0.01)
    assert result.js == pytest.approx(js, abs=0.003)
    assert result.kl == pytest.approx(0.125, abs=0.015)
    assert result.reverse_kl == pytest.approx(0.125, abs=0.015)
    assert result.js == pytest.approx(metrics.jsd_quadrature(gaussian_log_density(0.0), gaussian_log_density(0.5),
                                                             -12, 13), abs=0.003)
    assert result.model_mass == pytest.approx(np.mean((samples >= -3) & (samples <= 3.5)), abs=1e-12)
    assert result.bandwidth is None


def test_kl_and_js_grid_2d_estimates_the_binned_divergences():
    # 10 x 10 cells on [-2, 2.5] x [-2, 2] (every cell gets samples, so the forward KL is finite). Truncating to
    # this box moves the binned KL to 0.105 (from 0.125): the reference is the binned, truncated value. Estimates
    # over 5 seeds were 0.001 to 0.004 above it (histogram noise biases KL upwards); tolerance 0.006.
    rng = np.random.default_rng(17)
    samples = rng.normal(size=(40000, 2)) + [0.5, 0.0]
    result = metrics.kl_and_js_from_samples(gaussian_log_density([0.0, 0.0]), samples, ((-2, 2.5), (-2, 2)),
                                            method="grid", grid_size=10)
    edges_x, edges_y = np.linspace(-2, 2.5, 11), np.linspace(-2, 2, 11)
    p = np.outer(midpoint_gaussian(edges_x, 0.0), midpoint_gaussian(edges_y, 0.0))
    q = np.outer(binned_gaussian(edges_x, 0.5), binned_gaussian(edges_y, 0.0))
    kl, reverse_kl, js = discrete_divergences(p.ravel(), q.ravel())
    assert kl == pytest.approx(0.1048, abs=1e-4)
    assert result.kl == pytest.approx(kl, abs=0.006)
    assert result.reverse_kl == pytest.approx(reverse_kl, abs=0.006)
    assert result.js == pytest.approx(js, abs=0.002)


def test_grid_histogram_counts_match_numpy_histogram2d():
    rng = np.random.default_rng(18)
    x = rng.uniform(-1.5, 1.5, size=(500, 2))
    x[0] = [1.0, 1.0]      # exactly on the upper bounds: the last cell, as numpy.histogram
    x[1] = [-1.0, 0.2]     # exactly on a lower bound
    x[2] = [np.nan, 0.0]   # NaN: outside
    counts, inside = metrics._histogram_counts(x, [(-1.0, 1.0), (-1.0, 1.0)], 7)
    reference, _, _ = np.histogram2d(x[3:, 0], x[3:, 1], bins=7, range=[[-1, 1], [-1, 1]])
    reference[6, 6] += 1
    reference[0, int((0.2 + 1) / 2 * 7)] += 1
    np.testing.assert_array_equal(counts.reshape(7, 7), reference)
    assert inside == reference.sum()


def test_grid_forward_kl_is_infinite_when_a_data_cell_is_empty():
    samples = np.linspace(-0.9, 0.9, 100)             # nothing in [-3, -1) or (1, 3]
    result = metrics.kl_and_js_from_samples(gaussian_log_density(0.0), samples, (-3, 3), method="grid", grid_size=6)
    assert result.kl == math.inf
    assert math.isfinite(result.reverse_kl) and 0 < result.js < LOG2


def test_grid_with_no_sample_inside_the_bounds_gives_nan():
    result = metrics.kl_and_js_from_samples(gaussian_log_density(0.0), np.full(10, 50.0), (-3, 3), method="grid")
    assert math.isnan(result.kl) and math.isnan(result.reverse_kl) and math.isnan(result.js)
    assert result.model_mass == 0.0


def test_kl_and_js_of_samples_from_the_data_density_are_small():
    rng = np.random.default_rng(19)
    samples = rng.normal(size=(20000, 1))
    for method in ("kde", "grid"):
        result = metrics.kl_and_js_from_samples(gaussian_log_density(0.0), samples, (-8, 8), method=method,
                                                grid_size=None if method == "kde" else 40)
        assert 0 <= result.js < 0.002
        assert 0 <= result.reverse_kl < 0.01


def test_log_density_gets_a_float64_tensor_of_points_without_graph():
    seen = []

    def log_density(x):
        seen.append((type(x), x.dtype, x.shape, tg.is_grad_enabled()))
        return gaussian_log_density(0.0)(x).numpy()      # an array result is fine too
    samples = tg.randn(100, 2, generator=tg.Generator(seed=0), requires_grad=True)
    metrics.kl_and_js_from_samples(log_density, samples, ((-5, 5), (-5, 5)), grid_size=10)
    assert seen == [(tg.Tensor, tg.float64, (100, 2), False)]
    assert samples.grad is None


def test_kl_and_js_checks_its_arguments():
    log_p = gaussian_log_density(0.0)
    samples = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(ValueError, match="bounds must be"):
        metrics.kl_and_js_from_samples(log_p, samples, (-3, 3))
    with pytest.raises(ValueError, match="bounds must be"):
        metrics.kl_and_js_from_samples(log_p, samples[:, 0], (3, -3))
    with pytest.raises(ValueError, match="method must be"):
        metrics.kl_and_js_from_samples(log_p, samples, ((-3, 3), (-3, 3)), method="knn")
    with pytest.raises(ValueError, match="only 1-D and 2-D"):
        metrics.kl_and_js_from_samples(log_p, np.zeros((5, 3)), [(-1, 1)] * 3)
    with pytest.raises(ValueError, match="one log-density per point"):
        metrics.kl_and_js_from_samples(lambda x: x, samples, ((-3, 3), (-3, 3)), grid_size=4)
    with pytest.raises(ValueError, match="NaN"):
        metrics.kl_and_js_from_samples(lambda x: x.sum(axis=1) * math.nan, samples, ((-3, 3), (-3, 3)), grid_size=4)
    with pytest.raises(ValueError, match="singular"):
        metrics.kl_and_js_from_samples(log_p, np.ones((10, 2)), ((-3, 3), (-3, 3)), grid_size=4)


# ---------------------------------------------------------------------------------------------------------------
# exact JSD by quadrature
# ---------------------------------------------------------------------------------------------------------------


def test_jsd_quadrature_values_from_the_issue():
    assert metrics.jsd_quadrature(gaussian_log_density(0.0), gaussian_log_density(1.0), -12, 13) == pytest.approx(
        0.111421, abs=1e-5)
    assert metrics.jsd_quadrature(gaussian_log_density(0.0), gaussian_log_density(2.0), -12, 14) == pytest.approx(
        0.336831, abs=1e-5)


def test_jsd_quadrature_2d_of_a_product_density_reduces_to_1d():
    # p = N(0,1) x N(0,1), q = N(1,1) x N(0,1): the second coordinate is the same, so the JSD is the 1-D one
    value = metrics.jsd_quadrature(gaussian_log_density([0.0, 0.0]), gaussian_log_density([1.0, 0.0]),
                                   (-10, -10), (11, 10))
    assert value == pytest.approx(0.111421, abs=1e-5)


def test_jsd_quadrature_matches_scipy_quad():
    integrate = pytest.importorskip("scipy.integrate", reason="scipy is not installed: the reference check is optional")

    def integrand(t):
        p = math.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)
        q = math.exp(-0.5 * ((t - 0.3) / 1.7) ** 2) / (1.7 * math.sqrt(2 * math.pi))
        m = (p + q) / 2
        return 0.5 * p * math.log(p / m) + 0.5 * q * math.log(q / m)
    reference, _ = integrate.quad(integrand, -20, 20, epsabs=1e-13, limit=200)
    value = metrics.jsd_quadrature(gaussian_log_density(0.0), gaussian_log_density(0.3, 1.7), -20, 20)
    assert value == pytest.approx(reference, abs=1e-9)


def test_jsd_quadrature_with_bounded_supports():
    # U(0,1) vs U(0,2): JSD = 1/2 log(4/3) + 1/4 log(2/3) + 1/4 log 2 = 3/4 log(4/3); disjoint supports: log 2.
    # Densities that are 0 somewhere give -inf log-densities (handled without NaN or warnings); the jumps make
    # Simpson's rule first order, so the tolerance is 1e-3 with 4000 intervals.
    value = metrics.jsd_quadrature(uniform_log_density(0, 1), uniform_log_density(0, 2), -1, 3, n=4000)
    assert value == pytest.approx(0.75 * math.log(4 / 3), abs=1e-3)
    disjoint = metrics.jsd_quadrature(uniform_log_density(0, 1), uniform_log_density(2, 3), -1, 4, n=4000)
    assert disjoint == pytest.approx(LOG2, abs=1e-3)


@given(mu_p=st.floats(-3, 3), mu_q=st.floats(-3, 3), std_p=st.floats(0.3, 3), std_q=st.floats(0.3, 3))
def test_jsd_quadrature_is_symmetric_and_between_0_and_log2(mu_p, mu_q, std_p, std_q):
    log_p, log_q = gaussian_log_density(mu_p, std_p), gaussian_log_density(mu_q, std_q)
    value = metrics.jsd_quadrature(log_p, log_q, -30, 30)
    assert -1e-12 <= value <= LOG2 + 1e-9
    assert metrics.jsd_quadrature(log_q, log_p, -30, 30) == value
    assert metrics.jsd_quadrature(log_p, log_p, -30, 30) == pytest.approx(0.0, abs=1e-12)


def test_jsd_quadrature_checks_its_arguments():
    log_p = gaussian_log_density(0.0)
    with pytest.raises(ValueError, match="even number"):
        metrics.jsd_quadrature(log_p, log_p, -1, 1, n=3)
    with pytest.raises(ValueError, match="low < high"):
        metrics.jsd_quadrature(log_p, log_p, 1, -1)
    with pytest.raises(ValueError, match="low and high"):
        metrics.jsd_quadrature(log_p, log_p, (0, 0, 0), (1, 1, 1))
    with pytest.raises(ValueError, match="low and high"):
        metrics.jsd_quadrature(log_p, log_p, (0, 0), 1)


# ---------------------------------------------------------------------------------------------------------------
# inputs: Tensors, devices, dtypes, shapes
# ---------------------------------------------------------------------------------------------------------------


def test_every_metric_takes_tensors_on_the_device(device):
    rng = np.random.default_rng(20)
    x32 = rng.normal(size=(60, 2)).astype(np.float32)
    y32 = (rng.normal(size=(45, 2)) + 0.5).astype(np.float32)
    x, y = x32.astype(np.float64), y32.astype(np.float64)   # the same values: metrics compute in float64
    tx, ty = tg.tensor(x32, device=device), tg.tensor(y32, device=device, requires_grad=True)

    assert metrics.mmd2_unbiased(tx, ty, bandwidth=1.0) == pytest.approx(metrics.mmd2_unbiased(x, y, 1.0), rel=1e-10)
    assert metrics.mmd2_unbiased(tx, ty) == pytest.approx(metrics.mmd2_unbiased(x, y), rel=1e-10)
    assert metrics.energy_distance(tx, ty) == pytest.approx(metrics.energy_distance(x, y), rel=1e-10)
    means = ring_modes(4, 1.0)
    assert metrics.mode_statistics(tx, means.tolist(), [0.5, 0.5, 1.0, 1.0]) == metrics.mode_statistics(
        x, means, [0.5, 0.5, 1.0, 1.0])
    assert metrics.mode_statistics(tx, tg.tensor(means, device=device), 0.5) == metrics.mode_statistics(x, means, 0.5)
    # parameters on the CPU (as a mixture keeps them) are copied to the samples' device
    assert metrics.mode_statistics(tx, tg.tensor(means), np.full(4, 0.5)) == metrics.mode_statistics(x, means, 0.5)
    log_p = gaussian_log_density([0.0, 0.0])
    bounds = ((-5, 5), (-5, 5))
    for method in ("kde", "grid"):
        on_device = metrics.kl_and_js_from_samples(log_p, tx, bounds, method=method, grid_size=20)
        on_cpu = metrics.kl_and_js_from_samples(log_p, x, bounds, method=method, grid_size=20)
        assert on_device.js == pytest.approx(on_cpu.js, rel=1e-9)
        assert on_device.reverse_kl == pytest.approx(on_cpu.reverse_kl, rel=1e-9)
    value = metrics.jsd_quadrature(gaussian_log_density(0.0), gaussian_log_density(1.0), -12, 13, device=device)
    assert value == pytest.approx(0.111421, abs=1e-5)
    assert ty.grad is None
    if device != "cpu":
        with pytest.raises(ValueError, match="on device cpu but the samples are on device cuda"):
            metrics.mmd2_unbiased(tx, y, bandwidth=1.0)
    for result in (metrics.mmd2_unbiased(tx, ty, 1.0), metrics.energy_distance(tx, ty)):
        assert type(result) is float


def test_one_dimensional_samples_may_be_flat_or_a_column():
    rng = np.random.default_rng(21)
    x, y = rng.normal(size=30), rng.normal(size=20)
    assert metrics.mmd2_unbiased(x, y, 1.0) == metrics.mmd2_unbiased(x[:, None], y[:, None], 1.0)
    assert metrics.energy_distance(x.tolist(), y.tolist()) == metrics.energy_distance(x[:, None], y[:, None])


def test_two_sample_metrics_check_their_arguments():
    x = np.zeros((5, 2))
    with pytest.raises(ValueError, match="dimension 2 .* dimension 3"):
        metrics.mmd2_unbiased(x, np.zeros((5, 3)), 1.0)
    with pytest.raises(ValueError, match="at least 2 points"):
        metrics.mmd2_unbiased(x, np.zeros((1, 2)), 1.0)
    with pytest.raises(ValueError, match="bandwidth must be a positive"):
        metrics.mmd2_unbiased(x, x, bandwidth=0.0)
    with pytest.raises(ValueError, match=r"shape \(n,\) or \(n, d\)"):
        metrics.energy_distance(np.zeros((2, 2, 2)), x)
    with pytest.raises(ValueError, match="no samples"):
        metrics.energy_distance(np.zeros((0, 2)), x)
    with pytest.raises(TypeError, match="must be a Tensor, an array"):
        metrics.energy_distance("abc", x)
