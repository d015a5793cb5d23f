"""The trainer: Algorithm 1 step by step, history, determinism, resume, the divergence guard, presets."""

import dataclasses
import math

import numpy as np
import pytest

import tinygan as tg
from tinygan import train
from tinygan.train import DivergenceError, History, Trainer, TrainConfig


def small_config(**changes):
    """A ring run with tiny networks: fast enough to train for a few dozen steps in a test. The latent and the
    penalty schedule are pinned (the ring preset's are a uniform latent and a lazy R1) because the hand-written
    Algorithm 1 below draws z ~ N(0, I) and applies its penalty on every D step."""
    base = dict(g_hidden=(16, 16), d_hidden=(16, 16), batch_size=32, steps=20, eval_every=10, eval_samples=200,
                log_every=5, latent="normal", penalty_every=1)
    base.update(changes)
    return train.preset("ring", **base)


def trainer_for(device="cpu", **changes):
    return Trainer.from_config(small_config(device=device, **changes))


# ---------------------------------------------------------------------------------------------------------------
# Algorithm 1, checked against the same loop written out by hand
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("loss, penalty, k", [("nonsaturating", None, 1), ("hinge", "r1", 2),
                                              ("wasserstein", "gp", 3), ("ragan", "r2", 1)])
def test_trainer_does_algorithm_1(loss, penalty, k):
    """Two steps of the trainer give bit-for-bit the parameters of Algorithm 1 written out here: k discriminator
    steps on fresh batches (fakes without a graph into G), then one generator step, each step drawing from the
    generator seeded by (seed, step)."""
    config = small_config(loss=loss, penalty=penalty, penalty_weight=0.5, k=k, ema=None, lr_drop_at=None,
                          lr_g=1e-3, lr_d=2e-3)
    trainer = Trainer.from_config(config)
    reference = Trainer.from_config(config)          # same seed: same initial weights
    G, D = reference.G, reference.D
    opt_G = tg.optim.Adam(G.parameters(), lr=1e-3, betas=config.betas)
    opt_D = tg.optim.Adam(D.parameters(), lr=2e-3, betas=config.betas)
    d_loss, g_loss = tg.losses.LOSSES[loss]
    data, latent = tg.distributions.ring(), tg.distributions.StandardNormal(2)

    for step in (1, 2):
        rng = tg.Generator(tg.backend.derive_seed(config.seed, train.STEP_KEY, step))
        for _ in range(k):
            real = data.sample(32, generator=rng)
            with tg.no_grad():
                fake = G(latent.sample(32, generator=rng))
            total = d_loss(D(real), D(fake))
            if penalty == "r1":
                total = total + tg.losses.r1_penalty(D, real, gamma=0.5)
            elif penalty == "r2":
                total = total + tg.losses.r2_penalty(D, fake, gamma=0.5)
            elif penalty == "gp":
                total = total + tg.losses.gradient_penalty(D, real, fake, generator=rng, weight=0.5)
            opt_D.zero_grad()
            total.backward()
            opt_D.step()
        fake = G(latent.sample(32, generator=rng))
        with tg.no_grad():
            real_logits = D(real)
        opt_G.zero_grad()
        g_loss(D(fake), real_logits).backward()
        opt_G.step()

    trainer.train(2)
    for module, expected in ((trainer.G, G), (trainer.D, D)):
        for (name, got), want in zip(module.named_parameters(), expected.parameters()):
            assert (got.numpy() == want.numpy()).all(), name
    assert trainer.step == 2 and len(trainer.history) == 2


def test_lazy_penalty_is_applied_every_nth_step_with_n_times_the_weight():
    history = trainer_for(penalty="r1", penalty_weight=0.5, penalty_every=3, k=1).train(6)
    penalties = history.columns["penalty"]
    assert [p > 0 for p in penalties] == [False, False, True, False, False, True]
    # the applied penalty is R1 with gamma = 3 * 0.5 (checked against a direct computation at step 3)
    config = small_config(penalty="r1", penalty_weight=0.5, penalty_every=3)
    trainer = Trainer.from_config(config)
    trainer.train(2)
    rng = tg.Generator(tg.backend.derive_seed(config.seed, train.STEP_KEY, 3))
    real = trainer.data.sample(32, generator=rng)
    expected = tg.losses.r1_penalty(trainer.D, real, gamma=1.5).item()
    trainer.train(3)
    assert trainer.history.columns["penalty"][2] == pytest.approx(expected, rel=1e-5)


def test_k_discriminator_steps_per_generator_step():
    # eager: a compiled step replays its recorded array calls and never calls opt.step again
    trainer = Trainer.from_config(small_config(k=3), compile=False)
    counts = {"D": 0, "G": 0}
    for key, opt in (("D", trainer.opt_D), ("G", trainer.opt_G)):
        original = opt.step

        def counting_step(original=original, key=key):
            counts[key] += 1
            return original()
        opt.step = counting_step
    trainer.train(4)
    assert counts == {"D": 12, "G": 4}


def test_generator_step_adds_no_gradient_to_the_discriminator():
    """D is frozen during G's step: after a whole step D's gradients are exactly those of its own loss (the G
    step's backward adds nothing to them), and requires_grad is back on."""
    config = small_config(penalty=None)
    trainer, reference = Trainer.from_config(config), Trainer.from_config(config)
    rng = tg.Generator(tg.backend.derive_seed(config.seed, train.STEP_KEY, 1))
    real = reference.data.sample(32, generator=rng)
    with tg.no_grad():
        fake = reference.G(reference.latent.sample(32, generator=rng))
    tg.losses.bce_discriminator_loss(reference.D(real), reference.D(fake)).backward()
    trainer.train(1)
    assert all(p.requires_grad for p in trainer.D.parameters())
    for got, want in zip(trainer.D.parameters(), reference.D.parameters()):
        assert (got.grad.numpy() == want.grad.numpy()).all()


# ---------------------------------------------------------------------------------------------------------------
# the history
# ---------------------------------------------------------------------------------------------------------------

def test_history_columns_and_values():
    trainer = trainer_for(steps=20, eval_every=10)
    history = trainer.train()
    assert len(history) == 20
    assert history.columns["step"] == [float(s) for s in range(1, 21)]
    for name in ("loss_d", "loss_g", "penalty", "d_real", "d_fake", "grad_norm_d", "grad_norm_g", "lr_d", "lr_g"):
        assert all(math.isfinite(v) for v in history.columns[name]), name
    for name in ("d_real", "d_fake"):                      # probabilities for the non-saturating loss
        assert all(0 < v < 1 for v in history.columns[name])
    assert history.meta == {"loss": "nonsaturating", "d_output": "probability"}
    steps, modes = history.recorded("modes_captured")
    assert steps == [10, 20] and all(0 <= m <= 8 for m in modes)
    assert history.recorded("mmd2")[0] == [10, 20]
    assert math.isnan(history.columns["high_quality_fraction"][0])
    # the penalty column is the R1 penalty of the preset, positive
    assert all(v > 0 for v in history.columns["penalty"])


def test_history_records_the_losses_the_step_computed():
    """loss_d and loss_g of step 1 are the losses of Algorithm 1's first step, recomputed from the initial state."""
    trainer = trainer_for(penalty=None, ema=None)
    G, D = trainer.G, trainer.D
    rng = tg.Generator(tg.backend.derive_seed(trainer.seed, train.STEP_KEY, 1))
    real = trainer.data.sample(32, generator=rng)
    with tg.no_grad():
        fake = G(trainer.latent.sample(32, generator=rng))
        loss_d = tg.losses.bce_discriminator_loss(D(real), D(fake)).item()
        d_real = tg.sigmoid(D(real)).mean().item()
    trainer.train(1)
    assert trainer.history.columns["loss_d"][0] == pytest.approx(loss_d, rel=1e-6)
    assert trainer.history.columns["d_real"][0] == pytest.approx(d_real, rel=1e-6)
    assert trainer.history.columns["penalty"][0] == 0.0


def test_critic_losses_record_raw_outputs():
    trainer = trainer_for(loss="wasserstein", penalty="gp", penalty_weight=1.0)
    history = trainer.train(3)
    assert history.meta["d_output"] == "critic"
    # the critic loss is mean f(fake) - mean f(real), so it equals d_fake - d_real exactly (raw critic values)
    for loss, real, fake in zip(history.columns["loss_d"], history.columns["d_real"], history.columns["d_fake"]):
        assert loss == pytest.approx(fake - real, rel=1e-5, abs=1e-6)


def test_gradient_norm_column_is_the_norm_of_the_last_gradient():
    trainer = trainer_for(penalty=None)
    trainer.train(1)
    norm = math.sqrt(sum(float((p.grad * p.grad).sum().item()) for p in trainer.G.parameters()))
    assert trainer.history.columns["grad_norm_g"][0] == pytest.approx(norm, rel=1e-5)


def test_history_files_round_trip(tmp_path):
    history = trainer_for().train()
    history.to_csv(tmp_path / "history.csv")
    history.to_json(tmp_path / "history.json")
    assert History.from_csv(tmp_path / "history.csv", meta=history.meta) == history
    assert History.from_json(tmp_path / "history.json") == history
    header = (tmp_path / "history.csv").read_text().splitlines()[0]
    assert header.split(",") == list(History.STEP_COLUMNS + History.METRIC_COLUMNS)


def test_history_equality_sees_one_changed_value():
    history = trainer_for().train(5)
    other = History.from_state_dict(history.state_dict())
    assert other == history
    other.columns["loss_g"][3] += 1e-7
    assert other != history


def test_history_from_csv_refuses_other_columns(tmp_path):
    (tmp_path / "h.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="columns"):
        History.from_csv(tmp_path / "h.csv")


# ---------------------------------------------------------------------------------------------------------------
# determinism and resume
# ---------------------------------------------------------------------------------------------------------------

def test_same_seed_same_history_other_seed_other_history():
    first, second = trainer_for(seed=3).train(), trainer_for(seed=3).train()
    assert first == second
    assert trainer_for(seed=4).train() != first


@pytest.mark.parametrize("changes", [{}, {"k": 2, "loss": "wasserstein", "penalty": "gp", "penalty_weight": 1.0},
                                     {"loss": "hinge", "penalty": None, "ema": None, "lr_drop_at": 0.3},
                                     {"loss": "gmmn", "penalty": None, "conditional": True},
                                     {"loss": "mmd-gan", "penalty": "gp", "penalty_weight": 1.0}])
def test_resume_from_checkpoint_gives_the_uninterrupted_history(tmp_path, changes):
    config = small_config(steps=30, **changes)
    straight = Trainer.from_config(config)
    straight.train()

    path = tmp_path / "run" / "checkpoint.safetensors"
    interrupted = Trainer.from_config(config, checkpoint_path=str(path))
    interrupted.train(13)                      # not a multiple of log_every or eval_every
    del interrupted
    resumed = Trainer.from_checkpoint(str(path))
    assert resumed.step == 13 and len(resumed.history) == 13
    resumed.train()
    assert resumed.history == straight.history
    for a, b in zip(resumed.sampling_generator.parameters(), straight.sampling_generator.parameters()):
        assert (a.numpy() == b.numpy()).all()


def test_checkpoint_holds_config_models_and_history(tmp_path):
    path = str(tmp_path / "c.safetensors")
    trainer = trainer_for()
    trainer.train(7)
    trainer.save_checkpoint(path)
    state = tg.load(path)
    assert state["step"] == 7
    assert TrainConfig.from_json(state["config"]) == trainer.config
    assert set(state) >= {"G", "D", "G_ema", "opt_G", "opt_D", "history"}
    assert state["history"]["columns"]["loss_d"].shape == (7,)


def test_from_checkpoint_needs_a_config(tmp_path):
    path = str(tmp_path / "c.safetensors")
    trainer = trainer_for()
    trainer.config = None
    trainer.save_checkpoint(path)
    with pytest.raises(ValueError, match="holds no config"):
        Trainer.from_checkpoint(path)


def test_load_state_dict_refuses_a_different_ema_setting():
    with_ema = trainer_for(ema=0.99)
    without = trainer_for(ema=None)
    with pytest.raises(ValueError, match="EMA"):
        without.load_state_dict(with_ema.state_dict())


# ---------------------------------------------------------------------------------------------------------------
# divergence, interruption
# ---------------------------------------------------------------------------------------------------------------

def nan_after(step_of_nan):
    """A ring sampler that returns NaN samples from the given (1-based) D-step call on: a diverging run."""
    ring = tg.distributions.ring()
    calls = {"n": 0}

    def sample(n, generator):
        calls["n"] += 1
        x = ring.sample(n, generator=generator)
        return x * float("nan") if calls["n"] >= step_of_nan else x
    return sample


def custom_trainer(data, **kwargs):
    gen = tg.Generator(0)
    G, D = tg.nn.MLP(2, [16], 2, generator=gen), tg.nn.MLP(2, [16], 1, generator=gen)
    options = dict(batch_size=16, log_every=5, eval_every=0)
    options.update(kwargs)
    return Trainer(G, D, tg.optim.Adam(G.parameters()), tg.optim.Adam(D.parameters()), data,
                   tg.distributions.StandardNormal(2), **options)


def test_divergence_names_the_step_and_keeps_the_last_good_state(tmp_path):
    path = str(tmp_path / "c.safetensors")
    trainer = custom_trainer(nan_after(12), checkpoint_path=path, checkpoint_every=5)
    with pytest.raises(DivergenceError, match="diverged at step 12") as caught:
        trainer.train(30)
    error = caught.value
    assert error.step == 12 and error.last_good_step == 10
    assert math.isfinite(error.last_finite["loss_d"])
    assert "last_good" in str(error) and path in str(error)
    assert trainer.last_good_state["step"] == 10
    assert tg.load(path)["step"] == 10                           # the file on disk is the good state
    trainer.restore_last_good()
    assert trainer.step == 10 and len(trainer.history) == 10
    assert all(math.isfinite(p.numpy().sum()) for p in trainer.G.parameters())


def test_divergence_in_a_parameter_is_caught():
    """An infinite weight of G makes the next step's losses NaN; one of the EMA generator, which no loss sees,
    is caught by the parameter check at the next host transfer (every log_every = 5 steps)."""
    trainer = custom_trainer(tg.distributions.ring(), ema=0.9)
    trainer.train(5)
    with tg.no_grad():
        trainer.G.net[0].weight.fill_(float("inf"))
    with pytest.raises(DivergenceError, match="diverged at step 6"):
        trainer.train(10)
    trainer.restore_last_good()
    with tg.no_grad():
        trainer.G_ema.net[0].weight.fill_(float("inf"))
    with pytest.raises(DivergenceError, match="diverged at step 10"):
        trainer.train(10)


def test_keyboard_interrupt_keeps_the_last_checkpoint(tmp_path):
    path = str(tmp_path / "c.safetensors")
    trainer = trainer_for()
    trainer.checkpoint_path = path

    def interrupt(t):
        if t.step == 8:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        trainer.train(20, callback=interrupt, callback_every=1)
    assert trainer.step == 5 and len(trainer.history) == 5     # back at the last checked state
    assert tg.load(path)["step"] == 5


# ---------------------------------------------------------------------------------------------------------------
# EMA, clipping, schedules, sampling
# ---------------------------------------------------------------------------------------------------------------

def test_ema_is_the_running_average_of_the_generator():
    trainer = trainer_for(ema=0.9)
    before = [p.numpy().copy() for p in trainer.G_ema.parameters()]
    trainer.train(1)
    beta = min(0.9, 2.0 / 11.0)
    for old, average, current in zip(before, trainer.G_ema.parameters(), trainer.G.parameters()):
        expected = beta * old + (1 - beta) * current.numpy()
        assert abs(average.numpy() - expected).max() < 1e-6
    assert trainer.sampling_generator is trainer.G_ema
    assert not any(p.requires_grad for p in trainer.G_ema.parameters())


def test_weight_clipping_keeps_critic_weights_in_range():
    trainer = trainer_for(loss="wasserstein", penalty=None, clip_value=0.01, optimizer="rmsprop", lr_d=5e-3)
    trainer.train(5)
    for p in trainer.D.parameters():
        assert abs(p.numpy()).max() <= 0.01 + 1e-9


def test_learning_rate_drop():
    trainer = trainer_for(steps=10, lr_drop_at=0.5, lr_drop_factor=0.1, lr_g=1e-3, lr_d=2e-3)
    history = trainer.train()
    assert history.columns["lr_g"][:5] == [pytest.approx(1e-3)] * 5
    assert history.columns["lr_g"][5:] == [pytest.approx(1e-4)] * 5
    assert history.columns["lr_d"][9] == pytest.approx(2e-4)


def test_sample_is_reproducible_and_has_the_data_shape():
    trainer = trainer_for()
    a, b = trainer.sample(50), trainer.sample(50)
    assert a.shape == (50, 2) and not a.requires_grad
    assert (a.numpy() == b.numpy()).all()
    assert not (trainer.sample(50, seed=1).numpy() == a.numpy()).all()


def test_any_sampler_callable_works_as_data():
    def sampler(n, generator):
        return tg.randn(n, 2, generator=generator) * 0.1 + 1.0
    trainer = custom_trainer(sampler, eval_every=5)
    history = trainer.train(5)
    assert math.isfinite(history.last("mmd2"))
    assert math.isnan(history.last("modes_captured"))          # no modes to count for a plain sampler


@pytest.mark.parametrize("loss", sorted(tg.losses.LOSSES))
def test_every_loss_trains_without_nan(loss):
    trainer = trainer_for(loss=loss, penalty="gp" if loss == "wasserstein" else None)
    history = trainer.train(6)
    assert all(math.isfinite(v) for v in history.columns["loss_g"])


# ---------------------------------------------------------------------------------------------------------------
# configs, presets, errors
# ---------------------------------------------------------------------------------------------------------------

def test_every_dataset_has_a_preset_that_trains():
    assert set(train.PRESETS) == set(tg.distributions.DATASETS)
    for name in train.PRESETS:
        config = train.preset(name, steps=2, g_hidden=(8,), d_hidden=(8,), batch_size=8, eval_every=2,
                              eval_samples=50)
        history = Trainer.from_config(config).train()
        assert len(history) == 2, name


def test_uniform_preset_spreads_its_samples_over_the_whole_interval():
    """The full `uniform` preset (4,000 steps of a tiny 1-D GAN, about 10 s) learns U[0, 1]: its samples cover the
    interval and nothing lands far outside it. (Before R1 and the EMA its generator sat in [0.6, 1.1].)"""
    trainer = Trainer.from_config(train.preset("uniform", eval_every=0, seed=0))
    trainer.train()
    samples = trainer.sample(2500).double()
    values = np.sort(samples.numpy().ravel())
    fifth, median, ninety_fifth = (values[int(q * len(values))] for q in (0.05, 0.5, 0.95))
    assert fifth < 0.15 and abs(median - 0.5) < 0.05 and ninety_fifth > 0.85
    assert values[0] > -0.05 and values[-1] < 1.05
    data = trainer.data.sample(1000, generator=tg.Generator(seed=1), dtype=tg.float64)
    assert tg.metrics.mmd2_unbiased(samples[:1000], data) < 0.005


def test_config_json_round_trip():
    config = train.preset("grid", seed=5, g_hidden=(32, 16))
    assert TrainConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError, match="unknown fields"):
        TrainConfig.from_json('{"bogus": 1}')


@pytest.mark.parametrize("changes, message", [
    ({"loss": "bogus"}, "unknown loss 'bogus'"),
    ({"penalty": "l2"}, "unknown penalty 'l2'"),
    ({"dataset": "mnist"}, "unknown dataset 'mnist'"),
    ({"k": 0}, "k must be an integer >= 1"),
    ({"steps": -1}, "steps must be an integer >= 1"),
    ({"lr_g": 0.0}, "lr_g must be a finite number > 0"),
    ({"device": "tpu"}, "tpu"),
    ({"optimizer": "lbfgs"}, "unknown optimizer"),
])
def test_bad_configs_are_refused_with_the_field_named(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**changes).validate()


def test_preset_refuses_unknown_names_and_fields():
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        train.preset("mnist")
    with pytest.raises(ValueError, match="unknown config fields"):
        train.preset("ring", stepz=3)
    assert train.preset("Swiss-Roll").dataset == "swiss_roll"


def test_trainer_argument_errors():
    gen = tg.Generator(0)
    G, D = tg.nn.MLP(2, [4], 2, generator=gen), tg.nn.MLP(2, [4], 1, generator=gen)
    args = (G, D, tg.optim.Adam(G.parameters()), tg.optim.Adam(D.parameters()), tg.distributions.ring(),
            tg.distributions.StandardNormal(2))
    with pytest.raises(ValueError, match="unknown loss"):
        Trainer(*args, loss="bce")
    with pytest.raises(ValueError, match="ema"):
        Trainer(*args, ema=1.5)
    with pytest.raises(ValueError, match="give the number of steps"):
        Trainer(*args).train()


def test_presets_are_frozen_dataclasses():
    with pytest.raises(dataclasses.FrozenInstanceError):
        train.PRESETS["ring"].steps = 1


# ---------------------------------------------------------------------------------------------------------------
# GPU
# ---------------------------------------------------------------------------------------------------------------

def test_training_on_the_device(device):
    trainer = trainer_for(device=device)
    history = trainer.train(10)
    assert next(iter(trainer.G.parameters())).device == tg.backend.as_device(device)
    assert all(math.isfinite(v) for v in history.columns["loss_d"])


def test_from_checkpoint_with_more_steps_follows_the_new_length(tmp_path):
    path = str(tmp_path / "c.safetensors")
    trainer = Trainer.from_config(small_config(steps=10, lr_drop_at=0.5), checkpoint_path=path)
    trainer.train()
    longer = Trainer.from_checkpoint(path, steps=40)
    assert longer.config.steps == 40 and longer.step == 10
    assert longer.lr_schedule.at == 20                         # the drop moves to half of the new length
    history = longer.train()
    assert len(history) == 40
    assert history.columns["lr_g"][10] == pytest.approx(small_config().lr_g)       # step 11: before the new drop
    assert history.columns["lr_g"][39] == pytest.approx(small_config().lr_g * small_config().lr_drop_factor)


def test_derive_seed_separates_keys_and_refuses_negatives():
    seeds = {tg.backend.derive_seed(0, train.STEP_KEY, step) for step in range(1, 1001)}
    assert len(seeds) == 1000 and all(0 <= s < 2 ** 63 for s in seeds)
    assert tg.backend.derive_seed(0, 1, 2) == tg.backend.derive_seed(0, 1, 2)
    assert tg.backend.derive_seed(0, 1, 2) != tg.backend.derive_seed(0, 2, 1)
    with pytest.raises(ValueError, match="non-negative"):
        tg.backend.derive_seed(0, -1)


def test_the_mmd2_column_is_the_unbiased_mmd2_of_1000_points_with_a_bandwidth_from_1000_pooled_points():
    trainer = train.Trainer.from_config(train.preset("ring", steps=3, eval_every=3, eval_samples=1500,
                                                     g_hidden=(16,), d_hidden=(16,)))
    trainer.train()
    fake = trainer.sample(1500)[:1000]
    generator = tg.backend.Generator(tg.backend.derive_seed(trainer.seed, train.EVAL_KEY, trainer.step, 1))
    real = trainer.data.sample(1500, generator=generator)[:1000]
    bandwidth = tg.metrics.median_heuristic(fake, real, max_points=1000)
    assert bandwidth != tg.metrics.median_heuristic(fake, real)       # 1,000 of the 2,000 pooled points
    assert trainer.history.last("mmd2") == tg.metrics.mmd2_unbiased(fake, real, bandwidth=bandwidth)
