"""A run folder: the files of one `tinygan train` run, written so that the folder always describes its weights.

    config.json             the run's TrainConfig (`tinygan train --config FOLDER/config.json` repeats the run)
    checkpoint.safetensors  models, optimizers and history at the last checkpoint: where a resumed run starts
    history.csv             the history up to the checkpoint (one row per step)
    snapshots.safetensors   the frames the pictures are drawn from, up to the checkpoint
    metrics.json            the final metrics (strict JSON, null where a value is undefined): a finished run's only
    curves.png, ...         the figures of a finished run
    tinygan.lock            while a process writes the folder: its PID

How the folder stays true to its weights:

- Nothing is written before the config, the folder's permissions and its free space are checked.
- One writer at a time: the writer holds an exclusive lock on tinygan.lock (flock). The operating system releases
  the lock when the process ends, however it ends, so the lock of a killed process is simply taken over.
- Every file is written atomically (tg.serialization), and at each checkpoint in this order: the snapshots, the
  history, then the checkpoint. The checkpoint is the commit: a process killed at any moment leaves a checkpoint
  whose frames and history rows are all in the other files, and a resumed run drops whatever lies beyond it.
- config.json is written before anything else, so a run stopped before its first checkpoint leaves a folder
  that the next `tinygan train` restarts.
- metrics.json is written last, when the run is finished, and only then: it marks the folder as finished.
"""

import json
import math
import os
import shutil

from . import train
from .config import format_bytes, parameter_count
from .history import History
from .serialization import CheckpointError, write_text_atomically

try:
    import fcntl
except ImportError:                   # Windows: a lock on the file's first byte does the same job
    fcntl = None
    import msvcrt

CONFIG_FILE, CHECKPOINT_FILE, HISTORY_FILE = "config.json", "checkpoint.safetensors", "history.csv"
SNAPSHOTS_FILE, METRICS_FILE, LOCK_FILE = "snapshots.safetensors", "metrics.json", "tinygan.lock"
FIGURE_FILES = ("curves.png", "game.png", "samples.png", "snapshots.png", "training.gif")
RUN_FILES = (CONFIG_FILE, CHECKPOINT_FILE, HISTORY_FILE, SNAPSHOTS_FILE, METRICS_FILE, LOCK_FILE) + FIGURE_FILES


class RunFolderError(Exception):
    """A folder that cannot be used as asked; the message is one line, for the command line."""


def is_run_file(name):
    """A file a run folder may hold: one of RUN_FILES, or the temporary file of an atomic write that a killed
    process left behind (".NAME.tmp-...")."""
    return name in RUN_FILES or (name.startswith(".") and name[1:].split(".tmp-")[0] in RUN_FILES)


def disk_needed(config, data_dim, frames):
    """A generous estimate of the bytes a run folder of ``config`` holds at its largest, counting each rewritten
    file twice (the new file lies beside the old one until the rename): the checkpoint (both networks' weights,
    the weight average and two optimizer moments each, the history as float64), history.csv (24 bytes a
    number), ``frames`` snapshots (64 KiB each) and 20 MiB of figures."""
    itemsize = 8 if config.dtype == "float64" else 4
    generator = parameter_count(config.latent_dim, config.g_hidden, data_dim)
    discriminator = parameter_count(data_dim, config.d_hidden, 1)
    numbers = config.steps * len(History().columns)
    checkpoint = (3 * (generator + discriminator) + (generator if config.ema is not None else 0)) * itemsize
    return 2 * (checkpoint + numbers * 8 + numbers * 24 + frames * 2 ** 16) + 20 * 2 ** 20


class RunFolder:
    """One run folder (see the module docstring): the checks before writing, the lock, and the files.

    ``with RunFolder(path) as folder:`` takes the lock (creating the folder) and gives it back at the end."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self._lock = None
        self._history_lines = []          # the lines of history.csv already formatted (see _write_history)
        self.checkpoint_step = None       # the step of the checkpoint on disk, once read or written

    def file(self, name):
        return os.path.join(self.path, name)

    def names(self):
        return os.listdir(self.path) if os.path.isdir(self.path) else []

    # -- before anything is written ---------------------------------------------------------------------------

    def check_can_write(self, disk_bytes):
        """Refuse (RunFolderError) a folder that cannot hold a run needing ``disk_bytes``: a file in its place, a
        folder of other files, a folder (or the nearest existing folder above it) this process may not write, or
        less free space than that. Writes nothing."""
        existing = os.path.abspath(self.path)
        while not os.path.exists(existing):
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing):
            raise RunFolderError(f"--out {self.path}: {existing} is a file, not a folder")
        others = sorted(name for name in self.names() if not is_run_file(name))
        if others:
            raise RunFolderError(f"--out {self.path} exists and is not a run folder (it holds {others[0]!r}, which "
                                 f"a run does not write); choose a new folder")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise RunFolderError(f"--out {self.path}: this process may not write in {existing}; choose a folder "
                                 f"you can write")
        free = shutil.disk_usage(existing).free
        if free < disk_bytes:
            raise RunFolderError(f"--out {self.path}: the run needs about {format_bytes(disk_bytes)} of disk space, "
                                 f"and {existing} has {format_bytes(free)} free; free some space or choose another "
                                 f"folder")

    # -- one writer -------------------------------------------------------------------------------------------

    def __enter__(self):
        os.makedirs(self.path, exist_ok=True)
        path = self.file(LOCK_FILE)
        while True:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                _lock(descriptor)
            except OSError:
                holder = _read_pid(descriptor)
                os.close(descriptor)
                raise RunFolderError(f"{self.path} is being written by another tinygan process"
                                     f"{f' (PID {holder})' if holder else ''}; wait for it to finish or stop it: "
                                     f"one process writes a run folder at a time") from None
            # The holder before us may have removed the file between our open and our lock (see __exit__): then
            # we hold a lock on a file nobody else sees, and take the one now at the path instead.
            if fcntl is None or os.fstat(descriptor).st_ino == _inode(path):
                break
            os.close(descriptor)
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode("ascii"))
        self._lock = descriptor
        return self

    def __exit__(self, *exception):
        if fcntl is not None:               # removed while still held (Windows cannot remove an open file)
            try:
                os.remove(self.file(LOCK_FILE))
            except OSError:
                pass
        os.close(self._lock)
        self._lock = None

    # -- reading ----------------------------------------------------------------------------------------------

    def has_checkpoint(self):
        return os.path.isfile(self.file(CHECKPOINT_FILE))

    def read_checkpoint(self, device=None):
        """(state, config) of the checkpoint (train.read_checkpoint); RunFolderError when it cannot be read."""
        try:
            state, config = train.read_checkpoint(self.file(CHECKPOINT_FILE), device=device)
        except (CheckpointError, ValueError, TypeError) as error:
            raise RunFolderError(f"cannot read the run in {self.path}: {str(error).splitlines()[0]} (move the "
                                 f"folder away to start the run again)") from None
        self.checkpoint_step = int(state["step"])
        return state, config

    def read_snapshots(self):
        path = self.file(SNAPSHOTS_FILE)
        if not os.path.isfile(path):
            return []
        from . import plots
        try:
            return plots.load_snapshots(path)
        except (CheckpointError, KeyError, TypeError) as error:
            raise RunFolderError(f"{self.path}: cannot read {SNAPSHOTS_FILE}: {str(error).splitlines()[0]}") from None

    def is_finished(self, step):
        """Whether the folder's metrics.json (its last file) says the run finished at ``step``."""
        try:
            with open(self.file(METRICS_FILE), encoding="utf-8") as file:
                return json.load(file).get("step") == step
        except (OSError, ValueError, AttributeError):
            return False

    # -- writing ----------------------------------------------------------------------------------------------

    def write_config(self, config):
        write_text_atomically(self.file(CONFIG_FILE), config.to_json() + "\n")

    def write_progress(self, trainer, snapshots):
        """The run as it stands at the trainer's step (a checked state: just after a host transfer, or restored
        to one), in the order that keeps the folder true whenever the process dies: the snapshots up to that
        step, the history, then the checkpoint."""
        from . import plots
        plots.save_snapshots([s for s in snapshots if s["step"] <= trainer.step], self.file(SNAPSHOTS_FILE))
        self._write_history(trainer.history)
        trainer.save_checkpoint(self.file(CHECKPOINT_FILE))
        self.checkpoint_step = trainer.step

    def _write_history(self, history):
        """history.csv, atomically, formatting only the rows it did not hold at the last write: every row but
        the last is final (a restore cuts rows off the end, the final evaluation fills in the last one)."""
        keep = min(len(self._history_lines), max(len(history) - 1, 0))
        self._history_lines[keep:] = history.csv_rows(keep)
        write_text_atomically(self.file(HISTORY_FILE), history.csv_header() + "".join(self._history_lines))

    def write_metrics(self, metrics):
        """metrics.json: strict JSON, a NaN or an infinity written as null."""
        strict = {name: None if isinstance(value, float) and not math.isfinite(value) else value
                  for name, value in metrics.items()}
        write_text_atomically(self.file(METRICS_FILE), json.dumps(strict, indent=2, allow_nan=False) + "\n")

    def remove_metrics(self):
        """The run is not finished any more (it is being extended): its metrics.json goes."""
        if os.path.exists(self.file(METRICS_FILE)):
            os.remove(self.file(METRICS_FILE))


def _lock(descriptor):
    """An exclusive lock on the open file, or OSError at once when another process holds it."""
    if fcntl is not None:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    else:
        msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)


def _read_pid(descriptor):
    try:
        text = os.read(descriptor, 32).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _inode(path):
    try:
        return os.stat(path).st_ino
    except OSError:
        return None
