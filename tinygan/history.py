"""The history of a training run: one row of numbers per step, written to and read from CSV, JSON and
checkpoints."""

import csv
import io
import json
import math

from . import backend
from .factories import tensor
from .serialization import write_text_atomically


class History:
    """What happened at every step: ``columns`` maps a name to a list with one float per step (NaN where the
    value was not recorded, e.g. metrics between evaluations).

    Per-step columns (STEP_COLUMNS):
        step            the generator step, 1, 2, ...
        loss_d, loss_g  the discriminator loss (mean over its k steps, without the penalty) and the generator loss
        penalty         the penalty added to the discriminator loss (0 without one), mean over the k steps
        d_real, d_fake  mean D(x) on the real batch and mean D(G(z)) on the fake batch of the last D step: a
                        probability sigmoid(logit) for logit losses (both tend to 1/2 at the equilibrium), the raw
                        critic value for hinge, Wasserstein and least squares (meta["d_output"] says which)
        grad_norm_d     ||grad of the D loss (with penalty) w.r.t. D's parameters||_2 at the last D step
        grad_norm_g     ||grad of the G loss w.r.t. G's parameters||_2
        lr_d, lr_g      the learning rates used at this step
    Metric columns (METRIC_COLUMNS), every ``eval_every`` steps, on samples of the sampling generator (the EMA
    generator when there is one): modes_captured, high_quality_fraction, mode_kl (mixtures of Gaussians only,
    see tinygan.metrics.mode_statistics) and mmd2 (unbiased MMD^2 between n = min(eval_samples, 1,000)
    generated and n data points, Gaussian kernel, median-heuristic bandwidth over at most 1,000 of the pooled 2n).
    """

    STEP_COLUMNS = ("step", "loss_d", "loss_g", "penalty", "d_real", "d_fake", "grad_norm_d", "grad_norm_g",
                    "lr_d", "lr_g")
    METRIC_COLUMNS = ("modes_captured", "high_quality_fraction", "mode_kl", "mmd2")

    def __init__(self, meta=None):
        self.columns = {name: [] for name in self.STEP_COLUMNS + self.METRIC_COLUMNS}
        self.meta = dict(meta or {})

    def __len__(self):
        return len(self.columns["step"])

    def append(self, row):
        """Add one step: ``row`` maps column names to numbers; columns it leaves out get NaN."""
        unknown = set(row) - set(self.columns)
        if unknown:
            raise KeyError(f"History.append: unknown columns {sorted(unknown)}; the columns are {list(self.columns)}")
        for name, values in self.columns.items():
            values.append(float(row.get(name, math.nan)))

    def set_last(self, row):
        """Fill in values (e.g. metrics) of the last step."""
        for name, value in row.items():
            self.columns[name][-1] = float(value)

    def truncate(self, length):
        """Keep the first ``length`` steps (used when a run goes back to its last good state)."""
        for values in self.columns.values():
            del values[length:]

    def last(self, name):
        """The last recorded (non-NaN) value of a column, or NaN if there is none."""
        for value in reversed(self.columns[name]):
            if not math.isnan(value):
                return value
        return math.nan

    def recorded(self, name):
        """(steps, values) where the column ``name`` was recorded: two lists, for plotting."""
        pairs = [(s, v) for s, v in zip(self.columns["step"], self.columns[name]) if not math.isnan(v)]
        return [int(s) for s, _ in pairs], [v for _, v in pairs]

    def __eq__(self, other):
        """Equal when every value is the same (NaN equals NaN here) and the meta data match."""
        if not isinstance(other, History) or self.meta != other.meta or list(self.columns) != list(other.columns):
            return False
        return all(_same_floats(self.columns[name], other.columns[name]) for name in self.columns)

    __hash__ = None

    def __repr__(self):
        return f"History({len(self)} steps, columns {list(self.columns)})"

    # -- files -----------------------------------------------------------------------------------------------

    def to_csv(self, path):
        """Write the history as CSV (a header, then one line per step; NaN written as an empty field),
        atomically. repr() of each float, so reading it back gives the same numbers."""
        write_text_atomically(path, self.csv_header() + "".join(self.csv_rows()))

    def csv_header(self):
        return ",".join(self.columns) + "\n"

    def csv_rows(self, start=0):
        """The lines of ``to_csv``'s file for the steps from index ``start`` on, each ending in a newline (a writer
        that keeps the lines of earlier steps formats only the new ones)."""
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        for row in zip(*(values[start:] for values in self.columns.values())):
            writer.writerow("" if math.isnan(value) else repr(value) for value in row)
        return text.getvalue().splitlines(keepends=True)

    @classmethod
    def from_csv(cls, path, meta=None):
        """Read a history written by ``to_csv``."""
        with open(path, newline="", encoding="utf-8") as file:
            reader = csv.reader(file)
            header = next(reader, None)
            history = cls(meta)
            if header != list(history.columns):
                raise ValueError(f"History.from_csv: {path} has columns {header}, expected {list(history.columns)}")
            for line in reader:
                history.append({name: float(value) if value else math.nan for name, value in zip(header, line)})
        return history

    def to_json(self, path):
        """Write {"meta": ..., "columns": {name: [values]}} as JSON (NaN written as null), atomically."""
        columns = {name: [None if math.isnan(v) else v for v in values] for name, values in self.columns.items()}
        write_text_atomically(path, json.dumps({"meta": self.meta, "columns": columns}))

    @classmethod
    def from_json(cls, path):
        """Read a history written by ``to_json``."""
        with open(path, encoding="utf-8") as file:
            saved = json.load(file)
        history = cls(saved.get("meta"))
        columns = saved["columns"]
        if list(columns) != list(history.columns):
            raise ValueError(f"History.from_json: {path} has columns {list(columns)}, expected "
                             f"{list(history.columns)}")
        for name, values in columns.items():
            history.columns[name] = [math.nan if v is None else float(v) for v in values]
        return history

    # -- checkpoints: the columns as float64 tensors --------------------------------------------------------

    def state_dict(self):
        return {"meta": json.dumps(self.meta),
                "columns": {name: tensor(values, dtype=backend.float64).reshape(len(values))
                            for name, values in self.columns.items()}}

    @classmethod
    def from_state_dict(cls, state):
        history = cls(json.loads(state["meta"]))
        for name in history.columns:
            history.columns[name] = [float(v) for v in state["columns"][name].numpy().tolist()]
        return history


def _same_floats(a, b):
    return len(a) == len(b) and all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b))
