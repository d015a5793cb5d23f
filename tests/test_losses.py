"""Tests of tinygan.losses: the GAN objectives and penalties, and the theory they come from.

1. Formulas. Every loss is compared, on drawn logits, with a float64 NumPy reference written in the textbook form,
   with probabilities D = sigmoid(l) and logs of them (so the reference shares nothing with the softplus forms the
   library uses); the drawn logits stay in [-10, 10], where that naive form is still accurate in float64. At
   |l| = 30 and 1e4 every loss stays finite, with finite gradients, and matches np.logaddexp (except the f-GAN
   losses whose objective is exp(|l|) itself, finite at 30 and +inf beyond; tests/test_fgan.py tests them).
   The f-GAN losses' references compose the paper's g_f and f* naively.
2. Derivatives. gradcheck and gradgradcheck in float64, at logits including +-30 (+-4 for those unbounded f-GAN
   losses), for every loss and penalty.
3. Theory (Goodfellow et al. 2014; Mescheder et al. 2018; Gulrajani et al. 2017):
   - a discriminator with one free logit per point of a finite support, trained by gradient ascent on V, reaches
     D* = p_data / (p_data + p_g), and max V = -log 4 + 2 JSD(p_data || p_g) (JSD computed independently);
   - a linear logit trained on two equal-variance Gaussians recovers the log density ratio's w and b; an MLP
     on a 1-D mixture approximates D* within 0.05 on the central region;
   - the equilibrium values (p_g = p_data), the saturation of the minimax generator loss;
   - Dirac-GAN: the Jacobian of the gradient vector field at the equilibrium, by double backward, has eigenvalues
     +-0.5i without a penalty and -gamma/2 +- sqrt(gamma^2/4 - 1/4) with R1; simultaneous gradient descent
     spirals out without the penalty and converges with it;
   - WGAN-GP on a linear critic is exactly lambda (||w|| - 1)^2; weight clipping keeps the critic in [-c, c].

The gradient-ascent tests run full-batch plain or heavy-ball gradient descent (tg.optim.SGD with momentum 0.9) on
exact expectations (a finite support, or a batch of normal quantiles standing for a Gaussian), so they converge
deterministically and need few steps.
"""

import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygan as tg
from tinygan import losses
from tinygan.testing import gradcheck, gradgradcheck


def examples(fraction=1.0):
    """@settings: the active profile (conftest.py) with max_examples scaled by ``fraction`` (at least 4), and the
    function-scoped ``device`` fixture allowed (it only names a device)."""
    profile = settings.default
    return settings(max_examples=max(4, round(profile.max_examples * fraction)),
                    suppress_health_check=[*profile.suppress_health_check, HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def floats(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@st.composite
def logit_batches(draw, low=-10.0, high=10.0, batch=None):
    """A float64 array of logits, of shape (batch,) or (batch, 1)."""
    n = draw(st.integers(1, 8)) if batch is None else batch
    values = np.array(draw(st.lists(floats(low, high), min_size=n, max_size=n)), dtype=np.float64)
    return values.reshape(n, 1) if draw(st.booleans()) else values


def as_tensor(array, device="cpu", dtype=tg.float64, requires_grad=False):
    return tg.tensor(np.asarray(array, dtype=np.float64), dtype=dtype, device=device, requires_grad=requires_grad)


def value(tensor):
    return float(tensor.item())


# ---------------------------------------------------------------------------------------------------------------
# NumPy references, in the textbook form: D = sigmoid(l) = 1 / (1 + exp(-l)), then logs of probabilities
# ---------------------------------------------------------------------------------------------------------------


def prob(logits):
    return 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64).reshape(-1)))


def flat(logits):
    return np.asarray(logits, dtype=np.float64).reshape(-1)


REFERENCE_D = {
    "nonsaturating": lambda r, f: -np.mean(np.log(prob(r))) - np.mean(np.log(1 - prob(f))),
    "minimax": lambda r, f: -np.mean(np.log(prob(r))) - np.mean(np.log(1 - prob(f))),
    "hinge": lambda r, f: np.mean(np.maximum(0, 1 - flat(r))) + np.mean(np.maximum(0, 1 + flat(f))),
    "wasserstein": lambda r, f: np.mean(flat(f)) - np.mean(flat(r)),
    "lsgan": lambda r, f: 0.5 * np.mean((flat(r) - 1) ** 2) + 0.5 * np.mean(flat(f) ** 2),
    "rsgan": lambda r, f: -np.mean(np.log(prob(flat(r) - flat(f)))),
    "ragan": lambda r, f: (-np.mean(np.log(prob(flat(r) - np.mean(flat(f)))))
                           - np.mean(np.log(1 - prob(flat(f) - np.mean(flat(r)))))),
}

REFERENCE_G = {
    "nonsaturating": lambda f, r: -np.mean(np.log(prob(f))),
    "minimax": lambda f, r: np.mean(np.log(1 - prob(f))),
    "hinge": lambda f, r: -np.mean(flat(f)),
    "wasserstein": lambda f, r: -np.mean(flat(f)),
    "lsgan": lambda f, r: 0.5 * np.mean((flat(f) - 1) ** 2),
    "rsgan": lambda f, r: -np.mean(np.log(prob(flat(f) - flat(r)))),
    "ragan": lambda f, r: (-np.mean(np.log(prob(flat(f) - np.mean(flat(r)))))
                           - np.mean(np.log(1 - prob(flat(r) - np.mean(flat(f)))))),
}

# f-GAN (Nowozin et al. 2016): the output activation g_f and the conjugate f* of the paper's Table 2, composed
# naively (f* applied to the number g_f(v)); the library writes f*(g_f(v)) out in v instead.
F_GAN_TEXTBOOK = {  # divergence -> (g_f, f*)
    "kl": (lambda v: v, lambda t: np.exp(t - 1)),
    "reverse-kl": (lambda v: -np.exp(-v), lambda t: -1 - np.log(-t)),
    "pearson": (lambda v: v, lambda t: t * t / 4 + t),
    "hellinger": (lambda v: 1 - np.exp(-v), lambda t: t / (1 - t)),
    "js": (lambda v: np.log(2) - np.log(1 + np.exp(-v)), lambda t: -np.log(2 - np.exp(t))),
    "gan": (lambda v: -np.log(1 + np.exp(-v)), lambda t: -np.log(1 - np.exp(t))),
    "tv": (lambda v: 0.5 * np.tanh(v), lambda t: t),
}
for _name, (_g, _conjugate) in F_GAN_TEXTBOOK.items():
    REFERENCE_D[f"fgan-{_name}"] = (lambda g, c: lambda r, f: np.mean(c(g(flat(f)))) - np.mean(g(flat(r))))(
        _g, _conjugate)
    REFERENCE_G[f"fgan-{_name}"] = (lambda g: lambda f, r: -np.mean(g(flat(f))))(_g)

# f-GAN losses whose objective holds exp(|v|) itself: unbounded, so +inf (never NaN) beyond |v| ~ 88 in float32 and
# ~ 709 in float64 (tests/test_fgan.py checks that)
UNBOUNDED = {"fgan-kl", "fgan-reverse-kl", "fgan-hellinger"}

PAIRED = {"rsgan"}  # losses that compare real and fake logits sample by sample: equal batch sizes


# ---------------------------------------------------------------------------------------------------------------
# 1. formulas
# ---------------------------------------------------------------------------------------------------------------


def test_the_tables_cover_every_kind():
    assert set(losses.DISCRIMINATOR_LOSSES) == set(REFERENCE_D)
    assert set(losses.GENERATOR_LOSSES) == set(REFERENCE_G)
    for name, (d_loss, g_loss) in losses.LOSSES.items():
        assert g_loss is losses.GENERATOR_LOSSES[name]
        assert d_loss in losses.DISCRIMINATOR_LOSSES.values()
    assert losses.LOSSES["nonsaturating"][0] is losses.bce_discriminator_loss
    assert losses.LOSSES["minimax"][0] is losses.bce_discriminator_loss
    assert losses.wasserstein_discriminator_loss is losses.wasserstein_critic_loss


@pytest.mark.parametrize("kind", sorted(REFERENCE_D))
@examples(0.5)
@given(data=st.data())
def test_discriminator_losses_match_the_textbook_formulas(kind, data):
    real = data.draw(logit_batches(), label="real logits")
    fake = data.draw(logit_batches(batch=len(real) if kind in PAIRED else None), label="fake logits")
    expected = REFERENCE_D[kind](real, fake)
    by_function = losses.DISCRIMINATOR_LOSSES[kind](as_tensor(real), as_tensor(fake))
    by_kind = losses.discriminator_loss(as_tensor(real), as_tensor(fake), kind=kind)
    for out in (by_function, by_kind):
        assert out.shape == () and out.dtype == tg.float64
        np.testing.assert_allclose(value(out), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", sorted(REFERENCE_G))
@examples(0.5)
@given(data=st.data())
def test_generator_losses_match_the_textbook_formulas(kind, data):
    fake = data.draw(logit_batches(), label="fake logits")
    real = data.draw(logit_batches(batch=len(fake) if kind in PAIRED else None), label="real logits")
    expected = REFERENCE_G[kind](fake, real)
    by_function = losses.GENERATOR_LOSSES[kind](as_tensor(fake), as_tensor(real))
    by_kind = losses.generator_loss(as_tensor(fake), kind=kind, real_logits=as_tensor(real))
    for out in (by_function, by_kind):
        assert out.shape == () and out.dtype == tg.float64
        np.testing.assert_allclose(value(out), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", sorted(REFERENCE_D))
def test_float32_logits_give_a_float32_loss_and_gradients(kind):
    real = as_tensor([0.3, -1.2, 2.0], dtype=tg.float32, requires_grad=True)
    fake = as_tensor([[-0.7], [0.4], [1.1]], dtype=tg.float32, requires_grad=True)
    d_loss = losses.discriminator_loss(real, fake, kind=kind)
    g_loss = losses.generator_loss(fake, kind=kind, real_logits=real)
    (d_loss + g_loss).backward()
    assert d_loss.dtype == g_loss.dtype == tg.float32
    assert real.grad.dtype == fake.grad.dtype == tg.float32 and fake.grad.shape == (3, 1)
    np.testing.assert_allclose(value(d_loss), REFERENCE_D[kind](real.numpy(), fake.numpy()), rtol=1e-5)


def test_column_and_flat_logits_never_broadcast_into_a_matrix():
    # (n,) - (n, 1) would broadcast to (n, n) in NumPy; the losses flatten both to (n,) first.
    real, fake = np.array([2.0, -1.0, 0.5]), np.array([0.3, 1.5, -2.0])
    for kind in ("rsgan", "ragan"):
        mixed = losses.discriminator_loss(as_tensor(real), as_tensor(fake.reshape(3, 1)), kind=kind)
        np.testing.assert_allclose(value(mixed), REFERENCE_D[kind](real, fake), rtol=1e-12)
        mixed_g = losses.generator_loss(as_tensor(fake.reshape(3, 1)), kind=kind, real_logits=as_tensor(real))
        np.testing.assert_allclose(value(mixed_g), REFERENCE_G[kind](fake, real), rtol=1e-12)


def test_batch_sizes_may_differ_where_the_batches_are_averaged_separately():
    real, fake = np.array([2.0, -1.0, 0.5, 0.1]), np.array([0.3, -2.0])
    for kind in ("nonsaturating", "minimax", "hinge", "wasserstein", "lsgan", "ragan"):
        out = losses.discriminator_loss(as_tensor(real), as_tensor(fake), kind=kind)
        np.testing.assert_allclose(value(out), REFERENCE_D[kind](real, fake), rtol=1e-12)


# -- errors ------------------------------------------------------------------------------------------------------


def test_paired_losses_refuse_unequal_batches_naming_the_function_and_shapes():
    with pytest.raises(ValueError, match=r"rsgan_discriminator_loss.*\(3,\).*\(2, 1\)"):
        losses.rsgan_discriminator_loss(as_tensor([1.0, 2.0, 3.0]), as_tensor([[1.0], [2.0]]))
    with pytest.raises(ValueError, match=r"rsgan_generator_loss.*\(2,\).*\(3,\)"):
        losses.rsgan_generator_loss(as_tensor([1.0, 2.0, 3.0]), real_logits=as_tensor([1.0, 2.0]))


@pytest.mark.parametrize("kind", ["rsgan", "ragan"])
def test_relativistic_generator_losses_need_real_logits(kind):
    with pytest.raises(ValueError, match=f"{kind}_generator_loss.*real_logits"):
        losses.generator_loss(as_tensor([0.5, 1.0]), kind=kind)


@pytest.mark.parametrize("bad_shape", [(), (4, 2), (2, 2, 1), (0,), (0, 1)])
def test_logits_must_be_one_per_sample(bad_shape):
    bad = tg.zeros(*bad_shape, dtype=tg.float64)
    good = tg.zeros(4, dtype=tg.float64)
    with pytest.raises(ValueError, match=r"bce_discriminator_loss: real_logits .*shape|bce_discriminator_loss: "
                                         r"real_logits is an empty batch"):
        losses.bce_discriminator_loss(bad, good)
    with pytest.raises(ValueError, match="hinge_generator_loss: fake_logits"):
        losses.hinge_generator_loss(bad)


def test_logits_must_be_float_tensors():
    with pytest.raises(TypeError, match="nonsaturating_generator_loss: fake_logits must be a tinygan Tensor"):
        losses.nonsaturating_generator_loss(np.zeros(3))
    with pytest.raises(TypeError, match="minimax_generator_loss: fake_logits must be a floating-point"):
        losses.minimax_generator_loss(tg.tensor([1, 2, 3]))


def test_unknown_kinds_list_the_choices():
    with pytest.raises(ValueError, match="discriminator_loss: unknown kind 'wgan'.*'nonsaturating'.*'ragan'"):
        losses.discriminator_loss(tg.zeros(2), tg.zeros(2), kind="wgan")
    for function in (losses.generator_loss, lambda x, kind: losses.discriminator_loss(x, x, kind=kind)):
        with pytest.raises(ValueError, match="unknown kind 'bce'.*'nonsaturating'.*binary cross-entropy"):
            function(tg.zeros(2), kind="bce")


def test_one_set_of_names_for_both_players():
    assert list(losses.DISCRIMINATOR_LOSSES) == list(losses.GENERATOR_LOSSES) == list(losses.LOSSES)
    real, fake = tg.tensor([0.5, -1.0]), tg.tensor([2.0, 0.1])
    for kind, (d_loss, g_loss) in losses.LOSSES.items():
        assert losses.discriminator_loss(real, fake, kind=kind).item() == d_loss(real, fake).item()
        assert losses.generator_loss(fake, kind=kind, real_logits=real).item() == g_loss(fake, real).item()


def test_penalty_weights_are_keyword_only():
    D = tg.nn.Linear(2, 1, generator=tg.Generator(0))
    real, fake = tg.randn(4, 2), tg.randn(4, 2)
    for call in (lambda: losses.gradient_penalty(D, real, fake, 10), lambda: losses.r1_penalty(D, real, 10.0),
                 lambda: losses.r2_penalty(D, fake, 10.0)):
        with pytest.raises(TypeError):
            call()
    assert losses.gradient_penalty(D, real, fake, weight=10).ndim == 0


# -- extreme logits ----------------------------------------------------------------------------------------------


def softplus64(x):
    return np.logaddexp(0.0, np.asarray(x, dtype=np.float64))


@pytest.mark.parametrize("magnitude", [30.0, 1e3, 1e4])
@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
def test_losses_stay_finite_and_exact_at_extreme_logits(magnitude, dtype):
    signs = np.array([1.0, -1.0, 1.0, -1.0])
    real_values, fake_values = magnitude * signs, -magnitude * signs[::-1]
    # references in the softplus form, in float64 (the textbook log(sigmoid) form is -inf here)
    expected_d = {"nonsaturating": softplus64(-real_values).mean() + softplus64(fake_values).mean(),
                  "minimax": softplus64(-real_values).mean() + softplus64(fake_values).mean(),
                  "rsgan": softplus64(fake_values - real_values).mean(),
                  "ragan": softplus64(fake_values.mean() - real_values).mean()
                  + softplus64(fake_values - real_values.mean()).mean(),
                  "fgan-js": softplus64(fake_values).mean() + softplus64(-real_values).mean() - 2 * math.log(2),
                  "fgan-gan": softplus64(fake_values).mean() + softplus64(-real_values).mean(),
                  "fgan-pearson": (fake_values ** 2 / 4 + fake_values).mean() - real_values.mean()}
    expected_g = {"nonsaturating": softplus64(-fake_values).mean(), "minimax": -softplus64(fake_values).mean(),
                  "rsgan": softplus64(real_values - fake_values).mean(),
                  "fgan-js": softplus64(-fake_values).mean() - math.log(2), "fgan-gan": softplus64(-fake_values).mean(),
                  "fgan-pearson": -fake_values.mean()}
    for kind in losses.DISCRIMINATOR_LOSSES:
        if kind in UNBOUNDED and magnitude > 80:
            continue
        real = as_tensor(real_values, dtype=dtype, requires_grad=True)
        fake = as_tensor(fake_values, dtype=dtype, requires_grad=True)
        out = losses.discriminator_loss(real, fake, kind=kind)
        out.backward()
        assert np.isfinite(value(out)), kind
        assert np.isfinite(real.grad.numpy()).all() and np.isfinite(fake.grad.numpy()).all(), kind
        if kind in expected_d:
            np.testing.assert_allclose(value(out), expected_d[kind], rtol=1e-6, err_msg=kind)
    for kind in losses.GENERATOR_LOSSES:
        if kind in UNBOUNDED and magnitude > 80:
            continue
        real = as_tensor(real_values, dtype=dtype, requires_grad=True)
        fake = as_tensor(fake_values, dtype=dtype, requires_grad=True)
        out = losses.generator_loss(fake, kind=kind, real_logits=real)
        out.backward()
        assert np.isfinite(value(out)), kind
        assert np.isfinite(fake.grad.numpy()).all(), kind
        if kind in expected_g:
            np.testing.assert_allclose(value(out), expected_g[kind], rtol=1e-6, err_msg=kind)
    # the gradient of a confidently rejected fake: -1/n for the non-saturating loss, ~0 for the minimax one
    fake = as_tensor([-magnitude], dtype=dtype, requires_grad=True)
    losses.nonsaturating_generator_loss(fake).backward()
    assert fake.grad.numpy()[0] == pytest.approx(-1.0)
    fake.grad = None
    losses.minimax_generator_loss(fake).backward()
    assert abs(fake.grad.numpy()[0]) < 1e-12


# ---------------------------------------------------------------------------------------------------------------
# 2. first and second derivatives (gradcheck + gradgradcheck, float64)
# ---------------------------------------------------------------------------------------------------------------

# away from the hinge's kinks at +-1 and including +-30; batch sizes differ except for the paired loss
REAL_LOGITS = [-30.0, -2.3, 0.4, 30.0, 1.7]
FAKE_LOGITS = [30.0, 1.3, -0.6, -30.0]


def gradcheck_logits(kind):
    """(real, fake) logits for the derivative checks: +-30 in them, except for the unbounded f-GAN losses, where
    exp(30) = 1e13 in the loss would swamp the finite differences of every other entry (rounding 1e13 * 1e-16 /
    1e-6 = 1); +-4 there."""
    if kind in UNBOUNDED:
        return [-4.0, -2.3, 0.4, 4.0, 1.7], [4.0, 1.3, -0.6, -4.0]
    return REAL_LOGITS, FAKE_LOGITS


@pytest.mark.parametrize("kind", sorted(REFERENCE_D))
def test_discriminator_losses_pass_gradgradcheck(kind):
    real_logits, fake_logits = gradcheck_logits(kind)
    real = as_tensor(real_logits[:4] if kind in PAIRED else real_logits, requires_grad=True)
    fake = as_tensor(np.array(fake_logits).reshape(4, 1), requires_grad=True)
    assert gradgradcheck(lambda r, f: losses.discriminator_loss(r, f, kind=kind), (real, fake))


@pytest.mark.parametrize("kind", sorted(REFERENCE_G))
def test_generator_losses_pass_gradgradcheck(kind):
    real_logits, fake_logits = gradcheck_logits(kind)
    real = as_tensor(real_logits[:4] if kind in PAIRED else real_logits, requires_grad=True)
    fake = as_tensor(fake_logits, requires_grad=True)
    assert gradgradcheck(lambda f, r: losses.generator_loss(f, kind=kind, real_logits=r), (fake, real))


def tanh_critic(w1, b1, w2):
    """A one-hidden-layer critic x (batch, 3) -> logits (batch,), smooth (tanh), written with its parameters as
    arguments so gradcheck can differentiate with respect to them."""
    return lambda x: (x @ w1 + b1).tanh() @ w2


def critic_parameters(seed=0):
    g = tg.Generator(seed)
    return (tg.randn(3, 4, dtype=tg.float64, generator=g, requires_grad=True),
            tg.randn(4, dtype=tg.float64, generator=g, requires_grad=True),
            tg.randn(4, dtype=tg.float64, generator=g, requires_grad=True))


PENALTIES = {
    # each (parameters..., real, fake) -> penalty; the interpolation draws from a fresh seeded generator each call,
    # so the function gradcheck differentiates is deterministic
    "gradient_penalty": lambda w1, b1, w2, real, fake: losses.gradient_penalty(
        tanh_critic(w1, b1, w2), real, fake, generator=tg.Generator(7), weight=10.0),
    "r1_penalty": lambda w1, b1, w2, real, fake: losses.r1_penalty(tanh_critic(w1, b1, w2), real, gamma=10.0),
    "r2_penalty": lambda w1, b1, w2, real, fake: losses.r2_penalty(tanh_critic(w1, b1, w2), fake, gamma=3.0),
}


@pytest.mark.parametrize("name", sorted(PENALTIES))
def test_penalties_pass_gradgradcheck_in_the_critic_parameters_and_the_samples(name):
    g = tg.Generator(1)
    real = tg.randn(2, 3, dtype=tg.float64, generator=g, requires_grad=True)
    fake = tg.randn(2, 3, dtype=tg.float64, generator=g, requires_grad=True)
    inputs = (*critic_parameters(), real, fake)
    # gradgradcheck of a penalty is a third derivative of the critic: the penalty's backward is a double backward
    assert gradgradcheck(PENALTIES[name], inputs)


def test_gradient_penalty_passes_gradcheck_with_the_default_tiny_epsilon_and_3d_samples():
    g = tg.Generator(2)
    w = tg.randn(2, 3, dtype=tg.float64, generator=g, requires_grad=True)
    real = tg.randn(4, 2, 3, dtype=tg.float64, generator=g)
    fake = tg.randn(4, 2, 3, dtype=tg.float64, generator=g)

    def penalty(w):
        critic = lambda x: (x * w).tanh().sum(axis=(1, 2))  # noqa: E731
        return losses.gradient_penalty(critic, real, fake, generator=tg.Generator(3))

    assert gradcheck(penalty, (w,))


# ---------------------------------------------------------------------------------------------------------------
# 3. theory
# ---------------------------------------------------------------------------------------------------------------

# -- equilibrium values ------------------------------------------------------------------------------------------

LOG2, LOG4 = math.log(2.0), math.log(4.0)
EQUILIBRIUM_D = {"nonsaturating": LOG4, "minimax": LOG4, "hinge": 2.0, "wasserstein": 0.0, "rsgan": LOG2, "ragan": LOG4}
EQUILIBRIUM_G = {"nonsaturating": LOG2, "minimax": -LOG2, "hinge": 0.0, "wasserstein": 0.0, "rsgan": LOG2,
                 "ragan": LOG4}


@examples(0.25)
@given(batch=st.integers(1, 16))
def test_equilibrium_values_at_logit_zero(batch, device):
    # p_g = p_data: D* = 1/2 everywhere, logit 0 (for the critic-style losses: equal scores)
    zero = tg.zeros(batch, 1, device=device, dtype=tg.float64)
    for kind, expected in EQUILIBRIUM_D.items():
        assert value(losses.discriminator_loss(zero, zero, kind=kind)) == pytest.approx(expected, abs=1e-15)
    for kind, expected in EQUILIBRIUM_G.items():
        assert value(losses.generator_loss(zero, kind=kind, real_logits=zero)) == pytest.approx(expected, abs=1e-15)
    # LSGAN takes raw outputs; its optimal output at p_g = p_data is (a + b) / 2 = 1/2
    half = tg.full((batch,), 0.5, device=device, dtype=tg.float64)
    assert value(losses.lsgan_discriminator_loss(half, half)) == pytest.approx(0.25, abs=1e-15)
    assert value(losses.lsgan_generator_loss(half)) == pytest.approx(0.125, abs=1e-15)


# -- saturation --------------------------------------------------------------------------------------------------


@examples(0.5)
@given(logit=floats(-30.0, 30.0))
def test_minimax_loss_saturates_and_the_nonsaturating_loss_does_not(logit):
    l_minimax = as_tensor([logit], requires_grad=True)
    l_nonsaturating = as_tensor([logit], requires_grad=True)
    (g_minimax,) = tg.grad(losses.minimax_generator_loss(l_minimax), [l_minimax])
    (g_nonsaturating,) = tg.grad(losses.nonsaturating_generator_loss(l_nonsaturating), [l_nonsaturating])
    sigmoid = 1.0 / (1.0 + math.exp(-logit))
    assert abs(g_minimax.item()) == pytest.approx(sigmoid, rel=1e-12)
    assert abs(g_nonsaturating.item()) == pytest.approx(1.0 / (1.0 + math.exp(logit)), rel=1e-12)  # sigmoid(-l)
    # both push the fake logit up (towards "real"): the generator descends them
    assert g_minimax.item() < 0 and g_nonsaturating.item() < 0


def test_saturation_at_logit_minus_ten():
    fake = as_tensor([-10.0], requires_grad=True)
    (g_minimax,) = tg.grad(losses.minimax_generator_loss(fake), [fake])
    (g_nonsaturating,) = tg.grad(losses.nonsaturating_generator_loss(fake), [fake])
    assert abs(g_minimax.item()) == pytest.approx(4.5398e-5, rel=1e-4)
    assert abs(g_nonsaturating.item()) == pytest.approx(1.0, abs=1e-4)


# -- the optimal discriminator on a finite support ---------------------------------------------------------------


@st.composite
def discrete_pairs(draw):
    """Two distributions on k points, as integer counts (a batch with point i repeated count_i times has the
    distribution's exact expectation as its mean): p = counts / counts.sum()."""
    k = draw(st.integers(2, 6))
    counts_data = np.array(draw(st.lists(st.integers(1, 10), min_size=k, max_size=k)))
    counts_g = np.array(draw(st.lists(st.integers(1, 10), min_size=k, max_size=k)))
    return counts_data, counts_g


def jsd(p, q):
    """Jensen-Shannon divergence in nats, from its definition."""
    m = (p + q) / 2
    return 0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))


def train_free_outputs(loss, counts_data, counts_g, lr, steps=300):
    """Minimise loss(outputs on a p_data batch, outputs on a p_g batch) over one free output per support point by
    full-batch heavy-ball gradient descent; returns the outputs and the final loss."""
    outputs = tg.zeros(len(counts_data), dtype=tg.float64, requires_grad=True)
    real_index = np.repeat(np.arange(len(counts_data)), counts_data)
    fake_index = np.repeat(np.arange(len(counts_g)), counts_g)
    optimizer = tg.optim.SGD([outputs], lr=lr, momentum=0.9)
    for _ in range(steps):
        optimizer.zero_grad()
        loss(outputs[real_index], outputs[fake_index]).backward()
        optimizer.step()
    with tg.no_grad():
        final = loss(outputs[real_index], outputs[fake_index])
    return outputs.numpy(), value(final)


@examples(0.2)
@given(pair=discrete_pairs())
def test_gradient_ascent_on_v_reaches_the_optimal_discriminator_and_minus_log_4_plus_2_jsd(pair):
    counts_data, counts_g = pair
    p_data, p_g = counts_data / counts_data.sum(), counts_g / counts_g.sum()
    logits, loss = train_free_outputs(losses.bce_discriminator_loss, counts_data, counts_g, lr=5.0)
    d_star = p_data / (p_data + p_g)
    np.testing.assert_allclose(prob(logits), d_star, atol=1e-5)  # the issue asks 1e-3; it converges far closer
    v_max = -loss  # bce_discriminator_loss is -V
    assert v_max == pytest.approx(-math.log(4.0) + 2 * jsd(p_data, p_g), abs=1e-9)


def test_v_at_equal_distributions_is_minus_log_4():
    counts = np.array([3, 1, 5, 2])
    logits, loss = train_free_outputs(losses.bce_discriminator_loss, counts, counts, lr=5.0)
    np.testing.assert_allclose(prob(logits), 0.5, atol=1e-9)
    assert -loss == pytest.approx(-math.log(4.0), abs=1e-12)


@examples(0.2)
@given(pair=discrete_pairs())
def test_lsgan_optimal_discriminator_is_the_label_weighted_density_ratio(pair):
    # Mao et al. 2017: D*(x) = (b p_data + a p_g) / (p_data + p_g) = p_data / (p_data + p_g) for a = 0, b = 1
    counts_data, counts_g = pair
    p_data, p_g = counts_data / counts_data.sum(), counts_g / counts_g.sum()
    outputs, loss = train_free_outputs(losses.lsgan_discriminator_loss, counts_data, counts_g, lr=1.5)
    np.testing.assert_allclose(outputs, p_data / (p_data + p_g), atol=1e-6)
    assert loss == pytest.approx(0.5 * np.sum(p_data * p_g / (p_data + p_g)), abs=1e-9)


# -- two Gaussians and a linear logit; a mixture and an MLP ------------------------------------------------------


def normal_quantiles(n, mean=0.0, std=1.0):
    """n points at the (i + 1/2)/n quantiles of N(mean, std^2): a batch whose mean is close to the expectation."""
    unit = NormalDist()
    return np.array([mean + std * unit.inv_cdf((i + 0.5) / n) for i in range(n)])


QUANTILES = normal_quantiles(1000)


@examples(0.15)
@given(sigma=floats(0.5, 2.0), mu_data=floats(-2.0, 2.0), separation=floats(-2.0, 2.0))
def test_linear_discriminator_recovers_the_log_density_ratio_of_two_gaussians(sigma, mu_data, separation):
    # log p_data(x)/p_g(x) = w x + b with w = (mu_d - mu_g)/sigma^2, b = (mu_g^2 - mu_d^2)/(2 sigma^2), and the
    # BCE-optimal logit is that log ratio (D* = sigmoid(log ratio)), so logistic regression finds w and b.
    mu_g = mu_data + separation * sigma  # means at most two standard deviations apart
    x_data, x_g = mu_data + sigma * QUANTILES, mu_g + sigma * QUANTILES
    w_true = (mu_data - mu_g) / sigma ** 2
    b_true = (mu_g ** 2 - mu_data ** 2) / (2 * sigma ** 2)
    real, fake = as_tensor(x_data.reshape(-1, 1)), as_tensor(x_g.reshape(-1, 1))
    w = tg.zeros(1, 1, dtype=tg.float64, requires_grad=True)
    b = tg.zeros(1, dtype=tg.float64, requires_grad=True)
    second_moment = max(np.mean(x_data ** 2), np.mean(x_g ** 2))
    optimizer = tg.optim.SGD([w, b], lr=4.0 / (1.0 + second_moment), momentum=0.9)
    for _ in range(300):
        optimizer.zero_grad()
        losses.bce_discriminator_loss(real @ w + b, fake @ w + b).backward()
        optimizer.step()
    # tolerance: the 1000 quantile points stand for each Gaussian with a relative bias below 1e-3 in w and b
    assert w.item() == pytest.approx(w_true, abs=2e-3 * max(1.0, abs(w_true)))
    assert b.item() == pytest.approx(b_true, abs=2e-3 * max(1.0, abs(b_true)))


def test_mlp_discriminator_approximates_the_optimal_discriminator_on_a_1d_mixture():
    """p_data = (N(-1.5, 0.5^2) + N(1.5, 0.5^2)) / 2, p_g = N(0, 1.5^2); each as 500 quantile points. A tanh MLP
    (1-32-32-1) trained with the BCE loss by full-batch Adam (450 steps at lr 0.02, then 150 at 0.002) gives D
    within 0.05 of D* = p_data / (p_data + p_g) everywhere on [-2.5, 2.5], where both densities have mass (measured:
    0.007 to 0.011 over initialisation seeds 0-9; without the smaller final steps Adam's oscillation leaves up to
    0.04). Outside that region D* is set by a few tail points and the MLP extrapolates."""
    x_data = np.concatenate([normal_quantiles(250, -1.5, 0.5), normal_quantiles(250, 1.5, 0.5)])
    x_g = normal_quantiles(500, 0.0, 1.5)
    D = tg.nn.MLP(1, [32, 32], 1, activation="tanh", generator=tg.Generator(0)).double()
    optimizer = tg.optim.Adam(D.parameters(), lr=0.02)
    real, fake = as_tensor(x_data.reshape(-1, 1)), as_tensor(x_g.reshape(-1, 1))
    for step in range(600):
        if step == 450:
            for group in optimizer.param_groups:
                group["lr"] = 0.002
        optimizer.zero_grad()
        losses.bce_discriminator_loss(D(real), D(fake)).backward()
        optimizer.step()
    grid = np.linspace(-2.5, 2.5, 101)
    p_data = 0.5 * np.array([NormalDist(-1.5, 0.5).pdf(x) + NormalDist(1.5, 0.5).pdf(x) for x in grid])
    p_g = np.array([NormalDist(0.0, 1.5).pdf(x) for x in grid])
    with tg.no_grad():
        d = D(as_tensor(grid.reshape(-1, 1))).sigmoid().numpy().reshape(-1)
    np.testing.assert_allclose(d, p_data / (p_data + p_g), atol=0.05)


# -- Dirac-GAN (Mescheder et al. 2018) ---------------------------------------------------------------------------
#
# Data: a Dirac at 0. Generator: a Dirac at theta. Discriminator: the linear logit D_psi(x) = psi x. The equilibrium
# is (theta, psi) = (0, 0). Simultaneous gradient descent follows the vector field
#     v(theta, psi) = (-dL_G/dtheta, -dL_D/dpsi),
# with L_D the BCE discriminator loss (plus R1 = gamma/2 E_data[(dD/dx)^2] = gamma/2 psi^2).


def dirac_gan_field(theta, psi, generator_kind="minimax", gamma=0.0, create_graph=True):
    discriminator = lambda x: psi * x  # noqa: E731
    real = tg.zeros(1, 1, dtype=tg.float64)           # the data
    fake = theta.reshape(1, 1)                          # the generator's sample
    loss_d = losses.bce_discriminator_loss(discriminator(real), discriminator(fake))
    if gamma:
        loss_d = loss_d + losses.r1_penalty(discriminator, real, gamma=gamma)
    loss_g = losses.generator_loss(discriminator(fake), kind=generator_kind)
    (d_theta,) = tg.grad(loss_g, [theta], create_graph=create_graph)
    (d_psi,) = tg.grad(loss_d, [psi], create_graph=create_graph)
    return -d_theta, -d_psi


def dirac_gan_jacobian(generator_kind="minimax", gamma=0.0):
    """The 2x2 Jacobian of v at the equilibrium, each row by differentiating one component of v (double backward;
    triple with R1, whose value is itself made by a gradient)."""
    theta = tg.tensor(0.0, dtype=tg.float64, requires_grad=True)
    psi = tg.tensor(0.0, dtype=tg.float64, requires_grad=True)
    field = dirac_gan_field(theta, psi, generator_kind, gamma)
    rows = []
    for component in field:
        derivatives = tg.grad(component, [theta, psi], retain_graph=True, allow_unused=True)
        rows.append([0.0 if d is None else d.item() for d in derivatives])
    return np.array(rows)


@pytest.mark.parametrize("generator_kind", ["minimax", "nonsaturating"])
def test_dirac_gan_jacobian_has_purely_imaginary_eigenvalues_without_a_penalty(generator_kind):
    jacobian = dirac_gan_jacobian(generator_kind)
    np.testing.assert_allclose(jacobian, [[0.0, 0.5], [-0.5, 0.0]], atol=1e-15)
    eigenvalues = np.sort_complex(np.linalg.eigvals(jacobian))
    np.testing.assert_allclose(eigenvalues, [-0.5j, 0.5j], atol=1e-15)


@examples(0.25)
@given(gamma=floats(0.05, 5.0))
def test_dirac_gan_jacobian_with_r1_has_eigenvalues_with_negative_real_part(gamma):
    jacobian = dirac_gan_jacobian("minimax", gamma)
    eigenvalues = np.sort_complex(np.linalg.eigvals(jacobian))
    root = np.sqrt(complex(gamma ** 2 / 4 - 0.25))
    expected = np.sort_complex(np.array([-gamma / 2 + root, -gamma / 2 - root]))
    np.testing.assert_allclose(eigenvalues, expected, atol=1e-12)
    assert (eigenvalues.real < 0).all()


def dirac_gan_radii(theta0, psi0, generator_kind="minimax", gamma=0.0, step=0.1, steps=300):
    theta = tg.tensor(theta0, dtype=tg.float64, requires_grad=True)
    psi = tg.tensor(psi0, dtype=tg.float64, requires_grad=True)
    radii = [math.hypot(theta0, psi0)]
    for _ in range(steps):
        v_theta, v_psi = dirac_gan_field(theta, psi, generator_kind, gamma, create_graph=gamma > 0)
        with tg.no_grad():  # simultaneous: both updates use the field at the same point
            theta.add_(step * v_theta.detach())
            psi.add_(step * v_psi.detach())
        radii.append(math.hypot(theta.item(), psi.item()))
    return np.array(radii)


def test_dirac_gan_simultaneous_gradient_descent_spirals_out_without_a_penalty():
    # the minimax field is a rotation (v . (theta, psi) = 0), so each Euler step multiplies the radius by
    # sqrt(1 + step^2 |v|^2 / r^2) >= 1
    radii = dirac_gan_radii(1.0, 1.0, "minimax")
    assert (np.diff(radii) >= -1e-12).all()
    assert radii[-1] > 1.2 * radii[0]
    # the non-saturating game is not a pure rotation far away, but near the equilibrium it diverges too
    radii = dirac_gan_radii(0.05, 0.05, "nonsaturating")
    assert radii.min() >= radii[0] - 1e-12 and radii[-1] > 1.2 * radii[0]


@pytest.mark.parametrize("generator_kind", ["minimax", "nonsaturating"])
def test_dirac_gan_simultaneous_gradient_descent_converges_with_r1(generator_kind):
    radii = dirac_gan_radii(1.0, 1.0, generator_kind, gamma=1.0)
    assert radii.max() <= radii[0] + 1e-12
    assert radii[-1] < 1e-3 * radii[0]


# -- penalties: values -------------------------------------------------------------------------------------------


@examples(0.3)
@given(data=st.data(), weight=floats(0.1, 20.0), seed=st.integers(0, 2 ** 16))
def test_gradient_penalty_of_a_linear_critic_is_exactly_lambda_norm_minus_one_squared(data, weight, seed):
    dim = data.draw(st.integers(1, 5), label="dimension")
    batch = data.draw(st.integers(1, 6), label="batch")
    w_values = np.array(data.draw(st.lists(floats(-2.0, 2.0), min_size=dim, max_size=dim), label="w"))
    w = as_tensor(w_values)
    g = tg.Generator(seed)
    real = tg.randn(batch, dim, dtype=tg.float64, generator=g)
    fake = tg.randn(batch, dim, dtype=tg.float64, generator=g)
    critic = lambda x: x @ w + 0.7  # noqa: E731  (f(x) = w.x + b: its gradient is w wherever it is taken)
    penalty = losses.gradient_penalty(critic, real, fake, generator=g, weight=weight, eps=0.0)
    assert value(penalty) == pytest.approx(weight * (np.linalg.norm(w_values) - 1) ** 2, rel=1e-12, abs=1e-14)
    # the default eps = 1e-12 sits inside the square root: sqrt(||w||^2 + eps)
    with_eps = losses.gradient_penalty(critic, real, fake, generator=g, weight=weight)
    expected = weight * (math.sqrt(np.sum(w_values ** 2) + 1e-12) - 1) ** 2
    assert value(with_eps) == pytest.approx(expected, rel=1e-12, abs=1e-14)


def test_gradient_penalty_is_differentiable_in_the_critic_weights():
    # d/dw lambda (||w|| - 1)^2 = 2 lambda (||w|| - 1) w / ||w||: reaching w goes through dD/dx (double backward)
    w_values = np.array([0.3, -1.2, 0.8])
    w = as_tensor(w_values, requires_grad=True)
    g = tg.Generator(0)
    real, fake = tg.randn(5, 3, dtype=tg.float64, generator=g), tg.randn(5, 3, dtype=tg.float64, generator=g)
    losses.gradient_penalty(lambda x: x @ w, real, fake, weight=10.0, eps=0.0).backward()
    norm = np.linalg.norm(w_values)
    np.testing.assert_allclose(w.grad.numpy(), 2 * 10.0 * (norm - 1) * w_values / norm, rtol=1e-12)


def test_gradient_penalty_interpolates_each_sample_with_its_own_t_and_takes_the_norm_per_sample():
    g = tg.Generator(0)
    real = tg.randn(6, 2, 3, dtype=tg.float64, generator=g)
    fake = tg.randn(6, 2, 3, dtype=tg.float64, generator=g)
    seen = []

    def critic(x):  # f(x) = ||x||^2 / 2 per sample, so the gradient at x_hat is x_hat itself
        seen.append(x.detach().numpy().copy())
        return (x * x).sum(axis=(1, 2)) * 0.5

    penalty = losses.gradient_penalty(critic, real, fake, generator=tg.Generator(5), weight=3.0)
    (x_hat,) = seen
    r, f = real.numpy(), fake.numpy()
    t = (x_hat - f).reshape(6, -1)[:, 0] / (r - f).reshape(6, -1)[:, 0]
    np.testing.assert_allclose(x_hat, t[:, None, None] * r + (1 - t[:, None, None]) * f, rtol=1e-10, atol=1e-12)
    assert ((t >= 0) & (t <= 1)).all() and len(np.unique(np.round(t, 12))) == 6  # one t per sample
    norms = np.sqrt((x_hat.reshape(6, -1) ** 2).sum(axis=1) + 1e-12)
    assert value(penalty) == pytest.approx(3.0 * np.mean((norms - 1) ** 2), rel=1e-12)
    # the same seed draws the same t; another seed, another t
    again = losses.gradient_penalty(critic, real, fake, generator=tg.Generator(5), weight=3.0)
    other = losses.gradient_penalty(critic, real, fake, generator=tg.Generator(6), weight=3.0)
    assert value(again) == value(penalty) and value(other) != value(penalty)


@examples(0.2)
@given(gamma=floats(0.1, 20.0), seed=st.integers(0, 2 ** 16))
def test_r1_and_r2_are_half_gamma_times_the_mean_squared_gradient_norm(gamma, seed):
    g = tg.Generator(seed)
    real = tg.randn(5, 3, dtype=tg.float64, generator=g)
    fake = tg.randn(4, 3, dtype=tg.float64, generator=g)
    w = tg.randn(3, dtype=tg.float64, generator=g)
    quadratic = lambda x: (x * x).sum(axis=1) * 0.5  # noqa: E731  (gradient x)
    linear = lambda x: (x @ w).reshape(-1, 1)         # noqa: E731  (gradient w; logits as a (batch, 1) column)
    r, f, w_values = real.numpy(), fake.numpy(), w.numpy()
    assert value(losses.r1_penalty(quadratic, real, gamma=gamma)) == pytest.approx(
        gamma / 2 * np.mean(np.sum(r ** 2, axis=1)), rel=1e-12)
    assert value(losses.r2_penalty(quadratic, fake, gamma=gamma)) == pytest.approx(
        gamma / 2 * np.mean(np.sum(f ** 2, axis=1)), rel=1e-12)
    assert value(losses.r1_penalty(linear, real, gamma=gamma)) == pytest.approx(
        gamma / 2 * np.sum(w_values ** 2), rel=1e-12)


def test_penalties_reach_the_parameters_of_an_mlp_and_leave_the_samples_alone(device):
    gen = tg.Generator(0)
    D = tg.nn.MLP(2, [16], 1, activation="tanh", generator=gen).to(device)
    real = tg.randn(8, 2, generator=tg.Generator(1, device), device=device)
    fake = tg.randn(8, 2, generator=tg.Generator(2, device), device=device)
    total = (losses.gradient_penalty(D, real, fake, generator=tg.Generator(3, device))
             + losses.r1_penalty(D, real, gamma=10.0) + losses.r2_penalty(D, fake, gamma=10.0))
    assert total.dtype == tg.float32 and total.device == device
    total.backward()
    first_layer = D.net[0]
    assert first_layer.weight.grad is not None and np.isfinite(first_layer.weight.grad.numpy()).all()
    assert real.grad is None and not real.requires_grad  # the samples were copied into leaves, not changed


def test_a_discriminator_that_ignores_its_input_has_zero_r1():
    b = tg.tensor([0.5], requires_grad=True)
    assert value(losses.r1_penalty(lambda x: b * tg.ones(x.shape[0]), tg.randn(3, 2), gamma=10.0)) == 0.0


def test_penalty_errors_name_the_function():
    real, fake = tg.randn(4, 2), tg.randn(3, 2)
    with pytest.raises(ValueError, match=r"gradient_penalty: .*real \(4, 2\) and fake \(3, 2\)"):
        losses.gradient_penalty(lambda x: x.sum(axis=1), real, fake)
    with pytest.raises(ValueError, match=r"r1_penalty: the discriminator's output must have shape.*\(4, 2\)"):
        losses.r1_penalty(lambda x: x, real, gamma=1.0)
    with pytest.raises(ValueError, match="r2_penalty: the discriminator returned 1 logits for a batch of 3"):
        losses.r2_penalty(lambda x: x.sum().reshape(1), fake, gamma=1.0)
    with pytest.raises(TypeError, match="r1_penalty: real must be a tinygan Tensor"):
        losses.r1_penalty(lambda x: x, np.zeros((2, 2)), gamma=1.0)


def test_gradient_penalty_draws_on_the_data_device(device):
    real = tg.randn(4, 2, device=device, generator=tg.Generator(0, device))
    penalty = losses.gradient_penalty(lambda x: x.sum(axis=1), real, real * 0.5, generator=tg.Generator(1, device))
    assert penalty.device == device
    other = "cpu" if device == "cuda" else "cuda"
    if other == "cuda" and not tg.backend.cuda_available():
        return  # a generator on another device needs a GPU to exist
    with pytest.raises(ValueError, match="generator is on"):
        losses.gradient_penalty(lambda x: x.sum(axis=1), real, real, generator=tg.Generator(0, other))


# -- weight clipping ---------------------------------------------------------------------------------------------


def test_wgan_weight_clipping_keeps_every_critic_weight_in_range():
    assert losses.clip_weights_ is tg.nn.utils.clip_weights_  # the one implementation, re-exported
    gen = tg.Generator(0)
    critic = tg.nn.MLP(2, [16, 16], 1, generator=gen)
    optimizer = tg.optim.RMSprop(critic.parameters(), lr=5e-2)  # a large step, so that clipping has work to do
    real = tg.randn(32, 2, generator=gen) + 2.0
    c = 0.01  # the default, the paper's value
    for _ in range(10):
        fake = tg.randn(32, 2, generator=gen)
        optimizer.zero_grad()
        losses.wasserstein_critic_loss(critic(real), critic(fake)).backward()
        optimizer.step()
        unclipped = max(float(np.abs(p.numpy()).max()) for p in critic.parameters())
        losses.clip_weights_(critic.parameters())
        largest = max(float(np.abs(p.numpy()).max()) for p in critic.parameters())
        assert largest <= c
    assert unclipped > c  # the optimizer did step outside [-c, c]
