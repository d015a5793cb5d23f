"""Tests of tinygan.init: the initializers, calculate_gain, and the default initialisation of Linear.

Statistics are checked on large draws (a 400 x 300 tensor, 120,000 values) against the formulas, with tolerances
derived from the sample size: a sample mean may differ from the true mean by 5 standard errors,
sigma / sqrt(n), and a sample variance by 5 standard errors of the variance, sigma^2 sqrt((kurtosis - 1) / n)
(kurtosis 9/5 for a uniform, 3 for a normal distribution). The extreme draws of U(a, b) must lie within 20 / n of
the range from its ends (failing with probability about e^-20).
"""

import math

import numpy as np
import pytest

import tinygan as tg
from conftest import cuda_missing_reason
from tinygan import init

SHAPE = (400, 300)          # fan_in 300, fan_out 400
FAN_IN, FAN_OUT = 300, 400
UNIFORM_KURTOSIS = 9 / 5
NORMAL_KURTOSIS = 3.0


def draw(initializer, shape=SHAPE, seed=0, dtype=tg.float64, **kwargs):
    """Fill a fresh tensor with ``initializer`` and return its values as a numpy array."""
    target = tg.zeros(*shape, dtype=dtype)
    result = initializer(target, generator=tg.Generator(seed), **kwargs)
    assert result is target
    return target.numpy()


def assert_moments(sample, mean, std, kurtosis):
    """The sample's mean and variance agree with ``mean`` and ``std`` within 5 standard errors."""
    n = sample.size
    mean_error = 5 * std / math.sqrt(n)
    assert abs(sample.mean() - mean) <= mean_error, (sample.mean(), mean, mean_error)
    variance_error = 5 * std ** 2 * math.sqrt((kurtosis - 1) / n)
    assert abs(sample.var() - std ** 2) <= variance_error, (sample.var(), std ** 2, variance_error)


def assert_uniform(sample, low, high):
    """``sample`` looks like draws from U(low, high): inside the interval, reaching its ends, right moments."""
    n, width = sample.size, high - low
    assert sample.min() >= low and sample.max() <= high
    assert sample.min() <= low + 20 * width / n and sample.max() >= high - 20 * width / n
    assert_moments(sample, (low + high) / 2, width / math.sqrt(12), UNIFORM_KURTOSIS)


def assert_normal(sample, mean, std):
    assert_moments(sample, mean, std, NORMAL_KURTOSIS)
    # a normal sample, not a uniform one with the same variance: about 0.27% of it lies beyond 3 std
    beyond = np.mean(np.abs(sample - mean) > 3 * std)
    assert abs(beyond - 0.0027) <= 5 * math.sqrt(0.0027 / sample.size)


# ---------------------------------------------------------------------------------------------------------------
# calculate_gain
# ---------------------------------------------------------------------------------------------------------------

GAINS = [
    ("linear", None, 1.0),
    ("conv2d", None, 1.0),
    ("sigmoid", None, 1.0),
    ("tanh", None, 5.0 / 3.0),
    ("relu", None, math.sqrt(2.0)),
    ("leaky_relu", None, math.sqrt(2.0 / (1 + 0.01 ** 2))),
    ("leaky_relu", 0.2, math.sqrt(2.0 / (1 + 0.2 ** 2))),
    ("leaky_relu", 0, math.sqrt(2.0)),
    ("leaky_relu", math.sqrt(5), math.sqrt(1.0 / 3.0)),
    ("selu", None, 0.75),
]


@pytest.mark.parametrize("nonlinearity, param, gain", GAINS)
def test_calculate_gain_has_pytorchs_values(nonlinearity, param, gain):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(gain, rel=1e-15)


@pytest.mark.parametrize("nonlinearity, param, gain", GAINS)
def test_calculate_gain_agrees_with_torch(nonlinearity, param, gain):
    torch = pytest.importorskip("torch", reason="torch is not installed: the reference check is optional")
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-15)


@pytest.mark.parametrize("name", ["swish", "identity"])  # PyTorch has no "identity" gain either
def test_calculate_gain_rejects_an_unknown_nonlinearity(name):
    with pytest.raises(ValueError, match=name):
        init.calculate_gain(name)


# ---------------------------------------------------------------------------------------------------------------
# uniform_, normal_, constants
# ---------------------------------------------------------------------------------------------------------------

def test_uniform_draws_from_the_interval_with_its_moments():
    assert_uniform(draw(init.uniform_, a=-2.0, b=3.0), -2.0, 3.0)


def test_uniform_defaults_to_zero_one():
    assert_uniform(draw(init.uniform_), 0.0, 1.0)


def test_normal_draws_with_the_requested_mean_and_std():
    assert_normal(draw(init.normal_, mean=1.5, std=0.2), 1.5, 0.2)


def test_normal_defaults_to_standard_normal():
    assert_normal(draw(init.normal_), 0.0, 1.0)


def test_initializers_fill_vectors_too():
    assert_uniform(draw(init.uniform_, shape=(120000,), a=-1.0, b=1.0), -1.0, 1.0)


@pytest.mark.parametrize("initializer, value", [(init.zeros_, 0.0), (init.ones_, 1.0),
                                                (lambda t: init.constant_(t, -0.25), -0.25)],
                         ids=["zeros_", "ones_", "constant_"])
@pytest.mark.parametrize("dtype", [tg.float32, tg.float64], ids=["float32", "float64"])
def test_constant_initializers_fill_in_place_keeping_dtype(initializer, value, dtype):
    target = tg.randn(3, 4, dtype=dtype)
    assert initializer(target) is target
    assert target.dtype == dtype
    np.testing.assert_array_equal(target.numpy(), np.full((3, 4), value))


@pytest.mark.parametrize("initializer", [
    lambda t, g: init.uniform_(t, -1.0, 1.0, generator=g),
    lambda t, g: init.normal_(t, generator=g),
    lambda t, g: init.xavier_uniform_(t, generator=g),
    lambda t, g: init.xavier_normal_(t, generator=g),
    lambda t, g: init.kaiming_uniform_(t, a=math.sqrt(5), generator=g),
    lambda t, g: init.kaiming_normal_(t, generator=g),
    lambda t, g: init.orthogonal_(t, generator=g),
    lambda t, g: init.constant_(t, 0.5),
    lambda t, g: init.zeros_(t),
], ids=["uniform_", "normal_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
        "orthogonal_", "constant_", "zeros_"])
def test_initializers_change_a_parameter_in_place_without_recording_a_graph(initializer):
    p = tg.nn.Parameter(tg.ones(4, 3))
    data, version = p.array, p._version
    assert initializer(p, tg.Generator(0)) is p
    assert p.array is data and p._version > version  # in place, and autograd can see the change
    assert p.requires_grad and p.grad_fn is None and p.dtype == tg.float32
    assert not np.array_equal(p.numpy(), np.ones((4, 3)))


def test_float32_draws_are_float64_draws_rounded():
    for initializer in (init.uniform_, init.normal_, init.xavier_uniform_, init.orthogonal_):
        single = draw(initializer, shape=(6, 5), seed=3, dtype=tg.float32)
        double = draw(initializer, shape=(6, 5), seed=3, dtype=tg.float64)
        assert single.dtype == np.float32
        np.testing.assert_array_equal(single, double.astype(np.float32))


# ---------------------------------------------------------------------------------------------------------------
# Xavier and Kaiming
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_xavier_uniform_bound_is_gain_sqrt_6_over_fan_in_plus_fan_out(gain):
    bound = gain * math.sqrt(6.0 / (FAN_IN + FAN_OUT))
    assert_uniform(draw(init.xavier_uniform_, gain=gain), -bound, bound)


@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_xavier_normal_std_is_gain_sqrt_2_over_fan_in_plus_fan_out(gain):
    assert_normal(draw(init.xavier_normal_, gain=gain), 0.0, gain * math.sqrt(2.0 / (FAN_IN + FAN_OUT)))


# (a, mode, nonlinearity) -> std = gain / sqrt(fan), the gains written out independently of calculate_gain
KAIMING = [
    (0.0, "fan_in", "leaky_relu", math.sqrt(2.0) / math.sqrt(FAN_IN)),      # the defaults: He for relu
    (math.sqrt(5), "fan_in", "leaky_relu", 1.0 / math.sqrt(3.0 * FAN_IN)),  # PyTorch's Linear
    (0.2, "fan_in", "leaky_relu", math.sqrt(2.0 / 1.04) / math.sqrt(FAN_IN)),
    (0.2, "fan_out", "leaky_relu", math.sqrt(2.0 / 1.04) / math.sqrt(FAN_OUT)),
    (0.0, "fan_out", "relu", math.sqrt(2.0) / math.sqrt(FAN_OUT)),
    (0.0, "fan_in", "tanh", (5.0 / 3.0) / math.sqrt(FAN_IN)),
    (0.0, "fan_in", "linear", 1.0 / math.sqrt(FAN_IN)),
]
KAIMING_IDS = ["default", "a_sqrt5", "leaky_0.2", "leaky_0.2_fan_out", "relu_fan_out", "tanh", "linear"]


@pytest.mark.parametrize("a, mode, nonlinearity, std", KAIMING, ids=KAIMING_IDS)
def test_kaiming_uniform_bound_is_sqrt_3_gain_over_sqrt_fan(a, mode, nonlinearity, std):
    bound = math.sqrt(3.0) * std
    assert_uniform(draw(init.kaiming_uniform_, a=a, mode=mode, nonlinearity=nonlinearity), -bound, bound)


@pytest.mark.parametrize("a, mode, nonlinearity, std", KAIMING, ids=KAIMING_IDS)
def test_kaiming_normal_std_is_gain_over_sqrt_fan(a, mode, nonlinearity, std):
    assert_normal(draw(init.kaiming_normal_, a=a, mode=mode, nonlinearity=nonlinearity), 0.0, std)


def test_kaiming_uniform_with_a_sqrt_5_is_uniform_within_one_over_sqrt_fan_in():
    bound = 1.0 / math.sqrt(FAN_IN)
    assert_uniform(draw(init.kaiming_uniform_, a=math.sqrt(5)), -bound, bound)


def test_fans_of_a_tensor_with_more_axes_include_the_receptive_field():
    shape = (40, 30, 3, 3)  # fan_in = 30 * 9 = 270, fan_out = 40 * 9 = 360
    assert_normal(draw(init.kaiming_normal_, shape=shape, mode="fan_in", nonlinearity="relu"),
                  0.0, math.sqrt(2.0 / 270))
    assert_normal(draw(init.kaiming_normal_, shape=shape, mode="fan_out", nonlinearity="relu"),
                  0.0, math.sqrt(2.0 / 360))
    bound = math.sqrt(6.0 / (270 + 360))
    assert_uniform(draw(init.xavier_uniform_, shape=shape), -bound, bound)


@pytest.mark.parametrize("initializer", [init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
                                         init.kaiming_normal_, init.orthogonal_])
def test_fan_based_initializers_refuse_a_vector(initializer):
    with pytest.raises(ValueError):
        initializer(tg.zeros(5), generator=tg.Generator(0))


def test_kaiming_refuses_an_unknown_mode():
    with pytest.raises(ValueError, match="fan_avg"):
        init.kaiming_uniform_(tg.zeros(3, 3), mode="fan_avg")


def test_kaiming_refuses_an_unknown_nonlinearity():
    with pytest.raises(ValueError, match="swish"):
        init.kaiming_normal_(tg.zeros(3, 3), nonlinearity="swish")


# ---------------------------------------------------------------------------------------------------------------
# orthogonal_
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(6, 4), (4, 4), (4, 6), (4, 2, 3), (3, 2, 2, 2)],
                         ids=["tall", "square", "wide", "3d_wide", "4d_wide"])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal_gives_orthonormal_columns_or_rows_times_gain(shape, gain):
    q = draw(init.orthogonal_, shape=shape, gain=gain).reshape(shape[0], -1)  # trailing axes flattened
    rows, cols = q.shape
    gram = q.T @ q if rows >= cols else q @ q.T
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(min(rows, cols)), atol=1e-12)


def test_orthogonal_in_float32_is_orthonormal_to_float32_precision():
    q = draw(init.orthogonal_, shape=(8, 5), dtype=tg.float32).astype(np.float64)
    np.testing.assert_allclose(q.T @ q, np.eye(5), atol=1e-6)


def test_orthogonal_is_uniformly_distributed_so_entries_are_symmetric_about_zero():
    # Haar-distributed Q: q[0, 0] has mean 0 and E[q00^2] = 1/3 for 3x3. QR without the sign fix of R's diagonal
    # gives q[0, 0] of one sign only.
    generator = tg.Generator(0)
    corners = np.array([init.orthogonal_(tg.zeros(3, 3, dtype=tg.float64), generator=generator).numpy()[0, 0]
                        for _ in range(2000)])
    assert abs(corners.mean()) <= 5 * math.sqrt(1.0 / 3.0 / corners.size)
    assert 0.3 < (corners > 0).mean() < 0.7


# ---------------------------------------------------------------------------------------------------------------
# generators and seeds
# ---------------------------------------------------------------------------------------------------------------

INITIALIZERS = [init.uniform_, init.normal_, init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
                init.kaiming_normal_, init.orthogonal_]
INITIALIZER_IDS = ["uniform_", "normal_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
                   "kaiming_normal_", "orthogonal_"]


@pytest.mark.parametrize("initializer", INITIALIZERS, ids=INITIALIZER_IDS)
def test_same_seed_gives_the_same_values_and_another_seed_other_values(initializer):
    first = draw(initializer, shape=(5, 4), seed=7)
    np.testing.assert_array_equal(draw(initializer, shape=(5, 4), seed=7), first)
    assert not np.array_equal(draw(initializer, shape=(5, 4), seed=8), first)


@pytest.mark.parametrize("initializer", INITIALIZERS, ids=INITIALIZER_IDS)
def test_one_generator_gives_new_values_on_each_call(initializer):
    generator = tg.Generator(0)
    first = initializer(tg.zeros(5, 4), generator=generator).numpy()
    second = initializer(tg.zeros(5, 4), generator=generator).numpy()
    assert not np.array_equal(first, second)


@pytest.mark.skipif(cuda_missing_reason() is not None, reason=f"cuda: {cuda_missing_reason()}")
@pytest.mark.parametrize("initializer", INITIALIZERS, ids=INITIALIZER_IDS)
def test_a_cuda_generator_is_refused_with_value_error(initializer):
    with pytest.raises(ValueError, match="CPU generator"):
        initializer(tg.zeros(4, 3), generator=tg.Generator(0, device="cuda"))


@pytest.mark.parametrize("initializer", INITIALIZERS, ids=INITIALIZER_IDS)
def test_initializers_draw_on_the_host_so_a_seed_gives_the_same_values_on_every_device(initializer, device):
    target = tg.zeros(5, 4, device=device)
    initializer(target, generator=tg.Generator(11))
    assert target.device == device
    np.testing.assert_array_equal(target.numpy(), draw(initializer, shape=(5, 4), seed=11, dtype=tg.float32))


# ---------------------------------------------------------------------------------------------------------------
# Linear's default initialisation
# ---------------------------------------------------------------------------------------------------------------

def test_linear_default_weights_are_uniform_within_one_over_sqrt_fan_in_as_pytorch():
    layer = tg.nn.Linear(FAN_IN, FAN_OUT, generator=tg.Generator(0), dtype=tg.float64)
    bound = 1.0 / math.sqrt(FAN_IN)
    assert_uniform(layer.weight.numpy(), -bound, bound)  # std close to bound / sqrt(3)


def test_linear_default_bias_is_uniform_within_one_over_sqrt_fan_in_as_pytorch():
    layer = tg.nn.Linear(50, 20000, generator=tg.Generator(0), dtype=tg.float64)
    bound = 1.0 / math.sqrt(50)
    assert_uniform(layer.bias.numpy(), -bound, bound)


def test_linear_default_bound_is_the_one_torch_uses():
    torch = pytest.importorskip("torch", reason="torch is not installed: the reference check is optional")
    torch.manual_seed(0)        # seeded: an unseeded draw's maximum misses the 1% margin in about 2% of runs
    reference = torch.nn.Linear(FAN_IN, FAN_OUT)
    ours = tg.nn.Linear(FAN_IN, FAN_OUT, generator=tg.Generator(0))
    for torch_values, our_values in [(reference.weight, ours.weight), (reference.bias, ours.bias)]:
        torch_max = float(torch_values.detach().abs().max())
        our_max = float(np.abs(our_values.numpy()).max())
        assert our_max == pytest.approx(torch_max, rel=0.01)  # both reach the same bound


def test_linear_with_the_same_seed_has_the_same_weights_and_another_seed_other_weights():
    def weights(seed):
        return [p.numpy() for p in tg.nn.MLP(3, [8], 2, generator=tg.Generator(seed)).parameters()]

    for a, b in zip(weights(0), weights(0)):
        np.testing.assert_array_equal(a, b)
    assert not any(np.array_equal(a, b) for a, b in zip(weights(0), weights(1)))


def test_linear_draws_weight_then_bias_from_the_one_generator_it_is_given():
    layer = tg.nn.Linear(4, 3, generator=tg.Generator(0), dtype=tg.float64)
    generator = tg.Generator(0)
    weight = init.kaiming_uniform_(tg.zeros(3, 4, dtype=tg.float64), a=math.sqrt(5), generator=generator)
    bias = init.uniform_(tg.zeros(3, dtype=tg.float64), -0.5, 0.5, generator=generator)
    np.testing.assert_array_equal(layer.weight.numpy(), weight.numpy())
    np.testing.assert_array_equal(layer.bias.numpy(), bias.numpy())


def test_a_model_built_on_a_device_has_the_weights_of_the_cpu_model_with_the_same_seed(device):
    on_device = tg.nn.MLP(3, [8], 2, generator=tg.Generator(5), device=device)
    on_cpu = tg.nn.MLP(3, [8], 2, generator=tg.Generator(5))
    for (name, a), b in zip(on_device.named_parameters(), on_cpu.parameters()):
        assert a.device == device, name
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)


def test_spectral_norm_vectors_with_the_same_seed_are_the_same_on_every_device(device):
    def build(where):
        generator = tg.Generator(9)
        layer = tg.nn.Linear(4, 3, generator=generator, device=where)
        return tg.nn.utils.spectral_norm(layer, generator=generator)

    on_device, on_cpu = build(device), build("cpu")
    np.testing.assert_allclose(on_device.weight_u.numpy(), on_cpu.weight_u.numpy(), rtol=1e-5)
    np.testing.assert_allclose(on_device.weight_v.numpy(), on_cpu.weight_v.numpy(), rtol=1e-5)
