"""Run folders (tinygan/run_folder.py, driven by `tinygan train`): killed at any moment, a run resumes to exactly the
folder of an uninterrupted run; SIGTERM stops it like Ctrl-C; one writer at a time; resumes that keep the folder
true to its weights (a finished run left alone, no shortening, no length change past a learning-rate drop); write
failures in one line.

The runs are tiny (a 1-D Gaussian, networks of 8 units, 300 steps): a few seconds each, mostly the figures."""

import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import tinygan as tg
from tinygan import cli, plots, train

# the files of a run folder, by name (so that these tests say what they check on any version of the package)
CONFIG, CHECKPOINT, HISTORY = "config.json", "checkpoint.safetensors", "history.csv"
SNAPSHOTS, METRICS, LOCK = "snapshots.safetensors", "metrics.json", "tinygan.lock"

STEPS = 300      # checkpoints every 100 steps (log_every 10), a snapshot every 12
TINY = dict(g_hidden=(8, 8), d_hidden=(8, 8), steps=STEPS, batch_size=16, log_every=10, eval_every=50,
            eval_samples=200, lr_drop_at=0.8)
POSIX = pytest.mark.skipif(sys.platform == "win32", reason="signals to a child process are POSIX")


def tiny_config(**changes):
    return train.preset("gaussian", **{**TINY, **changes})


def write_config(path, config):
    path.write_text(config.to_json())
    return str(path)


def command(config_path, out, *extra):
    return [sys.executable, "-m", "tinygan", "train", "--config", config_path, "--out", str(out), "--quiet", *extra]


def environment():
    return dict(os.environ, OPENBLAS_NUM_THREADS="1")


def run(config_path, out, *extra):
    result = subprocess.run(command(config_path, out, *extra), capture_output=True, text=True, timeout=300,
                            env=environment())
    assert result.returncode == 0, result.stderr
    return result


def start(config_path, out, *extra):
    return subprocess.Popen(command(config_path, out, *extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=environment())


def wait_for(condition, process, what, timeout=120):
    deadline = time.time() + timeout
    while not condition():
        assert process.poll() is None, f"the run ended before {what}: {process.communicate()[1]}"
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def modified(path):
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return None


def checkpoint_step(out):
    return int(tg.load(str(out / CHECKPOINT))["step"]) if (out / CHECKPOINT).exists() \
        else None


def frames(out):
    return plots.load_snapshots(str(out / SNAPSHOTS))


def due_frames(upto):
    every = max(1, STEPS // cli.SNAPSHOTS_PER_RUN)
    return [s for s in range(upto + 1) if s % every == 0 or s == STEPS]


def assert_same_run(out, reference):
    """The history, the checkpoint (byte for byte) and the list of snapshot frames are those of ``reference``."""
    for name in (HISTORY, CHECKPOINT, CONFIG):
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name
    got, expected = frames(out), frames(reference)
    assert [f["step"] for f in got] == [f["step"] for f in expected] == due_frames(STEPS)
    for a, b in zip(got, expected):
        for key in a:
            assert (a[key] == b[key]).all() if hasattr(a[key], "shape") else a[key] == b[key], (a["step"], key)
    metrics, reference_metrics = (json.loads((folder / METRICS).read_text()) for folder in
                                  (out, reference))
    metrics.pop("seconds"), reference_metrics.pop("seconds")
    assert metrics == reference_metrics


def assert_folder_true_to_its_checkpoint(out):
    """Whatever the moment of the kill: config.json describes the run, and every frame due up to the checkpoint's
    step is in snapshots.safetensors (with a checkpoint)."""
    assert train.TrainConfig.from_json((out / CONFIG).read_text()) == tiny_config()
    step = checkpoint_step(out)
    if step is not None:
        assert set(due_frames(step)) <= {f["step"] for f in frames(out)}


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """An uninterrupted run of the tiny config."""
    folder = tmp_path_factory.mktemp("straight")
    run(write_config(folder / "tiny.json", tiny_config()), folder / "run")
    return folder / "run", str(folder / "tiny.json")


@POSIX
def test_a_run_killed_at_any_moment_resumes_to_the_uninterrupted_run(straight, tmp_path):
    """kill -9 before the first checkpoint, just after one, and just after the snapshots of the next one were
    written (between them and the checkpoint, or while it is written); after each, the same command resumes; the
    last one finishes. The folder is then the uninterrupted run's, byte for byte."""
    reference, config_path = straight
    out = tmp_path / "run"
    checkpoint, snapshots = out / CHECKPOINT, out / SNAPSHOTS
    moments = [("before the first checkpoint", lambda: (out / CONFIG).exists()),
               ("just after the first checkpoint", lambda: checkpoint.exists())]
    for what, condition in moments:
        process = start(config_path, out)
        wait_for(condition, process, what)
        process.kill()
        process.wait()
        assert_folder_true_to_its_checkpoint(out)
    assert checkpoint_step(out) == 100, "the second run was killed after its first checkpoint"

    # the third run resumes at step 100; kill it as soon as it has written the snapshots of step 200
    before = modified(snapshots)
    process = start(config_path, out)
    wait_for(lambda: modified(snapshots) != before, process, "the snapshots of the next checkpoint")
    process.kill()
    process.wait()
    assert_folder_true_to_its_checkpoint(out)
    assert (out / LOCK).exists()                 # left behind by the killed process

    result = run(config_path, out)
    assert "continuing the run" in result.stderr
    assert_same_run(out, reference)
    assert not (out / LOCK).exists()


@POSIX
def test_sigterm_stops_like_ctrl_c_and_the_run_resumes_exactly(straight, tmp_path):
    reference, config_path = straight
    out = tmp_path / "run"
    process = start(config_path, out)
    wait_for(lambda: (out / CHECKPOINT).exists(), process, "the first checkpoint")
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    assert "interrupted (SIGTERM)" in stderr and "Traceback" not in stderr
    step = checkpoint_step(out)
    assert 100 <= step < STEPS and step % TINY["log_every"] == 0          # the last checked state, written
    assert len(train.History.from_csv(out / HISTORY)) == step
    assert not (out / METRICS).exists()                     # not finished
    run(config_path, out)
    assert_same_run(out, reference)


@POSIX
def test_a_second_writer_is_refused_and_a_dead_writers_lock_is_taken_over(tmp_path):
    out = tmp_path / "run"
    # a long run whose first checkpoint is far away, so the folder holds config.json and the lock only
    config_path = write_config(tmp_path / "long.json", tiny_config(steps=10 ** 6, log_every=10 ** 4))
    first = start(config_path, out)
    lock = out / LOCK
    wait_for(lambda: lock.exists() and lock.read_text().strip() == str(first.pid), first, "the lock")
    second = subprocess.run(command(config_path, out), capture_output=True, text=True, timeout=120,
                            env=environment())
    assert second.returncode == 2
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and f"another tinygan process (PID {first.pid})" in lines[0], second.stderr
    first.kill()
    first.wait()
    assert lock.read_text().strip() == str(first.pid)            # a stale lock: its process is dead
    small = write_config(tmp_path / "small.json", tiny_config(steps=20))
    result = run(small, out)                                      # takes the lock over; restarts the run
    assert "restarting the run" in result.stderr
    assert checkpoint_step(out) == 20 and not lock.exists()


def test_the_lock_is_exclusive_within_a_process_too(tmp_path, capsys):
    from tinygan.run_folder import RunFolder, RunFolderError
    out = tmp_path / "run"
    with RunFolder(out):
        assert (out / LOCK).read_text().strip() == str(os.getpid())
        with pytest.raises(RunFolderError, match="another tinygan process"):
            with RunFolder(out):
                pass
        assert cli.main(["train", "gaussian", "--steps", "5", "--out", str(out), "--quiet"]) == 2
        assert "another tinygan process" in capsys.readouterr().err
    assert os.listdir(out) == []                                  # the lock goes with its holder


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny run (in this process: no subprocess start-up), which the tests using it leave unchanged."""
    folder = tmp_path_factory.mktemp("finished")
    config_path = write_config(folder / "tiny.json", tiny_config(steps=40))
    out = folder / "run"
    assert cli.main(["train", "--config", config_path, "--out", str(out), "--quiet"]) == 0
    return out, config_path


def snapshot_of_files(folder):
    return {name: (os.stat(folder / name).st_mtime_ns, (folder / name).read_bytes()) for name in os.listdir(folder)}


def test_rerunning_a_finished_run_does_nothing_and_says_so(finished, capsys):
    out, config_path = finished
    capsys.readouterr()
    before = snapshot_of_files(out)
    assert cli.main(["train", "--config", config_path, "--out", str(out), "--quiet"]) == 0
    assert "finished at step 40: nothing to do" in capsys.readouterr().out
    assert snapshot_of_files(out) == before                        # not one file rewritten


def test_fewer_steps_than_done_are_refused(finished, capsys):
    out, config_path = finished
    before = snapshot_of_files(out)
    assert cli.main(["train", "--config", config_path, "--out", str(out), "--quiet", "--steps", "25"]) == 2
    error = capsys.readouterr().err
    assert "trained to step 40" in error and "--steps 25" in error and len(error.strip().splitlines()) == 1
    assert snapshot_of_files(out) == before


def test_more_steps_past_a_learning_rate_drop_are_refused_with_how_to_start_the_longer_run(finished, capsys):
    out, config_path = finished                                    # 40 steps, the drop after step 32
    before = snapshot_of_files(out)
    assert cli.main(["train", "--config", config_path, "--out", str(out), "--quiet", "--steps", "60"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "drop after step 32" in error and "drops after step 48" in error
    assert f"tinygan train --config {out / 'config.json'} --steps 60 --out" in error
    assert snapshot_of_files(out) == before


def test_more_steps_without_a_drop_continue_the_run_as_the_longer_run(tmp_path):
    """Without a learning-rate drop (or before it), the steps done are those of the longer run: extended, the run
    is the longer run, but for the final evaluation of the shorter one, which its history keeps at its last step."""
    short = write_config(tmp_path / "short.json", tiny_config(steps=30, lr_drop_at=None))
    out, straight = tmp_path / "run", tmp_path / "straight"
    assert cli.main(["train", "--config", short, "--out", str(out), "--quiet"]) == 0
    assert cli.main(["train", "--config", short, "--out", str(out), "--quiet", "--steps", "50"]) == 0
    assert cli.main(["train", "--config", short, "--out", str(straight), "--quiet", "--steps", "50"]) == 0
    assert (out / "config.json").read_text() == (straight / "config.json").read_text()
    extended, longer = (train.History.from_csv(folder / "history.csv") for folder in (out, straight))
    for name, values in extended.columns.items():
        if name in train.History.METRIC_COLUMNS:
            assert values[:29] + values[30:] == longer.columns[name][:29] + longer.columns[name][30:], name
        else:
            assert values == longer.columns[name], name
    assert json.loads((out / "metrics.json").read_text())["step"] == 50


def test_a_run_stopped_while_drawing_its_figures_is_finished_without_training(tmp_path, capsys, monkeypatch):
    """Ctrl-C after the last checkpoint, while the figures are drawn: the folder holds the final checkpoint but no
    metrics.json (the mark of a finished run), and the same command draws and writes them, training nothing."""
    config_path = write_config(tmp_path / "tiny.json", tiny_config(steps=40))
    out = tmp_path / "run"

    def interrupted(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "draw_figures", interrupted)
    assert cli.main(["train", "--config", config_path, "--out", str(out), "--quiet"]) == 130
    assert checkpoint_step(out) == 40 and not (out / METRICS).exists()
    checkpoint = (out / CHECKPOINT).read_bytes()
    monkeypatch.undo()
    capsys.readouterr()
    assert cli.main(["train", "--config", config_path, "--out", str(out), "--quiet"]) == 0
    assert "figures and metrics were missing" in capsys.readouterr().out
    assert (out / CHECKPOINT).read_bytes() == checkpoint
    assert json.loads((out / METRICS).read_text())["step"] == 40 and (out / "game.png").exists()


def test_a_folder_holding_only_its_config_is_restarted(tmp_path, capsys):
    """What a run killed before its first checkpoint leaves (or an old tinygan after a late config error)."""
    out = tmp_path / "run"
    out.mkdir()
    write_config(out / "config.json", tiny_config(steps=20, lr_g=5.0))      # another config: no weights to keep
    assert cli.main(["train", "gaussian", "--steps", "20", "--out", str(out), "--quiet"]) == 0
    assert "restarting the run" in capsys.readouterr().err
    assert train.TrainConfig.from_json((out / "config.json").read_text()) == train.preset("gaussian", steps=20)
    assert checkpoint_step(out) == 20


def test_a_write_that_fails_mid_run_ends_in_one_line_and_keeps_the_folder_true(tmp_path, capsys, monkeypatch):
    """The disk fills at the second checkpoint (history.csv cannot be written): one line, exit 2, and the folder
    still holds the first checkpoint with all its frames; with space again, the same command finishes the run."""
    config_path = write_config(tmp_path / "tiny.json", tiny_config())
    out = tmp_path / "run"
    real_write = tg.serialization._write_atomically       # every atomic write of the package goes through it
    history_writes = []

    def full_disk(path, chunks):
        if path.endswith(HISTORY):
            history_writes.append(path)
            if len(history_writes) == 2:
                raise OSError(errno.ENOSPC, "No space left on device", path)
        return real_write(path, chunks)
    monkeypatch.setattr(tg.serialization, "_write_atomically", full_disk)
    assert cli.main(["train", "--config", config_path, "--out", str(out), "--quiet"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "No space left on device" in error
    assert "checkpoint at step 100 is kept" in error
    assert checkpoint_step(out) == 100
    assert_folder_true_to_its_checkpoint(out)
    monkeypatch.setattr(tg.serialization, "_write_atomically", real_write)
    assert cli.main(["train", "--config", config_path, "--out", str(out), "--quiet"]) == 0
    assert checkpoint_step(out) == STEPS


def test_metrics_json_is_strict_json(tmp_path):
    """An undefined metric (NaN) is written as null, so that other languages' JSON parsers read the file: here
    mode_kl, undefined when no sample lies near a mode, as after two steps on the ring."""
    out = tmp_path / "ring"
    ring = train.preset("ring", g_hidden=(8,), d_hidden=(8,), steps=2, batch_size=8, eval_samples=100)
    assert cli.main(["train", "--config", write_config(tmp_path / "ring.json", ring), "--out", str(out),
                     "--quiet"]) == 0

    def refuse(name):
        raise ValueError(f"{name} in metrics.json")
    metrics = json.loads((out / METRICS).read_text(), parse_constant=refuse)
    assert metrics["step"] == 2 and metrics["modes_captured"] == 0 and metrics["mode_kl"] is None
