"""Tests for tinygan.plots: snapshots measure the right things, round-trip through files, and every drawing function
writes a picture with a title, labelled axes and a legend. Small synthetic models and data throughout."""

import math

import numpy as np
import pytest

import tinygan as tg
from tinygan import plots, train

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def small_game(seed=0, data_dim=2, latent_dim=2):
    generator = tg.Generator(seed=seed)
    G = tg.nn.MLP(latent_dim, [8], data_dim, generator=generator)
    D = tg.nn.MLP(data_dim, [8], 1, generator=generator)
    return G, D


def snapshot_2d(loss="nonsaturating", step=0, manifold_size=5):
    G, D = small_game()
    return plots.snapshot_2d(G=G, D=D, data=tg.distributions.ring(), latent=tg.distributions.StandardNormal(2),
                             loss=loss, step=step, n=64, grid_size=16, manifold_size=manifold_size)


def snapshot_1d(step=0, latent=None, loss="nonsaturating"):
    latent = latent or tg.distributions.UniformPrior(1, -2.0, 2.0)
    G, D = small_game(data_dim=1, latent_dim=latent.dim)
    return plots.snapshot_1d(G=G, D=D, data=tg.distributions.Gaussian(1.0, 0.5), latent=latent, step=step,
                             loss=loss, grid_size=100, n_latent=500, n_arrows=7)


def integral(y, x):
    """The trapezoidal rule (numpy.trapezoid is numpy >= 2 only)."""
    return float(((y[1:] + y[:-1]) / 2 * np.diff(x)).sum())


def assert_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 1000


def assert_readable(figure):
    """A title, and every main axes with axis labels and (on it or the figure) a legend."""
    assert figure._suptitle is not None and figure._suptitle.get_text()
    axes = [ax for ax in figure.axes if ax.get_label() != "<colorbar>"]
    labelled = [ax for ax in axes if ax.get_xlabel() or ax.get_ylabel()]
    assert labelled
    for ax in axes:
        # a panel without labels must be a twin of a labelled one, or an inner panel of a grid of equal panels
        # whose outer panels carry the labels
        size = ax.get_position().size
        assert ax in labelled or any(np.allclose(other.get_position().size, size) for other in labelled), \
            f"axes {ax.get_title()!r} has no axis labels"
    assert figure.legends or any(ax.get_legend() is not None for ax in axes)


# ---------------------------------------------------------------------------------------------------------------
# snapshots
# ---------------------------------------------------------------------------------------------------------------


def test_snapshot_2d_holds_host_arrays_of_the_documented_shapes():
    snapshot = snapshot_2d()
    assert snapshot["kind"] == "2d" and snapshot["d_output"] == "probability" and snapshot["step"] == 0
    for key, shape in [("real", (64, 2)), ("fake", (64, 2)), ("arrows", (64, 2)), ("d_grid", (16, 16)),
                       ("manifold", (5, 5, 2))]:
        assert isinstance(snapshot[key], np.ndarray) and snapshot[key].shape == shape, key
    assert ((snapshot["d_grid"] >= 0) & (snapshot["d_grid"] <= 1)).all()
    xmin, xmax, ymin, ymax = snapshot["bounds"]
    assert xmin < -1 < 1 < xmax and ymin < -1 < 1 < ymax      # the ring fits in the picture


def test_snapshot_2d_is_reproducible_and_critic_losses_keep_raw_values():
    assert all(np.array_equal(a, b) for a, b in zip(snapshot_2d()["fake"], snapshot_2d()["fake"]))
    critic = snapshot_2d(loss="wasserstein")
    assert critic["d_output"] == "critic"
    assert critic["d_grid"].shape == (16, 16)


@pytest.mark.parametrize("loss", ["nonsaturating", "minimax", "wasserstein", "hinge", "lsgan", "rsgan", "ragan"])
def test_generator_arrows_point_toward_where_the_discriminator_says_real(loss):
    # D's logit is highest at c: every generator loss pushes fake samples up the logit, so toward c
    centre = tg.tensor([[1.0, -0.5]])

    def D(x):
        difference = x - centre
        return -(difference * difference).sum(axis=1)

    G, _ = small_game()
    snapshot = plots.snapshot_2d(G=G, D=D, data=tg.distributions.ring(), latent=tg.distributions.StandardNormal(2),
                                 loss=loss, n=32, grid_size=8, manifold_size=3)
    toward = centre.numpy() - snapshot["fake"]
    cosine = (snapshot["arrows"] * toward).sum(axis=1) / (np.linalg.norm(snapshot["arrows"], axis=1)
                                                          * np.linalg.norm(toward, axis=1))
    assert (cosine > 0.999).all()


def test_snapshot_2d_uses_a_trainers_parts_and_explicit_arguments_win():
    G, D = small_game()

    class FakeTrainer:
        data, latent, loss, step = tg.distributions.ring(), tg.distributions.StandardNormal(2), "hinge", 7

    trainer = FakeTrainer()
    trainer.G, trainer.D = G, D
    snapshot = plots.snapshot_2d(trainer, n=16, grid_size=4, manifold_size=2)
    assert snapshot["step"] == 7 and snapshot["loss"] == "hinge" and snapshot["d_output"] == "critic"
    assert plots.snapshot_2d(trainer, step=99, n=16, grid_size=4, manifold_size=2)["step"] == 99


def test_snapshot_2d_refuses_one_dimensional_data_and_missing_parts():
    G, D = small_game(data_dim=1, latent_dim=1)
    with pytest.raises(ValueError, match="two-dimensional"):
        plots.snapshot_2d(G=G, D=D, data=tg.distributions.Gaussian(0.0, 1.0), latent=tg.distributions.StandardNormal(1))
    with pytest.raises(ValueError, match="missing D"):
        plots.snapshot_2d(G=G, data=tg.distributions.ring(), latent=tg.distributions.StandardNormal(1))


def test_snapshot_1d_densities_integrate_to_one_and_d_star_is_the_formula():
    snapshot = snapshot_1d()
    x = snapshot["x"]
    assert snapshot["kind"] == "1d" and x.shape == (100,)
    assert integral(snapshot["p_data"], x) == pytest.approx(1.0, abs=1e-3)
    assert integral(snapshot["p_g"], x) == pytest.approx(1.0, abs=0.02)
    expected = snapshot["p_data"] / (snapshot["p_data"] + snapshot["p_g"])
    assert np.allclose(snapshot["d_star"], expected, atol=1e-6)
    assert ((snapshot["d"] > 0) & (snapshot["d"] < 1)).all()
    assert snapshot["z"].shape == snapshot["g_of_z"].shape == (7,)
    assert snapshot["bounds"][0] <= -2.0 and snapshot["bounds"][1] >= 2.0     # the latent range is on the axis


def test_snapshot_1d_generator_density_matches_an_affine_generator():
    # G(z) = 0.5 z + 1 with z ~ N(0, 1) has density N(1, 0.5^2)
    G = tg.nn.Linear(1, 1)
    with tg.no_grad():
        G.weight.fill_(0.5)
        G.bias.fill_(1.0)
    D = tg.nn.MLP(1, [4], 1, generator=tg.Generator(seed=0))
    snapshot = plots.snapshot_1d(G=G, D=D, data=tg.distributions.Gaussian(1.0, 0.5),
                                 latent=tg.distributions.StandardNormal(1), bounds=[-2.0, 4.0])
    assert np.abs(snapshot["p_g"] - snapshot["p_data"]).max() < 0.03
    assert np.abs(snapshot["d_star"][np.abs(snapshot["x"] - 1) < 1] - 0.5).max() < 0.03
    assert np.allclose(snapshot["g_of_z"], 0.5 * snapshot["z"] + 1, atol=1e-5)


def test_snapshot_1d_with_a_multidimensional_latent_samples_it():
    snapshot = snapshot_1d(latent=tg.distributions.StandardNormal(3))
    assert integral(snapshot["p_g"], snapshot["x"]) == pytest.approx(1.0, abs=0.05)


def test_snapshots_round_trip_through_a_file(tmp_path):
    snapshots = [snapshot_2d(step=s) for s in (0, 5)] + [snapshot_2d(manifold_size=0)] + [snapshot_1d()]
    path = tmp_path / "snapshots.safetensors"
    plots.save_snapshots(snapshots, path)
    loaded = plots.load_snapshots(path)
    assert len(loaded) == len(snapshots)
    for before, after in zip(snapshots, loaded):
        assert set(before) == set(after)
        for key, value in before.items():
            if isinstance(value, np.ndarray):
                assert isinstance(after[key], np.ndarray) and after[key].dtype == value.dtype
                np.testing.assert_array_equal(after[key], value)
            else:
                assert after[key] == value, key
    assert loaded[2]["manifold"] is None


# ---------------------------------------------------------------------------------------------------------------
# pictures
# ---------------------------------------------------------------------------------------------------------------


def test_plot_samples_2d_writes_a_readable_png(tmp_path):
    figure = plots.plot_samples_2d(snapshot_2d(), path=tmp_path / "one.png")
    assert_png(tmp_path / "one.png")
    assert figure.axes[0].get_title() == "step 0"
    assert figure.axes[0].get_xlabel() == "x1" and figure.axes[0].get_legend() is not None
    assert any(ax.get_label() == "<colorbar>" for ax in figure.axes)


def test_plot_samples_2d_draws_into_a_given_axes():
    figure = plots.plot_snapshots_2d([snapshot_2d()])  # any figure with an axes to draw into
    ax = figure.axes[0]
    assert plots.plot_samples_2d(snapshot_2d(loss="hinge"), ax=ax, colorbar=False, title="mine") is ax
    assert ax.get_title() == "mine"


def test_plot_snapshots_2d_grid_and_labels(tmp_path):
    snapshots = [snapshot_2d(step=s) for s in range(10)]
    figure = plots.plot_snapshots_2d(snapshots, tmp_path / "grid.png", max_panels=6, columns=3)
    assert_png(tmp_path / "grid.png")
    assert_readable(figure)
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert titles[0] == "step 0" and titles[-1] == "step 9" and len(titles) == 6
    figure = plots.plot_snapshots_2d(snapshots[:2], labels=["a", "b"])
    assert [ax.get_title() for ax in figure.axes if ax.get_title()] == ["a", "b"]


def test_plot_snapshots_2d_refuses_1d_snapshots_and_empty_lists():
    with pytest.raises(ValueError, match="2d"):
        plots.plot_snapshots_2d([snapshot_1d()])
    with pytest.raises(ValueError, match="no snapshots"):
        plots.plot_snapshots_2d([])


def test_animate_2d_writes_a_gif_with_one_frame_per_snapshot_and_holds_the_last(tmp_path):
    from PIL import Image

    snapshots = [snapshot_2d(step=s) for s in range(3)]
    path = plots.animate_2d(snapshots, tmp_path / "run.gif", fps=2, dpi=40)
    with Image.open(path) as image:
        assert image.format == "GIF"
        assert image.n_frames == 3                      # the held copies of the last frame merge into one
        durations = []
        for frame in range(image.n_frames):
            image.seek(frame)
            durations.append(image.info["duration"])
    assert durations == [500, 500, 1500]               # 2 frames per second; the last held one more second


def test_the_gif_is_the_picture_of_samples_png_with_its_colour_bar_and_a_readable_legend(tmp_path, monkeypatch):
    """Each frame is plot_samples_2d's picture at its size and resolution (the old GIF was 336 x 300 pixels, without
    the colour bar, its legend in 7-point type at 60 dpi: 6 pixels high); the last frame is samples.png's picture
    of the same snapshot, pixel for pixel apart from the level lines samples.png adds (drawn here without them)."""
    from PIL import Image, ImageChops

    frames = []
    canvas_image = plots._canvas_image

    def record(figure):
        legend = figure.axes[0].get_legend()
        frames.append(([ax.get_label() for ax in figure.axes], legend.get_texts()[0].get_fontsize()))
        return canvas_image(figure)
    monkeypatch.setattr(plots, "_canvas_image", record)
    snapshots = [snapshot_2d(step=s) for s in range(2)]
    plots.animate_2d(snapshots, tmp_path / "run.gif")
    still = plots.plot_samples_2d(snapshots[-1], path=tmp_path / "samples.png", contours=False,
                                  title=f"{snapshots[-1]['loss']} GAN: step 1")
    with Image.open(tmp_path / "run.gif") as gif, Image.open(tmp_path / "samples.png") as png:
        assert gif.size == png.size == (560, 480)
        gif.seek(1)
        difference = ImageChops.difference(gif.convert("RGB"), png.convert("RGB")).convert("L")
        changed = sum(count for value, count in enumerate(difference.histogram()) if value > 48)
    assert changed < 0.01 * 560 * 480, f"{changed} pixels of the GIF's last frame differ from samples.png"
    assert len(frames) == 2
    assert all("<colorbar>" in labels for labels, _ in frames)
    assert all(len(labels) == len(still.axes) == 2 for labels, _ in frames)
    assert all(size >= 8 for _, size in frames)


def test_plot_game_1d_writes_a_readable_png(tmp_path):
    snapshots = [snapshot_1d(step=s) for s in range(7)]
    figure = plots.plot_game_1d(snapshots, tmp_path / "game.png", max_panels=4)
    assert_png(tmp_path / "game.png")
    assert_readable(figure)
    assert [ax.get_title() for ax in figure.axes if ax.get_title()] == ["step 0", "step 2", "step 4", "step 6"]
    labels = [text.get_text() for text in figure.legends[0].get_texts()]
    assert any("data" in label for label in labels) and any("D*" in label for label in labels)


def test_plot_game_1d_of_a_critic_leaves_out_the_optimal_discriminator():
    figure = plots.plot_game_1d([snapshot_1d(loss="wasserstein")])
    labels = [text.get_text() for text in figure.legends[0].get_texts()]
    assert not any("D*" in label for label in labels)
    assert any(ax.get_ylabel() == "critic value D(x)" for ax in figure.axes)


def history_columns(steps=300, eval_every=50):
    nan = math.nan
    columns = {"step": list(range(1, steps + 1)),
               "loss_d": [math.log(4) + 0.1 * math.exp(-s / 50) for s in range(steps)],
               "loss_g": [math.log(2) + 0.3 * math.exp(-s / 50) for s in range(steps)],
               "penalty": [0.0] * steps,
               "d_real": [0.5 + 0.3 * math.exp(-s / 50) for s in range(steps)],
               "d_fake": [0.5 - 0.3 * math.exp(-s / 50) for s in range(steps)],
               "grad_norm_d": [1.0 + s for s in range(steps)], "grad_norm_g": [2.0] * steps}
    for name, value in (("modes_captured", 8.0), ("high_quality_fraction", 0.9), ("mmd2", 0.01)):
        columns[name] = [value if (s + 1) % eval_every == 0 else nan for s in range(steps)]
    return columns


def test_plot_curves_draws_every_recorded_measurement_with_equilibria(tmp_path):
    figure = plots.plot_curves({**history_columns(), "meta": {"loss": "nonsaturating"}}, tmp_path / "c.png",
                               n_modes=8)
    assert_png(tmp_path / "c.png")
    assert_readable(figure)
    titles = [ax.get_title() for ax in figure.axes]
    assert titles == ["Losses", "Discriminator outputs", "Gradient norms", "Modes captured", "Sample quality",
                      "Distance to the data"]
    losses_axes = figure.axes[0]
    labels = [text.get_text() for text in losses_axes.get_legend().get_texts()]
    assert "D at equilibrium: log 4" in labels and "G at equilibrium: log 2" in labels
    levels = [line.get_ydata()[0] for line in losses_axes.lines if line.get_linestyle() == ":"]
    assert levels == pytest.approx([math.log(4), math.log(2)])
    outputs = [text.get_text() for text in figure.axes[1].get_legend().get_texts()]
    assert "equilibrium 1/2" in outputs
    assert figure.axes[2].get_yscale() == "log"


@pytest.mark.parametrize("steps, eval_every", [(1, 1), (30, 30), (40, 500), (60000, 500)])
def test_curves_span_the_whole_run_and_show_every_evaluation(steps, eval_every):
    """Every panel runs from step 0 to the last step, whatever the run's length: a short run with one evaluation
    (at its last step, where the command line records its final metrics) shows that point on the run's own axis,
    not alone on an axis zoomed to [475, 525]."""
    columns = history_columns(steps, eval_every)
    # the final evaluation, which the command line records at the last step
    columns["modes_captured"][-1], columns["high_quality_fraction"][-1], columns["mmd2"][-1] = 0.0, 0.0, -0.002
    figure = plots.plot_curves(columns, n_modes=8, dim=2)
    for ax in figure.axes:
        low, high = ax.get_xlim()
        assert low <= 0 and steps <= high <= 1.1 * steps, (ax.get_title(), low, high)
    mmd_axes = figure.axes[5]
    (line,) = [line for line in mmd_axes.lines if line.get_label().startswith("MMD")]
    assert list(line.get_xdata()) == [s for s in range(1, steps + 1) if s % eval_every == 0 or s == steps][
        -len(line.get_xdata()):] and line.get_xdata()[-1] == steps
    assert mmd_axes.get_ylim()[0] < -0.002                          # the negative value is on the picture
    for ax in figure.axes[3:5]:                                     # and the points at 0 are not cut in half
        assert ax.get_ylim()[0] < 0


def test_mmd_panel_says_the_estimate_can_be_negative_and_references_fit_the_dimension():
    one, two = (plots.plot_curves(history_columns(), n_modes=2, dim=dim) for dim in (1, 2))
    labels = {dim: [text.get_text() for ax in figure.axes for text in ax.get_legend().get_texts()]
              for dim, figure in ((1, one), (2, two))}
    assert any("unbiased: dips below" in label for label in labels[1])
    assert "the data's own (0.997 in 1-D)" in labels[1] and not any("2-D" in label for label in labels[1])
    assert "the data's own (0.989 in 2-D)" in labels[2]
    assert plots.within_three_stds(1) == pytest.approx(math.erf(3 / math.sqrt(2)))
    assert plots.within_three_stds(2) == pytest.approx(1 - math.exp(-4.5))


def test_plot_curves_takes_a_trainer_history_and_skips_what_is_missing():
    history = train.History({"loss": "wasserstein", "d_output": "critic"})
    for step in range(1, 11):
        history.append({"step": step, "loss_d": -0.1 * step, "loss_g": 0.1 * step})
    figure = plots.plot_curves(history)
    assert [ax.get_title() for ax in figure.axes] == ["Losses"]
    labels = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert "D at equilibrium: 0" in labels and not any(label.startswith("G at") for label in labels)
    with pytest.raises(ValueError, match="holds none"):
        plots.plot_curves({"step": [1, 2]})


def test_equilibrium_values_are_the_losses_at_the_equilibrium():
    zeros = tg.zeros(16)
    for loss, (d_value, g_value) in plots.EQUILIBRIUM.items():
        # the optimal output at p_g = p_data: 1/2 for LSGAN, v* = 1 + log(p/q) = 1 for fgan-kl, logit 0 for the others
        outputs = zeros + {"lsgan": 0.5, "fgan-kl": 1.0}.get(loss, 0.0)
        assert tg.losses.discriminator_loss(outputs, outputs, kind=loss).item() == pytest.approx(d_value[0])
        if g_value is not None:
            value = tg.losses.generator_loss(outputs, kind=loss, real_logits=outputs).item()
            assert value == pytest.approx(g_value[0])


def test_plot_saturation_gradients_are_d_and_one_minus_d(tmp_path):
    figure = plots.plot_saturation(tmp_path / "s.png")
    assert_png(tmp_path / "s.png")
    assert_readable(figure)
    losses_axes, gradient_axes = figure.axes
    minimax, nonsaturating = gradient_axes.lines[:2]
    d = np.asarray(minimax.get_xdata())
    np.testing.assert_allclose(minimax.get_ydata(), d, atol=1e-9)              # |d log(1 - D) / d logit| = D
    np.testing.assert_allclose(nonsaturating.get_ydata(), 1 - d, atol=1e-9)    # |d -log D / d logit| = 1 - D
    np.testing.assert_allclose(losses_axes.lines[0].get_ydata(), np.log1p(-d), atol=1e-9)
    np.testing.assert_allclose(losses_axes.lines[1].get_ydata(), -np.log(d), atol=1e-9)


def test_plot_saturation_run_vector_fields_and_optimal_discriminator(tmp_path):
    runs = {kind: {"step": [1, 2, 3], "mean_g": [0.0, 0.1, 0.2], "d_fake": [1e-3, 1e-3, 1e-3],
                   "grad_norm_g": [1e-2, 1e-3, 1e-4], "samples": np.linspace(0, 1, 50)}
            for kind in ("minimax", "nonsaturating")}
    assert_readable(plots.plot_saturation_run(runs, 4.0, np.linspace(3, 5, 50), tmp_path / "run.png"))
    assert_png(tmp_path / "run.png")

    axis = np.linspace(-1, 1, 5)
    theta, psi = np.meshgrid(axis, axis)
    panel = {"name": "rotation", "grid": (axis, axis), "field": (psi, -theta),
             "trajectory": np.array([[1.0, 1.0], [0.5, 0.5], [0.1, 0.1]]), "xlabel": "theta", "ylabel": "psi"}
    assert_readable(plots.plot_vector_fields([panel, panel], tmp_path / "fields.png"))
    assert_png(tmp_path / "fields.png")

    snapshots = [snapshot_1d(step=s) for s in (1, 2)]
    values = {"steps": [1, 2], "V": [-1.0, -0.9], "target": -0.9}
    sweep = {"shift": [0.0, 1.0], "trained": [-1.38, -1.0], "theory": [-1.386, -1.0]}
    assert_readable(plots.plot_optimal_discriminator(snapshots, values, sweep, tmp_path / "optimal.png"))
    assert_png(tmp_path / "optimal.png")


def test_plot_ipm_comparison_draws_each_critic_and_each_distance(tmp_path):
    x = np.linspace(-4, 8, 50)
    density = np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
    critics = {"x": x, "p_real": density, "p_fake": density[::-1], "d_star": 1 / (1 + np.exp(4 * x - 8)),
               "critic_optimal": 2 - x, "witness": np.sin(x), "bandwidth": 1.0}
    sweep = {"shift": [0.0, 4.0, 8.0], "jsd": [0.0, 0.63, 0.69], "w1": [0.0, 4.0, 8.0], "mmd": [0.0, 1.0, 1.07]}
    figure = plots.plot_ipm_comparison(critics, sweep, tmp_path / "ipm.png")
    assert_readable(figure)
    assert_png(tmp_path / "ipm.png")
    main = [ax for ax in figure.axes if ax.get_xlabel()]
    assert len(main) == 6
    np.testing.assert_allclose(main[0].lines[0].get_ydata(), critics["d_star"])
    np.testing.assert_allclose(main[4].lines[0].get_ydata(), sweep["w1"])
    # with the measured curves and the sample estimates, each panel has one line more, labelled as asked
    critics.update(d_trained=critics["d_star"], critic_trained=2 - x, witness_samples=np.sin(x),
                   critic_trained_label="trained, slope -1")
    sweep.update(sample_shift=[0.0, 8.0], w1_samples=[0.1, 8.1], mmd_samples=[0.0, 1.0], marker=4.0)
    figure = plots.plot_ipm_comparison(critics, sweep)
    main = [ax for ax in figure.axes if ax.get_xlabel()]
    assert [len(ax.lines) for ax in main] == [2, 2, 2, 3, 3, 3]    # bottom: theory, samples or log 2, the marker
    assert main[1].lines[1].get_label() == "trained, slope -1"


def test_plot_comparison_2d_titles_runs_with_their_final_metrics(tmp_path):
    columns = history_columns()
    runs = [{"label": name, "snapshot": snapshot_2d(loss=name), "history": columns}
            for name in ("nonsaturating", "hinge", "lsgan")]
    figure = plots.plot_comparison_2d(runs, tmp_path / "compare.png", n_modes=8, columns=2)
    assert_png(tmp_path / "compare.png")
    assert_readable(figure)
    titles = [ax.get_title() for ax in figure.axes]
    assert "hinge\n8/8 modes, 90% high quality" in titles
    assert "Modes captured" in titles and "MMD^2 (lower is better)" in titles


def test_scaled_arrows_keep_directions_and_bound_lengths():
    arrows = np.array([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0], [0.0, -1000.0], [0.0, 0.0]])
    scaled = plots._scaled_arrows(arrows, [0.0, 10.0, 0.0, 10.0])
    norms = np.linalg.norm(scaled, axis=1)
    assert norms[:4].max() <= 2.0 * np.sort(norms[:4])[2] + 1e-9
    assert np.allclose(scaled[:4] / norms[:4, None], arrows[:4] / np.linalg.norm(arrows[:4], axis=1)[:, None])
    assert np.isfinite(scaled).all() and norms[4] == 0


def test_snapshots_follow_the_models_dtype():
    generator = tg.Generator(seed=0)
    G = tg.nn.MLP(2, [4], 2, generator=generator, dtype=tg.float64)
    D = tg.nn.MLP(2, [4], 1, generator=generator, dtype=tg.float64)
    snapshot = plots.snapshot_2d(G=G, D=D, data=tg.distributions.ring(), latent=tg.distributions.StandardNormal(2),
                                 n=16, grid_size=4, manifold_size=3)
    assert snapshot["fake"].dtype == np.float64 and snapshot["d_grid"].dtype == np.float64
    G1 = tg.nn.MLP(1, [4], 1, generator=generator, dtype=tg.float64)
    D1 = tg.nn.MLP(1, [4], 1, generator=generator, dtype=tg.float64)
    snapshot = plots.snapshot_1d(G=G1, D=D1, data=tg.distributions.Gaussian(0.0, 1.0),
                                 latent=tg.distributions.StandardNormal(1), grid_size=20, n_latent=100)
    assert np.isfinite(snapshot["p_g"]).all() and snapshot["d"].dtype == np.float64
