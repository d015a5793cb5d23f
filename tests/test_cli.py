"""The command line, through a subprocess as a user runs it: train, list, sample, plot, and the error exits."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import tinygan as tg
from tinygan import cli, train

PNG_MAGIC, GIF_MAGIC = b"\x89PNG\r\n\x1a\n", b"GIF8"
FAST = ["--steps", "30", "--batch-size", "32", "--quiet"]


def run_cli(*args, timeout=300):
    environment = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "tinygan", *args], capture_output=True, text=True,
                          timeout=timeout, env=environment)


def assert_usage_error(result, *fragments):
    """Exit code 2, one line on stderr naming the problem, no traceback."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinygan: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    """One short ring run shared by the tests that read a run folder."""
    out = tmp_path_factory.mktemp("runs") / "ring"
    result = run_cli("train", "ring", *FAST, "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out, result


def test_train_writes_a_run_folder(ring_run):
    out, result = ring_run
    for name in ("config.json", "checkpoint.safetensors", "history.csv", "metrics.json", "snapshots.safetensors"):
        assert (out / name).stat().st_size > 0, name
    for name in ("curves.png", "samples.png", "snapshots.png"):
        assert (out / name).read_bytes()[:8] == PNG_MAGIC, name
    assert (out / "training.gif").read_bytes()[:4] == GIF_MAGIC
    config = train.TrainConfig.from_json((out / "config.json").read_text())
    assert config == train.preset("ring", steps=30, batch_size=32)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["step"] == 30 and 0 <= metrics["modes_captured"] <= 8
    history = train.History.from_csv(out / "history.csv")
    assert len(history) == 30
    assert str(out) in result.stdout and "modes_captured" in result.stdout


def test_sample_writes_npy_and_csv(ring_run, tmp_path):
    out, _ = ring_run
    result = run_cli("sample", str(out), "--n", "50", "--out", str(tmp_path / "s.npy"))
    assert result.returncode == 0, result.stderr
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (50, 2) and samples.dtype == np.float32
    result = run_cli("sample", str(out), "--n", "7", "--out", str(tmp_path / "s.csv"))
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "s.csv").read_text().splitlines()
    assert lines[0] == "x1,x2" and len(lines) == 8
    # the same seed gives the same samples as the trainer restored from the checkpoint (to float32 rounding: this
    # process may use another number of BLAS threads, which changes the order of the sums)
    trainer = train.Trainer.from_checkpoint(str(out / "checkpoint.safetensors"))
    assert np.allclose(samples, trainer.sample(50, seed=0).numpy(), rtol=1e-5, atol=1e-6)


def test_plot_redraws_the_figures(ring_run):
    out, _ = ring_run
    (out / "curves.png").unlink()
    result = run_cli("plot", str(out))
    assert result.returncode == 0, result.stderr
    assert (out / "curves.png").read_bytes()[:8] == PNG_MAGIC


def test_train_into_the_same_folder_continues_the_run(tmp_path):
    out = tmp_path / "run"
    assert cli.main(["train", "ring", *FAST, "--out", str(out)]) == 0
    assert cli.main(["train", "ring", "--steps", "40", "--batch-size", "32", "--quiet", "--out", str(out)]) == 0
    history = train.History.from_csv(out / "history.csv")
    assert history.columns["step"] == [float(s) for s in range(1, 41)]


def test_one_dimensional_run_draws_the_figure_1_picture(tmp_path):
    out = tmp_path / "gauss"
    assert cli.main(["train", "gaussian", "--steps", "20", "--quiet", "--out", str(out)]) == 0
    assert (out / "game.png").read_bytes()[:8] == PNG_MAGIC
    assert (out / "curves.png").read_bytes()[:8] == PNG_MAGIC


def test_list_names_datasets_losses_and_presets():
    result = run_cli("list")
    assert result.returncode == 0
    for name in list(tg.distributions.DATASETS) + list(tg.losses.LOSSES):
        assert name in result.stdout


@pytest.mark.parametrize("args, fragments", [
    (["train", "mnist"], ["unknown dataset 'mnist'", "ring"]),
    (["train", "ring", "--loss", "bogus"], ["unknown loss 'bogus'"]),
    (["train", "ring", "--steps", "-5"], ["steps must be an integer >= 1"]),
    (["train", "ring", "--steps", "many"], ["invalid int value"]),
    (["train", "ring", "--penalty", "l2"], ["unknown penalty"]),
    (["train", "ring", "--blas-threads", "0"], ["--blas-threads must be at least 1"]),
    (["sample", "/nonexistent/run", "--out", "x.npy"], ["is not a run folder"]),
    (["plot", "/nonexistent/run"], ["is not a run folder"]),
    ([], ["choose a command"]),
    (["frobnicate"], ["invalid choice"]),
])
def test_bad_arguments_exit_2_with_one_line(args, fragments):
    assert_usage_error(run_cli(*args), *fragments)


def test_a_device_that_is_not_here():
    if tg.backend.cuda_available():
        pytest.skip("a GPU is present: --device cuda is valid here")
    assert_usage_error(run_cli("train", "ring", "--device", "cuda", "--out", "unused"), "cuda")


def test_output_folder_that_is_not_a_run(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    assert_usage_error(run_cli("train", "ring", *FAST, "--out", str(tmp_path)), "is not a run folder")
    assert (tmp_path / "notes.txt").read_text() == "mine"          # nothing touched


def test_output_folder_with_another_run(ring_run):
    out, _ = ring_run
    assert_usage_error(run_cli("train", "ring", *FAST, "--seed", "9", "--out", str(out)), "another config")


def test_sample_errors(ring_run, tmp_path):
    out, _ = ring_run
    assert_usage_error(run_cli("sample", str(out), "--out", str(tmp_path / "s.txt")), ".npy or .csv")
    assert_usage_error(run_cli("sample", str(out), "--n", "0", "--out", str(tmp_path / "s.npy")), "--n")


def _default_sigint():
    """A shell that starts the tests in the background ignores SIGINT, and a child inherits that (Python then never
    raises KeyboardInterrupt): give the child the default handling a terminal's Ctrl-C meets."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_ctrl_c_stops_cleanly_and_keeps_the_checkpoint(tmp_path):
    out = tmp_path / "run"
    environment = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    process = subprocess.Popen([sys.executable, "-m", "tinygan", "train", "ring", "--steps", "100000",
                                "--batch-size", "32", "--out", str(out)], stderr=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, env=environment,
                               preexec_fn=_default_sigint)
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "config.json").exists():
        time.sleep(0.2)
    time.sleep(3.0)                                   # well inside the training loop
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    state = tg.load(str(out / "checkpoint.safetensors"))
    assert state["step"] >= 0
    history = train.History.from_csv(out / "history.csv")
    assert len(history) == state["step"]


def test_no_dataset_is_a_first_look_at_the_ring_and_folders_say_what_ran():
    config = cli._config_from_arguments(cli.build_parser().parse_args(["train"]))
    assert config == train.preset("ring", steps=cli.FIRST_LOOK_STEPS, latent="normal", penalty_every=1,
                                  lr_drop_at=0.8, lr_drop_factor=0.1)
    assert config == train.TrainConfig(dataset="ring", steps=cli.FIRST_LOOK_STEPS, **train.SHARED_2D_RECIPE)
    assert config.latent == "normal" and config.penalty_every == 1 and config != train.preset("ring", steps=5000)
    assert cli._config_from_arguments(cli.build_parser().parse_args(["train", "ring"])) == train.preset("ring")
    assert cli._default_folder(config) == os.path.join("runs", "first-look")
    longer = cli._config_from_arguments(cli.build_parser().parse_args(["train", "--steps", "8000"]))
    assert longer == cli.first_look_config(8000)
    assert cli._default_folder(longer) == os.path.join("runs", "first-look-8000")
    assert cli._default_folder(train.preset("ring", steps=5000)) == os.path.join("runs", "ring-5000")
    assert cli._default_folder(train.preset("ring")) == os.path.join("runs", "ring")
    assert cli._default_folder(train.preset("grid", seed=2)) == os.path.join("runs", "grid")
