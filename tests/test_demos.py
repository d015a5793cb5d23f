"""Every demo runs in --quick mode and writes its pictures; the snapshots a demo saves can be loaded and redrawn."""

import os
import pathlib
import subprocess
import sys

import pytest

import tinygan as tg
from tinygan import plots

ROOT = pathlib.Path(__file__).resolve().parent.parent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# demo -> the pictures it writes into --out (PNG, or GIF for animations)
DEMOS = {
    "goodfellow_fig1.py": ["goodfellow_fig1.png", "curves.png"],
    "optimal_discriminator.py": ["optimal_discriminator.png"],
    "saturation.py": ["saturation_theory.png", "saturation.png"],
    "mode_collapse.py": ["mode_collapse_ring.png", "training_ring.png", "training_ring.gif", "curves_ring.png"],
    "dirac_gan.py": ["dirac_gan.png"],
    "gradient_penalty.py": ["gradient_penalty.png", "gradient_penalty_training.png"],
    "ipm.py": ["ipm.png"],
    "gmmn.py": ["gmmn_witness.png"],
    "conditional.py": ["conditional_ring.png", "conditional_grid.png"],
}


_runs = {}


def quick_run(name, tmp_path_factory):
    """(output folder, stdout) of demos/<name> --quick, run once per test session with this interpreter.

    The package is found from the repository. One BLAS thread: the networks are tiny, and on a small shared
    machine several BLAS threads per process make them many times slower."""
    if name not in _runs:
        out = tmp_path_factory.mktemp(name[:-3])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
                   MPLBACKEND="Agg", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        result = subprocess.run([sys.executable, str(ROOT / "demos" / name), "--quick", "--out", str(out)],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
        _runs[name] = out, result.stdout
    return _runs[name]


def test_every_demo_is_listed():
    scripts = [path.name for path in (ROOT / "demos").glob("*.py") if path.name != "autograd_tour.py"]
    assert sorted(DEMOS) == sorted(scripts)


@pytest.mark.parametrize("name", sorted(DEMOS))
def test_demo_quick_mode_writes_its_pictures(name, tmp_path_factory):
    out, stdout = quick_run(name, tmp_path_factory)
    assert "Done." in stdout
    for picture in DEMOS[name]:
        data = (out / picture).read_bytes()
        if picture.endswith(".gif"):
            assert data[:6] in (b"GIF87a", b"GIF89a"), f"{name}: {picture} is not a GIF"
        else:
            assert data[:8] == PNG_MAGIC, f"{name}: {picture} is not a PNG"
        assert len(data) > 5000, f"{name}: {picture} is nearly empty ({len(data)} bytes)"


def test_saved_snapshots_of_a_demo_reload_and_redraw(tmp_path, tmp_path_factory):
    out, _ = quick_run("goodfellow_fig1.py", tmp_path_factory)
    snapshots = plots.load_snapshots(out / "snapshots_1d.safetensors")
    assert [snapshot["step"] for snapshot in snapshots] == [0, 20, 40, 60]
    plots.plot_game_1d(snapshots, tmp_path / "game.png")
    assert (tmp_path / "game.png").read_bytes()[:8] == PNG_MAGIC

    out, _ = quick_run("mode_collapse.py", tmp_path_factory)
    snapshots = plots.load_snapshots(out / "ring_snapshots.safetensors")
    gan_losses = {name for name in tg.losses.LOSSES if not name.startswith("fgan-")}   # the f-GAN's are left out
    assert len(snapshots) == 7 and {snapshot["loss"] for snapshot in snapshots} == gan_losses
    plots.plot_snapshots_2d(snapshots, tmp_path / "ring.png")
    plots.animate_2d(snapshots[:2], tmp_path / "ring.gif", dpi=30)
    assert (tmp_path / "ring.png").read_bytes()[:8] == PNG_MAGIC
    assert (tmp_path / "ring.gif").read_bytes()[:6] == b"GIF89a"
