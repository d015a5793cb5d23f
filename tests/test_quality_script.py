"""benchmarks/quality.py: its recipes and its --set parser (the benchmark itself is a script, run by hand)."""

import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks"))

import quality  # noqa: E402

from tinygan import losses, train  # noqa: E402

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks", "quality.py")


def test_parse_changes_reads_json_values_and_strings():
    changes = quality.parse_changes(["steps=30000", "latent=uniform", "g_hidden=[64, 64]", "lr_drop_at=null",
                                     "penalty_weight=0.5"])
    assert changes == {"steps": 30000, "latent": "uniform", "g_hidden": (64, 64), "lr_drop_at": None,
                       "penalty_weight": 0.5}


@pytest.mark.parametrize("assignment", ["step=3", "steps", "=3"])
def test_parse_changes_names_the_fields_on_a_bad_assignment(assignment):
    with pytest.raises(ValueError, match="expected FIELD=VALUE .*penalty_every"):
        quality.parse_changes([assignment])


def test_recipes_has_one_row_per_loss_and_both_wasserstein_constraints():
    rows = quality.recipes("grid", "all")
    assert next(iter(rows.values())) is train.PRESETS["grid"]
    assert rows["wasserstein-gp"].penalty == "gp" and rows["wasserstein-clip"].clip_value == 0.01
    others = {name for name in rows if not name.startswith(("preset", "wasserstein"))}
    assert others == set(losses.LOSSES) - {"wasserstein", train.PRESETS["grid"].loss}
    assert quality.recipes("ring", "preset").keys() == {"preset (nonsaturating)"}


def test_script_runs_a_changed_recipe_and_prints_the_table():
    result = subprocess.run([sys.executable, SCRIPT, "--dataset", "ring", "--seeds", "1", "--steps", "30",
                             "--set", "latent=uniform", "--set", "g_hidden=[16,16]", "--set", "d_hidden=[16]"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "recipes changed by --set: {'latent': 'uniform', 'g_hidden': (16, 16), 'd_hidden': (16,)}" in result.stdout
    assert "ring: 30 steps" in result.stdout
    assert "| preset (nonsaturating) |" in result.stdout
    assert "changed recipe (--set), every seed 8/8 modes" in result.stdout


def test_script_rejects_an_unknown_field():
    result = subprocess.run([sys.executable, SCRIPT, "--set", "stepz=3"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--set 'stepz=3'" in result.stderr
