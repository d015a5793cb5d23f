"""The f-GAN losses (tinygan/losses/fgan.py), tested against the theory of Nowozin, Cseke and Tomioka (2016).

For an f-divergence D_f(P || Q) = E_Q[f(p/q)], Fenchel-Young gives, pointwise, u t - f*(t) <= f(u) with equality
at t = f'(u); so for every T, E_P[T] - E_Q[f*(T)] <= D_f, with equality at T* = f'(p/q). With T = g_f(v) for a
logit v, the discriminator loss is -(E_P[g_f(v)] - E_Q[f*(g_f(v))]). The tests check:

1. the table: f*(g_f(v)) written out in v equals f* applied to g_f(v); T* = f'(u) (by autograd) is g_f at the
   optimal logit v*(u) below; Fenchel-Young holds pointwise, tight at v*(u) (hypothesis);
2. the bound, integrated by Simpson's rule on P = N(0, 1) and Q = N(mu, 1): at v* the objective is D_f's closed
   form, anywhere else it is smaller; the loss functions on quantile samples give the same numbers;
3. a linear logit v(x) = a x + b trained by gradient descent on the loss reaches D_f and the optimal a, b (for
   these Gaussians log p/q = mu^2/2 - mu x is linear, and so is v* for kl, reverse-kl, hellinger, js and gan);
4. numerics at logits of +-1e4, float32 and float64; the losses' values at P = Q (plots.EQUILIBRIUM).

Closed forms for P = N(0, 1), Q = N(mu, 1): KL(P || Q) = KL(Q || P) = mu^2 / 2; chi^2 = E_Q[(p/q)^2] - 1 =
exp(mu^2) - 1; squared Hellinger (no 1/2) = 2 - 2 exp(-mu^2 / 8); TV = 2 Phi(mu / 2) - 1 (2 Phi(1) - 1 = 0.682689
at mu = 2); JSD (no closed form) from metrics.jsd_quadrature, an independent code path, 0.111421 nats at mu = 1.
Optimal logits, r = log(p/q): kl 1 + r; reverse-kl r; pearson 2 (exp(r) - 1); hellinger r / 2; js and gan r; tv
sign(r) * infinity (40 here: tanh(40) is 1 in float64).
"""

import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygan as tg
from tinygan import losses, metrics, plots

DIVERGENCES = sorted(losses.F_DIVERGENCES)
UNIT = NormalDist()


def t64(values, requires_grad=False):
    return tg.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def optimal_logit(divergence, log_ratio):
    """v* = g_f^-1(f'(p/q)) as a numpy function of r = log(p/q) (derived by hand, independent of the library)."""
    r = np.asarray(log_ratio, dtype=np.float64)
    return {"kl": lambda: 1 + r, "reverse-kl": lambda: r, "pearson": lambda: 2 * np.expm1(r),
            "hellinger": lambda: r / 2, "js": lambda: r, "gan": lambda: r,
            "tv": lambda: 40.0 * np.sign(r)}[divergence]()


def closed_form(divergence, mu):
    """D_f(N(0, 1) || N(mu, 1))."""
    jsd = metrics.jsd_quadrature(lambda x: -0.5 * (x * x).sum(axis=1) - 0.5 * math.log(2 * math.pi),
                                 lambda x: -0.5 * ((x - mu) ** 2).sum(axis=1) - 0.5 * math.log(2 * math.pi),
                                 -12.0, 12.0 + mu)
    return {"kl": mu * mu / 2, "reverse-kl": mu * mu / 2, "pearson": math.expm1(mu * mu),
            "hellinger": 2 - 2 * math.exp(-mu * mu / 8), "js": 2 * jsd, "gan": 2 * jsd - math.log(4),
            "tv": 2 * UNIT.cdf(mu / 2) - 1}[divergence]


def mu_for(divergence):
    return 2.0 if divergence == "tv" else 1.0


# ---------------------------------------------------------------------------------------------------------------
# 1. the table, pointwise
# ---------------------------------------------------------------------------------------------------------------


def test_the_closed_forms_are_the_known_numbers():
    assert closed_form("tv", 2.0) == pytest.approx(0.682689, abs=1e-6)
    assert closed_form("kl", 1.0) == 0.5
    assert closed_form("js", 1.0) == pytest.approx(2 * 0.111421, abs=2e-6)
    assert closed_form("gan", 1.0) == pytest.approx(2 * 0.111421 - math.log(4), abs=2e-6)


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_the_written_out_conjugate_is_the_conjugate_of_the_activation(divergence):
    row = losses.F_DIVERGENCES[divergence]
    v = t64(np.linspace(-6, 6, 49))
    np.testing.assert_allclose(row.conjugate_of_activation(v).numpy(), row.conjugate(row.activation(v)).numpy(),
                               rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("divergence", DIVERGENCES)
@settings(max_examples=30)
@given(u=st.floats(0.01, 100.0), v=st.floats(-8.0, 8.0))
def test_fenchel_young_holds_pointwise_and_is_tight_at_the_optimal_logit(divergence, u, v):
    row = losses.F_DIVERGENCES[divergence]
    f_u = row.f(t64([u])).item()

    def lower(logit):  # u g_f(v) - f*(g_f(v)), the integrand of the bound at p/q = u
        logit = t64([logit])
        return (row.activation(logit) * u - row.conjugate_of_activation(logit)).item()
    assert lower(v) <= f_u + 1e-9 * (1 + abs(f_u))
    if divergence != "tv":   # tv's T* = +-1/2 is reached only as v -> +-infinity
        assert lower(float(optimal_logit(divergence, math.log(u)))) == pytest.approx(f_u, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("divergence", [d for d in DIVERGENCES if d != "tv"])
def test_the_optimal_output_is_f_prime_of_the_density_ratio(divergence):
    # T* = f'(u), f' by autograd of the library's f, is g_f at the hand-derived optimal logit
    row = losses.F_DIVERGENCES[divergence]
    u = t64([0.05, 0.5, 1.0, 2.0, 30.0], requires_grad=True)
    (f_prime,) = tg.grad(row.f(u).sum(), [u])
    at_optimum = row.activation(t64(optimal_logit(divergence, np.log(u.numpy()))))
    np.testing.assert_allclose(at_optimum.numpy(), f_prime.numpy(), rtol=1e-10, atol=1e-12)
    # f(1) = D_f(P || P): 0, except for the gan row, whose f(1) = -log 4 (its D_f is 2 JSD - log 4)
    expected = -math.log(4) if divergence == "gan" else 0.0
    assert row.f(t64([1.0])).item() == pytest.approx(expected, abs=1e-15)


# ---------------------------------------------------------------------------------------------------------------
# 2. the bound, integrated
# ---------------------------------------------------------------------------------------------------------------


def simpson(low, high, intervals=6000):
    nodes = np.linspace(low, high, intervals + 1)
    weights = np.ones(intervals + 1)
    weights[1:-1:2], weights[2:-1:2] = 4.0, 2.0
    return nodes, weights * (high - low) / intervals / 3.0


def variational_objective(divergence, mu, logits_of_x):
    """E_P[g_f(v)] - E_Q[f*(g_f(v))] by Simpson's rule for P = N(0, 1), Q = N(mu, 1), v = logits_of_x(x)."""
    row = losses.F_DIVERGENCES[divergence]
    x, w = simpson(-12.0, 12.0 + mu)
    p = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    q = np.exp(-0.5 * (x - mu) ** 2) / math.sqrt(2 * math.pi)
    v = t64(logits_of_x(x))
    return float(w @ (p * row.activation(v).numpy() - q * row.conjugate_of_activation(v).numpy()))


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_the_bound_is_tight_at_the_optimal_logit(divergence):
    mu = mu_for(divergence)
    value = variational_objective(divergence, mu, lambda x: optimal_logit(divergence, mu * mu / 2 - mu * x))
    assert value == pytest.approx(closed_form(divergence, mu), abs=1e-7)


@pytest.mark.parametrize("divergence", DIVERGENCES)
@settings(max_examples=8)
@given(amplitude=st.floats(0.05, 2.0), frequency=st.floats(0.1, 3.0), offset=st.floats(-1.0, 1.0))
def test_every_other_logit_gives_less(divergence, amplitude, frequency, offset):
    mu = mu_for(divergence)
    target = closed_form(divergence, mu)

    def perturbed(x):
        optimum = optimal_logit(divergence, mu * mu / 2 - mu * x)
        if divergence == "tv":
            optimum = np.tanh(mu * mu / 2 - mu * x) * 3        # finite logits: tanh(v)/2 short of +-1/2
        return optimum + amplitude * np.sin(frequency * x) + offset
    assert variational_objective(divergence, mu, perturbed) < target


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_the_losses_on_quantile_samples_give_minus_the_divergence(divergence):
    # N quantile points of P and of Q stand in for samples; the loss is -E_P g + E_Q f*(g). Their error is below 1e-3
    # except for pearson, whose E_Q[f*] = E_Q[(p/q)^2] + ... weighs Q's far left tail (p^2/q is centred 2 standard
    # deviations below Q's mean), which quantile points cover coarsely: 0.018 there.
    mu = mu_for(divergence)
    tolerance = 0.025 if divergence == "pearson" else 2e-3
    z = np.array([UNIT.inv_cdf((i + 0.5) / 20000) for i in range(20000)])
    real, fake = z, z + mu

    def logits(x):
        return t64(optimal_logit(divergence, mu * mu / 2 - mu * x))
    d_loss = losses.discriminator_loss(logits(real), logits(fake), kind=f"fgan-{divergence}").item()
    assert -d_loss == pytest.approx(closed_form(divergence, mu), abs=tolerance)
    assert d_loss == losses.fgan_discriminator_loss(logits(real), logits(fake), divergence=divergence).item()


def test_the_gan_row_is_the_original_gan():
    # fgan-gan's losses are the BCE discriminator loss and the non-saturating generator loss, number for number
    rng = np.random.default_rng(0)
    real, fake = t64(rng.normal(0, 5, size=9)), t64(rng.normal(0, 5, size=7))
    assert losses.discriminator_loss(real, fake, kind="fgan-gan").item() == pytest.approx(
        losses.bce_discriminator_loss(real, fake).item(), rel=1e-14)
    assert losses.generator_loss(fake, kind="fgan-gan").item() == pytest.approx(
        losses.nonsaturating_generator_loss(fake).item(), rel=1e-14)
    # and the js row is the same game shifted by constants: L_D + 2 log 2, L_G - log 2
    assert losses.discriminator_loss(real, fake, kind="fgan-js").item() == pytest.approx(
        losses.bce_discriminator_loss(real, fake).item() - 2 * math.log(2), rel=1e-13)


# ---------------------------------------------------------------------------------------------------------------
# 3. a trained discriminator estimates the divergence
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("divergence", ["kl", "reverse-kl", "hellinger", "js", "gan"])
def test_a_trained_linear_logit_reaches_the_divergence(divergence):
    """v(x) = a x + b, trained by Adam on the loss over 2,000 quantile points of N(0, 1) (real) and N(1, 1) (fake):
    -loss reaches D_f (within 3e-3: the quantile points' own error is 1.2e-3 for kl) and (a, b) the optimal logit's
    coefficients, v* = c (1/2 - x) + k with (c, k) = (1, 1) for kl, (1/2, 0) for hellinger, (1, 0) otherwise."""
    z = t64(np.array([UNIT.inv_cdf((i + 0.5) / 2000) for i in range(2000)])[:, None])
    a = tg.tensor([[0.0]], dtype=tg.float64, requires_grad=True)
    b = tg.tensor([0.0], dtype=tg.float64, requires_grad=True)
    opt = tg.optim.Adam([a, b], lr=0.05)
    for _ in range(600):
        loss = losses.fgan_discriminator_loss(z @ a + b, (z + 1.0) @ a + b, divergence=divergence)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert -loss.item() == pytest.approx(closed_form(divergence, 1.0), abs=3e-3)
    slope, constant = {"kl": (1.0, 1.0), "hellinger": (0.5, 0.0)}.get(divergence, (1.0, 0.0))
    assert a.item() == pytest.approx(-slope, abs=0.02) and b.item() == pytest.approx(slope / 2 + constant, abs=0.02)


def test_a_trained_linear_logit_approaches_tv_and_pearson_from_below():
    # tv's optimum is a step (v -> +-infinity) and pearson's is exponential in x: a linear logit gets close to
    # the first and stays clearly below the second, never above either
    z = t64(np.array([UNIT.inv_cdf((i + 0.5) / 2000) for i in range(2000)])[:, None])
    for divergence, mu, gap in (("tv", 2.0, 0.03), ("pearson", 1.0, None)):
        a = tg.tensor([[0.0]], dtype=tg.float64, requires_grad=True)
        b = tg.tensor([0.0], dtype=tg.float64, requires_grad=True)
        opt = tg.optim.Adam([a, b], lr=0.05)
        for _ in range(600):
            loss = losses.fgan_discriminator_loss(z @ a + b, (z + mu) @ a + b, divergence=divergence)
            opt.zero_grad()
            loss.backward()
            opt.step()
        target = closed_form(divergence, mu)
        assert -loss.item() < target
        if gap is not None:
            assert -loss.item() > target - gap
        else:
            assert -loss.item() < 0.7 * target      # the best linear logit: 1.0 against e - 1 = 1.72


# ---------------------------------------------------------------------------------------------------------------
# 4. numerics and values
# ---------------------------------------------------------------------------------------------------------------

UNBOUNDED = {"kl", "reverse-kl", "hellinger"}     # their objective holds exp(+-v) itself


@pytest.mark.parametrize("divergence", DIVERGENCES)
@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
def test_logits_of_1e4(divergence, dtype):
    values = np.array([1e4, -1e4, 30.0, -30.0, 0.5])
    real = tg.tensor(values, dtype=dtype, requires_grad=True)
    fake = tg.tensor(values[::-1].copy(), dtype=dtype, requires_grad=True)
    with tg.backend.ignore_float_errors():   # exp(1e4) overflows where the objective is that large
        d_loss = losses.fgan_discriminator_loss(real, fake, divergence=divergence)
        g_loss = losses.fgan_generator_loss(fake, divergence=divergence)
        (d_loss + g_loss).backward()
    outputs = [d_loss.numpy(), g_loss.numpy(), real.grad.numpy(), fake.grad.numpy()]
    assert not any(np.isnan(out).any() for out in outputs), divergence
    if divergence in UNBOUNDED:
        assert d_loss.item() == math.inf           # e.g. kl's E_fake[exp(v - 1)] at v = 1e4: the true value
    else:
        assert all(np.isfinite(out).all() for out in outputs), divergence
    # at |v| <= 30 every loss and gradient is finite, in float32 too, without a warning
    real30 = tg.tensor(values[2:], dtype=dtype, requires_grad=True)
    fake30 = tg.tensor(values[2:][::-1].copy(), dtype=dtype, requires_grad=True)
    (losses.fgan_discriminator_loss(real30, fake30, divergence=divergence)
     + losses.fgan_generator_loss(fake30, divergence=divergence)).backward()
    assert np.isfinite(real30.grad.numpy()).all() and np.isfinite(fake30.grad.numpy()).all()


def test_written_out_forms_stay_finite_where_the_naive_composition_does_not():
    # f*(g_f(v)) for js and gan at v = 40: g_f(40) rounds to log 2 and 0, where -log(2 - exp(t)) and
    # -log(1 - exp(t)) are log(0); written out in v they are softplus(40) - log 2 and softplus(40)
    v = t64([40.0])
    for divergence, expected in (("js", 40.0 - math.log(2)), ("gan", 40.0)):
        row = losses.F_DIVERGENCES[divergence]
        with tg.backend.ignore_float_errors():
            naive = row.conjugate(row.activation(v)).item()
        assert not math.isfinite(naive)
        assert row.conjugate_of_activation(v).item() == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_the_equilibrium_values_the_pictures_draw(divergence):
    # at P = Q a discriminator at its optimum outputs v*(r = 0) everywhere; plots.EQUILIBRIUM holds the losses there
    kind = f"fgan-{divergence}"
    d_equilibrium, g_equilibrium = plots.EQUILIBRIUM[kind]
    v = t64(np.full(4, optimal_logit(divergence, 0.0)))
    if divergence == "tv":     # any |T| <= 1/2 is optimal at P = Q: the D loss is 0, the G loss undetermined
        assert g_equilibrium is None
        v = t64([0.3, -1.0, 2.0, 0.0])
    else:
        assert losses.generator_loss(v, kind=kind).item() == pytest.approx(g_equilibrium[0], abs=1e-15)
    assert losses.discriminator_loss(v, v, kind=kind).item() == pytest.approx(d_equilibrium[0], abs=1e-15)


def test_the_names_are_registered_for_both_players():
    names = [f"fgan-{name}" for name in ("kl", "reverse-kl", "pearson", "hellinger", "js", "gan", "tv")]
    assert all(name in losses.LOSSES for name in names)
    real, fake = t64([0.3, -0.4]), t64([1.2, -0.1, 0.0])
    for divergence in DIVERGENCES:
        d_loss, g_loss = losses.LOSSES[f"fgan-{divergence}"]
        assert d_loss(real, fake).item() == losses.fgan_discriminator_loss(real, fake, divergence=divergence).item()
        assert g_loss(fake).item() == losses.generator_loss(fake, kind=f"fgan-{divergence}").item()
    with pytest.raises(ValueError, match="fgan_discriminator_loss .*unknown divergence 'chi2'; choose one of 'kl'"):
        losses.fgan_discriminator_loss(real, fake, divergence="chi2")
    with pytest.raises(ValueError, match=r"fgan_generator_loss \(divergence 'kl'\): fake_logits must have shape"):
        losses.fgan_generator_loss(tg.zeros(3, 2), divergence="kl")
