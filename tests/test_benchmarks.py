"""The ring benchmark (benchmarks/ring8.py) and the fast paths of the engine that the speed work added.

Nothing here times anything: the benchmark's figures are printed by the script, never asserted. These tests check
that the script runs, that its hand-written NumPy GAN step computes what tinygan computes, and that each fast
path (the fused Linear+ReLU node, nn.Sequential's use of it, Adam's flat-buffer update) gives the numbers of the
plain path it replaces, with first and second derivatives checked.
"""

import copy
import os
import subprocess
import sys

import numpy as np
import pytest

import tinygan as tg
from tinygan import ops, optim

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARKS = os.path.join(REPO, "benchmarks")
sys.path.insert(0, BENCHMARKS)

import numpy_gan  # noqa: E402
import ring8  # noqa: E402


def run_script(*arguments):
    done = subprocess.run([sys.executable, os.path.join(BENCHMARKS, "ring8.py"), *arguments], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


# ---------------------------------------------------------------------------------------------------------------
# the script
# ---------------------------------------------------------------------------------------------------------------


def test_quick_run_checks_agreement_and_prints_the_tables():
    out = run_script("--quick")
    assert "agreement check passed" in out
    assert "graph check passed" in out
    assert "median ms/step" in out and "steps/s" in out
    assert any(line.startswith("small    tinygan") for line in out.splitlines())
    assert any(line.startswith("small    numpy") for line in out.splitlines())
    assert "targets" in out and "per-op overhead" in out


def test_memory_mode_reports_resident_memory_and_freed_graphs(capsys):
    ring8.main(["--memory", "--memory-steps", "40"])
    out = capsys.readouterr().out
    assert "resident memory" in out
    graph_line = next(line for line in out.splitlines() if line.startswith("no graph survives a step"))
    assert graph_line.endswith("PASS")


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        ring8.parse_args(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--quick", "--sizes", "--device", "--batch", "--memory", "--profile", "--repeats"):
        assert option in out


# ---------------------------------------------------------------------------------------------------------------
# the implementations of the step agree
# ---------------------------------------------------------------------------------------------------------------


def assert_close(value, reference, label, rtol=1e-4):
    """|value - reference| <= rtol * (|reference| + max |reference|): float32 rounding, at the array's scale."""
    value, reference = np.asarray(value, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    assert value.shape == reference.shape, label
    scale = np.max(np.abs(reference)) if reference.size else 0.0
    assert np.all(np.abs(value - reference) <= rtol * (np.abs(reference) + scale)), label


def check_step_against(impl, reference):
    loss_d, loss_g, d_grads, g_grads = impl.result()
    ref_d, ref_g, ref_d_grads, ref_g_grads = reference.result()
    assert_close(loss_d, ref_d, "D loss")
    assert_close(loss_g, ref_g, "G loss")
    assert len(d_grads) == len(ref_d_grads) and len(g_grads) == len(ref_g_grads)
    for number, (grad, ref) in enumerate(zip(d_grads + g_grads, ref_d_grads + ref_g_grads)):
        assert grad.dtype == np.float32
        assert_close(grad, ref, f"gradient {number}")


def step_together(ours, reference, steps):
    """Run both implementations step by step, checking losses and gradients after each step."""
    for _ in range(steps):
        ours.step()
        reference.step()
        check_step_against(ours, reference)


def small_problem():
    return ring8.make_problem("small", seed=3, batch=32)


def test_hand_written_numpy_step_agrees_with_tinygan():
    problem = small_problem()
    tinygan_gan, numpy_gan_ = ring8.TinyganGAN(problem), ring8.NumpyGAN(problem)
    step_together(tinygan_gan, numpy_gan_, steps=3)
    for params, refs in zip(tinygan_gan.parameters(), numpy_gan_.parameters()):
        for param, ref in zip(params, refs):
            assert_close(param, ref, "parameter after 3 steps")


def test_hand_written_losses_and_adam_follow_their_formulas():
    logits = np.array([[-30.0], [-1.0], [0.0], [2.0], [40.0]], dtype=np.float32)
    loss, grad_real, grad_fake = numpy_gan.discriminator_loss(logits, logits)
    expected = np.mean(np.log1p(np.exp(-logits.astype(np.float64)))) + np.mean(np.log1p(np.exp(logits)))
    assert loss.dtype == np.float32 and np.isclose(loss, expected, rtol=1e-6)
    logits64 = logits.astype(np.float64)
    np.testing.assert_allclose(grad_real, -1 / (1 + np.exp(logits64)) / 5, rtol=1e-6)   # -sigmoid(-r) / n
    np.testing.assert_allclose(grad_fake, 1 / (1 + np.exp(-logits64)) / 5, rtol=1e-6)   # sigmoid(f) / n

    theta, grad = np.array([1.0, -2.0], dtype=np.float32), np.array([0.5, -0.25], dtype=np.float32)
    adam = numpy_gan.Adam([theta], lr=0.1, betas=(0.5, 0.999))
    adam.step([grad])  # t = 1: m^ = g, v^ = g^2, so the step is lr * g / (|g| + eps)
    np.testing.assert_allclose(theta, [1.0 - 0.1, -2.0 + 0.1], rtol=1e-6)


def test_pytorch_step_agrees_with_the_hand_written_one():
    torch = pytest.importorskip("torch", reason="PyTorch is optional (pip install '.[bench]'); its rows are skipped")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a few tiny steps: more threads only wait for each other on a busy machine
    try:
        check_torch_steps()
    finally:
        torch.set_num_threads(threads)


def check_torch_steps():
    problem = small_problem()
    torch_gan, numpy_gan_ = ring8.TorchGAN(problem), ring8.NumpyGAN(problem)
    step_together(torch_gan, numpy_gan_, steps=2)


def test_no_graph_survives_a_tinygan_step():
    gan = ring8.TinyganGAN(small_problem())
    gan.step()
    seen, alive = ring8.check_graph_freed(gan)
    assert seen > 0 and alive == 0


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
    assert tg.testing.gradcheck(ops.linear_relu, inputs)
    assert tg.testing.gradgradcheck(ops.linear_relu, inputs)


def test_linear_relu_gives_the_numbers_of_linear_then_relu():
    x, weight, bias = linear_inputs((16, 8), 6, True, dtype=tg.float32)
    fused = ops.linear_relu(x, weight, bias)
    cotangent = tg.randn(16, 6, generator=tg.Generator(1))
    fused_grads = tg.grad(fused, [x, weight, bias], cotangent)
    plain = tg.relu(tg.linear(x, weight, bias))
    plain_grads = tg.grad(plain, [x, weight, bias], cotangent)
    assert fused.grad_fn.function is ops.LinearReLU
    np.testing.assert_array_equal(fused.numpy(), plain.numpy())
    for ours, theirs in zip(fused_grads, plain_grads):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_linear_relu_second_derivatives_match_the_unfused_graph():
    """A gradient penalty's core: d/dweight of |d out/dx|^2, through the fused node and through linear + relu."""
    x, weight, bias = linear_inputs((6, 3), 5, True)

    def penalty_grads(layer):
        (grad_x,) = tg.grad(layer(x, weight, bias).sum(), [x], create_graph=True)
        return tg.grad((grad_x * grad_x).sum(), [weight, bias], allow_unused=True)

    fused = penalty_grads(ops.linear_relu)
    plain = penalty_grads(lambda *a: tg.relu(tg.linear(*a)))
    np.testing.assert_allclose(fused[0].numpy(), plain[0].numpy(), rtol=1e-12, atol=1e-12)
    assert (fused[1] is None) == (plain[1] is None)


def test_linear_relu_checks_its_arguments_and_sees_in_place_changes():
    x, weight, bias = linear_inputs((4, 3), 2, True, dtype=tg.float32)
    with pytest.raises(ValueError, match="linear_relu"):
        ops.linear_relu(x, tg.zeros(2, 5), bias)
    with pytest.raises(TypeError, match="linear_relu"):
        ops.linear_relu(x, weight, tg.zeros(2, dtype=tg.float64))
    out = ops.linear_relu(x, weight, bias)
    loss = out.sum()
    with tg.no_grad():
        weight.add_(1.0)
    with pytest.raises(RuntimeError, match="LinearReLU"):
        loss.backward()


class DoublingLinear(tg.nn.Linear):
    def forward(self, x):
        return super().forward(x) * 2


def test_sequential_fuses_linear_then_relu_with_the_same_numbers():
    generator = tg.Generator(0)
    mlp = tg.nn.MLP(3, [8, 8], 2, generator=generator)
    x = tg.randn(10, 3, generator=generator)
    out = mlp(x)
    out.sum().backward()
    fused_grads = [p.grad.numpy().copy() for p in mlp.parameters()]
    assert out.grad_fn.function is ops.Linear and out.grad_fn.next_edges[0][0].function is ops.LinearReLU

    mlp.zero_grad()
    h = x
    for module in mlp.net:  # the layers one by one: Linear, ReLU, Linear, ReLU, Linear
        h = module(h)
    h.sum().backward()
    np.testing.assert_array_equal(out.numpy(), h.numpy())
    for fused, plain in zip(fused_grads, (p.grad.numpy() for p in mlp.parameters())):
        np.testing.assert_array_equal(fused, plain)


def test_sequential_runs_subclasses_and_replaced_forwards_as_they_are():
    generator = tg.Generator(0)
    x = tg.randn(4, 3, generator=generator)
    doubled = tg.nn.Sequential(DoublingLinear(3, 2, generator=generator), tg.nn.ReLU())
    assert doubled(x).grad_fn.function is ops.ReLU
    np.testing.assert_array_equal(doubled(x).numpy(), tg.relu(doubled[0](x)).numpy())

    layer = tg.nn.Linear(3, 2, generator=generator)
    layer.forward = lambda h: tg.linear(h, layer.weight, layer.bias) + 1.0
    shifted = tg.nn.Sequential(layer, tg.nn.ReLU())
    np.testing.assert_array_equal(shifted(x).numpy(), tg.relu(layer(x)).numpy())


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


class OneByOneAdam(optim.Adam):
    """Adam forced onto the plain per-parameter update (Adam._update), the reference for the fused one."""

    def _update_group(self, group, params):
        optim.Optimizer._update_group(self, group, params)


ADAM_SETTINGS = [dict(lr=0.1, betas=(0.5, 0.999)), dict(lr=0.01, amsgrad=True),
                 dict(lr=0.05, weight_decay=0.1, maximize=True), dict(lr=0.02, amsgrad=True, weight_decay=0.01)]


@pytest.mark.parametrize("settings", ADAM_SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_fused_adam_gives_the_one_by_one_numbers_bit_for_bit(settings):
    fused_params, plain_params = adam_params(), adam_params()
    fused, plain = optim.Adam(fused_params, **settings), OneByOneAdam(plain_params, **settings)
    for step in range(6):
        set_grads(fused_params, step)
        set_grads(plain_params, step)
        fused.step()
        plain.step()
        for ours, theirs in zip(fused_params, plain_params):
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert fused._fused, "the fused path was not taken"
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
    arrays = [p.data for p in params]
    optimizer = optim.Adam(params, lr=0.1)
    set_grads(params, 0)
    versions = [p._version[0] for p in params]
    optimizer.step()
    assert all(p.data is array for p, array in zip(params, arrays))
    assert all(p._version[0] > v for p, v in zip(params, versions))
    exp_avg = optimizer.state[params[0]]["exp_avg"]
    before = exp_avg.numpy().copy()
    set_grads(params, 1)
    optimizer.step()
    assert not np.array_equal(exp_avg.numpy(), before)  # the tensor in .state follows the updates
    assert optimizer.state[params[0]]["step"] == 2 and exp_avg.shape == params[0].shape


def test_fused_adam_continues_exactly_after_load_state_dict_and_deepcopy():
    reference_params = adam_params()
    reference = OneByOneAdam(reference_params, lr=0.05, amsgrad=True)
    params = adam_params()
    optimizer = optim.Adam(params, lr=0.05, amsgrad=True)
    for step in range(2):
        for group, opt in ((reference_params, reference), (params, optimizer)):
            set_grads(group, step)
            opt.step()
    restored_params = [tg.tensor(p.numpy(), requires_grad=True) for p in params]
    restored = optim.Adam(restored_params, lr=1.0)
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


def test_adam_with_parameters_at_different_steps_falls_back_to_one_by_one():
    params, reference_params = adam_params(), adam_params()
    optimizer, reference = optim.Adam(params, lr=0.1), OneByOneAdam(reference_params, lr=0.1)
    for step in range(4):
        for group, opt in ((params, optimizer), (reference_params, reference)):
            set_grads(group, step)
            if step == 1:
                group[1].grad = None  # parameter 1 skips a step: from now on the steps differ
            opt.step()
        for ours, theirs in zip(params, reference_params):
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert [optimizer.state[p]["step"] for p in params] == [4, 3, 4]
