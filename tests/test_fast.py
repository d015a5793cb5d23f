"""The fast paths (tinygan/fast/) against their plain counterparts: each gives the numbers of the plain code it
stands in for (bit for bit where the arithmetic is the same, to rounding where not), with first and second
derivatives checked; and the plain code a reader reads is what runs unless a fast path is asked for by name."""

import copy

import numpy as np
import pytest

import tinygan as tg
from tinygan import optim
from tinygan.fast import fused_ops


# ---------------------------------------------------------------------------------------------------------------
# the plain path runs by default
# ---------------------------------------------------------------------------------------------------------------

class CountingReLU(tg.nn.ReLU):
    calls = 0

    def forward(self, x):
        CountingReLU.calls += 1
        return super().forward(x)


def test_a_users_sequential_runs_its_own_relu():
    generator = tg.Generator(0)
    model = tg.nn.Sequential(tg.nn.Linear(3, 4, generator=generator), CountingReLU(),
                             tg.nn.Linear(4, 1, generator=generator))
    before = CountingReLU.calls
    model(tg.randn(5, 3, generator=generator))
    assert CountingReLU.calls == before + 1


def test_a_plain_mlp_records_the_plain_ops():
    model = tg.nn.MLP(3, [4], 1, generator=tg.Generator(0))
    hidden = model.net[:2](tg.randn(5, 3, generator=tg.Generator(1)))
    assert hidden.grad_fn.function is tg.ops.ReLU
    assert hidden.grad_fn.next_edges[0][0].function is tg.ops.Add   # x @ W.T + b


def test_adam_is_plain_unless_fused_is_asked_for():
    params = [tg.zeros(3, requires_grad=True)]
    assert tg.optim.Adam(params).fused is None
    assert tg.optim.Adam(params, fused=True).fused is not None


# ---------------------------------------------------------------------------------------------------------------
# fast path: the fused Linear + ReLU node
# ---------------------------------------------------------------------------------------------------------------


def linear_inputs(x_shape, out_features, with_bias, dtype=tg.float64, seed=0):
    generator = tg.Generator(seed)
    x = tg.randn(*x_shape, dtype=dtype, generator=generator, requires_grad=True)
    weight = tg.randn(out_features, x_shape[-1], dtype=dtype, generator=generator, requires_grad=True)
    bias = tg.randn(out_features, dtype=dtype, generator=generator, requires_grad=True) if with_bias else None
    return (x, weight, bias) if with_bias else (x, weight)


@pytest.mark.parametrize("x_shape", [(5, 3), (2, 4, 3)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_relu_passes_gradcheck_and_gradgradcheck(x_shape, with_bias):
    inputs = linear_inputs(x_shape, 4, with_bias)
    assert tg.testing.gradcheck(fused_ops.linear_relu, inputs)
    assert tg.testing.gradgradcheck(fused_ops.linear_relu, inputs)


def test_linear_relu_gives_the_numbers_of_linear_then_relu():
    """The same forward, bit for bit; gradients to float32 rounding (dL/dweight is g^T @ x in one product where
    the plain graph takes the transpose of x^T @ g, which BLAS may sum in another order)."""
    x, weight, bias = linear_inputs((16, 8), 6, True, dtype=tg.float32)
    fused = fused_ops.linear_relu(x, weight, bias)
    cotangent = tg.randn(16, 6, generator=tg.Generator(1))
    fused_grads = tg.grad(fused, [x, weight, bias], cotangent)
    plain = tg.relu(tg.linear(x, weight, bias))
    plain_grads = tg.grad(plain, [x, weight, bias], cotangent)
    assert fused.grad_fn.function is fused_ops.LinearReLU
    np.testing.assert_array_equal(fused.numpy(), plain.numpy())
    for ours, theirs in zip(fused_grads, plain_grads):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
@pytest.mark.parametrize("x_shape", [(16, 8), (2, 5, 8), (0, 8)])
def test_a_one_output_layers_input_gradient_is_the_plain_one(x_shape, dtype):
    """A layer with one output (D's last) computes dL/dx = g @ weight as the elementwise outer product g * weight:
    the same values as the plain graph's matmul (each entry one product); first and second derivatives checked."""
    x, weight, bias = linear_inputs(x_shape, 1, True, dtype=dtype)
    cotangent = tg.randn(*x_shape[:-1], 1, dtype=dtype, generator=tg.Generator(2))
    for fused_layer, plain_layer in ((fused_ops.linear, tg.linear),
                                     (fused_ops.linear_relu, lambda *a: tg.relu(tg.linear(*a)))):
        (fused,) = tg.grad(fused_layer(x, weight, bias), [x], cotangent)
        (plain,) = tg.grad(plain_layer(x, weight, bias), [x], cotangent)
        np.testing.assert_array_equal(fused.numpy(), plain.numpy())
    small = linear_inputs((5, 3), 1, True)
    assert tg.testing.gradcheck(fused_ops.linear, small)
    assert tg.testing.gradgradcheck(fused_ops.linear, small)


def test_linear_relu_second_derivatives_match_the_unfused_graph():
    """A gradient penalty's core: d/dweight of |d out/dx|^2, through the fused node and through linear + relu."""
    x, weight, bias = linear_inputs((6, 3), 5, True)

    def penalty_grads(layer):
        (grad_x,) = tg.grad(layer(x, weight, bias).sum(), [x], create_graph=True)
        return tg.grad((grad_x * grad_x).sum(), [weight, bias], allow_unused=True)

    fused = penalty_grads(fused_ops.linear_relu)
    plain = penalty_grads(lambda *a: tg.relu(tg.linear(*a)))
    np.testing.assert_allclose(fused[0].numpy(), plain[0].numpy(), rtol=1e-12, atol=1e-12)
    assert (fused[1] is None) == (plain[1] is None)


def test_linear_relu_checks_its_arguments_and_sees_in_place_changes():
    x, weight, bias = linear_inputs((4, 3), 2, True, dtype=tg.float32)
    with pytest.raises(ValueError, match="linear_relu"):
        fused_ops.linear_relu(x, tg.zeros(2, 5), bias)
    with pytest.raises(TypeError, match="linear_relu"):
        fused_ops.linear_relu(x, weight, tg.zeros(2, dtype=tg.float64))
    out = fused_ops.linear_relu(x, weight, bias)
    loss = out.sum()
    with tg.no_grad():
        weight.add_(1.0)
    with pytest.raises(RuntimeError, match="LinearReLU"):
        loss.backward()


def test_fused_mlp_gives_the_numbers_of_the_plain_mlp():
    generator = tg.Generator(0)
    plain = tg.nn.MLP(3, [8, 8], 2, generator=generator)
    fused = tg.fast.FusedMLP(3, [8, 8], 2)
    fused.load_state_dict(plain.state_dict())
    assert [name for name, _ in fused.named_parameters()] == [name for name, _ in plain.named_parameters()]
    x = tg.randn(10, 3, generator=generator)
    out_plain, out_fused = plain(x), fused(x)
    assert out_fused.grad_fn.function is fused_ops.Linear
    assert out_fused.grad_fn.next_edges[0][0].function is fused_ops.LinearReLU
    np.testing.assert_array_equal(out_fused.numpy(), out_plain.numpy())
    out_plain.sum().backward()
    out_fused.sum().backward()
    for ours, theirs in zip(fused.parameters(), plain.parameters()):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_fused_mlp_runs_other_activations_as_their_modules():
    generator = tg.Generator(0)
    plain = tg.nn.MLP(3, [8], 1, activation="leaky_relu", generator=generator)
    fused = tg.fast.FusedMLP(3, [8], 1, activation="leaky_relu")
    fused.load_state_dict(plain.state_dict())
    x = tg.randn(5, 3, generator=generator)
    assert fused(x).grad_fn.next_edges[0][0].function is tg.ops.LeakyReLU
    np.testing.assert_array_equal(fused(x).numpy(), plain(x).numpy())


# ---------------------------------------------------------------------------------------------------------------
# fast path: Adam's flat-buffer update
# ---------------------------------------------------------------------------------------------------------------


def adam_params(seed=0, dtype=tg.float32):
    generator = tg.Generator(seed)
    return [tg.randn(4, 3, dtype=dtype, generator=generator, requires_grad=True),
            tg.randn(3, dtype=dtype, generator=generator, requires_grad=True),
            tg.randn(dtype=dtype, generator=generator, requires_grad=True)]


def set_grads(params, seed):
    generator = tg.Generator(100 + seed)
    for param in params:
        param.grad = tg.randn(*param.shape, dtype=param.dtype, generator=generator)


ADAM_SETTINGS = [dict(lr=0.1, betas=(0.5, 0.999)), dict(lr=0.01, amsgrad=True),
                 dict(lr=0.05, weight_decay=0.1, maximize=True), dict(lr=0.02, amsgrad=True, weight_decay=0.01)]


@pytest.mark.parametrize("capturable", [False, True], ids=["counts-in-python", "capturable"])
@pytest.mark.parametrize("settings", ADAM_SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_fused_adam_gives_the_one_by_one_numbers_bit_for_bit(settings, capturable):
    fused_params, plain_params = adam_params(), adam_params()
    fused = optim.Adam(fused_params, **settings, fused=True, capturable=capturable)
    plain = optim.Adam(plain_params, **settings, capturable=capturable)
    for step in range(6):
        set_grads(fused_params, step)
        set_grads(plain_params, step)
        fused.step()
        plain.step()
        for ours, theirs in zip(fused_params, plain_params):
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert fused.fused.groups, "the fused path was not taken"
    ours, theirs = fused.state_dict(), plain.state_dict()
    assert ours["param_groups"] == theirs["param_groups"]
    for index, state in theirs["state"].items():
        assert set(ours["state"][index]) == set(state)
        for name, value in state.items():
            if isinstance(value, tg.Tensor):
                np.testing.assert_array_equal(ours["state"][index][name].numpy(), value.numpy())
            else:
                assert ours["state"][index][name] == value


def test_fused_adam_state_tensors_are_live_views_and_updates_are_in_place():
    params = adam_params()
    arrays = [p.array for p in params]
    optimizer = optim.Adam(params, lr=0.1, fused=True)
    set_grads(params, 0)
    versions = [p._version for p in params]
    optimizer.step()
    assert all(p.array is array for p, array in zip(params, arrays))
    assert all(p._version > v for p, v in zip(params, versions))
    exp_avg = optimizer.state[params[0]]["exp_avg"]
    before = exp_avg.numpy().copy()
    set_grads(params, 1)
    optimizer.step()
    assert not np.array_equal(exp_avg.numpy(), before)  # the tensor in .state follows the updates
    assert optimizer.state[params[0]]["step"] == 2 and exp_avg.shape == params[0].shape


@pytest.mark.parametrize("capturable", [False, True], ids=["counts-in-python", "capturable"])
def test_fused_adam_continues_exactly_after_load_state_dict_and_deepcopy(capturable):
    reference_params = adam_params()
    reference = optim.Adam(reference_params, lr=0.05, amsgrad=True, capturable=capturable)
    params = adam_params()
    optimizer = optim.Adam(params, lr=0.05, amsgrad=True, fused=True, capturable=capturable)
    for step in range(2):
        for group, opt in ((reference_params, reference), (params, optimizer)):
            set_grads(group, step)
            opt.step()
    restored_params = [tg.tensor(p.numpy(), requires_grad=True) for p in params]
    restored = optim.Adam(restored_params, lr=1.0, fused=True, capturable=capturable)
    restored.load_state_dict(optimizer.state_dict())
    copied = copy.deepcopy(optimizer)
    copied_params = [p for group in copied.param_groups for p in group["params"]]
    for step in range(2, 5):
        for group, opt in ((reference_params, reference), (params, optimizer), (restored_params, restored),
                           (copied_params, copied)):
            set_grads(group, step)
            opt.step()
        for group in (params, restored_params, copied_params):
            for ours, theirs in zip(group, reference_params):
                np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    # the copy has its own state: the original's steps did not change it, and the reverse
    assert not np.shares_memory(copied.state[copied_params[0]]["exp_avg"].numpy(),
                                optimizer.state[params[0]]["exp_avg"].numpy())


def fused_and_plain_side_by_side(capturable, change_at, change, check_step=None):
    """Four steps of a fused Adam and of a plain one on the same parameters and gradients, with ``change(group,
    optimizer)`` applied to both before step ``change_at``; the parameters must agree to the bit after every step
    (and ``check_step(optimizer, params, reference, reference_params)`` hold). Returns the fused optimizer and its
    parameters."""
    params, reference_params = adam_params(), adam_params()
    optimizer = optim.Adam(params, lr=0.1, fused=True, capturable=capturable)
    reference = optim.Adam(reference_params, lr=0.1, capturable=capturable)
    for step in range(4):
        for group, opt in ((params, optimizer), (reference_params, reference)):
            set_grads(group, step)
            if step == change_at:
                change(group, opt)
            opt.step()
        for ours, theirs in zip(params, reference_params):
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        if check_step is not None:
            check_step(optimizer, params, reference, reference_params)
    return optimizer, params


@pytest.mark.parametrize("capturable", [False, True], ids=["counts-in-python", "capturable"])
def test_fused_adam_follows_a_state_tensor_given_new_memory(capturable):
    """A state tensor that no longer views its place in the flat buffers (``.data =``, set_, load_state_dict)
    makes the buffers be rebuilt from the state, as the plain Adam would read it."""
    def restart_first_moment(group, opt):   # the first moment of parameter 0 restarts from zeros, in new memory
        opt.state[group[0]]["exp_avg"].data = tg.zeros(*group[0].shape)

    def same_first_moment(optimizer, params, reference, reference_params):
        np.testing.assert_array_equal(optimizer.state[params[0]]["exp_avg"].numpy(),
                                      reference.state[reference_params[0]]["exp_avg"].numpy())

    fused_and_plain_side_by_side(capturable, 2, restart_first_moment, same_first_moment)


@pytest.mark.parametrize("capturable", [False, True], ids=["counts-in-python", "capturable"])
def test_adam_with_parameters_at_different_steps_gives_the_one_by_one_numbers(capturable):
    """Counts kept in Python: the group falls back to the one-by-one update. Capturable: each parameter's count
    has its own place in the flat step buffer, and its own bias corrections."""
    def skip_parameter_1(group, opt):   # parameter 1 skips a step: from now on the steps differ
        group[1].grad = None

    optimizer, params = fused_and_plain_side_by_side(capturable, 1, skip_parameter_1)
    assert [float(optimizer.state[p]["step"]) for p in params] == [4, 3, 4]
    if capturable:   # the last step, at steps (4, 3, 4), was one flat update
        buffers = next(iter(optimizer.fused.groups.values()))
        assert buffers.matches(params, [optimizer.state[p] for p in params], False)
        np.testing.assert_array_equal(buffers.flat["step"].numpy(), [4.0, 3.0, 4.0])


# ---------------------------------------------------------------------------------------------------------------
# fast path: the fused binary cross-entropy
# ---------------------------------------------------------------------------------------------------------------

def test_fused_binary_cross_entropy_is_one_node_each_way():
    """Forward records one node whose edge leads straight to the logits' maker; first-order backward is one node
    too, and the gradient is that of the plain function."""
    x = tg.tensor([[0.5, -1.0, 2.0]], requires_grad=True)
    logits = (x * 2.0).sum(axis=0)
    loss = tg.fast.binary_cross_entropy_with_logits(logits, 1.0)
    assert loss.grad_fn.function is fused_ops.BinaryCrossEntropyWithLogits
    assert loss.grad_fn.next_edges[0][0] is logits.grad_fn
    (grad_logits,) = tg.grad(loss, [logits], create_graph=True, retain_graph=True)
    assert grad_logits.grad_fn.function is fused_ops.BinaryCrossEntropyWithLogitsBackward
    (grad,) = tg.grad(loss, [x])
    (expected,) = tg.grad(tg.binary_cross_entropy_with_logits((x * 2.0).sum(axis=0), 1.0), [x])
    np.testing.assert_allclose(grad.numpy(), expected.numpy(), rtol=1e-6)


@pytest.mark.parametrize("target", [0.0, 1.0, 0.3, "tensor"])
@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
def test_fused_binary_cross_entropy_gives_the_plain_numbers(target, dtype):
    generator = tg.Generator(0)
    logits = tg.randn(64, 1, dtype=dtype, generator=generator) * 20
    logits.requires_grad_()
    if target == "tensor":
        target = tg.rand(64, 1, dtype=dtype, generator=generator)
    fused = tg.fast.binary_cross_entropy_with_logits(logits, target)
    plain = tg.binary_cross_entropy_with_logits(logits, target)
    (fused_grad,) = tg.grad(fused, [logits])
    (plain_grad,) = tg.grad(plain, [logits])
    if isinstance(target, float) and target in (0.0, 1.0):   # the same operations: the same bits
        np.testing.assert_array_equal(fused.numpy(), plain.numpy())
        np.testing.assert_array_equal(fused_grad.numpy(), plain_grad.numpy())
    else:
        np.testing.assert_allclose(fused.numpy(), plain.numpy(), rtol=1e-6)
        np.testing.assert_allclose(fused_grad.numpy(), plain_grad.numpy(), rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("target", [0.0, 1.0, 0.25])
def test_fused_binary_cross_entropy_passes_gradcheck_and_gradgradcheck(target):
    logits = tg.randn(5, dtype=tg.float64, generator=tg.Generator(2), requires_grad=True)
    assert tg.testing.gradcheck(lambda x: tg.fast.binary_cross_entropy_with_logits(x, target), (logits,))
    assert tg.testing.gradgradcheck(lambda x: tg.fast.binary_cross_entropy_with_logits(x, target), (logits,))


def test_fused_binary_cross_entropy_checks_its_arguments_as_the_plain_one():
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: target must be a number in \[0, 1\]"):
        tg.fast.binary_cross_entropy_with_logits(tg.zeros(3), 1.5)
