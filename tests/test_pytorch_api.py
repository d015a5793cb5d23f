"""PyTorch's spellings give PyTorch's results: in-place arithmetic, the size/dim/max/norm family, nn.functional,
loss modules, ModuleList, AdamW, the learning-rate schedulers, and the errors a PyTorch user meets first.

Each result is checked against NumPy or a closed form, so these run without torch; the comparisons with torch
itself (where it is installed) are in test_pytorch_style.py, test_optim.py and test_init.py.
"""

import math
import subprocess
import sys

import numpy as np
import pytest

import tinygan as tg
from tinygan import nn
from tinygan.nn import functional as F


def values(t):
    return t.numpy()


# ------------------------------------------------------------------------------------------------------------------
# in-place arithmetic and assignment
# ------------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("op, expected", [("+=", [3.0, 4.0]), ("-=", [-1.0, 0.0]), ("*=", [2.0, 4.0]),
                                          ("/=", [0.5, 1.0])])
def test_inplace_operators_change_the_tensor_itself(op, expected):
    x = tg.tensor([1.0, 2.0])
    alias, memory, version = x, x.array, x._version
    namespace = {"x": x}
    exec(f"x {op} 2.0", namespace)
    assert namespace["x"] is alias and x.array is memory
    np.testing.assert_allclose(values(x), expected)
    assert x._version == version + 1


def test_inplace_on_a_parameter_under_no_grad_keeps_it_registered():
    layer = nn.Linear(2, 3)
    weight = layer.weight
    with tg.no_grad():
        layer.weight -= 1.0
        layer.bias *= 0.0
    assert layer.weight is weight and [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert not layer.bias.array.any()


def test_inplace_on_a_leaf_that_requires_grad_is_refused_outside_no_grad():
    w = tg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad.*no_grad"):
        w -= 1.0
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w[0] = 5.0
    np.testing.assert_array_equal(values(w), [1.0, 1.0, 1.0])


def test_inplace_on_a_tensor_saved_for_backward_fails_at_backward():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1.0
    z = (y * y).sum()              # Mul saves y
    with tg.no_grad():
        y += 1.0                   # true in place: the saved y is no longer the y of the forward pass
    with pytest.raises(RuntimeError, match="saved for backward, was changed by an in-place operation"):
        z.backward()


def test_setitem_under_no_grad_writes_in_place_and_bumps_the_version():
    x = tg.zeros(3, 2)
    version = x._version
    x[1] = tg.tensor([4.0, 5.0])
    x[:, 0] += 1.0
    np.testing.assert_array_equal(values(x), [[1, 0], [5, 5], [1, 0]])
    assert x._version >= version + 2


def test_setitem_on_a_result_is_recorded_for_backward():
    """y[0] = v cuts y[0]'s path to x and sends the gradient of y[0] to v, as in PyTorch."""
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = tg.tensor(10.0, requires_grad=True)
    y = x * 2.0
    y[0] = v * 3.0
    (y * tg.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_allclose(values(y), [30.0, 4.0, 6.0])
    np.testing.assert_allclose(values(x.grad), [0.0, 4.0, 6.0])
    np.testing.assert_allclose(values(v.grad), 3.0)


def test_assigning_a_tensor_over_a_parameter_is_refused():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign a Tensor as parameter 'weight' of Linear.*no_grad"):
        layer.weight = layer.weight - 1.0
    layer.weight = nn.Parameter(tg.zeros(2, 2))           # a new Parameter, or None, is fine
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    layer.bias = None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]


def test_data_is_a_tensor_sharing_memory_outside_autograd():
    layer = nn.Linear(3, 4)
    layer.weight.data.normal_(0.0, 0.02)
    layer.bias.data.fill_(0)
    assert not layer.bias.array.any() and abs(float(layer.weight.array.std()) - 0.02) < 0.02
    layer.weight.data.clamp_(-0.01, 0.01)
    assert float(np.abs(layer.weight.array).max()) <= 0.01
    assert not layer.weight.data.requires_grad and layer.weight.requires_grad


# ------------------------------------------------------------------------------------------------------------------
# spellings
# ------------------------------------------------------------------------------------------------------------------

def test_size_dim_numel_t_mm():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    x = tg.tensor(a)
    assert x.size() == (2, 3) and x.size(0) == 2 and x.size(-1) == 3 and x.dim() == 2 and x.numel() == 6
    np.testing.assert_array_equal(values(x.t()), a.T)
    np.testing.assert_array_equal(values(x.mm(x.t())), a @ a.T)
    assert tg.ones(x.size()).shape == (2, 3)


def test_repeat_split_chunk_like_pytorch():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    x = tg.tensor(a)
    np.testing.assert_array_equal(values(x.repeat(2, 1)), np.tile(a, (2, 1)))
    np.testing.assert_array_equal(values(x.repeat(1, 2, 1)), np.tile(a, (1, 2, 1)))
    assert [c.shape for c in x.chunk(2, dim=1)] == [(2, 2), (2, 1)]      # torch.chunk: ceil(3/2) columns first
    assert [c.shape for c in tg.arange(5.0).split(2)] == [(2,), (2,), (1,)]
    assert [c.shape for c in x.split([1, 2], dim=1)] == [(2, 1), (2, 2)]


def test_dim_and_keepdim():
    a = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    x = tg.tensor(a)
    np.testing.assert_allclose(values(x.sum(dim=1, keepdim=True)), a.sum(axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(values(x.mean(dim=0)), a.mean(axis=0), rtol=1e-6)
    np.testing.assert_array_equal(values(x.argmax(dim=1)), a.argmax(axis=1))
    np.testing.assert_allclose(values(x.norm(2, dim=1)), np.linalg.norm(a, axis=1), rtol=1e-6)
    np.testing.assert_allclose(values(tg.norm(x, p=2, dim=0, keepdim=True)),
                               np.linalg.norm(a, axis=0, keepdims=True), rtol=1e-6)
    with pytest.raises(ValueError, match=r"norm: p=1 is not implemented.*x\.abs\(\)\.sum"):
        tg.norm(x, p=1, dim=0)
    assert tg.cat([x, x], dim=1).shape == (3, 8) and tg.stack([x, x], dim=1).shape == (3, 2, 4)
    assert x.unsqueeze(dim=0).shape == (1, 3, 4) and x.unsqueeze(0).squeeze(dim=0).shape == (3, 4)


def test_max_with_dim_gives_values_and_indices_and_with_axis_numpy_values():
    a = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], dtype=np.float32)
    x = tg.tensor(a)
    result = x.max(dim=1)
    values_, indices = result
    np.testing.assert_array_equal(values(result.values), [5.0, 7.0])
    np.testing.assert_array_equal(values(indices), [1, 0])
    assert values_ is result.values
    np.testing.assert_array_equal(values(tg.min(x, 0).indices), [0, 1, 0])   # positional dim, as torch.min(x, 0)
    np.testing.assert_array_equal(values(x.max(axis=1)), [5.0, 7.0])       # NumPy's keyword keeps NumPy's meaning
    assert float(x.max()) == 7.0
    np.testing.assert_array_equal(values(tg.max(x, tg.full((2, 3), 4.0))), np.maximum(a, 4.0))


def test_transpose_two_ints_swap_and_a_tuple_permutes():
    x = tg.zeros(2, 3, 4)
    assert x.transpose(0, 2).shape == (4, 3, 2)
    assert x.transpose((1, 2, 0)).shape == (3, 4, 2)


def test_var_std_correction():
    a = np.random.default_rng(1).normal(size=(5, 3))
    x = tg.tensor(a)
    np.testing.assert_allclose(values(x.var(dim=0)), a.var(axis=0))                   # population, as NumPy
    np.testing.assert_allclose(values(x.var(dim=0, unbiased=True)), a.var(axis=0, ddof=1))
    np.testing.assert_allclose(values(x.std(dim=0, correction=1)), a.std(axis=0, ddof=1))


def test_to_float_double_and_devices():
    x = tg.ones(2)
    assert x.to(device="cpu", dtype=tg.float64).dtype == tg.float64 and x.double().float().dtype == tg.float32
    assert x.to(tg.zeros(1, dtype=tg.float64)).dtype == tg.float64
    assert str(tg.device("cpu")) == "cpu" and isinstance(tg.cuda.is_available(), bool)
    assert tg.cuda.device_count() >= 0
    with pytest.raises(ValueError, match="to: 'mps' is neither a device"):
        x.to("mps")


def test_factories_like_pytorch():
    a = np.arange(3.0)
    x = tg.from_numpy(a)
    a[0] = 7.0                                  # from_numpy shares memory, as torch.from_numpy
    assert x.dtype == tg.float64 and float(x[0]) == 7.0
    y = tg.randn_like(tg.zeros(2, 3, dtype=tg.float64))
    assert y.shape == (2, 3) and y.dtype == tg.float64
    assert tg.rand_like(y).shape == (2, 3) and float(tg.rand_like(y).min()) >= 0
    assert tg.Tensor(np.ones((2, 2), dtype=np.float32)).shape == (2, 2)


def test_bare_no_grad_decorator_and_set_grad_enabled():
    @tg.no_grad
    def inside():
        return tg.is_grad_enabled()

    @tg.enable_grad
    def enabled():
        return tg.is_grad_enabled()

    assert inside() is False and tg.is_grad_enabled()
    with tg.no_grad():
        assert enabled() is True
    with tg.set_grad_enabled(False):
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()


def test_autograd_grad_with_pytorch_keywords_and_gradcheck():
    x = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    y = (x ** 3).sum()
    (g,) = tg.autograd.grad(outputs=y, inputs=x, grad_outputs=tg.ones(y.size(), dtype=tg.float64),
                            create_graph=True, retain_graph=True, only_inputs=True)
    np.testing.assert_allclose(values(g), [3.0, 12.0])
    (h,) = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(values(h), [6.0, 12.0])
    assert tg.autograd.gradcheck(lambda t: (t * t).sum(), (x,))


# ------------------------------------------------------------------------------------------------------------------
# nn.functional, loss modules, containers
# ------------------------------------------------------------------------------------------------------------------

def _np_softplus(a, beta=1.0):
    return np.logaddexp(0.0, beta * a) / beta


def test_functional_against_numpy():
    a = np.linspace(-3, 3, 7)
    x = tg.tensor(a)
    w, b = np.arange(6.0).reshape(2, 3) / 10, np.array([0.5, -0.5])
    cases = [(F.relu(x), np.maximum(a, 0)), (F.leaky_relu(x, 0.2), np.where(a > 0, a, 0.2 * a)),
             (F.elu(x), np.where(a > 0, a, np.expm1(a))), (F.softplus(x, beta=2), _np_softplus(a, 2)),
             (F.sigmoid(x), 1 / (1 + np.exp(-a))), (F.tanh(x), np.tanh(a)),
             (F.linear(tg.tensor(a[:6].reshape(2, 3)), tg.tensor(w), tg.tensor(b)), a[:6].reshape(2, 3) @ w.T + b)]
    for ours, expected in cases:
        np.testing.assert_allclose(values(ours), expected, rtol=1e-12, atol=1e-12)
    m = a.reshape(1, 7)
    np.testing.assert_allclose(values(F.softmax(tg.tensor(m), dim=1)), np.exp(m) / np.exp(m).sum(), rtol=1e-12)
    np.testing.assert_allclose(values(F.log_softmax(tg.tensor(m), dim=-1)), m - np.log(np.exp(m).sum()),
                               rtol=1e-12)


def test_softplus_threshold_is_linear_above_it():
    x = tg.tensor([10.0, 30.0], dtype=tg.float64)
    np.testing.assert_allclose(values(F.softplus(x, beta=1, threshold=20)), [_np_softplus(10.0), 30.0])


def test_loss_functions_and_modules_against_formulas():
    logits = np.array([-2.0, 0.5, 3.0])
    target = np.array([0.0, 1.0, 1.0])
    p = 1 / (1 + np.exp(-logits))
    bce = -(target * np.log(p) + (1 - target) * np.log(1 - p))
    x, y = tg.tensor(logits), tg.tensor(target)
    np.testing.assert_allclose(float(F.binary_cross_entropy_with_logits(x, y)), bce.mean(), rtol=1e-12)
    np.testing.assert_allclose(values(F.binary_cross_entropy_with_logits(x, y, reduction="none")), bce, rtol=1e-12)
    np.testing.assert_allclose(float(nn.BCEWithLogitsLoss(reduction="sum")(x, y)), bce.sum(), rtol=1e-12)
    np.testing.assert_allclose(float(nn.BCELoss()(tg.tensor(p), y)), bce.mean(), rtol=1e-10)
    np.testing.assert_allclose(float(F.binary_cross_entropy(tg.tensor(p), y)), bce.mean(), rtol=1e-10)
    np.testing.assert_allclose(float(nn.MSELoss()(x, y)), ((logits - target) ** 2).mean(), rtol=1e-12)
    np.testing.assert_allclose(float(F.mse_loss(x, y, reduction="sum")), ((logits - target) ** 2).sum(), rtol=1e-12)


def test_bce_with_logits_is_finite_at_large_logits():
    x = tg.tensor([-1e4, 1e4], requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, tg.tensor([1.0, 0.0]))
    loss.backward()
    assert float(loss) == pytest.approx(1e4) and np.isfinite(x.grad.array).all()


def test_loss_shapes_must_match():
    with pytest.raises(ValueError, match="mse_loss"):
        F.mse_loss(tg.zeros(4, 1), tg.zeros(4))


def test_modulelist_identity_softplus_apply_requires_grad():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 3), nn.Linear(3, 1)])
            self.skip = nn.Identity()
            self.act = nn.Softplus(beta=2)

        def forward(self, x):
            for layer in self.layers:
                x = self.act(layer(self.skip(x)))
            return x

    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["layers.0.weight", "layers.0.bias", "layers.1.weight",
                                                      "layers.1.bias"]
    assert net(tg.ones(4, 2)).shape == (4, 1) and len(net.layers) == 2
    net.layers.append(nn.Linear(1, 1))
    assert len(list(net.parameters())) == 6
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and seen.count("Linear") == 3          # children first, the module itself last
    assert net.requires_grad_(False) is net and not any(p.requires_grad for p in net.parameters())
    net.requires_grad_()
    assert all(p.requires_grad for p in net.parameters())


def test_inplace_arguments_are_accepted():
    x = tg.tensor([-1.0, 2.0])
    np.testing.assert_allclose(values(nn.ReLU(True)(x)), [0.0, 2.0])
    np.testing.assert_allclose(values(nn.LeakyReLU(0.2, inplace=True)(x)), [-0.2, 2.0])
    np.testing.assert_allclose(values(F.relu(x, inplace=True)), [0.0, 2.0])


def test_mlp_takes_an_int_or_a_list_of_hidden_widths():
    assert [layer.out_features for layer in nn.MLP(2, 8, 1).modules() if isinstance(layer, nn.Linear)] == [8, 1]
    assert [layer.out_features for layer in nn.MLP(2, [8, 4], 1).modules() if isinstance(layer, nn.Linear)] == [8, 4, 1]


# ------------------------------------------------------------------------------------------------------------------
# AdamW and the schedulers
# ------------------------------------------------------------------------------------------------------------------

def test_adamw_decays_the_weights_apart_from_the_gradient():
    """With a zero gradient Adam's step is 0 and AdamW's is the decay alone: p <- p (1 - lr * weight_decay)."""
    p = nn.Parameter(tg.tensor([1.0, -2.0], dtype=tg.float64))
    optimizer = tg.optim.AdamW([p], lr=0.1, weight_decay=0.5)
    for _ in range(3):
        p.grad = tg.zeros_like(p)
        optimizer.step()
    np.testing.assert_allclose(values(p), np.array([1.0, -2.0]) * 0.95 ** 3, rtol=1e-12)


def _learning_rates(make_scheduler, steps, lr=1.0):
    optimizer = tg.optim.SGD([nn.Parameter(tg.zeros(1))], lr=lr)
    scheduler = make_scheduler(optimizer)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_schedulers_against_closed_forms():
    lr_scheduler = tg.optim.lr_scheduler
    np.testing.assert_allclose(_learning_rates(lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.1), 7),
                               [1, 1, 1, 0.1, 0.1, 0.1, 0.01])
    np.testing.assert_allclose(_learning_rates(lambda o: lr_scheduler.ExponentialLR(o, gamma=0.5), 4),
                               [1, 0.5, 0.25, 0.125])
    np.testing.assert_allclose(_learning_rates(lambda o: lr_scheduler.LambdaLR(o, lambda k: 1 / (k + 1)), 4),
                               [1, 1 / 2, 1 / 3, 1 / 4])
    cosine = _learning_rates(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=4, eta_min=0.2), 5)
    np.testing.assert_allclose(cosine, [0.2 + 0.8 * (1 + math.cos(math.pi * k / 4)) / 2 for k in range(5)])


# ------------------------------------------------------------------------------------------------------------------
# one set of loss names; errors that say what to do
# ------------------------------------------------------------------------------------------------------------------

def test_one_set_of_loss_names():
    logits = tg.tensor([0.3, -0.2])
    for kind in tg.losses.LOSSES:
        assert np.isfinite(float(tg.losses.discriminator_loss(logits, logits, kind=kind)))
        assert np.isfinite(float(tg.losses.generator_loss(logits, kind=kind, real_logits=logits)))
    for function in (tg.losses.discriminator_loss, tg.losses.generator_loss):
        with pytest.raises(ValueError, match="'bce'.*'nonsaturating'"):
            function(logits, logits, kind="bce") if function is tg.losses.discriminator_loss \
                else function(logits, kind="bce")


def test_penalty_weights_are_keyword_only():
    critic = nn.Linear(2, 1)
    real, fake = tg.randn(4, 2), tg.randn(4, 2)
    assert float(tg.losses.gradient_penalty(critic, real, fake, weight=10)) >= 0
    with pytest.raises(TypeError, match="positional"):
        tg.losses.gradient_penalty(critic, real, fake, 10)


def test_function_forward_must_return_arrays_and_sees_needs_input_grad():
    seen = {}

    class ReturnsTensor(tg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            seen["needs_input_grad"] = ctx.needs_input_grad
            return tg.ones(2)

        @staticmethod
        def backward(ctx, grad):
            return grad

    with pytest.raises(TypeError, match="ReturnsTensor.forward returned a Tensor; forward works on raw arrays"):
        ReturnsTensor.apply(tg.ones(2, requires_grad=True))
    assert seen["needs_input_grad"] == (True,)


def test_softplus_beta_and_unknown_keywords():
    x = tg.tensor([0.5, -1.0], dtype=tg.float64)
    np.testing.assert_allclose(values(tg.softplus(x, beta=2)), _np_softplus(x.numpy(), 2), rtol=1e-12)


def test_save_into_a_missing_folder_names_the_folder(tmp_path):
    missing = tmp_path / "no" / "such"
    with pytest.raises(FileNotFoundError, match="save: the folder .*no/such' does not exist"):
        tg.save({"x": tg.ones(2)}, missing / "state.safetensors")
    assert not (tmp_path / "no").exists()


def test_version_on_the_command_line():
    result = subprocess.run([sys.executable, "-m", "tinygan", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == f"tinygan {tg.__version__}"
