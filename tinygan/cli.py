"""The command line: train a GAN on a toy distribution and get a folder of pictures that explain the game.

    tinygan train                    # a first look: the ring, 3,000 steps of the shared 2-D recipe -> runs/first-look/
    tinygan train ring               # the full ring preset (40,000 steps) -> runs/ring/
    tinygan train grid --seed 3      # -> runs/grid-seed-3/
    tinygan train moons --loss hinge --steps 2000 --out runs/moons-hinge
    tinygan list                     # datasets, losses, presets
    tinygan sample runs/ring --n 1000 --out samples.npy     # (or .csv)
    tinygan train ring --loss gmmn                          # also mmd-gan, energy and the f-GANs (tinygan list)
    tinygan train ring --conditional --steps 10000 --out runs/ring-cgan
    tinygan sample runs/ring-cgan --label 3 --out mode3.npy # a conditional run: samples of mode 3
    tinygan plot runs/ring           # redraw the figures of a finished run
    tinygan --version

A run folder (tinygan/run_folder.py) holds config.json (the exact TrainConfig: `tinygan train --config
runs/ring/config.json` repeats the run), checkpoint.safetensors (models, optimizers, history), history.csv,
snapshots.safetensors (what the pictures are drawn from), and once the run is finished metrics.json (the final
metrics) and the figures. The default folder is runs/NAME (``default_folder``): the preset's name, then each field
of the config that differs from the preset and its value.

Training into a folder that holds the same run continues it from its checkpoint (after Ctrl-C, SIGTERM, a crash
or kill -9, it continues exactly as if it had never stopped); a finished run is left as it is. Its length may
change (--steps) where the steps done are also the first steps of the run of the new length (no learning-rate
drop passed that the two lengths put at different steps); any other change of the config needs a new folder.

Everything is checked before anything is written: a bad option or config value, a folder that cannot be written
or lacks the space, a folder another process is writing, ends with a one-line error on stderr and exit code 2.
"""

import argparse
import contextlib
import dataclasses
import hashlib
import os
import re
import shutil
import signal
import sys
import time

from . import backend, distributions, losses, run_folder, train
from .config import check_memory, format_bytes
from .run_folder import CONFIG_FILE, CHECKPOINT_FILE, RunFolder, RunFolderError
from .serialization import CheckpointError, write_bytes_atomically, write_text_atomically
from .version import __version__

SNAPSHOTS_PER_RUN = 24          # frames of the GIF (plus the start)
FIRST_LOOK_STEPS = 3000         # `tinygan train` with no dataset: a GAN on the ring in under half a minute
FIRST_LOOK_LR = 6e-4            # both players' learning rate in the first look (the shared recipe's is 3e-4)
FIRST_LOOK_FOLDER = "first-look"
MAX_FOLDER_NAME = 100           # longer default folder names end in a hash of the config instead
MMD_GAN_PENALTY_WEIGHT = 1.0    # --loss mmd-gan on a preset with R1: the witness's gradient penalty instead


class UsageError(Exception):
    """A mistake in the command line, or a folder it cannot use: printed as one line, exit code 2."""


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
    run.add_argument("--loss", help=f"one of: {', '.join(losses.TRAINING_LOSSES)} (default: the preset's)")
    run.add_argument("--conditional", action="store_true",
                     help="a conditional GAN: G(z, y) and D(x, y) with each sample's mode as its label (datasets "
                          "with modes: ring, grid, gmm2d, mixture1d); tinygan sample --label K then draws mode K")
    run.add_argument("--penalty", help="r1, r2, gp or none (default: the preset's)")
    run.add_argument("--penalty-weight", type=float, help="gamma of R1/R2, lambda of WGAN-GP")
    run.add_argument("--lr-g", type=float, help="the generator's learning rate (default: the preset's); a new run "
                                                "only: a run folder keeps the learning rates it started with")
    run.add_argument("--lr-d", type=float, help="the discriminator's learning rate, likewise")
    run.add_argument("--steps", type=int, help="generator steps (default: the preset's); in a folder holding the "
                                               "run, a new length where the learning rates allow (see the README)")
    run.add_argument("--k", type=int, help="discriminator steps per generator step (default 1)")
    run.add_argument("--batch-size", type=int)
    run.add_argument("--device", help="cpu or cuda (default cpu)")
    run.add_argument("--seed", type=int, help="default 0")
    run.add_argument("--out", help="the run folder (default runs/NAME: the preset, then each changed field and its "
                                   "value, e.g. runs/ring-steps-2000-seed-3)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--blas-threads", type=int, default=1,
                     help="threads for NumPy's matrix products, at most the CPUs this process may use (default 1: "
                          "steady on a busy machine, where threads wait for each other; on an idle one 2 can be "
                          "faster for the wider networks, such as the grid preset's generator)")

    commands.add_parser("list", help="datasets, losses and presets")

    sample = commands.add_parser("sample", help="draw samples from a run's generator into a .npy or .csv file")
    sample.add_argument("run", help="a run folder")
    sample.add_argument("--n", type=int, default=1000, help="number of samples (default 1000)")
    sample.add_argument("--out", required=True, help="FILE.npy or FILE.csv: an (n, dim) array (never one of a run "
                                                     "folder's own files)")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--label", type=int, help="a conditional run's label: draw from mode K only (0 .. modes - 1)")

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

class Terminated(KeyboardInterrupt):
    """SIGTERM, raised wherever the program is, so that it stops as it does on Ctrl-C."""


def command_train(args):
    cpus = backend.usable_cpus()
    if not 1 <= args.blas_threads <= cpus:
        raise UsageError(f"--blas-threads must be in [1, {cpus}] (the CPUs this process may use), got "
                         f"{args.blas_threads}")
    config = _config_from_arguments(args)
    out = args.out or default_folder(config)
    folder = RunFolder(out)
    data_dim = distributions.get(config.dataset, **config.dataset_options).dim
    try:
        folder.check_can_write(run_folder.disk_needed(config, data_dim, SNAPSHOTS_PER_RUN + 2))
        with _sigterm_as_interrupt(), folder:
            return _train_in(folder, config, args)
    except RunFolderError as error:
        raise UsageError(str(error))
    except OSError as error:       # a full disk, a folder made read-only while the run went on
        kept = (f"the checkpoint at step {folder.checkpoint_step} is kept" if folder.checkpoint_step is not None
                else "no checkpoint was written")
        raise UsageError(f"cannot write the run folder {out}: {_os_error(error)}; {kept}: fix that and run the same "
                         f"command to continue")
    except KeyboardInterrupt as interrupt:      # before training began (taking the lock, reading the checkpoint)
        print("\ninterrupted before training began; run the same command to start", file=sys.stderr)
        return 143 if isinstance(interrupt, Terminated) else 130


def _os_error(error):
    return f"{error.strerror or error}" + (f" ({error.filename})" if error.filename else "")


def _train_in(folder, config, args):
    """Train ``config`` in ``folder`` (checked and locked) to its last step and write the finished run."""
    opened = _open_run(folder, config)
    if opened is None:
        print(f"{folder.path} holds this run, finished at step {config.steps}: nothing to do (tinygan plot "
              f"{folder.path} redraws its figures)")
        return 0
    trainer, snapshots = opened
    from . import plots     # matplotlib loads only for commands that draw

    draw_snapshot = plots.snapshot_1d if trainer.data.dim == 1 else plots.snapshot_2d
    snapshot_every = max(1, config.steps // SNAPSHOTS_PER_RUN)
    checkpoint_every = config.log_every * 10          # every 10 host transfers (1,000 steps with log_every 100)

    def take_snapshot(t):
        """The frame of the trainer's step, when one is due there and not yet taken; the generator users sample
        from (the weight average when the config has one), as metrics.json does."""
        if (t.step % snapshot_every == 0 or t.step == config.steps) and not (snapshots and
                                                                             snapshots[-1]["step"] >= t.step):
            bounds = snapshots[0]["bounds"] if snapshots else None      # one box for every frame of the run
            snapshots.append(draw_snapshot(t, G=t.sampling_generator, bounds=bounds))

    bar = _progress_bar(config.steps, trainer.step, args.quiet)

    def every_step(t):        # called after each step, once the trainer has checked and kept its state
        take_snapshot(t)
        if t.step % checkpoint_every == 0:
            folder.write_progress(t, snapshots)
        if bar is not None:
            bar.update(t.step - bar.n)
            if t.step % t.log_every == 0 and len(t.history):
                bar.set_postfix(_progress_numbers(t), refresh=False)

    started, first_step = time.perf_counter(), trainer.step
    try:
        # NumPy's overflow warnings off: the trainer reports a NaN or inf itself (naming the step), and a picture
        # of large but finite weights may overflow where it is drawn
        with backend.limit_blas_threads(args.blas_threads), backend.ignore_float_errors():
            take_snapshot(trainer)
            trainer.train(callback=every_step, callback_every=1)
            seconds = time.perf_counter() - started
            # the final evaluation goes into the history too (the same numbers where the last step evaluated)
            final = {"step": trainer.step, **trainer.evaluate()}
            trainer.history.set_last({name: value for name, value in final.items() if name != "step"})
            folder.write_progress(trainer, snapshots)
            drawing_started = time.perf_counter()
            draw_figures(folder.path, trainer.history, snapshots, trainer.data, plots)
            drawing_seconds = time.perf_counter() - drawing_started
            final.setdefault("mmd2", None)      # not computed when the samples are not finite
            final["seconds"] = round(seconds, 2)
            folder.write_metrics(final)
    except KeyboardInterrupt as interrupt:
        _close(bar)
        if trainer.last_good_state is not None:     # (train did, unless the interrupt came before or after it)
            trainer.restore_last_good()
        with backend.limit_blas_threads(args.blas_threads), backend.ignore_float_errors():
            take_snapshot(trainer)
        folder.write_progress(trainer, snapshots)
        name = "SIGTERM" if isinstance(interrupt, Terminated) else "Ctrl-C"
        print(f"\ninterrupted ({name}): the checkpoint at step {trainer.step} is kept in {folder.path}; run the "
              f"same command to continue", file=sys.stderr)
        return 143 if isinstance(interrupt, Terminated) else 130
    except train.DivergenceError as error:
        _close(bar)
        trainer.restore_last_good()
        with backend.limit_blas_threads(args.blas_threads), backend.ignore_float_errors():
            take_snapshot(trainer)
        folder.write_progress(trainer, snapshots)
        print(f"tinygan: {_divergence_advice(error, config, folder.path)}", file=sys.stderr)
        return 1
    _close(bar)
    if first_step == trainer.step:
        print(f"finished the run in {folder.path} at step {trainer.step}: its figures and metrics were missing (the "
              f"command that trained it stopped before writing them)")
    else:
        print(f"trained {config.dataset} ({config.loss}) {f'from step {first_step} ' if first_step else ''}to step "
              f"{trainer.step} in {seconds:.1f} s; run folder {folder.path}")
    print(f"  figures, drawn in {drawing_seconds:.1f} s: "
          f"{', '.join(sorted(f for f in folder.names() if f in run_folder.FIGURE_FILES))}")
    print("  " + ", ".join(f"{name} {_format(value)}" for name, value in final.items()))
    return 0


def _open_run(folder, config):
    """The trainer that runs ``config`` in the locked ``folder`` and the frames taken so far, or None when the
    folder holds this run finished. A new or empty folder, or one whose run stopped before its first checkpoint
    (config.json and no checkpoint: no weights to keep), starts the run from step 0. A folder with a checkpoint
    continues it when it is the same run: the same config but for the number of steps, which may change where
    ``TrainConfig.same_first_steps`` says the steps done are also those of the run of the new length."""
    if not folder.has_checkpoint():
        if CONFIG_FILE in folder.names():
            print(f"restarting the run in {folder.path} from step 0: it stopped before its first checkpoint",
                  file=sys.stderr)
        folder.write_config(config)
        return train.Trainer.from_config(config), []
    state, saved = folder.read_checkpoint(device=config.device)
    done, here = int(state["step"]), os.path.join(folder.path, CONFIG_FILE)
    differences = [f"{field.name} {getattr(saved, field.name)!r} there, {getattr(config, field.name)!r} here"
                   for field in dataclasses.fields(config) if field.name != "steps"
                   and getattr(saved, field.name) != getattr(config, field.name)]
    if differences:
        raise UsageError(f"--out {folder.path} holds a run with another config ({'; '.join(differences[:3])}); "
                         f"choose a new folder, or continue that run with --config {here}")
    if config.steps < done:
        raise UsageError(f"{folder.path} holds a run trained to step {done}; --steps {config.steps} would take "
                         f"back steps already done: start the shorter run in a new folder (--out)")
    if not saved.same_first_steps(config.steps, done):
        drop = round(saved.lr_drop_at * saved.steps)
        raise UsageError(f"{folder.path} holds a run of {saved.steps} steps whose learning rates drop after step "
                         f"{drop} (lr_drop_at {saved.lr_drop_at:g}), already passed at step {done}; a run of "
                         f"{config.steps} steps drops after step {round(saved.lr_drop_at * config.steps)}, so this "
                         f"folder cannot become that run: start it in a new folder with tinygan train --config "
                         f"{here} --steps {config.steps} --out NEW_FOLDER")
    if done == config.steps == saved.steps and folder.is_finished(done):
        return None
    trainer = train.Trainer.from_config(config)
    try:
        trainer.load_state_dict(state)
    except (KeyError, TypeError, ValueError) as error:
        raise UsageError(f"cannot resume the run in {folder.path}: {str(error).splitlines()[0]}")
    if config.steps != saved.steps:
        folder.remove_metrics()            # a finished run given more steps is not finished any more
        folder.write_config(config)
        print(f"the run in {folder.path} now has {config.steps} steps (it had {saved.steps})", file=sys.stderr)
    if done < config.steps:
        print(f"continuing the run in {folder.path} from step {done}", file=sys.stderr)
    return trainer, [s for s in folder.read_snapshots() if s["step"] <= done]


def _divergence_advice(error, config, out):
    # a third of each learning rate, to three digits: the numbers the command below says
    lower = dataclasses.replace(config, lr_g=float(f"{config.lr_g / 3:.3g}"), lr_d=float(f"{config.lr_d / 3:.3g}"))
    return (f"training diverged at step {error.step}: a loss or a parameter became NaN or infinite (loss "
            f"{config.loss}, lr_g {config.lr_g:g}, lr_d {config.lr_d:g}). The checkpoint at step "
            f"{error.last_good_step} is kept in {out} (the same command diverges the same way). Try lower learning "
            f"rates in a new run: tinygan train --config {os.path.join(out, CONFIG_FILE)} --lr-g {lower.lr_g!r} "
            f"--lr-d {lower.lr_d!r} --out {default_folder(lower)}")


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM (kill, a job scheduler's stop) raises Terminated, a KeyboardInterrupt: the run stops as on Ctrl-C,
    at its last checked state, with its files written."""
    def stop(signum, frame):
        raise Terminated()
    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:             # not the main thread: signals are not ours to handle
        previous = None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


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
    changes = {"loss": args.loss, "penalty_weight": args.penalty_weight, "lr_g": args.lr_g, "lr_d": args.lr_d,
               "steps": args.steps, "k": args.k, "batch_size": args.batch_size, "device": args.device,
               "seed": args.seed}
    changes = {name: value for name, value in changes.items() if value is not None}
    if args.penalty is not None:
        changes["penalty"] = None if args.penalty.lower() == "none" else args.penalty.lower()
    if args.loss == "wasserstein" and "penalty" not in changes and config.penalty in ("r1", "r2"):
        changes.update(penalty="gp", penalty_weight=changes.get("penalty_weight", 0.1))   # a Lipschitz critic
    if args.loss in losses.DISCRIMINATOR_FREE_LOSSES and "penalty" not in changes:
        changes.update(penalty=None)                      # no discriminator to penalise
    if args.loss == "mmd-gan" and "penalty" not in changes and config.penalty in ("r1", "r2"):
        changes.update(penalty="gp", penalty_weight=changes.get("penalty_weight", MMD_GAN_PENALTY_WEIGHT))
    if args.conditional:
        changes["conditional"] = True
    try:
        return dataclasses.replace(config, **changes).validate()
    except (ValueError, TypeError) as error:
        raise UsageError(str(error).splitlines()[0])


def first_look_config(steps=FIRST_LOOK_STEPS):
    """What `tinygan train` with no dataset trains: the ring with train.SHARED_2D_RECIPE at twice its learning rate
    (FIRST_LOOK_LR), for ``steps`` steps, rather than the ring preset's own recipe (train.RING_RECIPE: a uniform
    latent, lazy R1, a learning-rate drop at half the run), which was chosen for its 40,000 steps. At 3,000 steps
    with the doubled rate, seeds 0-3 each reach all 8 modes with 91-93% of samples within 3 standard deviations of
    one (the shared recipe's own rate needed 5,000 steps for 92%; the ring's earlier recipe, with lazy R1 at 3e-4,
    reached 44% over 3,000 steps)."""
    recipe = dict(train.SHARED_2D_RECIPE, lr_g=FIRST_LOOK_LR, lr_d=FIRST_LOOK_LR)
    return train.TrainConfig(dataset="ring", steps=steps, **recipe).validate()


def default_folder(config):
    """The folder a run goes to without --out: runs/NAME, where NAME is the name of the preset the config is
    closest to (the fewest fields differ; "first-look" for the first look's recipe on the ring), followed by
    each field that differs from that preset and its value, in the order of TrainConfig's fields:

        runs/ring, runs/ring-steps-2000, runs/grid-seed-3, runs/first-look-steps-8000,
        runs/moons-loss-hinge-penalty-none, runs/ring-g_hidden-64x64-lr_g-0.001

    A name that would be longer than MAX_FOLDER_NAME characters ends in 12 hex digits of a hash of the config
    instead of the list of changes. Different configs get different folders; the same config the same one."""
    key = config.dataset.strip().lower().replace("-", "_")
    candidates = [(key, train.PRESETS[key])] if key in train.PRESETS else [(key, train.TrainConfig(dataset=key))]
    if key == "ring":
        candidates.insert(0, (FIRST_LOOK_FOLDER, first_look_config()))
    best = None
    for name, reference in candidates:
        changed = [field.name for field in dataclasses.fields(config)
                   if getattr(config, field.name) != getattr(reference, field.name)]
        if best is None or len(changed) < len(best[1]):
            best = (name, changed)
    name, changed = best
    parts = [name] + [f"{field}-{_folder_value(getattr(config, field))}" for field in changed]
    folder = re.sub(r"[^A-Za-z0-9._-]", "_", "-".join(parts))
    if len(folder) > MAX_FOLDER_NAME:
        folder = f"{name}-{hashlib.sha256(config.to_json().encode('utf-8')).hexdigest()[:12]}"
    return os.path.join("runs", folder)


def _folder_value(value):
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "x".join(_folder_value(item) for item in value) or "none"
    if isinstance(value, dict):
        return "-".join(f"{key}-{_folder_value(item)}" for key, item in value.items()) or "none"
    return str(value)


def draw_figures(out, history, snapshots, data, plots, processes=2):
    """The pictures of a run: curves.png, and game.png (1-D) or samples.png, snapshots.png and training.gif (2-D).

    processes=2 draws a 2-D run's samples.png and training.gif in a second process while this one draws the
    other two (about half the time each, so the pictures take about half as long on a machine with two cores);
    the files are the same as with processes=1, which draws them one after the other. The second process is a
    fork of this one (it starts at once, sharing what is loaded) that exits when its two pictures are written, so
    it is used only on Linux with more than one core; elsewhere the pictures are drawn here, one after the other."""
    n_modes = getattr(data, "n_modes", None)
    two_d = bool(snapshots) and snapshots[0]["kind"] == "2d"
    beside = _start_beside(out, snapshots) if processes > 1 and two_d else None
    try:
        plots.plot_curves(history, os.path.join(out, "curves.png"), n_modes=n_modes, dim=data.dim)
        if not snapshots:
            return
        if not two_d:
            plots.plot_game_1d(snapshots, os.path.join(out, "game.png"))
            return
        plots.plot_snapshots_2d(snapshots, os.path.join(out, "snapshots.png"))
    except BaseException:
        if beside is not None:
            _finish_beside(beside, out, snapshots, report=False)   # wait for it; this error is the one to report
        raise
    if beside is None:
        _draw_final_and_animation(out, snapshots)
    else:
        _finish_beside(beside, out, snapshots)


def _draw_final_and_animation(out, snapshots):
    """samples.png (the last snapshot) and training.gif (all of them): a 2-D run's pictures besides the curves and
    the panels of snapshots.png."""
    from . import plots
    plots.plot_samples_2d(snapshots[-1], path=os.path.join(out, "samples.png"))
    plots.animate_2d(snapshots, os.path.join(out, "training.gif"))


def _start_beside(out, snapshots):
    """A forked process drawing _draw_final_and_animation(out, snapshots), and the end of a pipe on which it
    reports how that went; None where fork is not used (not Linux, or a single core: see draw_figures)."""
    if not (sys.platform.startswith("linux") and (os.cpu_count() or 1) > 1):
        return None
    import multiprocessing
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(target=_draw_and_report, args=(out, snapshots, sending), daemon=True)
    process.start()
    sending.close()          # the child holds the only sending end: if it dies, receiving.recv() raises EOFError
    return process, receiving


def _draw_and_report(out, snapshots, sending):
    """In the forked process: draw, then send None, or what went wrong (re-raised by _finish_beside)."""
    try:
        _draw_final_and_animation(out, snapshots)
        outcome = None
    except BaseException as error:     # Ctrl-C reaches both processes; the parent reports it
        outcome = error
    try:
        sending.send(outcome)
    except BrokenPipeError:            # the parent is gone (killed): nobody to tell
        pass
    except Exception:                  # an exception that cannot be pickled: its message instead
        sending.send(RuntimeError(f"drawing samples.png and training.gif: {outcome!r}"))


def _finish_beside(beside, out, snapshots, report=True):
    """Wait for the process of _start_beside and (report=True) re-raise its error; if it died without a word
    (killed, out of memory), draw its two pictures here instead."""
    process, receiving = beside
    died, error = False, None
    try:
        error = receiving.recv()
    except EOFError:
        died = True
    finally:
        process.join()
        receiving.close()
    if not report:
        return
    if died:
        _draw_final_and_animation(out, snapshots)
    elif error is not None:
        raise error


def _progress_bar(total, initial, quiet):
    if quiet:
        return None
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True, mininterval=0.5, file=sys.stderr)


def _close(bar):
    if bar is not None:
        bar.close()


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
        print(f"  {name:<15} D: {d_loss.__name__}, G: {g_loss.__name__}")
    print(f"  {'gmmn':<15} no D, G: gmmn_generator_loss (MMD, Gaussian kernel)")
    print(f"  {'mmd-gan':<15} D: mmd_critic_loss (on {train.MMD_GAN_FEATURES} features), G: mmd_generator_loss")
    print(f"  {'energy':<15} no D, G: energy_generator_loss (the energy distance)")
    print("\npresets:")
    for name, config in train.PRESETS.items():
        penalty = f"{config.penalty} {config.penalty_weight:g}" if config.penalty else "none"
        print(f"  {name:<13} loss {config.loss}, penalty {penalty}, {config.steps} steps, batch {config.batch_size}, "
              f"G {list(config.g_hidden)} D {list(config.d_hidden)}, ema {config.ema}")
    return 0


def command_sample(args):
    if args.n < 1:
        raise UsageError(f"--n must be a positive number of samples, got {args.n}")
    extension = os.path.splitext(args.out)[1].lower()
    if os.path.isdir(args.out):
        raise UsageError(f"--out {args.out} is a folder; name a file FILE.npy or FILE.csv")
    if extension not in (".npy", ".csv"):
        raise UsageError(f"--out must end in .npy or .csv, got {args.out!r}")
    directory = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(directory):
        raise UsageError(f"the folder of --out {args.out} does not exist")
    if (os.path.basename(args.out) in run_folder.RUN_FILES
            and os.path.isfile(os.path.join(directory, CONFIG_FILE))):
        raise UsageError(f"--out {args.out} is a file of the run folder {directory}; samples go to a file of "
                         f"their own")
    trainer = _load_run(args.run)
    if args.label is not None and not trainer.config.conditional:
        raise UsageError(f"--label {args.label}: the run in {args.run} is not conditional (train one with tinygan "
                         f"train --conditional); leave --label out")
    if args.label is not None and not 0 <= args.label < trainer.n_labels:
        raise UsageError(f"--label must be a mode of the data, in [0, {trainer.n_labels - 1}], got {args.label}")
    itemsize = 8 if trainer.config.dtype == "float64" else 4
    widest = max([trainer.config.latent_dim, *trainer.config.g_hidden, trainer.data.dim])
    try:
        check_memory("sample", {f"the samples (--n {args.n} through a layer of {widest} units)":
                                2 * args.n * widest * itemsize}, backend.CPU)
    except ValueError as error:
        raise UsageError(str(error))
    file_bytes = args.n * trainer.data.dim * (itemsize if extension == ".npy" else 25)
    if shutil.disk_usage(directory).free < file_bytes:
        raise UsageError(f"--out {args.out}: {args.n} samples need about {format_bytes(file_bytes)}, more than "
                         f"the space free in {directory}")
    samples = trainer.sample(args.n, seed=args.seed, label=args.label).to("cpu")
    try:
        if extension == ".npy":
            write_bytes_atomically(args.out, backend.npy_bytes(samples.numpy()))
        else:
            header = ",".join(f"x{i + 1}" for i in range(samples.shape[1]))
            lines = [",".join(repr(value) for value in row) for row in samples.numpy().tolist()]
            write_text_atomically(args.out, "\n".join([header] + lines) + "\n")
    except OSError as error:
        raise UsageError(f"cannot write --out {args.out}: {_os_error(error)}")
    of_label = f" of label {args.label}" if args.label is not None else ""
    print(f"wrote {args.n} samples{of_label} of shape ({args.n}, {samples.shape[1]}) from {args.run} (step "
          f"{trainer.step}) to {args.out}")
    return 0


def command_plot(args):
    trainer = _load_run(args.run)
    from . import plots
    try:
        with RunFolder(args.run) as folder:          # not while a `tinygan train` writes the folder
            draw_figures(args.run, trainer.history, folder.read_snapshots(), trainer.data, plots)
    except RunFolderError as error:
        raise UsageError(str(error))
    except OSError as error:
        raise UsageError(f"cannot write the figures of {args.run}: {_os_error(error)}")
    print(f"redrew the figures of {args.run} (step {trainer.step})")
    return 0


def _load_run(folder):
    """The trainer of a run folder's checkpoint, on the CPU."""
    if not os.path.isfile(os.path.join(folder, CONFIG_FILE)):
        raise UsageError(f"{folder} is not a run folder (it needs {CONFIG_FILE} and {CHECKPOINT_FILE}; make one "
                         f"with tinygan train --out {folder})")
    if not os.path.isfile(os.path.join(folder, CHECKPOINT_FILE)):
        raise UsageError(f"{folder} holds no checkpoint yet (its run stopped before the first one); continue it "
                         f"with tinygan train --config {os.path.join(folder, CONFIG_FILE)} --out {folder}")
    try:
        return train.Trainer.from_checkpoint(os.path.join(folder, CHECKPOINT_FILE), device="cpu")
    except (CheckpointError, KeyError, TypeError, ValueError) as error:
        raise UsageError(f"cannot load the run in {folder}: {str(error).splitlines()[0]}")


if __name__ == "__main__":
    sys.exit(main())
