"""The command line: train a GAN on a toy distribution and get a folder of pictures that explain the game.

    tinygan train                    # a first look: the ring, 5,000 steps of the shared 2-D recipe -> runs/first-look/
    tinygan train ring               # the full ring preset (60,000 steps) -> runs/ring/
    tinygan train grid --seed 3 --out runs/grid3
    tinygan train moons --loss hinge --steps 2000
    tinygan list                     # datasets, losses, presets
    tinygan sample runs/ring --n 1000 --out samples.npy     # (or .csv)
    tinygan plot runs/ring           # redraw the figures of a finished run
    tinygan --version

A run folder holds config.json (the exact TrainConfig: `tinygan train --config runs/ring/config.json` repeats the
run), checkpoint.safetensors (models, optimizers, history), history.csv, metrics.json (the final metrics),
snapshots.safetensors (what the pictures are drawn from) and the figures. Training into an existing run folder with
the same config continues that run from its checkpoint (Ctrl-C keeps the last checkpoint).

Bad arguments end with a one-line error on stderr and exit code 2.
"""

import argparse
import dataclasses
import json
import os
import sys
import time

from . import backend, distributions, losses, train
from .serialization import CheckpointError, write_bytes_atomically, write_text_atomically
from .version import __version__

CONFIG_FILE, CHECKPOINT_FILE, HISTORY_FILE = "config.json", "checkpoint.safetensors", "history.csv"
METRICS_FILE, SNAPSHOTS_FILE = "metrics.json", "snapshots.safetensors"
SNAPSHOTS_PER_RUN = 24          # frames of the GIF (plus the start)
FIRST_LOOK_STEPS = 5000         # `tinygan train` with no dataset: a GAN on the ring in about a minute
FIRST_LOOK_FOLDER = "first-look"


class UsageError(Exception):
    """A mistake in the command line: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):     # argparse prints the usage and exits; we want one line and our exit code
        raise UsageError(message)


def build_parser():
    parser = _Parser(prog="tinygan", description="Train GANs on toy distributions and draw what they do.")
    parser.add_argument("--version", action="version", version=f"tinygan {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("train", help="train a preset (ring by default) and write a run folder")
    run.add_argument("dataset", nargs="?", default=None,
                     help=f"one of: {', '.join(train.PRESETS)} (default: a first look at the ring, {FIRST_LOOK_STEPS} "
                          f"steps, or the --config's dataset)")
    run.add_argument("--config", help="a config.json of an earlier run: repeat it (other options override it)")
    run.add_argument("--loss", help=f"one of: {', '.join(losses.LOSSES)} (default: the preset's)")
    run.add_argument("--penalty", help="r1, r2, gp or none (default: the preset's)")
    run.add_argument("--penalty-weight", type=float, help="gamma of R1/R2, lambda of WGAN-GP")
    run.add_argument("--steps", type=int, help="generator steps (default: the preset's)")
    run.add_argument("--k", type=int, help="discriminator steps per generator step (default 1)")
    run.add_argument("--batch-size", type=int)
    run.add_argument("--device", help="cpu or cuda (default cpu)")
    run.add_argument("--seed", type=int, help="default 0")
    run.add_argument("--out", help="the run folder (default runs/DATASET)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--blas-threads", type=int, default=1,
                     help="threads for NumPy's matrix products (default 1: faster for networks this small)")

    commands.add_parser("list", help="datasets, losses and presets")

    sample = commands.add_parser("sample", help="draw samples from a run's generator into a .npy or .csv file")
    sample.add_argument("run", help="a run folder")
    sample.add_argument("--n", type=int, default=1000, help="number of samples (default 1000)")
    sample.add_argument("--out", required=True, help="FILE.npy or FILE.csv: an (n, dim) array")
    sample.add_argument("--seed", type=int, default=0)

    plot = commands.add_parser("plot", help="redraw the figures of a run folder")
    plot.add_argument("run", help="a run folder")
    return parser


def main(argv=None):
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise UsageError("choose a command: train, list, sample or plot (tinygan --help)")
        return {"train": command_train, "list": command_list, "sample": command_sample,
                "plot": command_plot}[args.command](args)
    except UsageError as error:
        print(f"tinygan: error: {error}", file=sys.stderr)
        return 2


# ---------------------------------------------------------------------------------------------------------------
# tinygan train
# ---------------------------------------------------------------------------------------------------------------

def command_train(args):
    if args.blas_threads < 1:
        raise UsageError(f"--blas-threads must be at least 1, got {args.blas_threads}")
    config = _config_from_arguments(args)
    out = args.out or _default_folder(config)
    trainer, snapshots = _open_run(out, config)
    from . import plots     # matplotlib loads only for commands that draw

    draw_snapshot = plots.snapshot_1d if trainer.data.dim == 1 else plots.snapshot_2d
    snapshot_every = max(1, config.steps // SNAPSHOTS_PER_RUN)
    bounds = snapshots[0]["bounds"] if snapshots else None
    if not snapshots:
        snapshots.append(draw_snapshot(trainer))
        bounds = snapshots[0]["bounds"]

    bar = _progress_bar(config.steps, trainer.step, args.quiet)
    started = time.perf_counter()

    def every_step(t):
        if t.step % snapshot_every == 0 or t.step == config.steps:
            # the generator users sample from (the weight average when the config has one), as metrics.json does
            snapshots.append(draw_snapshot(t, G=t.sampling_generator, bounds=bounds))
        if bar is not None:
            bar.update(t.step - bar.n)
            if t.step % t.log_every == 0 and len(t.history):
                bar.set_postfix(_progress_numbers(t), refresh=False)

    try:
        with backend.limit_blas_threads(args.blas_threads):
            trainer.train(callback=every_step, callback_every=1)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        print(f"\ninterrupted: the checkpoint at step {trainer.step} is kept in {out}; run the same command "
              f"to continue", file=sys.stderr)
        _write_run_files(out, trainer, snapshots, plots, draw=False)
        return 130
    except train.DivergenceError as error:
        if bar is not None:
            bar.close()
        print(f"tinygan: {error}", file=sys.stderr)
        trainer.restore_last_good()
        _write_run_files(out, trainer, snapshots, plots, draw=False)
        return 1
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - started
    final = _write_run_files(out, trainer, snapshots, plots, draw=True, seconds=seconds)
    print(f"trained {config.dataset} ({config.loss}) to step {trainer.step} in {seconds:.1f} s; run folder {out}")
    print(f"  figures: {', '.join(sorted(f for f in os.listdir(out) if f.endswith(('.png', '.gif'))))}")
    print("  " + ", ".join(f"{name} {_format(value)}" for name, value in final.items()))
    return 0


def _config_from_arguments(args):
    if args.config is not None:
        try:
            with open(args.config, encoding="utf-8") as file:
                config = train.TrainConfig.from_json(file.read())
        except (OSError, ValueError, TypeError) as error:
            raise UsageError(f"cannot read the config {args.config}: {error}")
        if args.dataset is not None and args.dataset != config.dataset:
            raise UsageError(f"the config is for {config.dataset!r}, not {args.dataset!r}")
    elif args.dataset is None:
        config = first_look_config()  # the full ring preset takes a few minutes: `tinygan train ring`
    else:
        try:
            config = train.preset(args.dataset)
        except ValueError as error:
            raise UsageError(str(error))
    steps = args.steps
    changes = {"loss": args.loss, "penalty_weight": args.penalty_weight, "steps": steps, "k": args.k,
               "batch_size": args.batch_size, "device": args.device, "seed": args.seed}
    changes = {name: value for name, value in changes.items() if value is not None}
    if args.penalty is not None:
        changes["penalty"] = None if args.penalty.lower() == "none" else args.penalty.lower()
    if args.loss == "wasserstein" and "penalty" not in changes and config.penalty in ("r1", "r2"):
        changes.update(penalty="gp", penalty_weight=changes.get("penalty_weight", 0.1))   # a Lipschitz critic
    try:
        config = dataclasses.replace(config, **changes).validate()
        backend.as_device(config.device)                 # a device that is not here: say so now
    except (ValueError, RuntimeError) as error:
        raise UsageError(str(error).splitlines()[0])
    return config


def first_look_config(steps=FIRST_LOOK_STEPS):
    """What `tinygan train` with no dataset trains: the ring with train.SHARED_2D_RECIPE, for ``steps`` steps.
    Not the ring preset's own recipe (train.RING_RECIPE: a uniform latent, lazy R1, a milder learning-rate drop at
    half the run): its changes pay off over the preset's 60,000 steps, but over 5,000 the shared recipe lands more
    samples on the modes (92% against 86%, seed 0)."""
    return train.TrainConfig(dataset="ring", steps=steps, **train.SHARED_2D_RECIPE).validate()


def _default_folder(config):
    """runs/DATASET for a preset as it is; runs/DATASET-STEPS when only the number of steps differs from it;
    runs/first-look (runs/first-look-STEPS with other steps) for the first look."""
    if config == first_look_config(config.steps):
        suffix = "" if config.steps == FIRST_LOOK_STEPS else f"-{config.steps}"
        return os.path.join("runs", FIRST_LOOK_FOLDER + suffix)
    preset = train.PRESETS.get(config.dataset)
    shortened = preset is not None and dataclasses.replace(config, steps=preset.steps) == preset
    if shortened and config.steps != preset.steps:
        return os.path.join("runs", f"{config.dataset}-{config.steps}")
    return os.path.join("runs", config.dataset)


def _open_run(out, config):
    """A new trainer for an empty or new folder; the run's own trainer, resumed, for a folder holding the same
    run (its config equal up to the number of steps)."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--out {out} is a file, not a folder")
    if os.path.isdir(out) and os.listdir(out):
        if not _is_run(out):
            raise UsageError(f"--out {out} exists and is not a run folder (no {CONFIG_FILE} and {CHECKPOINT_FILE}); "
                             f"choose a new folder")
        saved = _read_config(out)
        if dataclasses.replace(saved, steps=config.steps) != config:
            raise UsageError(f"--out {out} holds a run with another config; choose a new folder, or repeat that run "
                             f"with --config {os.path.join(out, CONFIG_FILE)}")
        try:
            trainer = train.Trainer.from_checkpoint(os.path.join(out, CHECKPOINT_FILE), device=config.device,
                                                    checkpoint_every=_checkpoint_every(config), steps=config.steps)
        except (CheckpointError, KeyError, ValueError) as error:
            raise UsageError(f"cannot resume the run in {out}: {str(error).splitlines()[0]}")
        snapshots = _read_snapshots(out)
        snapshots = [s for s in snapshots if s["step"] <= trainer.step]
        print(f"continuing the run in {out} from step {trainer.step}", file=sys.stderr)
        return trainer, snapshots
    os.makedirs(out, exist_ok=True)
    write_text_atomically(os.path.join(out, CONFIG_FILE), config.to_json() + "\n")
    trainer = train.Trainer.from_config(config, checkpoint_path=os.path.join(out, CHECKPOINT_FILE),
                                        checkpoint_every=_checkpoint_every(config))
    return trainer, []


def _checkpoint_every(config):
    """The run folder's checkpoint is rewritten every 10 host transfers (1,000 steps with log_every = 100)."""
    return config.log_every * 10


def _write_run_files(out, trainer, snapshots, plots, draw, seconds=None):
    """config, checkpoint, history, metrics and snapshots; and, when ``draw``, the figures."""
    write_text_atomically(os.path.join(out, CONFIG_FILE), trainer.config.to_json() + "\n")
    trainer.save_checkpoint(os.path.join(out, CHECKPOINT_FILE))
    trainer.history.to_csv(os.path.join(out, HISTORY_FILE))
    plots.save_snapshots(snapshots, os.path.join(out, SNAPSHOTS_FILE))
    final = {"step": trainer.step, **trainer.evaluate()}
    if seconds is not None:
        final["seconds"] = round(seconds, 2)
    write_text_atomically(os.path.join(out, METRICS_FILE), json.dumps(final, indent=2) + "\n")
    if draw:
        draw_figures(out, trainer.history, snapshots, trainer.data, plots)
    return final


def draw_figures(out, history, snapshots, data, plots):
    """The pictures of a run: curves.png, and game.png (1-D) or samples.png, snapshots.png and training.gif (2-D)."""
    n_modes = getattr(data, "n_modes", None)
    plots.plot_curves(history, os.path.join(out, "curves.png"), n_modes=n_modes)
    if not snapshots:
        return
    if snapshots[0]["kind"] == "1d":
        plots.plot_game_1d(snapshots, os.path.join(out, "game.png"))
    else:
        plots.plot_samples_2d(snapshots[-1], path=os.path.join(out, "samples.png"))
        plots.plot_snapshots_2d(snapshots, os.path.join(out, "snapshots.png"))
        plots.animate_2d(snapshots, os.path.join(out, "training.gif"))


def _progress_bar(total, initial, quiet):
    if quiet:
        return None
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True, mininterval=0.5, file=sys.stderr)


def _progress_numbers(trainer):
    history = trainer.history
    numbers = {"D": f"{history.last('loss_d'):.3f}", "G": f"{history.last('loss_g'):.3f}"}
    modes = history.last("modes_captured")
    if modes == modes:
        numbers["modes"] = f"{modes:.0f}/{trainer.data.n_modes}"
        numbers["hq"] = f"{history.last('high_quality_fraction'):.2f}"
    return numbers


def _format(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


# ---------------------------------------------------------------------------------------------------------------
# tinygan list / sample / plot
# ---------------------------------------------------------------------------------------------------------------

def command_list(args):
    print("datasets (tinygan train DATASET):")
    for name in distributions.DATASETS:
        print(f"  {name:<13} {distributions.get(name)!r}")
    print("\nlosses (--loss):")
    for name, (d_loss, g_loss) in losses.LOSSES.items():
        print(f"  {name:<13} D: {d_loss.__name__}, G: {g_loss.__name__}")
    print("\npresets:")
    for name, config in train.PRESETS.items():
        penalty = f"{config.penalty} {config.penalty_weight:g}" if config.penalty else "none"
        print(f"  {name:<13} loss {config.loss}, penalty {penalty}, {config.steps} steps, batch {config.batch_size}, "
              f"G {list(config.g_hidden)} D {list(config.d_hidden)}, ema {config.ema}")
    return 0


def command_sample(args):
    trainer = _load_run(args.run)
    if args.n < 1:
        raise UsageError(f"--n must be a positive number of samples, got {args.n}")
    extension = os.path.splitext(args.out)[1].lower()
    if extension not in (".npy", ".csv"):
        raise UsageError(f"--out must end in .npy or .csv, got {args.out!r}")
    samples = trainer.sample(args.n, seed=args.seed).to("cpu")
    directory = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(directory):
        raise UsageError(f"the folder of --out {args.out} does not exist")
    if extension == ".npy":
        write_bytes_atomically(args.out, backend.npy_bytes(samples.numpy()))
    else:
        header = ",".join(f"x{i + 1}" for i in range(samples.shape[1]))
        lines = [",".join(repr(value) for value in row) for row in samples.numpy().tolist()]
        write_text_atomically(args.out, "\n".join([header] + lines) + "\n")
    print(f"wrote {args.n} samples of shape ({args.n}, {samples.shape[1]}) from {args.run} (step {trainer.step}) "
          f"to {args.out}")
    return 0


def command_plot(args):
    trainer = _load_run(args.run)
    from . import plots
    draw_figures(args.run, trainer.history, _read_snapshots(args.run), trainer.data, plots)
    print(f"redrew the figures of {args.run} (step {trainer.step})")
    return 0


def _is_run(folder):
    return all(os.path.isfile(os.path.join(folder, name)) for name in (CONFIG_FILE, CHECKPOINT_FILE))


def _read_config(folder):
    try:
        with open(os.path.join(folder, CONFIG_FILE), encoding="utf-8") as file:
            return train.TrainConfig.from_json(file.read())
    except (OSError, ValueError, TypeError) as error:
        raise UsageError(f"{folder}: cannot read {CONFIG_FILE}: {error}")


def _read_snapshots(folder):
    path = os.path.join(folder, SNAPSHOTS_FILE)
    if not os.path.isfile(path):
        return []
    from . import plots
    try:
        return plots.load_snapshots(path)
    except (CheckpointError, KeyError) as error:
        raise UsageError(f"{folder}: cannot read {SNAPSHOTS_FILE}: {str(error).splitlines()[0]}")


def _load_run(folder):
    if not os.path.isdir(folder) or not _is_run(folder):
        raise UsageError(f"{folder} is not a run folder (it needs {CONFIG_FILE} and {CHECKPOINT_FILE}; make one with "
                         f"tinygan train --out {folder})")
    try:
        return train.Trainer.from_checkpoint(os.path.join(folder, CHECKPOINT_FILE), device="cpu")
    except (CheckpointError, KeyError, ValueError) as error:
        raise UsageError(f"cannot load the run in {folder}: {str(error).splitlines()[0]}")


if __name__ == "__main__":
    sys.exit(main())
