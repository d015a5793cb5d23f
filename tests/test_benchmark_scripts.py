"""benchmarks/quality.py and benchmarks/presets.py: their parts and tiny runs (the benchmarks themselves are
scripts, run by hand)."""

import dataclasses
import os
import subprocess
import sys

import numpy
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks"))

import presets  # noqa: E402
import quality  # noqa: E402

import tinygan as tg  # noqa: E402
from tinygan import losses, train  # noqa: E402

BENCHMARKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks")
SCRIPT = os.path.join(BENCHMARKS, "quality.py")


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
                             "--first-seed", "3",
                             "--set", "latent=uniform", "--set", "g_hidden=[16,16]", "--set", "d_hidden=[16]"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "seeds 3..3" in result.stdout and "| seed 3: " in result.stdout
    assert "recipes changed by --set: {'latent': 'uniform', 'g_hidden': (16, 16), 'd_hidden': (16,)}" in result.stdout
    assert "ring: 30 steps" in result.stdout
    assert "| preset with --set (nonsaturating) |" in result.stdout
    assert "changed recipe (--set), every seed 8/8 modes" in result.stdout


def test_ipm_rows_and_a_conditional_run_with_its_label_accuracy():
    rows = quality.recipes("ring", "ipm")
    assert list(rows) == ["preset (nonsaturating)", "gmmn", "energy", "mmd-gan", "fgan-js", "fgan-kl",
                          "fgan-hellinger"]
    assert rows["gmmn"].penalty is None and rows["mmd-gan"].penalty == "gp"
    for config in rows.values():
        config.validate()
    result = subprocess.run([sys.executable, SCRIPT, "--dataset", "ring", "--seeds", "1", "--steps", "12",
                             "--losses", "ipm", "--rows", "gmmn", "--conditional",
                             "--set", "g_hidden=[16,16]", "--set", "d_hidden=[16]"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "label accuracy worst mode" in result.stdout and "| gmmn |" in result.stdout
    assert "| label accuracy, worst mode |" in result.stdout and "PASS" not in result.stdout
    result = subprocess.run([sys.executable, SCRIPT, "--losses", "ipm", "--rows", "gmmm"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "--rows: no row gmmm" in result.stderr


def test_script_rejects_an_unknown_field():
    result = subprocess.run([sys.executable, SCRIPT, "--set", "stepz=3"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--set 'stepz=3'" in result.stderr


def test_presets_measure_reports_the_metrics_each_dataset_has():
    mixture = presets.measure(train.preset("mixture1d", steps=5, eval_every=0))
    assert set(mixture) == {"seconds", "mmd2", "mmd2_data", "js", "js_data", "modes", "n_modes", "hq"}
    assert mixture["n_modes"] == 2 and 0 <= mixture["hq"] <= 1
    # the data-vs-data references are what a perfect generator scores: near 0, and below an untrained generator's
    assert abs(mixture["mmd2_data"]) < 0.01 and mixture["js_data"] < mixture["js"]
    moons = presets.measure(train.preset("moons", steps=5, eval_every=0, g_hidden=(8,), d_hidden=(8,)))
    assert set(moons) == {"seconds", "mmd2", "mmd2_data"}      # no closed-form density, no modes


def test_presets_box_holds_every_point_with_a_margin():
    a = tg.tensor([[0.0, 1.0], [2.0, 3.0]])
    b = tg.tensor([[-1.0, 1.5]])
    (low0, high0), (low1, high1) = presets._box(a, b)
    assert (low0, high0, low1, high1) == pytest.approx((-1.3, 2.3, 0.8, 3.2))
    assert presets._box(tg.tensor([1.0, 2.0])) == pytest.approx((0.9, 2.1))


def test_presets_script_prints_a_row_per_dataset():
    result = subprocess.run([sys.executable, os.path.join(BENCHMARKS, "presets.py"), "--quick", "--datasets",
                             "gaussian", "gmm2d"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "| gaussian | 100 |" in result.stdout and "| gmm2d | 100 |" in result.stdout


def test_recipe_benchmark_times_the_trainer_its_bare_step_and_its_draws(monkeypatch):
    """recipe.py --trainer's measurement: four positive times per step, the evaluation it times alone is one
    Trainer.evaluate a window (these windows of 3 steps hold none of the trainer's own, every 500 steps), and the
    draws it times alone are the trainer's own (Trainer._random_numbers: a data batch and latent batches of the
    config's batch size)."""
    import recipe
    problem = small_problem("shared-64")
    evaluations, evaluate = [], train.Trainer.evaluate
    monkeypatch.setattr(train.Trainer, "evaluate", lambda self: evaluations.append(self.step) or evaluate(self))
    trained, bare, draws, evaluation = recipe.time_trainer(problem, steps=3, repeats=2)
    assert trained > 0 and bare > 0 and draws > 0 and evaluation > 0
    assert len(evaluations) == 2
    batches, (real, _, z), penalized = train.Trainer.from_config(problem.config)._random_numbers(1)
    assert real.shape == (32, 2) and z.shape == (32, problem.config.latent_dim) and penalized == (True,)
    assert len(batches) == 1 and batches[0][0] is real


def test_recipe_benchmark_times_a_trained_state_against_the_initial_one():
    """recipe.py --trained-state: two positive times per step, and the count of subnormal numbers among the Adam
    moments of the trained state, out of all of them (two per parameter number, of G and D)."""
    import recipe
    problem = small_problem("ring")
    fresh, trained, subnormal, total = recipe.time_trained_state(problem, steps=30, repeats=1, window=4)
    assert fresh > 0 and trained > 0
    numbers = sum(p.numel() for model in recipe.TinyganStep(problem, "x", True).trainer.players(None)
                  for p in model.parameters())
    assert total == 2 * numbers and 0 <= subnormal <= total


def test_recipe_benchmark_counts_the_subnormal_adam_moments():
    """--trained-state's count: the nonzero moments below the smallest normal float32, of G's and D's Adam (not
    the zeros, not the normal numbers)."""
    import recipe
    problem = small_problem("ring")
    step = recipe.warmed(recipe.TinyganStep(problem, "x", True))
    assert recipe.subnormal_moments(step.trainer)[0] == 0
    tiny = numpy.finfo(numpy.float32).tiny
    state_g = next(iter(step.trainer.opt_G.state.values()))
    state_d = next(iter(step.trainer.opt_D.state.values()))
    state_g["exp_avg_sq"].array.reshape(-1)[:3] = [tiny / 2, tiny, 0.0]      # one subnormal, a normal, a zero
    state_d["exp_avg"].array.reshape(-1)[:2] = [-tiny / 4, tiny / 2 ** 20]    # two subnormals
    assert recipe.subnormal_moments(step.trainer)[0] == 3


def test_recipe_benchmark_times_each_initial_window_from_the_initial_weights(monkeypatch):
    """--trained-state: each window of the initial side starts from the initial weights, past its recordings (it
    does not train on through the windows), and the trained side from where its last window ended."""
    import recipe
    problem = small_problem("ring")
    starts = []

    def time_window(impl, steps):
        starts.append((impl.name, impl.index, impl.trainer.G.state_dict()["net.0.weight"].numpy().copy()))
        for _ in range(steps):
            impl.step()
        return 1.0

    monkeypatch.setattr(recipe, "time_window", time_window)
    recipe.time_trained_state(problem, steps=30, repeats=3, window=5)
    warm = recipe.steps_past_recordings(problem)
    fresh = recipe.warmed(recipe.TinyganStep(problem, "x", True)).trainer.G.state_dict()["net.0.weight"].numpy()
    assert [(name, index) for name, index, _ in starts] == [("fresh", warm), ("trained", warm), ("fresh", warm),
                                                            ("trained", warm + 5), ("fresh", warm),
                                                            ("trained", warm + 10)]
    assert all((weights == fresh).all() for name, _, weights in starts if name == "fresh")
    assert not any((weights == fresh).all() for name, _, weights in starts if name == "trained")


def small_problem(recipe_name):
    """recipe.py's Problem for ``recipe_name`` with tiny networks (16 x 2) and batches of 32."""
    import recipe
    problem = recipe.Problem(recipe_name, 0)
    problem.config = dataclasses.replace(problem.config, g_hidden=(16, 16), d_hidden=(16, 16), batch_size=32)
    problem.batches = [tuple(array[:32] for array in batch) for batch in problem.batches]
    return problem


@pytest.mark.parametrize("recipe_name", ["shared-64", "ring"])
def test_recipe_benchmark_times_the_same_numbers_recorded_and_eager(recipe_name):
    """benchmarks/recipe.py's tinygan rows: the trainer's step replayed (calls 4 on) gives the eager step's history
    numbers bit for bit, lazy penalty steps included; and the agreement check passes on the tinygan rows."""
    import recipe
    problem = small_problem(recipe_name)
    recorded, eager = recipe.build(problem, ["tinygan", "tg-eager"])
    assert recipe.check([recorded, eager]) == []
    for _ in range(recipe.steps_past_recordings(problem)):
        recorded.step()
        eager.step()
        assert recorded.row() == eager.row()
    assert recorded.trainer._step_function.calls_replayed > 0


def test_recipe_benchmark_reads_a_tinygan_train_run():
    """recipe.py --presets (and ring8.py's first look) time `tinygan train` in a process and read its summary:
    the training and figure seconds within the whole, and the final metrics."""
    import engine
    run = engine.time_tinygan_train(["ring", "--steps", "20", "--batch-size", "32"])
    assert "error" not in run, run
    assert 0 < run["training"] < run["seconds"] and 0 < run["figures"] < run["seconds"]
    assert 0 <= run["modes_captured"] <= 8 and 0 <= run["high_quality_fraction"] <= 1
    assert run["command"].endswith("train ring --steps 20 --batch-size 32 --quiet --out <tmpdir>")
    failed = engine.time_tinygan_train(["ring", "--steps", "-3"])
    assert failed["error"].startswith("exit 2: tinygan: error:")


def test_recipe_benchmark_refuses_batches_where_they_do_not_apply_and_skips_the_targets(capsys):
    """--batches sizes the timed steps only: refused with the trainer's measurements, and with it the targets
    (set for the recipes' own batch sizes) are not judged."""
    import recipe
    with pytest.raises(SystemExit) as stopped:
        recipe.main(["--trainer", "--batches", "32"])
    assert stopped.value.code == 2 and "leave out --batches" in capsys.readouterr().err
    assert recipe.main(["--quick", "--recipes", "shared-64", "--implementations", "tinygan", "--batches", "32"]) == 0
    out = capsys.readouterr().out
    assert "[shared-64/32] check passed: tinygan agree" in out
    assert "none checked: they are for the recipes' own batch sizes, and --batches changed them" in out


def test_recipe_benchmark_refuses_a_presets_folder_that_holds_a_run(tmp_path, capsys):
    """A finished run in --presets-out would not train again (and would be timed as a PASS): refused, in one line."""
    import recipe
    (tmp_path / "ring").mkdir()
    with pytest.raises(SystemExit) as stopped:
        recipe.main(["--presets", "--presets-out", str(tmp_path), "--recipes", "ring"])
    assert stopped.value.code == 2
    assert "--presets-out" in capsys.readouterr().err
