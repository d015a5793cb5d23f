"""Tests of tinygan.nn: Parameter, Module (discovery, state dicts, modes, devices, repr), the layers, spectral
normalization and the clipping utilities.

Layers are checked against their formulas written in NumPy, and their first and second derivatives with
``gradgradcheck`` (float64, with respect to the inputs and the parameters). Finite differences need smooth
functions, so inputs keep away from the kinks of relu and leaky_relu, and spectral norm is checked in eval mode,
where u and v stay fixed.

A test that exposes a known tinygan bug is marked ``xfail(strict=True)`` with the bug in the reason.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygan as tg
from tinygan.nn.utils import clip_grad_norm_, clip_weights_, spectral_norm
from tinygan.testing import gradgradcheck

nn = tg.nn


# ---------------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------------

def leaf(*shape, seed=0, low=None):
    """A float64 tensor that requires grad; with ``low``, every |value| >= low (away from kinks at 0)."""
    values = np.random.default_rng(seed).standard_normal(shape)
    if low is not None:
        values = np.sign(values) * (low + np.abs(values))
    return tg.tensor(values, dtype=tg.float64, requires_grad=True)


def linear64(in_features, out_features, bias=True, seed=0):
    return nn.Linear(in_features, out_features, bias=bias, generator=tg.Generator(seed), dtype=tg.float64)


def values(module):
    """{name: numpy copy} of every parameter and buffer."""
    return {name: tensor.numpy().copy() for name, tensor in module.state_dict().items()}


def assert_same_values(before, after):
    assert before.keys() == after.keys()
    for name in before:
        np.testing.assert_array_equal(before[name], after[name], err_msg=name)


class Pair(nn.Module):
    """Two linear layers and a buffer: y = second(tanh(first(x))) + offset."""

    def __init__(self, seed=0, dtype=None):
        super().__init__()
        generator = tg.Generator(seed)
        self.first = nn.Linear(3, 4, generator=generator, dtype=dtype)
        self.second = nn.Linear(4, 2, generator=generator, dtype=dtype)
        self.register_buffer("offset", tg.zeros(2, dtype=dtype) + 0.5)

    def forward(self, x):
        return self.second(self.first(x).tanh()) + self.offset


# ---------------------------------------------------------------------------------------------------------------
# Parameter
# ---------------------------------------------------------------------------------------------------------------

def test_parameter_is_a_tensor_that_requires_grad():
    p = nn.Parameter(tg.zeros(2, 3))
    assert isinstance(p, tg.Tensor)
    assert p.requires_grad and p.is_leaf
    assert p.shape == (2, 3)


def test_parameter_of_a_tensor_shares_its_data():
    t = tg.zeros(3)
    p = nn.Parameter(t)
    t.array[1] = 5.0
    assert p.numpy().tolist() == [0.0, 5.0, 0.0]
    with tg.no_grad():
        p.add_(1.0)
    assert t.numpy().tolist() == [1.0, 6.0, 1.0]


def test_parameter_of_a_list_or_array_makes_a_new_tensor():
    array = np.zeros(2)
    p = nn.Parameter(array)
    array[0] = 7.0
    assert p.numpy().tolist() == [0.0, 0.0]
    assert nn.Parameter([1.0, 2.0]).numpy().tolist() == [1.0, 2.0]


def test_parameter_gets_a_gradient_from_backward():
    p = nn.Parameter(tg.tensor([1.0, 2.0], dtype=tg.float64))
    (p * p).sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), [2.0, 4.0])


# ---------------------------------------------------------------------------------------------------------------
# Module: discovery
# ---------------------------------------------------------------------------------------------------------------

class Holder(nn.Module):
    """Parameters and modules as plain attributes, in a list and in a dict, plus attributes that are neither."""

    def __init__(self):
        super().__init__()
        self.alpha = nn.Parameter(tg.zeros(1))
        self.plain = tg.zeros(5)                 # a Tensor that is neither a Parameter nor a buffer
        self.width = 3
        self.layers = [nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1)]
        self.heads = {"mean": nn.Linear(1, 1, bias=False), "scale": nn.Parameter(tg.ones(1))}
        self.beta = nn.Parameter(tg.zeros(2))

    def forward(self, x):
        return x


def test_named_parameters_finds_attributes_lists_and_dicts_own_ones_first_as_pytorch():
    # PyTorch's order: a module's own parameters (in assignment order), then each submodule's, depth first
    names = [name for name, _ in Holder().named_parameters()]
    assert names == ["alpha", "heads.scale", "beta", "layers.0.weight", "layers.0.bias", "layers.2.weight",
                     "layers.2.bias", "heads.mean.weight"]


def test_parameters_yields_the_parameter_objects_themselves():
    holder = Holder()
    params = list(holder.parameters())
    assert params[:3] == [holder.alpha, holder.heads["scale"], holder.beta]
    assert params[3] is holder.layers[0].weight and params[-1] is holder.heads["mean"].weight
    assert all(isinstance(p, nn.Parameter) for p in params)


def test_plain_tensors_and_non_tensor_attributes_are_not_parameters_or_state():
    holder = Holder()
    assert all(p is not holder.plain for p in holder.parameters())
    assert "plain" not in holder.state_dict() and "width" not in holder.state_dict()


def test_named_parameters_order_is_the_same_on_every_call_and_every_instance():
    first = [name for name, _ in nn.MLP(2, [4, 4], 1).named_parameters()]
    assert first == ["net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias", "net.4.weight", "net.4.bias"]
    model = nn.MLP(2, [4, 4], 1)
    assert [name for name, _ in model.named_parameters()] == first
    assert [name for name, _ in model.named_parameters()] == first


def test_children_are_the_direct_submodules_only():
    holder = Holder()
    children = list(holder.children())
    assert children == [holder.layers[0], holder.layers[1], holder.layers[2], holder.heads["mean"]]
    assert [name for name, _ in holder.named_children()] == ["layers.0", "layers.1", "layers.2", "heads.mean"]


def test_modules_walks_self_then_every_submodule_depth_first():
    model = nn.MLP(2, [3], 1)
    assert list(model.modules()) == [model, model.net, model.net[0], model.net[1], model.net[2]]
    assert [name for name, _ in model.named_modules()] == ["", "net", "net.0", "net.1", "net.2"]


def test_a_submodule_used_twice_is_listed_once_by_modules():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.Tanh(), shared)
    assert len(model) == 3
    assert list(model.modules()) == [model, shared, model[1]]


def test_a_parameter_shared_by_two_layers_is_listed_once():
    first, second = nn.Linear(3, 3), nn.Linear(3, 3)
    second.weight = first.weight
    model = nn.Sequential(first, nn.Tanh(), second)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.bias"]
    assert len(list(model.parameters())) == 3


def test_a_shared_parameter_gets_the_gradient_of_both_uses():
    first = linear64(2, 2, bias=False)
    second = linear64(2, 2, bias=False)
    second.weight = first.weight
    x = leaf(1, 2)
    nn.Sequential(first, second)(x).sum().backward()
    w, xv = first.weight.numpy(), x.numpy()
    # L = sum(h W^T) with h = x W^T: the second use gives 1^T h, the first (1 W)^T x
    ones = np.ones((1, 2))
    expected = (ones @ w).T @ xv + ones.T @ (xv @ w.T)
    np.testing.assert_allclose(first.weight.grad.numpy(), expected, rtol=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# Module: call, zero_grad, train/eval
# ---------------------------------------------------------------------------------------------------------------

def test_calling_a_module_calls_forward_with_its_arguments():
    class Recorder(nn.Module):
        def forward(self, a, b=0, *, c=1):
            return ("forward", a, b, c)

    assert Recorder()(1, b=2, c=3) == ("forward", 1, 2, 3)


def test_module_without_forward_raises_not_implemented():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(tg.zeros(1))


def with_gradients(model, width=2):
    model(tg.randn(4, width, generator=tg.Generator(1))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    return model


def test_zero_grad_sets_every_gradient_to_none_by_default():
    model = with_gradients(nn.MLP(2, [3], 1))
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_zero_grad_without_set_to_none_gives_zeros_of_the_parameter_shape_and_dtype():
    model = with_gradients(nn.MLP(2, [3], 1))
    model.zero_grad(set_to_none=False)
    for p in model.parameters():
        assert p.grad.shape == p.shape and p.grad.dtype == p.dtype
        assert not p.grad.numpy().any()


def test_zero_grad_without_set_to_none_clears_inf_and_nan_gradients():
    layer = nn.Linear(2, 2)
    layer.weight.grad = tg.tensor([[math.inf, 1.0], [math.nan, -math.inf]])
    with np.errstate(invalid="ignore"):
        layer.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(layer.weight.grad.numpy(), np.zeros((2, 2)))


def test_train_and_eval_set_the_mode_of_every_submodule_and_return_the_module():
    model = nn.MLP(2, [3, 3], 1)
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    assert model.train() is model
    assert all(m.training for m in model.modules())
    model.train(False)
    assert not any(m.training for m in model.modules())


# ---------------------------------------------------------------------------------------------------------------
# Module: buffers, to(), state dicts
# ---------------------------------------------------------------------------------------------------------------

def test_a_buffer_is_state_but_not_a_parameter():
    model = Pair()
    assert [name for name, _ in model.named_buffers()] == ["offset"]
    assert all(p is not model.offset for p in model.parameters())
    assert list(model.state_dict()) == ["first.weight", "first.bias", "second.weight", "second.bias", "offset"]
    np.testing.assert_array_equal(model.state_dict()["offset"].numpy(), [0.5, 0.5])


def test_register_buffer_refuses_parameters_and_non_tensors():
    module = nn.Module()
    with pytest.raises(TypeError):
        module.register_buffer("p", nn.Parameter(tg.zeros(1)))
    with pytest.raises(TypeError):
        module.register_buffer("a", np.zeros(1))


def test_to_dtype_converts_parameters_buffers_and_gradients_keeping_values():
    model = with_gradients(Pair(), width=3)
    before = values(model)
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    assert model.to(tg.float64) is model
    assert all(t.dtype == tg.float64 for t in model.state_dict().values())
    for (name, old), new in zip(before.items(), values(model).values()):
        np.testing.assert_array_equal(new, old.astype(np.float64), err_msg=name)
    for p, old in zip(model.parameters(), grads):
        assert p.grad.dtype == tg.float64
        np.testing.assert_array_equal(p.grad.numpy(), old.astype(np.float64))
    assert all(p.requires_grad and isinstance(p, nn.Parameter) for p in model.parameters())


def test_double_then_float_round_trips_the_values():
    model = Pair()
    before = values(model)
    model.double().float()
    assert_same_values(before, values(model))
    assert model(tg.zeros(1, 3)).dtype == tg.float32


def test_a_model_converted_with_double_computes_in_float64():
    model = Pair().double()
    assert model(tg.zeros(1, 3, dtype=tg.float64)).dtype == tg.float64


def test_to_dtype_leaves_integer_buffers_alone():
    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(tg.zeros(2))
            self.register_buffer("steps", tg.tensor(3))

    model = Counter().double()
    assert model.weight.dtype == tg.float64
    assert model.steps.dtype == tg.int64


def test_to_the_same_device_keeps_values_and_parameters(device):
    model = with_gradients(Pair(), width=3)
    before = values(model)
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    params = list(model.parameters())
    model.to(device)
    assert all(t.device == device for t in model.state_dict().values())
    assert all(p.grad.device == device for p in model.parameters())
    model.to("cpu")
    assert_same_values(before, values(model))
    assert list(model.parameters()) == params  # the same Parameter objects, moved in place
    for p, old in zip(model.parameters(), grads):
        np.testing.assert_array_equal(p.grad.numpy(), old)


def test_a_model_moved_to_a_device_computes_there_with_the_same_results(device):
    model = Pair(seed=3)
    x = tg.randn(5, 3, generator=tg.Generator(4))
    expected = model(x).numpy()
    model.to(device)
    result = model(x.to(device))
    assert result.device == device
    np.testing.assert_allclose(result.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_state_dict_holds_every_parameter_and_buffer_detached():
    model = with_gradients(Pair(), width=3)
    state = model.state_dict()
    assert list(state) == [name for name, _ in model.named_parameters()] + ["offset"]
    for name, tensor in state.items():
        assert not tensor.requires_grad, name
    np.testing.assert_array_equal(state["first.weight"].numpy(), model.first.weight.numpy())


def test_load_state_dict_copies_values_in_place_and_reproduces_outputs():
    source, target = Pair(seed=1), Pair(seed=2)
    source.offset.fill_(-1.0)
    weight = target.first.weight
    x = tg.randn(4, 3, generator=tg.Generator(5))
    assert target.load_state_dict(source.state_dict()) == ([], [])
    assert target.first.weight is weight
    assert_same_values(values(source), values(target))
    np.testing.assert_array_equal(target(x).numpy(), source(x).numpy())


def test_load_state_dict_copies_rather_than_aliases():
    source, target = Pair(seed=1), Pair(seed=2)
    target.load_state_dict(source.state_dict())
    with tg.no_grad():
        source.first.weight.add_(1.0)
    assert not np.array_equal(source.first.weight.numpy(), target.first.weight.numpy())


def test_load_state_dict_with_missing_and_unexpected_keys_raises_key_error_naming_them():
    model = Pair(seed=2)
    before = values(model)
    state = Pair(seed=1).state_dict()
    del state["second.bias"]
    state["third.weight"] = tg.zeros(2)
    with pytest.raises(KeyError) as raised:
        model.load_state_dict(state)
    assert "second.bias" in str(raised.value) and "third.weight" in str(raised.value)
    assert_same_values(before, values(model))


def test_load_state_dict_with_a_wrong_shape_raises_value_error_and_loads_nothing():
    model = Pair(seed=2)
    before = values(model)
    state = Pair(seed=1).state_dict()
    state["second.bias"] = tg.zeros(3)  # a late key: the keys before it would be loaded by a careless loader
    with pytest.raises(ValueError) as raised:
        model.load_state_dict(state)
    message = str(raised.value)
    assert "second.bias" in message and "(3,)" in message and "(2,)" in message
    assert_same_values(before, values(model))


def test_load_state_dict_with_a_wrong_dtype_raises_type_error_and_loads_nothing():
    model = Pair(seed=2)
    before = values(model)
    state = Pair(seed=1).state_dict()
    state["offset"] = state["offset"].double()
    with pytest.raises(TypeError, match="offset"):
        model.load_state_dict(state)
    assert_same_values(before, values(model))


def test_load_state_dict_with_a_non_tensor_value_raises_type_error_and_loads_nothing():
    model = Pair(seed=2)
    before = values(model)
    state = Pair(seed=1).state_dict()
    state["offset"] = np.zeros(2, dtype=np.float32)
    with pytest.raises(TypeError, match="offset"):
        model.load_state_dict(state)
    assert_same_values(before, values(model))


def test_load_state_dict_not_strict_loads_the_common_keys_and_returns_missing_and_unexpected():
    model, source = Pair(seed=2), Pair(seed=1)
    before = values(model)
    state = source.state_dict()
    del state["second.bias"]
    state["extra"] = tg.zeros(1)
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert list(missing) == ["second.bias"] and list(unexpected) == ["extra"]
    np.testing.assert_array_equal(model.first.weight.numpy(), source.first.weight.numpy())
    np.testing.assert_array_equal(model.second.bias.numpy(), before["second.bias"])


def test_load_state_dict_not_strict_still_refuses_a_wrong_shape():
    model = Pair(seed=2)
    before = values(model)
    state = Pair(seed=1).state_dict()
    state["second.weight"] = tg.zeros(4, 2)
    with pytest.raises(ValueError, match="second.weight"):
        model.load_state_dict(state, strict=False)
    assert_same_values(before, values(model))


# ---------------------------------------------------------------------------------------------------------------
# Module: repr
# ---------------------------------------------------------------------------------------------------------------

def test_repr_of_an_mlp_is_pytorchs_text():
    model = nn.MLP(2, [3], 1, activation="leaky_relu", output_activation="tanh")
    assert repr(model) == (
        "MLP(\n"
        "  (net): Sequential(\n"
        "    (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "    (1): LeakyReLU(negative_slope=0.2)\n"
        "    (2): Linear(in_features=3, out_features=1, bias=True)\n"
        "    (3): Tanh()\n"
        "  )\n"
        ")")


@pytest.mark.parametrize("module, text", [
    (nn.Linear(2, 3, bias=False), "Linear(in_features=2, out_features=3, bias=False)"),
    (nn.ReLU(), "ReLU()"),
    (nn.LeakyReLU(), "LeakyReLU(negative_slope=0.01)"),
    (nn.Sigmoid(), "Sigmoid()"),
    (nn.ELU(), "ELU(alpha=1.0)"),
    (nn.LayerNorm(4), "LayerNorm((4,), eps=1e-05, elementwise_affine=True)"),
], ids=["Linear", "ReLU", "LeakyReLU", "Sigmoid", "ELU", "LayerNorm"])
def test_repr_of_a_layer_is_pytorchs_text(module, text):
    assert repr(module) == text


def test_repr_shows_extra_repr_of_a_module_with_children_as_pytorch_does():
    class Wrapper(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Linear(2, 3)

        def extra_repr(self):
            return "scale=2"

    assert repr(Wrapper()) == (
        "Wrapper(\n"
        "  scale=2\n"
        "  (inner): Linear(in_features=2, out_features=3, bias=True)\n"
        ")")


# ---------------------------------------------------------------------------------------------------------------
# Linear
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(3,), (5, 3), (2, 4, 3)], ids=["1d", "2d", "3d"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_linear_is_x_times_weight_transposed_plus_bias(shape, bias):
    layer = linear64(3, 2, bias=bias)
    x = leaf(*shape)
    expected = x.numpy() @ layer.weight.numpy().T + (layer.bias.numpy() if bias else 0.0)
    y = layer(x)
    assert y.shape == shape[:-1] + (2,)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_linear_has_weight_out_by_in_and_bias_out():
    layer = nn.Linear(3, 5)
    assert layer.weight.shape == (5, 3) and layer.bias.shape == (5,)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert layer.weight.dtype == tg.float32


def test_linear_without_bias_has_only_a_weight():
    layer = nn.Linear(3, 5, bias=False)
    assert layer.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]


def test_linear_with_no_input_features_outputs_its_bias():
    layer = nn.Linear(0, 3)
    assert layer.weight.shape == (3, 0)
    np.testing.assert_array_equal(layer(tg.zeros(2, 0)).numpy(), np.zeros((2, 3)))


def test_linear_refuses_an_input_of_the_wrong_width():
    with pytest.raises(ValueError):
        nn.Linear(3, 2)(tg.zeros(4, 2))


@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 2, 3)], ids=["1d", "2d", "3d"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_linear_gradients_match_finite_differences(shape, bias):
    layer = linear64(3, 2, bias=bias)
    params = tuple(layer.parameters())
    assert gradgradcheck(lambda x, *_: layer(x), (leaf(*shape),) + params)


# ---------------------------------------------------------------------------------------------------------------
# Sequential
# ---------------------------------------------------------------------------------------------------------------

class AddConstant(nn.Module):
    def __init__(self, value):
        super().__init__()
        self.value = value

    def forward(self, x):
        return x * 10 + self.value


def test_sequential_applies_modules_in_order():
    model = nn.Sequential(AddConstant(1), AddConstant(2), AddConstant(3))
    assert model(tg.tensor(0.0)).item() == 123.0


def test_sequential_length_indexing_and_iteration():
    a, b, c = nn.Tanh(), nn.ReLU(), nn.Linear(1, 1)
    model = nn.Sequential(a, b, c)
    assert len(model) == 3
    assert model[0] is a and model[1] is b and model[2] is c and model[-1] is c
    assert list(model) == [a, b, c]
    assert [name for name, _ in model.named_children()] == ["0", "1", "2"]
    assert len(nn.Sequential()) == 0


def test_sequential_slice_is_a_sequential_of_those_modules():
    a, b, c = nn.Tanh(), nn.ReLU(), nn.Sigmoid()
    head = nn.Sequential(a, b, c)[:2]
    assert isinstance(head, nn.Sequential) and list(head) == [a, b]


def test_sequential_refuses_a_non_module():
    with pytest.raises(TypeError):
        nn.Sequential(nn.Tanh(), lambda x: x)


# ---------------------------------------------------------------------------------------------------------------
# MLP and make_activation
# ---------------------------------------------------------------------------------------------------------------

def test_mlp_has_linear_layers_of_the_given_widths_with_activations_between():
    model = nn.MLP(2, [8, 5], 3)
    layers = list(model.net)
    assert [type(m) for m in layers] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert [(m.in_features, m.out_features) for m in layers if isinstance(m, nn.Linear)] == [(2, 8), (8, 5), (5, 3)]


@pytest.mark.parametrize("name, kind", [("relu", nn.ReLU), ("leaky_relu", nn.LeakyReLU), ("tanh", nn.Tanh),
                                        ("elu", nn.ELU)])
def test_mlp_puts_the_named_activation_after_every_hidden_layer_only(name, kind):
    layers = list(nn.MLP(2, [4, 4], 1, activation=name).net)
    assert [type(m) for m in layers] == [nn.Linear, kind, nn.Linear, kind, nn.Linear]


def test_mlp_leaky_relu_uses_the_gan_slope():
    assert nn.MLP(2, [4], 1, activation="leaky_relu").net[1].negative_slope == 0.2


@pytest.mark.parametrize("name, kind", [("tanh", nn.Tanh), ("sigmoid", nn.Sigmoid)])
def test_mlp_output_activation_comes_after_the_last_layer(name, kind):
    layers = list(nn.MLP(2, [4], 1, output_activation=name).net)
    assert [type(m) for m in layers] == [nn.Linear, nn.ReLU, nn.Linear, kind]


def test_mlp_without_hidden_layers_is_one_linear_layer():
    layers = list(nn.MLP(3, [], 2).net)
    assert len(layers) == 1 and (layers[0].in_features, layers[0].out_features) == (3, 2)


def test_mlp_forward_is_the_composition_of_its_layers():
    model = nn.MLP(2, [4], 1, activation="tanh", generator=tg.Generator(0), dtype=tg.float64)
    x = leaf(5, 2)
    first, last = model.net[0], model.net[2]
    hidden = np.tanh(x.numpy() @ first.weight.numpy().T + first.bias.numpy())
    expected = hidden @ last.weight.numpy().T + last.bias.numpy()
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("where", ["activation", "output_activation"])
def test_mlp_with_an_unknown_activation_raises_value_error(where):
    with pytest.raises(ValueError, match="swish"):
        nn.MLP(2, [4], 1, **{where: "swish"})


def test_mlp_without_hidden_layers_still_rejects_an_unknown_activation():
    with pytest.raises(ValueError, match="swish"):
        nn.MLP(2, [], 1, activation="swish")


def test_mlp_gradients_match_finite_differences():
    model = nn.MLP(2, [3], 1, activation="elu", output_activation="tanh", generator=tg.Generator(0),
                   dtype=tg.float64)
    assert gradgradcheck(lambda x, *_: model(x), (leaf(2, 2, low=0.1),) + tuple(model.parameters()))


def test_make_activation_makes_a_new_module_each_time_and_rejects_unknown_names():
    assert isinstance(nn.make_activation("sigmoid"), nn.Sigmoid)
    assert nn.make_activation("relu") is not nn.make_activation("relu")
    with pytest.raises(ValueError):
        nn.make_activation("Relu")


# ---------------------------------------------------------------------------------------------------------------
# activations
# ---------------------------------------------------------------------------------------------------------------

ACTIVATION_FORMULAS = [
    (nn.ReLU(), lambda x: np.maximum(x, 0.0)),
    (nn.LeakyReLU(), lambda x: np.where(x > 0, x, 0.01 * x)),
    (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (nn.Tanh(), np.tanh),
    (nn.Sigmoid(), lambda x: 1.0 / (1.0 + np.exp(-x))),
    (nn.ELU(), lambda x: np.where(x > 0, x, np.expm1(x))),
    (nn.ELU(0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
]
ACTIVATION_IDS = ["relu", "leaky_relu", "leaky_relu_0.2", "tanh", "sigmoid", "elu", "elu_0.5"]


@pytest.mark.parametrize("module, formula", ACTIVATION_FORMULAS, ids=ACTIVATION_IDS)
def test_activation_matches_its_formula(module, formula):
    x = np.linspace(-6, 6, 121)
    y = module(tg.tensor(x, dtype=tg.float64))
    assert y.dtype == tg.float64
    np.testing.assert_allclose(y.numpy(), formula(x), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("module, formula", ACTIVATION_FORMULAS, ids=ACTIVATION_IDS)
def test_activation_keeps_float32(module, formula):
    assert module(tg.zeros(3)).dtype == tg.float32


@pytest.mark.parametrize("module, formula", ACTIVATION_FORMULAS, ids=ACTIVATION_IDS)
def test_activation_gradients_match_finite_differences(module, formula):
    assert gradgradcheck(module, (leaf(2, 3, low=0.1),))


# ---------------------------------------------------------------------------------------------------------------
# LayerNorm
# ---------------------------------------------------------------------------------------------------------------

def layer_norm_formula(x, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)  # biased, as in the paper and PyTorch
    return (x - mean) / np.sqrt(var + eps)


def test_layer_norm_without_affine_gives_mean_zero_and_variance_one_per_sample():
    norm = nn.LayerNorm(6, elementwise_affine=False)
    x = tg.tensor(3.0 + 5.0 * np.random.default_rng(0).standard_normal((4, 6)), dtype=tg.float64)
    y = norm(x).numpy()
    np.testing.assert_allclose(y.mean(axis=-1), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=-1), 1.0, rtol=1e-5)  # 1 up to eps / var
    np.testing.assert_allclose(y, layer_norm_formula(x.numpy(), (-1,), 1e-5), rtol=1e-12)
    assert list(norm.parameters()) == []


def test_layer_norm_over_two_trailing_axes_normalizes_both_together():
    norm = nn.LayerNorm((2, 3), elementwise_affine=False, eps=0.0)
    x = np.random.default_rng(1).standard_normal((4, 2, 3))
    y = norm(tg.tensor(x, dtype=tg.float64)).numpy()
    np.testing.assert_allclose(y.mean(axis=(1, 2)), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(1, 2)), 1.0, rtol=1e-12)
    np.testing.assert_allclose(y, layer_norm_formula(x, (1, 2), 0.0), rtol=1e-12)


def test_layer_norm_affine_starts_as_identity_and_then_scales_and_shifts():
    norm = nn.LayerNorm(3, dtype=tg.float64)
    assert [name for name, _ in norm.named_parameters()] == ["weight", "bias"]
    np.testing.assert_array_equal(norm.weight.numpy(), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(norm.bias.numpy(), [0.0, 0.0, 0.0])
    with tg.no_grad():
        norm.weight.copy_(tg.tensor([2.0, -1.0, 0.5], dtype=tg.float64))
        norm.bias.copy_(tg.tensor([0.0, 3.0, -2.0], dtype=tg.float64))
    x = np.random.default_rng(2).standard_normal((5, 3))
    expected = layer_norm_formula(x, (-1,), 1e-5) * [2.0, -1.0, 0.5] + [0.0, 3.0, -2.0]
    np.testing.assert_allclose(norm(tg.tensor(x, dtype=tg.float64)).numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("normalized_shape, shape", [(3, (4, 2)), ((2, 3), (4, 3, 2)), ((2, 3), (3,))])
def test_layer_norm_refuses_an_input_with_the_wrong_trailing_shape(normalized_shape, shape):
    with pytest.raises(ValueError, match="LayerNorm"):
        nn.LayerNorm(normalized_shape)(tg.zeros(*shape))


def test_layer_norm_gradients_match_finite_differences():
    norm = nn.LayerNorm(3, dtype=tg.float64)
    with tg.no_grad():
        norm.weight.copy_(tg.tensor([1.5, -0.5, 2.0], dtype=tg.float64))
        norm.bias.copy_(tg.tensor([0.1, 0.2, 0.3], dtype=tg.float64))
    assert gradgradcheck(lambda x, w, b: norm(x), (leaf(2, 3), norm.weight, norm.bias))


def test_layer_norm_without_affine_gradients_match_finite_differences():
    norm = nn.LayerNorm((2, 2), elementwise_affine=False)
    assert gradgradcheck(norm, (leaf(2, 2, 2),))


# ---------------------------------------------------------------------------------------------------------------
# spectral_norm
# ---------------------------------------------------------------------------------------------------------------

def spectral_linear(in_features=5, out_features=7, seed=0, dtype=tg.float64):
    generator = tg.Generator(seed)
    layer = nn.Linear(in_features, out_features, generator=generator, dtype=dtype)
    return spectral_norm(layer, generator=generator)


def largest_singular_value(matrix):
    return np.linalg.svd(matrix, compute_uv=False)[0]


def test_spectral_norm_makes_the_largest_singular_value_one_after_training_steps():
    layer = spectral_linear()
    with tg.no_grad():
        layer.weight_orig.mul_(3.0)  # far from 1, so that the test is not vacuous
    assert largest_singular_value(layer.weight_orig.numpy()) > 2.0
    x = tg.randn(3, 5, dtype=tg.float64, generator=tg.Generator(1))
    for _ in range(200):
        layer(x)
    normalized = layer.normalized_weight().numpy()
    assert largest_singular_value(normalized) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(layer.module.weight.numpy(), normalized)


def test_spectral_norm_forward_uses_the_normalized_weight():
    layer = spectral_linear().eval()
    x = tg.randn(3, 5, dtype=tg.float64, generator=tg.Generator(1))
    w, u, v = layer.weight_orig.numpy(), layer.weight_u.numpy(), layer.weight_v.numpy()
    sigma = u @ w @ v
    expected = x.numpy() @ (w / sigma).T + layer.module.bias.numpy()
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-12)


def test_spectral_norm_training_forward_does_one_power_iteration_step():
    layer = spectral_linear()
    w, u = layer.weight_orig.numpy(), layer.weight_u.numpy()
    v = w.T @ u
    v /= np.linalg.norm(v)
    u = w @ v
    u /= np.linalg.norm(u)
    x = tg.randn(3, 5, dtype=tg.float64, generator=tg.Generator(1))
    y = layer(x)
    np.testing.assert_allclose(layer.weight_u.numpy(), u, rtol=1e-10)
    np.testing.assert_allclose(layer.weight_v.numpy(), v, rtol=1e-10)
    expected = x.numpy() @ (w / (u @ w @ v)).T + layer.module.bias.numpy()
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-10)


def test_spectral_norm_u_and_v_are_unit_buffers_in_the_state_dict_not_parameters():
    layer = spectral_linear()
    state = layer.state_dict()
    assert "weight_u" in state and "weight_v" in state
    assert state["weight_u"].shape == (7,) and state["weight_v"].shape == (5,)
    assert np.linalg.norm(state["weight_u"].numpy()) == pytest.approx(1.0)
    assert np.linalg.norm(state["weight_v"].numpy()) == pytest.approx(1.0)
    assert all(p is not layer.weight_u and p is not layer.weight_v for p in layer.parameters())


def test_spectral_norm_weight_orig_is_the_trained_parameter():
    inner = nn.Linear(5, 7)
    weight = inner.weight
    layer = spectral_norm(inner)
    names = [name for name, _ in layer.named_parameters()]
    assert sorted(names) == ["module.bias", "weight_orig"]
    assert layer.weight_orig is weight
    assert all(p is not inner.weight for p in layer.parameters())


def test_spectral_norm_in_eval_mode_does_not_update_u_and_v():
    layer = spectral_linear()
    layer(tg.randn(3, 5, dtype=tg.float64))
    layer.eval()
    u, v = layer.weight_u.numpy().copy(), layer.weight_v.numpy().copy()
    for _ in range(3):
        layer(tg.randn(3, 5, dtype=tg.float64))
    np.testing.assert_array_equal(layer.weight_u.numpy(), u)
    np.testing.assert_array_equal(layer.weight_v.numpy(), v)
    layer.train()
    layer(tg.randn(3, 5, dtype=tg.float64))
    assert not np.array_equal(layer.weight_u.numpy(), u)


def test_spectral_norm_discriminator_called_on_real_and_fake_before_one_backward():
    critic = nn.Sequential(spectral_linear(2, 8, seed=0), nn.LeakyReLU(0.2), spectral_linear(8, 1, seed=1))
    real = tg.randn(4, 2, dtype=tg.float64, generator=tg.Generator(2))
    fake = tg.randn(4, 2, dtype=tg.float64, generator=tg.Generator(3), requires_grad=True)
    loss = critic(real).mean() - critic(fake).mean()
    loss.backward()
    assert fake.grad is not None
    # the same critic (same seeds) with a backward after each call: each graph must use its own u and v
    twin = nn.Sequential(spectral_linear(2, 8, seed=0), nn.LeakyReLU(0.2), spectral_linear(8, 1, seed=1))
    twin(real).mean().backward()
    (-twin(fake).mean()).backward()
    for (name, p), q in zip(critic.named_parameters(), twin.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12, atol=1e-15, err_msg=name)


def test_spectral_norm_gradients_match_finite_differences_in_eval_mode():
    layer = spectral_linear(3, 2).eval()
    inputs = (leaf(2, 3), layer.weight_orig, layer.module.bias)
    assert gradgradcheck(lambda x, w, b: layer(x), inputs)


def test_spectral_norm_state_dict_round_trip_reproduces_outputs():
    source, target = spectral_linear(seed=0), spectral_linear(seed=1)
    x = tg.randn(3, 5, dtype=tg.float64, generator=tg.Generator(1))
    source(x)
    target.load_state_dict(source.state_dict())
    source.eval()
    target.eval()
    np.testing.assert_array_equal(target(x).numpy(), source(x).numpy())


def test_spectral_norm_moved_to_a_device_or_dtype_keeps_working(device):
    layer = spectral_linear(dtype=tg.float32).eval()
    x = tg.randn(3, 5, generator=tg.Generator(1))
    expected = layer(x).numpy()
    layer.to(device)
    np.testing.assert_allclose(layer(x.to(device)).numpy(), expected, rtol=1e-5, atol=1e-6)
    layer.to("cpu").double()
    assert layer.weight_u.dtype == tg.float64
    np.testing.assert_allclose(layer(x.double()).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_spectral_norm_refuses_a_vector_weight_and_zero_iterations():
    with pytest.raises(ValueError):
        spectral_norm(nn.Linear(2, 2), name="bias")
    with pytest.raises(ValueError):
        spectral_norm(nn.Linear(2, 2), n_power_iterations=0)


# ---------------------------------------------------------------------------------------------------------------
# clip_grad_norm_ and clip_weights_
# ---------------------------------------------------------------------------------------------------------------

def params_with_grads(scale, dtype=tg.float32):
    rng = np.random.default_rng(0)
    params = [nn.Parameter(tg.zeros(*shape, dtype=dtype)) for shape in [(3, 4), (4,), (2,)]]
    for p in params:
        p.grad = tg.tensor(scale * rng.standard_normal(p.shape), dtype=dtype)
    return params


def joint_norm(arrays):
    return math.sqrt(sum(float((a.astype(np.float64) ** 2).sum()) for a in arrays))


def test_clip_grad_norm_scales_a_large_gradient_down_to_max_norm():
    params = params_with_grads(10.0)
    assert joint_norm([p.grad.numpy() for p in params]) > 5.0
    clip_grad_norm_(params, 1.0)
    norm = joint_norm([p.grad.numpy() for p in params])
    assert norm <= 1.0 + 1e-5 and norm == pytest.approx(1.0, abs=1e-5)


def test_clip_grad_norm_keeps_the_direction_of_the_joint_gradient():
    params = params_with_grads(10.0, dtype=tg.float64)
    before = np.concatenate([p.grad.numpy().ravel() for p in params])
    clip_grad_norm_(params, 1.0)
    after = np.concatenate([p.grad.numpy().ravel() for p in params])
    np.testing.assert_allclose(after, before / np.linalg.norm(before), rtol=1e-5)


def test_clip_grad_norm_returns_the_norm_before_clipping_as_a_0d_tensor():
    params = params_with_grads(10.0, dtype=tg.float64)
    expected = joint_norm([p.grad.numpy() for p in params])
    total = clip_grad_norm_(params, 1.0)
    assert isinstance(total, tg.Tensor) and total.shape == ()
    assert total.item() == pytest.approx(expected, rel=1e-12)


def test_clip_grad_norm_leaves_a_small_gradient_unchanged():
    params = params_with_grads(0.01)
    before = [p.grad.numpy().copy() for p in params]
    total = clip_grad_norm_(params, 1.0)
    assert total.item() == pytest.approx(joint_norm(before), rel=1e-6)
    for p, old in zip(params, before):
        np.testing.assert_array_equal(p.grad.numpy(), old)


GRADIENTS = st.lists(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=4),
                                elements=st.floats(-100, 100)), min_size=1, max_size=3)


@given(grads=GRADIENTS, max_norm=st.floats(0.01, 10.0))
def test_clip_grad_norm_property_norm_at_most_max_norm_same_direction_returns_old_norm(grads, max_norm):
    params = [nn.Parameter(tg.zeros(*g.shape, dtype=tg.float64)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = tg.tensor(g, dtype=tg.float64)
    before = np.concatenate([g.ravel() for g in grads])
    total = clip_grad_norm_(params, max_norm)
    after = np.concatenate([p.grad.numpy().ravel() for p in params])
    old_norm = np.linalg.norm(before)
    assert total.item() == pytest.approx(old_norm, rel=1e-12, abs=1e-300)
    assert np.linalg.norm(after) <= max_norm + 1e-5
    scale = min(1.0, max_norm / (old_norm + 1e-6))
    np.testing.assert_allclose(after, before * scale, rtol=1e-12, atol=1e-300)


def test_clip_grad_norm_works_on_module_parameters_and_skips_those_without_grad():
    model = with_gradients(nn.MLP(2, [3], 1))
    model.net[0].bias.grad = None
    for p in model.parameters():
        if p.grad is not None:
            p.grad.mul_(100.0)
    clip_grad_norm_(model.parameters(), 0.5)
    assert model.net[0].bias.grad is None
    assert joint_norm([p.grad.numpy() for p in model.parameters() if p.grad is not None]) <= 0.5 + 1e-5


def test_clip_grad_norm_accepts_a_single_tensor():
    p = nn.Parameter(tg.zeros(3, dtype=tg.float64))
    p.grad = tg.tensor([3.0, 0.0, 4.0], dtype=tg.float64)
    assert clip_grad_norm_(p, 1.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.0, 0.8], rtol=1e-5)


def test_clip_grad_norm_without_gradients_returns_a_zero_norm():
    total = clip_grad_norm_(nn.Linear(2, 2).parameters(), 1.0)
    assert isinstance(total, tg.Tensor) and total.item() == 0.0


def test_clip_weights_puts_every_value_in_range_in_place():
    model = nn.MLP(2, [16], 1)
    with tg.no_grad():
        for p in model.parameters():
            p.mul_(100.0)
    objects = list(model.parameters())
    before = [p.numpy().copy() for p in objects]
    clip_weights_(model.parameters(), 0.01)
    assert list(model.parameters()) == objects
    for p, old in zip(model.parameters(), before):
        assert p.requires_grad
        np.testing.assert_array_equal(p.numpy(), np.clip(old, -0.01, 0.01))
    assert any((np.abs(old) > 0.01).any() for old in before)


def test_clip_weights_leaves_values_inside_the_range_alone():
    p = nn.Parameter(tg.tensor([-0.5, 0.0, 0.25, 2.0]))
    clip_weights_([p], 1.0)
    np.testing.assert_array_equal(p.numpy(), [-0.5, 0.0, 0.25, 1.0])
