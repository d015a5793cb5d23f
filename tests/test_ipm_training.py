"""The IPM objectives (gmmn, mmd-gan, energy) and conditional GANs as the Trainer and the command line run them:
compiled and eager steps agree bit for bit, GMMN and energy make no discriminator step, a conditional run's
labels reach G and D, and bad input is refused before anything is written."""

import math
import os

import numpy as np
import pytest

import tinygan as tg
from tinygan import cli, plots, train
from tinygan.train import Trainer


def small_config(**changes):
    """A ring run with tiny networks, R1 on every 2nd D step (so that a dozen steps hold recorded steps of both
    kinds, with and without the penalty, and their replays)."""
    base = dict(g_hidden=(16, 16), d_hidden=(16, 16), batch_size=32, steps=14, eval_every=7, eval_samples=200,
                log_every=7, latent="normal", penalty_every=2, ema=0.99)
    base.update(changes)
    return train.preset("ring", **base)


NEW_RUNS = {
    "gmmn": dict(loss="gmmn", penalty=None),
    "energy": dict(loss="energy", penalty=None),
    "mmd-gan": dict(loss="mmd-gan", penalty="gp", penalty_weight=1.0),
    "fgan-kl": dict(loss="fgan-kl"),
    "conditional": dict(conditional=True),
    "conditional-gp-k2": dict(conditional=True, loss="wasserstein", penalty="gp", penalty_weight=0.1, k=2),
    "conditional-gmmn": dict(conditional=True, loss="gmmn", penalty=None),
    "conditional-mmd-gan": dict(conditional=True, loss="mmd-gan", penalty="gp", penalty_weight=1.0),
}


def _same(a, b):
    return len(a) == len(b) and all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b))


@pytest.mark.parametrize("name", sorted(NEW_RUNS))
def test_compiled_and_eager_trainers_agree_bit_for_bit(name):
    config = small_config(**NEW_RUNS[name])
    compiled, eager = Trainer.from_config(config), Trainer.from_config(config, compile=False)
    assert compiled.compile and not eager.compile
    compiled.train()
    eager.train()
    for column, values in compiled.history.columns.items():
        assert _same(values, eager.history.columns[column]), column
    assert math.isfinite(compiled.history.last("loss_g"))
    for model in ("G", "D", "G_ema"):
        for (key, a), (_, b) in zip(getattr(compiled, model).state_dict().items(),
                                    getattr(eager, model).state_dict().items()):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=f"{model}.{key}")


@pytest.mark.parametrize("loss", ["gmmn", "energy"])
def test_discriminator_free_losses_leave_d_untouched_and_its_columns_nan(loss):
    trainer = Trainer.from_config(small_config(loss=loss, penalty=None))
    before = {key: value.numpy().copy() for key, value in trainer.D.state_dict().items()}
    history = trainer.train()
    for key, value in trainer.D.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key])
    for column in ("loss_d", "d_real", "d_fake", "grad_norm_d", "penalty"):
        assert all(math.isnan(v) for v in history.columns[column]), column
    assert all(math.isfinite(v) and v > 0 for v in history.columns["grad_norm_g"])


def test_gmmn_loss_is_the_mmd_of_the_step():
    """The first step's loss_g is MMD(G(z), x) under the trainer's kernel, on the batch the step drew."""
    trainer = Trainer.from_config(small_config(loss="gmmn", penalty=None, ema=None), compile=False)
    G0 = tg.fast.FusedMLP(2, [16, 16], 2)
    G0.load_state_dict(trainer.G.state_dict())
    generator = tg.backend.Generator(tg.backend.derive_seed(trainer.seed, train.STEP_KEY, 1), "cpu")
    z = trainer.latent.sample(32, generator=generator)
    real = trainer.data.sample(32, generator=generator)
    trainer.train(1)
    expected = tg.losses.mmd(G0(z), real, tg.kernels.gaussian(list(train.TrainConfig().bandwidths)))
    assert trainer.history.last("loss_g") == pytest.approx(expected.item(), rel=1e-6)


def test_mmd_gan_critic_has_features_and_its_penalty_is_the_witness_penalty():
    trainer = Trainer.from_config(small_config(loss="mmd-gan", penalty="gp", penalty_weight=1.0, penalty_every=1))
    assert trainer.D(tg.zeros(3, 2)).shape == (3, train.MMD_GAN_FEATURES)
    history = trainer.train(4)
    assert all(v > 0 for v in history.columns["penalty"])
    assert all(v < 0 for v in history.columns["loss_d"][1:])   # the critic maximises MMD^2


def test_conditional_networks_take_one_hot_labels_and_sample_draws_one_mode():
    trainer = Trainer.from_config(small_config(conditional=True))
    assert trainer.G.state_dict()["net.0.weight"].shape[1] == 2 + 8
    assert trainer.D.state_dict()["net.0.weight"].shape[1] == 2 + 8
    trainer.train(2)
    a, b = trainer.sample(50, seed=1, label=3), trainer.sample(50, seed=1, label=4)
    assert a.shape == (50, 2) and not np.array_equal(a.numpy(), b.numpy())
    # G(z, y) is G on (z, one-hot y) side by side
    z = trainer.latent.sample(50, generator=tg.backend.Generator(1, "cpu"))
    labels = tg.distributions.one_hot(tg.tensor([3] * 50, dtype=tg.int64), 8)
    with tg.no_grad():
        np.testing.assert_array_equal(a.numpy(), trainer.G_ema(tg.cat([z, labels], axis=1)).numpy())


def test_one_hot_and_sample_components():
    labels = tg.tensor([2, 0, 1], dtype=tg.int64)
    np.testing.assert_array_equal(tg.distributions.one_hot(labels, 3).numpy(),
                                  [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    data = tg.distributions.get("gmm2d")
    counts = np.bincount(data.sample_components(20000, generator=tg.Generator(0)).numpy(), minlength=3)
    np.testing.assert_allclose(counts / 20000, [0.6, 0.3, 0.1], atol=0.01)
    # the labels sample_with_components gives are the components the points were drawn from
    x, components = tg.distributions.get("ring").sample_with_components(500, generator=tg.Generator(1))
    nearest = ((x.numpy()[:, None, :] - tg.distributions.get("ring").means.numpy()[None]) ** 2).sum(-1).argmin(1)
    np.testing.assert_array_equal(nearest, components.numpy())


@pytest.mark.parametrize("changes, message", [
    (dict(loss="gmmn", penalty="r1"), "penalty must be None"),
    (dict(loss="energy", penalty=None, k=2), "k must be 1"),
    (dict(loss="mmd-gan", penalty="r1"), "penalty 'gp'"),
    (dict(loss="gmmn", penalty=None, bandwidths=(0.5, -1.0)), "bandwidths"),
    (dict(loss="gmmn", penalty=None, bandwidths=()), "bandwidths"),
    (dict(dataset="moons", conditional=True), "conditional needs a dataset with modes"),
    (dict(conditional="yes"), "conditional must be true or false"),
])
def test_bad_configs_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        train.TrainConfig(**{**dict(dataset="ring"), **changes}).validate()


def test_sample_label_errors():
    trainer = Trainer.from_config(small_config(conditional=True))
    with pytest.raises(ValueError, match=r"label .* must be an integer in \[0, 7\], got 8"):
        trainer.sample(5, label=8)
    plain = Trainer.from_config(small_config())
    with pytest.raises(ValueError, match="unconditional run"):
        plain.sample(5, label=0)
    with pytest.raises(ValueError, match="conditional=True needs data with modes"):
        Trainer(plain.G, plain.D, plain.opt_G, plain.opt_D, tg.distributions.get("moons"), plain.latent,
                conditional=True)


@pytest.mark.parametrize("name", ["gmmn", "mmd-gan", "conditional"])
def test_snapshots_draw_the_new_games(name):
    trainer = Trainer.from_config(small_config(**NEW_RUNS[name]))
    trainer.train(2)
    snapshot = plots.snapshot_2d(trainer, G=trainer.sampling_generator, n=100, grid_size=16)
    assert np.isfinite(snapshot["d_grid"]).all() and np.isfinite(snapshot["arrows"]).all()
    assert snapshot["d_output"] == ("witness" if name != "conditional" else "probability")
    assert (snapshot["manifold"] is None) == (name == "conditional")


def test_cli_trains_gmmn_and_a_conditional_run_and_samples_a_label(tmp_path, capsys):
    os.chdir(tmp_path)
    assert cli.main(["train", "ring", "--loss", "gmmn", "--steps", "20", "--batch-size", "32", "--quiet",
                     "--out", "g"]) == 0
    assert train.TrainConfig.from_json((tmp_path / "g" / "config.json").read_text()).penalty is None
    assert cli.main(["train", "ring", "--conditional", "--steps", "20", "--batch-size", "32", "--quiet",
                     "--out", "c"]) == 0
    assert cli.main(["sample", "c", "--label", "5", "--n", "7", "--out", "five.npy"]) == 0
    assert np.load("five.npy").shape == (7, 2)
    capsys.readouterr()
    for arguments, message in [
            (["sample", "c", "--label", "8", "--out", "x.npy"], "--label must be a mode of the data, in [0, 7]"),
            (["sample", "g", "--label", "0", "--out", "x.npy"], "is not conditional"),
            (["train", "moons", "--conditional", "--out", "m"], "conditional needs a dataset with modes"),
            (["train", "ring", "--loss", "gmmn", "--penalty", "r1", "--out", "q"], "penalty must be None")]:
        assert cli.main(arguments) == 2
        error = capsys.readouterr().err
        assert message in error and error.count("\n") == 1
    assert not any(os.path.exists(name) for name in ("x.npy", "m", "q"))
