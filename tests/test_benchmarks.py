"""The ring benchmark (benchmarks/ring8.py) and the fast paths of the engine that the speed work added.

Nothing here times anything: the benchmark's figures are printed by the script, never asserted. These tests check
that the script runs and that its hand-written NumPy GAN step computes what tinygan computes. (The fast paths
themselves are tested against their plain counterparts in test_fast.py.)
"""

import os
import subprocess
import sys

import numpy as np
import pytest


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
