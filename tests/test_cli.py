"""The command line, through a subprocess as a user runs it: train, list, sample, plot, and the error exits."""

import contextlib
import dataclasses
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import tinygan as tg
from tinygan import cli, train
from tinygan.run_folder import RunFolder

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


def _figure_bytes(folder):
    names = ("curves.png", "samples.png", "snapshots.png", "training.gif")
    return {name: (folder / name).read_bytes() for name in names}


@pytest.mark.skipif(not (sys.platform.startswith("linux") and (os.cpu_count() or 1) > 1),
                    reason="the second drawing process is forked only on Linux with two or more cores")
def test_figures_drawn_in_two_processes_are_the_ones_drawn_in_one(ring_run, tmp_path, monkeypatch):
    out, _ = ring_run
    trainer = train.Trainer.from_checkpoint(str(out / "checkpoint.safetensors"))
    with RunFolder(str(out)) as folder:
        snapshots = folder.read_snapshots()
    from tinygan import plots

    def draw(name, processes=2):
        (tmp_path / name).mkdir()
        cli.draw_figures(str(tmp_path / name), trainer.history, snapshots, trainer.data, plots, processes=processes)
        return tmp_path / name

    assert _figure_bytes(draw("one", processes=1)) == _figure_bytes(draw("two"))
    # samples.png and the GIF are drawn in another process (the fork sees this replacement too)
    drawing = cli._draw_final_and_animation

    def drawing_and_saying_where(folder, snapshots):
        (tmp_path / "drawn_by").write_text(str(os.getpid()))
        drawing(folder, snapshots)
    monkeypatch.setattr(cli, "_draw_final_and_animation", drawing_and_saying_where)
    draw("where")
    assert int((tmp_path / "drawn_by").read_text()) != os.getpid()
    monkeypatch.undo()
    # what goes wrong there is raised here, after this process's own pictures
    (tmp_path / "blocked").mkdir()
    (tmp_path / "blocked" / "training.gif").mkdir()        # a folder where the GIF should be written
    with pytest.raises(OSError):
        cli.draw_figures(str(tmp_path / "blocked"), trainer.history, snapshots, trainer.data, plots, processes=2)
    assert (tmp_path / "blocked" / "curves.png").exists() and (tmp_path / "blocked" / "snapshots.png").exists()
    # a second process that dies without a word (killed): its pictures are drawn here instead
    monkeypatch.setattr(cli, "_draw_and_report", lambda folder, snapshots, sending: os._exit(1))
    assert _figure_bytes(draw("died")) == _figure_bytes(tmp_path / "one")


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
    (["train", "ring", "--blas-threads", "0"], ["--blas-threads must be in [1, "]),
    (["train", "ring", "--blas-threads", "100000"], ["--blas-threads must be in [1, ", "100000"]),
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
                                  lr_drop_at=0.8, lr_drop_factor=0.1, lr_g=cli.FIRST_LOOK_LR, lr_d=cli.FIRST_LOOK_LR)
    assert config == train.TrainConfig(dataset="ring", steps=cli.FIRST_LOOK_STEPS, **dict(
        train.SHARED_2D_RECIPE, lr_g=cli.FIRST_LOOK_LR, lr_d=cli.FIRST_LOOK_LR))
    assert config.latent == "normal" and config.penalty_every == 1 and config != train.preset("ring", steps=5000)
    assert cli._config_from_arguments(cli.build_parser().parse_args(["train", "ring"])) == train.preset("ring")
    assert cli.default_folder(config) == os.path.join("runs", "first-look")
    longer = cli._config_from_arguments(cli.build_parser().parse_args(["train", "--steps", "8000"]))
    assert longer == cli.first_look_config(8000)
    assert cli.default_folder(longer) == os.path.join("runs", "first-look-steps-8000")


@pytest.mark.parametrize("changes, folder", [
    ({}, "ring"),
    ({"steps": 5000}, "ring-steps-5000"),
    ({"seed": 2}, "ring-seed-2"),                     # the old rule sent every seed to runs/ring
    ({"steps": 10, "seed": 3}, "ring-steps-10-seed-3"),
    ({"loss": "hinge", "penalty": None}, "ring-loss-hinge-penalty-none"),
    ({"g_hidden": (64, 64), "lr_g": 1e-3}, "ring-g_hidden-64x64-lr_g-0.001"),
    ({"dataset_options": {"n_modes": 6}}, "ring-dataset_options-n_modes-6"),
])
def test_the_default_folder_is_the_preset_and_each_changed_field(changes, folder):
    """One rule for every config: runs/PRESET, then each field that differs from the preset and its value."""
    assert cli.default_folder(train.preset("ring", **changes)) == os.path.join("runs", folder)


def test_a_default_folder_name_too_long_for_the_list_ends_in_a_hash():
    config = train.preset("grid", g_hidden=(7,) * 60, seed=5)
    folder = cli.default_folder(config)
    assert folder.startswith(os.path.join("runs", "grid-")) and len(os.path.basename(folder)) == len("grid-") + 12
    assert folder != cli.default_folder(dataclasses.replace(config, seed=6))


# ---------------------------------------------------------------------------------------------------------------
# every bad value refused before anything is written
# ---------------------------------------------------------------------------------------------------------------

def assert_refused_and_nothing_written(code, error, field, where, before):
    """Exit code 2, one line naming the field, and the folder ``where`` exactly as it was (``before``)."""
    lines = error.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("tinygan: error: "), error
    assert field in lines[0], (field, lines[0])
    assert sorted(os.listdir(where)) == before


# The findings of the issue that trained anyway, or ended in a traceback (after writing files).
BAD_OPTIONS = [
    (["--penalty-weight", "nan"], "penalty_weight"),
    (["--penalty-weight", "-10"], "penalty_weight"),
    (["--steps", "0"], "steps"),
    (["--lr-g", "inf"], "lr_g"),
    (["--batch-size", str(10 ** 12)], "batch_size"),
]
BAD_FIELDS = [
    ({"lr_drop_factor": -1}, "lr_drop_factor"),
    ({"penalty_weight": -10}, "penalty_weight"),
    ({"g_hidden": [0, 0]}, "g_hidden"),
    ({"lr_g": float("inf")}, "lr_g"),
    ({"ema": 1.5}, "ema"),
    ({"betas": [2, -1]}, "betas"),
    ({"clip_value": -1}, "clip_value"),
    ({"dtype": "float16"}, "dtype"),
    ({"g_hidden": [-5]}, "g_hidden"),
    ({"g_hidden": "abc"}, "g_hidden"),
    ({"g_hidden": [1e6, 1e6]}, "g_hidden"),
    ({"g_hidden": [10 ** 6, 10 ** 6]}, "g_hidden"),            # 3.6 TiB: a memory estimate says so first
    ({"dataset_options": {"n_modes": 1e9}}, "n_modes"),
    ({"dataset_options": {"n_modes": 10 ** 9}}, "n_modes"),
    ({"dataset_options": {"modes": 3}}, "dataset_options"),
    ({"eval_samples": 1}, "eval_samples"),
    ({"eval_samples": 1e9}, "eval_samples"),
    ({"eval_samples": 10 ** 12}, "eval_samples"),
    ({"steps": 10 ** 13}, "steps"),
    ({"latent": "cauchy"}, "latent"),
    ({"seed": -1}, "seed"),
]


@pytest.mark.parametrize("options, field", BAD_OPTIONS)
def test_bad_options_are_refused_before_anything_is_written(tmp_path, capsys, options, field):
    code = cli.main(["train", "gaussian", *options, "--out", str(tmp_path / "run"), "--quiet"])
    assert_refused_and_nothing_written(code, capsys.readouterr().err, field, tmp_path, [])


@pytest.mark.parametrize("changes, field", BAD_FIELDS)
def test_bad_config_values_are_refused_before_anything_is_written(tmp_path, capsys, changes, field):
    fields = {**json.loads(train.preset("ring").to_json()), **changes}
    (tmp_path / "bad.json").write_text(json.dumps(fields))
    code = cli.main(["train", "--config", str(tmp_path / "bad.json"), "--out", str(tmp_path / "run"), "--quiet"])
    assert_refused_and_nothing_written(code, capsys.readouterr().err, field, tmp_path, ["bad.json"])


def test_a_folder_that_cannot_be_written_is_refused_before_training(tmp_path, capsys, monkeypatch):
    """Found at the start (the old command found a read-only folder at its first checkpoint, 800 steps in)."""
    monkeypatch.setattr(os, "access", lambda path, mode: os.path.abspath(path) != str(tmp_path))
    code = cli.main(["train", "gaussian", "--steps", "3", "--out", str(tmp_path / "run"), "--quiet"])
    assert_refused_and_nothing_written(code, capsys.readouterr().err, "may not write", tmp_path, [])


def test_a_disk_without_the_space_is_refused_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10 ** 9, 10 ** 9 - 1000, 1000))
    code = cli.main(["train", "gaussian", "--steps", "3", "--out", str(tmp_path / "run"), "--quiet"])
    assert_refused_and_nothing_written(code, capsys.readouterr().err, "disk space", tmp_path, [])


# Values for each field of a small, fast config: good ones (it trains) and bad ones (it must be refused).
TYPO = st.text(alphabet="abcxyz_", min_size=1, max_size=6)
NOT_FINITE = st.sampled_from([float("nan"), float("inf"), -float("inf")])
GOOD = {
    "dataset": st.sampled_from(["gaussian", "uniform", "mixture1d"]),
    "latent": st.sampled_from(["normal", "uniform"]),
    "latent_dim": st.integers(1, 3),
    "g_hidden": st.lists(st.integers(1, 8), max_size=2),
    "d_hidden": st.lists(st.integers(1, 8), max_size=2),
    "g_activation": st.sampled_from(sorted(tg.nn.layers.ACTIVATIONS)),
    "loss": st.sampled_from(sorted(tg.losses.LOSSES)),
    "penalty": st.sampled_from([None, "r1", "r2", "gp"]),
    "penalty_weight": st.floats(0, 10),
    "penalty_every": st.integers(1, 3),
    "k": st.integers(1, 2),
    "clip_value": st.none() | st.floats(0.01, 1),
    "ema": st.none() | st.floats(0.5, 0.999),
    "optimizer": st.sampled_from(["adam", "rmsprop", "sgd"]),
    "lr_g": st.floats(1e-5, 1e-2),
    "betas": st.lists(st.floats(0, 0.99), min_size=2, max_size=2),
    "lr_drop_at": st.none() | st.floats(0, 1),
    "lr_drop_factor": st.floats(0.01, 1),
    "batch_size": st.integers(2, 16),
    "steps": st.integers(1, 3),
    "seed": st.integers(0, 10 ** 6),
    "dtype": st.sampled_from(["float32", "float64"]),
    "eval_every": st.integers(0, 3),
    "eval_samples": st.integers(10, 50),
    "log_every": st.integers(1, 4),
}
BAD = {
    "dataset": TYPO | st.integers(),
    "dataset_options": st.sampled_from([{"bogus": 1}, {"std": -1.0}, {"mean": "abc"}, [1, 2], "x"]),
    "latent": TYPO,
    "latent_dim": st.sampled_from([0, -1, 1.5, "2", True, 10 ** 12]),
    "g_hidden": st.sampled_from([[0], [-5], "abc", [1e6], [True], 7, [10 ** 7, 10 ** 7]]),
    "d_hidden": st.sampled_from([[0, 4], [2.5], "x", [10 ** 7, 10 ** 7]]),
    "g_activation": TYPO,
    "loss": TYPO,
    "penalty": TYPO,
    "penalty_weight": st.floats(max_value=-1e-9) | NOT_FINITE | st.sampled_from(["1", None]),
    "penalty_every": st.integers(max_value=0) | st.just(2.5),
    "k": st.integers(max_value=0) | st.just(1.0),
    "clip_value": st.floats(max_value=0) | NOT_FINITE,
    "ema": st.floats(max_value=0) | st.floats(min_value=1) | NOT_FINITE,
    "optimizer": TYPO,
    "lr_g": st.floats(max_value=0) | NOT_FINITE | st.just("0.1"),
    "lr_d": st.floats(max_value=0) | NOT_FINITE,
    "betas": st.sampled_from([[2, -1], [0.5], "x", [float("nan"), 0.9], [0.5, 1.0]]),
    "lr_drop_at": st.floats(max_value=-1e-9) | st.floats(min_value=1.000001) | NOT_FINITE,
    "lr_drop_factor": st.floats(max_value=0) | st.floats(min_value=1.000001) | NOT_FINITE,
    "batch_size": st.integers(max_value=0) | st.sampled_from([2.5, 10 ** 12]),
    "steps": st.integers(max_value=0) | st.sampled_from([1.5, 10 ** 13]),
    "seed": st.integers(max_value=-1) | st.just(1.5),
    "device": TYPO | st.just(3),
    "dtype": st.sampled_from(["float16", "int32", "double"]),
    "eval_every": st.integers(max_value=-1),
    "eval_samples": st.integers(max_value=1) | st.just(10 ** 12),
    "log_every": st.integers(max_value=0),
}
BASE = train.preset("gaussian", g_hidden=(4,), d_hidden=(4,), steps=2, batch_size=8, eval_every=1, eval_samples=20,
                    log_every=1)


@st.composite
def drawn_configs(draw):
    """The small config with one or two fields drawn, each a good or a bad value; and whether all are good."""
    fields, field_is_good = json.loads(BASE.to_json()), {}
    for _ in range(draw(st.integers(1, 2))):
        good = draw(st.integers(0, 9)) >= 7         # mostly bad: a good config trains and draws (seconds)
        name = draw(st.sampled_from(sorted(GOOD if good else BAD)))
        fields[name] = draw((GOOD if good else BAD)[name])
        field_is_good[name] = good                  # a second draw of the same field replaces the first
    return fields, all(field_is_good.values())


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(drawn=drawn_configs())
@example(drawn=(json.loads(BASE.to_json()), True))               # one that trains, whatever the profile draws
def test_a_config_trains_or_is_refused_in_one_line_with_nothing_written(tmp_path_factory, drawn):
    """Drawn configs, good and bad: either the run trains (exit 0, the config it wrote is the one given), or the
    command says what is wrong in one line naming a field, exits with 2 and writes nothing."""
    fields, all_good = drawn
    where = tmp_path_factory.mktemp("drawn")
    (where / "config.json").write_text(json.dumps(fields))
    out = where / "run"
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["train", "--config", str(where / "config.json"), "--out", str(out), "--quiet"])
    if code == 0:
        assert all_good, fields
        assert train.TrainConfig.from_json((out / "config.json").read_text()) == \
            train.TrainConfig.from_json(json.dumps(fields))
        assert json.loads((out / "metrics.json").read_text())["step"] == fields["steps"]
    else:
        assert not all_good, (fields, stderr.getvalue())
        lines = stderr.getvalue().strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("tinygan: error: "), stderr.getvalue()
        assert sorted(os.listdir(where)) == ["config.json"]
        assert any(name in lines[0] for name in fields), lines[0]


# ---------------------------------------------------------------------------------------------------------------
# outputs other tools read, and files that are not a run's
# ---------------------------------------------------------------------------------------------------------------

def test_sample_never_overwrites_a_runs_own_files_and_refuses_a_folder(ring_run, tmp_path):
    out, _ = ring_run
    history = (out / "history.csv").read_bytes()
    assert_usage_error(run_cli("sample", str(out), "--out", str(out / "history.csv")), "history.csv",
                       "a file of the run folder")
    assert (out / "history.csv").read_bytes() == history
    assert_usage_error(run_cli("sample", str(out), "--out", str(tmp_path)), "is a folder")
    (tmp_path / "d.npy").mkdir()
    assert_usage_error(run_cli("sample", str(out), "--out", str(tmp_path / "d.npy")), "is a folder")
    assert_usage_error(run_cli("sample", str(out), "--n", str(10 ** 12), "--out", str(tmp_path / "s.npy")),
                       "--n 1000000000000", "memory")
    assert not (tmp_path / "s.npy").exists()


def test_a_checkpoint_holding_a_list_is_one_line_for_every_command(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text(train.preset("gaussian", steps=5).to_json())
    tg.save([1, 2, 3], str(out / "checkpoint.safetensors"))
    assert_usage_error(run_cli("sample", str(out), "--out", str(tmp_path / "s.npy")), "holds a list")
    assert_usage_error(run_cli("plot", str(out)), "holds a list")
    assert_usage_error(run_cli("train", "gaussian", "--steps", "5", "--out", str(out)), "holds a list")


def test_divergence_advice_is_a_command_that_runs(tmp_path, capsys):
    """A run that diverges (SGD with a learning rate of 1e30) says what happened and gives a command line that
    trains with lower learning rates: a valid command, not a method of the Python API."""
    config = train.preset("gaussian", g_hidden=(4,), d_hidden=(4,), steps=20, batch_size=8, optimizer="sgd",
                          lr_g=1e30, lr_d=1e30, eval_every=0, log_every=5)
    (tmp_path / "wild.json").write_text(config.to_json())
    out = tmp_path / "run"
    assert cli.main(["train", "--config", str(tmp_path / "wild.json"), "--out", str(out), "--quiet"]) == 1
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "training diverged at step" in error and "restore_last_good" not in error
    advice = error[error.index("tinygan train --config"):].split()
    assert advice[:3] == ["tinygan", "train", "--config"] and "--lr-g" in advice and "--lr-d" in advice
    lower = cli._config_from_arguments(cli.build_parser().parse_args(advice[1:]))
    assert lower.lr_g == pytest.approx(1e30 / 3, rel=1e-2) and lower.lr_d == pytest.approx(1e30 / 3, rel=1e-2)
    assert lower == dataclasses.replace(config, lr_g=lower.lr_g, lr_d=lower.lr_d)
    assert advice[advice.index("--out") + 1] == cli.default_folder(lower)
