"""Pictures of GAN training, drawn with matplotlib.

    from tinygan import plots

    snapshots = []                                              # capture while training ...
    trainer.train(callback=lambda t: snapshots.append(plots.snapshot_2d(t)), callback_every=200)
    plots.save_snapshots(snapshots, "run/snapshots.safetensors")
    snapshots = plots.load_snapshots("run/snapshots.safetensors")   # ... draw later
    plots.plot_snapshots_2d(snapshots, "run/snapshots.png")    # GAN Lab style grid
    plots.animate_2d(snapshots, "run/training.gif")             # the same, as an animated GIF
    plots.plot_curves(trainer.history, "run/curves.png")       # losses, D outputs, gradient norms, metrics
    plots.plot_saturation("saturation.png")                     # why the non-saturating generator loss exists

Two kinds of function live here:

- ``snapshot_1d`` and ``snapshot_2d`` *measure*: they run the generator and the discriminator once and return a
  snapshot, a plain dict of host arrays (numpy) and Python scalars. Snapshots are cheap to keep during training and
  can be saved (``save_snapshots``, a safetensors file written by ``tg.save``) and drawn again later.
- ``plot_*`` and ``animate_2d`` *draw*: they take snapshots, histories or plain arrays, never a model. Each makes a
  figure with a title, labelled axes and a legend, writes it to ``path`` when one is given (the format follows
  the file name: .png, .pdf, .svg) and returns the matplotlib Figure. Functions that draw one panel take ``ax`` to
  draw into an axes of your own instead.

Figures are made with matplotlib's object interface (``matplotlib.figure.Figure``), not with pyplot, so nothing is
kept open between calls and no window is needed; on a machine without a display pyplot is switched to the Agg
backend as well, for users who mix in their own pyplot code.

Colours follow two conventions. In 1-D, Figure 1 of the GAN paper (Goodfellow et al. 2014): data density black
dotted, generator density green solid, discriminator blue dashed. In 2-D, GAN Lab (Kahng et al. 2018): real samples
green, generated samples purple, the discriminator's output as a purple (fake) to green (real) heatmap.
"""

import math
import os
import sys

import matplotlib

if (sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
        and "matplotlib.pyplot" not in sys.modules):
    matplotlib.use("Agg")  # no display: draw into memory and files only

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402
from PIL import Image  # noqa: E402  (matplotlib's own dependency)

from . import backend, losses, ops  # noqa: E402
from .autograd import grad  # noqa: E402
from .backend import Generator  # noqa: E402
from .distributions import Uniform  # noqa: E402
from .serialization import load, save  # noqa: E402
from .factories import linspace, tensor  # noqa: E402
from .autograd.grad_mode import no_grad  # noqa: E402
from .tensor import Tensor  # noqa: E402
from .losses import LOGIT_LOSSES, RELATIVISTIC_LOSSES, d_output_kind  # noqa: E402
from .config import DEFAULT_BANDWIDTHS  # noqa: E402
from .distributions import one_hot  # noqa: E402
from .kernels import distance, gaussian  # noqa: E402

__all__ = [
    "snapshot_1d", "snapshot_2d", "save_snapshots", "load_snapshots",
    "plot_game_1d", "plot_samples_2d", "plot_snapshots_2d", "animate_2d", "plot_comparison_2d",
    "plot_curves", "plot_saturation", "plot_saturation_run", "plot_vector_fields", "plot_optimal_discriminator",
    "plot_ipm_comparison", "plot_conditional_2d", "LOGIT_LOSSES", "EQUILIBRIUM",
]

# LOGIT_LOSSES (from the trainer): losses whose discriminator output is a logit l, so sigmoid(l) is a probability of
# "real"; the others (hinge, wasserstein, lsgan) use the raw output, a critic value.

# The value of (discriminator loss, generator loss) when p_g = p_data and the discriminator is optimal: every logit 0
# for the logit losses, the output 1/2 for LSGAN. None where the equilibrium leaves the value undetermined (the
# critic of WGAN and hinge is fixed only up to a constant there, which G's loss sees).
EQUILIBRIUM = {
    "nonsaturating": ((math.log(4), "log 4"), (math.log(2), "log 2")),
    "minimax": ((math.log(4), "log 4"), (-math.log(2), "-log 2")),
    "hinge": ((2.0, "2"), None),
    "wasserstein": ((0.0, "0"), None),
    "lsgan": ((0.25, "1/4"), (0.125, "1/8")),
    "rsgan": ((math.log(2), "log 2"), (math.log(2), "log 2")),
    "ragan": ((math.log(4), "log 4"), (math.log(4), "log 4")),
    # f-GAN: at P = Q the optimal output is T* = f'(1), the D loss -D_f(P || P) = 0 (gan: D_f = -log 4), the G loss
    # -f'(1); tv's T* is any number in [-1/2, 1/2] there, so its G loss is undetermined
    "fgan-kl": ((0.0, "0"), (-1.0, "-1")),
    "fgan-reverse-kl": ((0.0, "0"), (1.0, "1")),
    "fgan-pearson": ((0.0, "0"), (0.0, "0")),
    "fgan-hellinger": ((0.0, "0"), (0.0, "0")),
    "fgan-js": ((0.0, "0"), (0.0, "0")),
    "fgan-gan": ((math.log(4), "log 4"), (math.log(2), "log 2")),
    "fgan-tv": ((0.0, "0"), None),
}

# Losses whose mean discriminator output on real and on generated samples both tend to 1/2 at the equilibrium.
HALF_AT_EQUILIBRIUM = ("nonsaturating", "minimax", "lsgan")

REAL_COLOR, FAKE_COLOR, ARROW_COLOR, MANIFOLD_COLOR = "#1b7837", "#762a83", "#e08214", "#5e3c99"
HEATMAP = matplotlib.colormaps["PRGn"]                                # purple (fake) to green (real)
DATA_STYLE = dict(color="black", linestyle=":", linewidth=2.0)        # Figure 1 of the GAN paper
GENERATOR_STYLE = dict(color="tab:green", linestyle="-", linewidth=2.0)
DISCRIMINATOR_STYLE = dict(color="tab:blue", linestyle="--", linewidth=2.0)
OPTIMAL_STYLE = dict(color="tab:red", linestyle="-.", linewidth=1.2, alpha=0.8)


# ---------------------------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------------------------


def _host(value):
    """A Tensor as a host (numpy) array; anything else unchanged."""
    return value.numpy() if isinstance(value, Tensor) else value


def _device_of(module):
    """The device of a module's first parameter (the CPU for a module without parameters or a plain function)."""
    for parameter in getattr(module, "parameters", list)():
        return parameter.device
    return backend.CPU


def _dtype_of(module):
    """The dtype of a module's first parameter (the default dtype for a module without parameters)."""
    for parameter in getattr(module, "parameters", list)():
        return parameter.dtype
    return backend.get_default_dtype()


def _discriminator_values(D, x, d_output):
    """D on the points x, as a flat tensor: sigmoid of the logit for a probability output, else the raw value."""
    out = D(x).reshape(x.shape[0])
    return out.sigmoid() if d_output == "probability" else out


def _quantile(values, q):
    """The q-quantile of a host array (nearest rank), without numpy: for picking arrow scales and bounds."""
    ordered = sorted(float(v) for v in values.reshape(-1).tolist())
    return ordered[min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))]


def _new_figure(width, height):
    """A Figure with an Agg canvas: drawn in memory, saved with savefig, never shown in a window."""
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _finish(figure, path, dpi=100):
    """Save ``figure`` to ``path`` (when given; its folder is created) and return it."""
    if path is not None:
        folder = os.path.dirname(os.fspath(path))
        if folder:
            os.makedirs(folder, exist_ok=True)
        figure.savefig(path, dpi=dpi)
    return figure


def _pick(items, at_most):
    """At most ``at_most`` items, evenly spaced, always including the first and the last."""
    if len(items) <= at_most:
        return list(items)
    indices = sorted({round(i * (len(items) - 1) / (at_most - 1)) for i in range(at_most)})
    return [items[i] for i in indices]


def _check_kind(function_name, snapshots, kind):
    if not snapshots:
        raise ValueError(f"{function_name}: no snapshots to draw")
    for snapshot in snapshots:
        if snapshot.get("kind") != kind:
            raise ValueError(f"{function_name}: expected {kind} snapshots (from snapshot_{kind}), got one of kind "
                             f"{snapshot.get('kind')!r}")


def _game_parts(trainer, G, D, data, latent, loss, step):
    """The models and settings a snapshot needs: explicit arguments win, the rest come from ``trainer``."""
    if trainer is not None:
        G = trainer.G if G is None else G
        D = trainer.D if D is None else D
        data = trainer.data if data is None else data
        latent = trainer.latent if latent is None else latent
        loss = trainer.loss if loss is None else loss
        step = trainer.step if step is None else step
    missing = [name for name, value in (("G", G), ("D", D), ("data", data), ("latent", latent)) if value is None]
    if missing:
        raise ValueError(f"a snapshot needs a trainer or all of G, D, data and latent; missing {', '.join(missing)}")
    return G, D, data, latent, loss or "nonsaturating", int(step or 0)


def _check_dimension(function_name, data, dim, instead):
    if data.dim != dim:
        word = {1: "one", 2: "two"}[dim]
        raise ValueError(f"{function_name}: the data must be {word}-dimensional, got dim={data.dim}; use {instead}")


def _latent_range(latent):
    """An interval of each latent coordinate that holds most of the prior: the box of a uniform prior, else +-2."""
    if isinstance(latent, Uniform):
        return float(latent.low[0].item()), float(latent.high[0].item())
    return -2.0, 2.0


# ---------------------------------------------------------------------------------------------------------------
# snapshots: measure once, draw any time
# ---------------------------------------------------------------------------------------------------------------


def snapshot_2d(trainer=None, *, G=None, D=None, data=None, latent=None, loss=None, step=None, n=500,
                grid_size=64, manifold_size=15, bounds=None, seed=0):
    """What a GAN Lab picture of a 2-D game shows, measured now, as a dict of host arrays and scalars:

        "real"      (n, 2)  samples of the data
        "fake"      (n, 2)  generated samples G(z)
        "arrows"    (n, 2)  -d(generator loss)/d(fake sample), per sample: where each generated point is pushed
        "d_grid"    (grid_size, grid_size)  the discriminator on a regular grid of ``bounds`` (row i is the i-th y):
                            sigmoid(logit) for the logit losses ("d_output": "probability"), the raw critic value
                            for the others ("d_output": "critic"), the MMD witness of real and fake samples for
                            the IPM objectives ("d_output": "witness"; for mmd-gan on the critic's features); for
                            a conditional run averaged over the labels with the data's weights
        "manifold"  (rows, cols, 2)  the image G(z) of a regular grid of z over the first two latent coordinates
                            (the others 0; one row for a 1-D latent), over the prior's box or +-2; None when
                            manifold_size is 0 (for a "generator" that is not a function of z alone)
        "bounds"    [xmin, xmax, ymin, ymax], "step", "loss", "d_output", "kind": "2d"

    Pass a trainer (its G, D, data, latent, loss and step are used; G is the generator playing the game, not its
    weight average G_ema) or the parts themselves; explicit arguments win. G and D may be modules or any callables
    from batches to batches (G of latent batches, D giving one output per sample).

    The same ``seed`` draws the same data and z at every call, so snapshots of one run show the same points moving.
    ``bounds`` defaults to a square around the data with a margin: pass the first snapshot's bounds to later ones
    (or one fixed box) so that every picture of a run has the same axes.
    """
    G, D, data, latent, loss, step = _game_parts(trainer, G, D, data, latent, loss, step)
    _check_dimension("snapshot_2d", data, 2, "snapshot_1d for 1-D")
    device, dtype = _device_of(G), _dtype_of(G)
    generator = Generator(seed, device=device)
    d_output = d_output_kind(loss)
    game = _Game(trainer, G, D, data, loss, n, generator)
    real = game.real
    z = latent.sample(n, generator, dtype=dtype)
    if bounds is None:
        bounds = _square_bounds(real.numpy())
    if game.labels is not None:
        manifold_size = 0        # G(z, y) is not a function of z alone

    with no_grad():
        fake = game.generate(z)
        xs = linspace(bounds[0], bounds[1], grid_size, dtype=_dtype_of(D), device=device)
        ys = linspace(bounds[2], bounds[3], grid_size, dtype=_dtype_of(D), device=device)
        points = ops.stack([ops.broadcast_to(xs.reshape(1, grid_size), (grid_size, grid_size)).reshape(-1),
                            ops.broadcast_to(ys.reshape(grid_size, 1), (grid_size, grid_size)).reshape(-1)], axis=1)
        d_grid = game.critic(points, fake, d_output).reshape(grid_size, grid_size)
        manifold = G(_latent_grid(latent, manifold_size, device, dtype)) if manifold_size else None

    # The generator's gradient with respect to its own samples: the direction gradient descent moves each G(z).
    x = fake.detach().requires_grad_()
    (gradient,) = grad(game.generator_loss(x), [x])
    arrows = -gradient * n  # the loss is a batch mean: times n gives each sample's own gradient

    rows = 1 if latent.dim == 1 else manifold_size
    return {"kind": "2d", "step": step, "loss": loss, "d_output": d_output, "bounds": [float(b) for b in bounds],
            "real": real.numpy(), "fake": fake.numpy(), "arrows": arrows.numpy(), "d_grid": d_grid.numpy(),
            "manifold": None if manifold is None else manifold.numpy().reshape(rows, -1, 2)}


class _Game:
    """What a picture needs of the two players, for every loss and for conditional runs: a real batch, G on
    latent batches, the critic on points and the generator's loss on a batch of its samples.

    For the IPM objectives the critic is the MMD witness of the real batch and the fakes (for mmd-gan, of the
    critic's features); for a conditional trainer (Trainer.conditional) the real batch comes with its labels, the
    fakes are made with labels drawn from the data's weights, and the critic at a point is its average over the
    labels, weighted the same way."""

    def __init__(self, trainer, G, D, data, loss, n, generator):
        self.G, self.D, self.data, self.loss, self.generator = G, D, data, loss, generator
        self.kernel = getattr(trainer, "kernel", None) or gaussian(list(DEFAULT_BANDWIDTHS))
        conditional = getattr(trainer, "conditional", False)
        if conditional:
            self.real, components = data.sample_with_components(n, generator, dtype=_dtype_of(D))
            self.labels = one_hot(components, data.n_modes, _dtype_of(D))
        else:
            self.real, self.labels = data.sample(n, generator, dtype=_dtype_of(D)), None
        self.fake_labels = None

    def generate(self, z):
        """G(z), or G(z, y) with labels y drawn for these z (kept for the critic and the generator's loss)."""
        if self.labels is None:
            return self.G(z)
        components = self.data.sample_components(z.shape[0], self.generator)
        self.fake_labels = one_hot(components, self.data.n_modes, _dtype_of(self.D))
        return self.G(_joined(z, self.fake_labels))

    def critic(self, points, fake, d_output):
        """The critic at points (k, dim) as a flat tensor: D (sigmoid of it for a probability output) or the MMD
        witness of the real batch and ``fake`` (made by generate)."""
        real, fake = _joined(self.real, self.labels), _joined(fake, self.fake_labels)
        if self.loss in ("gmmn", "energy"):
            witness = losses.mmd_witness(real, fake, self.kernel if self.loss == "gmmn" else distance())
            value = witness
        elif self.loss == "mmd-gan":
            witness = losses.mmd_witness(self.D(real), self.D(fake), self.kernel)
            value = lambda x: witness(self.D(x))            # noqa: E731
        else:
            value = lambda x: _discriminator_values(self.D, x, d_output)     # noqa: E731
        if self.labels is None:
            return value(points)
        total = 0.0
        for label, weight in enumerate(self.data.weights.tolist()):
            labels = one_hot(tensor([label] * points.shape[0], dtype=backend.int64, device=points.device),
                             self.data.n_modes, points.dtype)
            total = total + weight * value(_joined(points, labels))
        return total

    def generator_loss(self, x):
        """The generator's loss on its samples x (made by generate), a 0-d tensor to differentiate."""
        x, real = _joined(x, self.fake_labels), _joined(self.real, self.labels)
        if self.loss in losses.IPM_LOSSES:
            g_loss = losses.ipm_losses(self.loss, self.kernel)[1]
            return g_loss(self.D(x), self.D(real)) if self.loss == "mmd-gan" else g_loss(x, real)
        real_logits = self.D(real) if self.loss in RELATIVISTIC_LOSSES else None
        return losses.generator_loss(self.D(x), kind=self.loss, real_logits=real_logits)


def _joined(x, labels):
    """x with its one-hot labels beside it, (batch, dim + n_labels); x itself without labels."""
    return x if labels is None else ops.concatenate([x, labels], axis=1)


def _square_bounds(points, margin=0.3):
    """[xmin, xmax, ymin, ymax]: a square holding the points' central 99.8%, widened by ``margin`` of its side."""
    lows = [_quantile(points[:, j], 0.001) for j in range(2)]
    highs = [_quantile(points[:, j], 0.999) for j in range(2)]
    half = max(max(h - lo for lo, h in zip(lows, highs)) / 2, 0.5) * (1 + margin)
    centre = [(lo + h) / 2 for lo, h in zip(lows, highs)]
    return [centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half]


def _latent_grid(latent, size, device, dtype):
    """A regular grid of latent vectors: size x size over the first two coordinates (size for a 1-D latent), the
    other coordinates 0; shape (points, latent.dim)."""
    low, high = _latent_range(latent)
    line = linspace(low, high, size, dtype=dtype, device=device)
    if latent.dim == 1:
        return line.reshape(size, 1)
    first = ops.broadcast_to(line.reshape(size, 1), (size, size)).reshape(-1, 1)
    second = ops.broadcast_to(line.reshape(1, size), (size, size)).reshape(-1, 1)
    rest = [first * 0.0] * (latent.dim - 2)
    return ops.concatenate([first, second] + rest, axis=1)


def snapshot_1d(trainer=None, *, G=None, D=None, data=None, latent=None, loss=None, step=None, bounds=None,
                grid_size=400, n_arrows=25, n_latent=4000, seed=0):
    """What Figure 1 of the GAN paper shows for a 1-D game, measured now, as a dict of host arrays and scalars:

        "x"        (grid_size,)  points of the interval ``bounds``
        "p_data"   the data density there (the data must have a log_prob)
        "p_g"      the generator's density there, estimated: for a 1-D latent, a kernel density estimate of G(z) on a
                   fine grid of z weighted by the prior density (no sampling noise); otherwise of n_latent samples
        "d"        the discriminator there: sigmoid(logit) for the logit losses, the raw critic value otherwise
        "d_star"   the optimal discriminator D*(x) = p_data / (p_data + p_g) for the estimated p_g
        "z", "g_of_z"  (n_arrows,) evenly spaced latent values (first latent coordinate; the others 0) and their
                   images G(z): the arrows of the figure's z-to-x mapping
        "bounds" [low, high], "step", "loss", "d_output", "kind": "1d"

    Pass a trainer or the parts (explicit arguments win). ``bounds`` defaults to an interval holding the data
    and the latent range; pass the same bounds to every snapshot of a run.
    """
    G, D, data, latent, loss, step = _game_parts(trainer, G, D, data, latent, loss, step)
    _check_dimension("snapshot_1d", data, 1, "snapshot_2d")
    device, dtype = _device_of(G), _dtype_of(G)
    generator = Generator(seed, device=device)
    d_output = d_output_kind(loss)
    z_low, z_high = _latent_range(latent)
    if bounds is None:
        sample = data.sample(4000, generator, dtype=backend.float64).numpy()
        low, high = min(_quantile(sample, 0.001), z_low), max(_quantile(sample, 0.999), z_high)
        bounds = [low - 0.15 * (high - low), high + 0.15 * (high - low)]
    x = linspace(bounds[0], bounds[1], grid_size, dtype=backend.float64, device=device)

    with no_grad():
        log_p_data = data.log_prob(x.reshape(-1, 1)).reshape(-1)
        if latent.dim == 1:
            # quadrature: a fine grid of z over the prior's support (+-5 for a Gaussian), each point weighted by
            # its prior probability p(z) dz
            support = (z_low, z_high) if isinstance(latent, Uniform) else (-5.0, 5.0)
            z = linspace(*support, n_latent, dtype=dtype, device=device).reshape(-1, 1)
            log_weights = latent.log_prob(z).double().reshape(-1)
            log_weights = log_weights - ops.logsumexp(log_weights)
        else:
            z = latent.sample(n_latent, generator, dtype=dtype)
            log_weights = tensor([-math.log(n_latent)] * n_latent, dtype=backend.float64, device=device)
        game = _Game(trainer, G, D, data, loss, 500, generator)   # drawn after z: the same z as ever
        fake = game.generate(z)
        g_of_z = fake.double().reshape(-1)
        bandwidth = (bounds[1] - bounds[0]) / 150
        squared = (x.reshape(-1, 1) - g_of_z.reshape(1, -1)) ** 2
        log_p_g = ops.logsumexp(log_weights.reshape(1, -1) - squared / (2 * bandwidth ** 2), axis=1) \
            - math.log(bandwidth * math.sqrt(2 * math.pi))
        d = game.critic(x.to(_dtype_of(D)).reshape(-1, 1), fake, d_output)
        d_star = (log_p_data - log_p_g).sigmoid()  # p_data / (p_data + p_g), computed from the logs

        inset = (z_high - z_low) / (2 * n_arrows)
        z_arrows = linspace(z_low + inset, z_high - inset, n_arrows, dtype=dtype, device=device).reshape(-1, 1)
        if latent.dim > 1:
            z_arrows = ops.concatenate([z_arrows] + [z_arrows * 0.0] * (latent.dim - 1), axis=1)
        g_arrows = game.generate(z_arrows).reshape(-1)

    return {"kind": "1d", "step": step, "loss": loss, "d_output": d_output, "bounds": [float(b) for b in bounds],
            "x": x.numpy(), "p_data": log_p_data.exp().numpy(), "p_g": log_p_g.exp().numpy(), "d": d.numpy(),
            "d_star": d_star.numpy(), "z": z_arrows[:, 0].numpy(), "g_of_z": g_arrows.numpy()}


def save_snapshots(snapshots, path):
    """Write a list of snapshots (dicts of arrays, numbers and strings) to ``path`` with tg.save (safetensors)."""
    stored = [{key: tensor(value) if backend.is_array(value) else value for key, value in snapshot.items()}
              for snapshot in snapshots]
    save({"snapshots": stored}, path)


def load_snapshots(path):
    """The list of snapshots written by ``save_snapshots``, with host (numpy) arrays again."""
    state = load(path, device="cpu")
    return [{key: _host(value) for key, value in snapshot.items()} for snapshot in state["snapshots"]]


# ---------------------------------------------------------------------------------------------------------------
# 1-D: Figure 1 of the GAN paper
# ---------------------------------------------------------------------------------------------------------------


def _draw_game_1d(snapshot, curves, mapping, show_optimal=True):
    """One column of the Figure-1 picture: densities and D on ``curves`` (D on a twin axis), z -> x on ``mapping``."""
    x = snapshot["x"]
    curves.plot(x, snapshot["p_data"], **DATA_STYLE)
    curves.plot(x, snapshot["p_g"], **GENERATOR_STYLE)
    data_peak, generator_peak = float(snapshot["p_data"].max()), float(snapshot["p_g"].max())
    curves.set_ylim(0, 1.15 * max(data_peak, min(generator_peak, 3.0 * data_peak)))  # a spike of p_g is cut
    curves.set_xlim(*snapshot["bounds"])
    curves.set_title(f"step {snapshot['step']}")
    right = curves.twinx()
    right.plot(x, snapshot["d"], **DISCRIMINATOR_STYLE)
    if snapshot["d_output"] == "probability":
        if show_optimal:  # D* = p_data / (p_data + p_g) is 0/0 where neither distribution has mass: not drawn there
            total = snapshot["p_data"] + snapshot["p_g"]
            d_star = snapshot["d_star"].copy()
            d_star[total < 0.01 * float(total.max())] = math.nan
            right.plot(x, d_star, **OPTIMAL_STYLE)
        right.axhline(0.5, color="gray", linewidth=0.6)
        right.set_ylim(-0.02, 1.02)

    # the mapping x = G(z): arrows from each z on the lower line to G(z) on the upper line
    z, g = snapshot["z"], snapshot["g_of_z"]
    mapping.axhline(0.0, color="black", linewidth=0.8)
    mapping.axhline(1.0, color="black", linewidth=0.8)
    mapping.quiver(z, z * 0.0, g - z, z * 0.0 + 1.0, angles="xy", scale_units="xy", scale=1.0, width=0.004,
                   color="tab:green", alpha=0.8)
    mapping.set_ylim(-0.25, 1.25)
    mapping.set_yticks([0.0, 1.0], ["z", "x"])
    mapping.set_xlim(*snapshot["bounds"])
    mapping.set_xlabel("x (upper line) and z (lower line)")
    return right


def plot_game_1d(snapshots, path=None, title=None, max_panels=5, show_optimal=True):
    """Figure 1 of the GAN paper from 1-D snapshots (``snapshot_1d``), one column per moment of training.

    Each column shows the data density (black dotted), the generator's density (green solid), the discriminator
    D(x) (blue dashed, right axis) and the optimal discriminator D* = p_data / (p_data + p_g) (red dash-dot); below,
    arrows from z (lower line) to x = G(z) (upper line) show how G squeezes and stretches the prior into p_g. At the
    end of a good run p_g covers p_data and D is 1/2 wherever the data is. At most ``max_panels`` snapshots are
    drawn (evenly spaced, first and last included).
    """
    _check_kind("plot_game_1d", snapshots, "1d")
    chosen = _pick(snapshots, max_panels)
    figure = _new_figure(3.3 * len(chosen) + 0.6, 4.4)
    grid = figure.add_gridspec(2, len(chosen), height_ratios=[3, 1])
    for column, snapshot in enumerate(chosen):
        curves = figure.add_subplot(grid[0, column])
        mapping = figure.add_subplot(grid[1, column], sharex=curves)
        right = _draw_game_1d(snapshot, curves, mapping, show_optimal)
        if column == 0:
            curves.set_ylabel("density")
        if column == len(chosen) - 1:
            right.set_ylabel("discriminator output D(x)" if snapshot["d_output"] == "probability"
                             else "critic value D(x)")
    handles = [Line2D([], [], **DATA_STYLE, label="data density p_data"),
               Line2D([], [], **GENERATOR_STYLE, label="generator density p_g"),
               Line2D([], [], **DISCRIMINATOR_STYLE, label="discriminator D(x)")]
    if show_optimal and chosen[0]["d_output"] == "probability":
        handles.append(Line2D([], [], **OPTIMAL_STYLE, label="optimal D* = p_data / (p_data + p_g)"))
    handles.append(Line2D([], [], color="tab:green", marker=">", label="mapping x = G(z)"))
    figure.legend(handles=handles, loc="outside lower center", ncol=len(handles) if len(chosen) >= 4 else 3,
                  frameon=False)
    figure.suptitle(title or f"The 1-D GAN game ({chosen[0]['loss']} loss): p_g moves onto p_data, D flattens to 1/2")
    return _finish(figure, path)


# ---------------------------------------------------------------------------------------------------------------
# 2-D: GAN Lab pictures
# ---------------------------------------------------------------------------------------------------------------


def _scaled_arrows(arrows, bounds, length=0.06):
    """Arrows rescaled for display: the 80th-percentile arrow gets ``length`` of the box width, none gets more than
    2 times that. Gradients vary by orders of magnitude over training; directions and relative sizes are kept."""
    norms = ((arrows * arrows).sum(axis=1) + 1e-30) ** 0.5
    reference = max(_quantile(norms, 0.8), 1e-30)
    factor = (length * (bounds[1] - bounds[0]) / reference)
    shrink = (2.0 * reference / norms).clip(max=1.0)
    return arrows * (factor * shrink).reshape(-1, 1)


def plot_samples_2d(snapshot, ax=None, path=None, title=None, colorbar=True, legend=True, show_arrows=True,
                    show_manifold=True, contours=True, max_arrows=200):
    """One GAN Lab picture of a 2-D snapshot (``snapshot_2d``).

    The heatmap is the discriminator's output over the plane: green where it says "real", purple where it says
    "fake" (D(x) in [0, 1] for the logit losses; for a critic, its raw value, centred on its median), in ten bands
    edged by level lines. Green dots are data samples, purple dots generated samples; orange arrows
    start at generated samples and point where the generator's gradient step moves them (-d loss_G / d x, rescaled
    for display); the thin purple mesh is the image G(z) of a regular grid of z, the generator's manifold. Draws
    into ``ax`` when given (and returns it), else into a new figure (returned, and saved to ``path`` when given).
    """
    _check_kind("plot_samples_2d", [snapshot], "2d")
    figure = None
    if ax is None:
        figure = _new_figure(5.6, 4.8)
        ax = figure.add_subplot()
    bounds = snapshot["bounds"]
    image, label = _draw_snapshot_2d(ax, snapshot, contours, show_arrows, show_manifold, max_arrows)
    ax.set_xlim(bounds[0], bounds[1])
    ax.set_ylim(bounds[2], bounds[3])
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(title or f"step {snapshot['step']}")
    if colorbar:
        (figure or ax.figure).colorbar(image, ax=ax, shrink=0.8, label=label)
    if legend:
        ax.legend(handles=_legend_handles_2d(show_arrows, show_manifold), loc="upper right", fontsize=8,
                  framealpha=0.8)
    if figure is None:
        return ax
    return _finish(figure, path)


def _draw_snapshot_2d(ax, snapshot, contours, show_arrows, show_manifold, max_arrows):
    """The parts of plot_samples_2d's picture that change from snapshot to snapshot: the heatmap (with its level
    lines), the manifold, the dots and the arrows. Returns (the heatmap's image, the colour bar's label)."""
    bounds = snapshot["bounds"]
    values = snapshot["d_grid"]
    if snapshot["d_output"] == "probability":
        low, high, label = 0.0, 1.0, "D(x): probability that x is real"
    elif snapshot["d_output"] == "witness":     # 0 where real and fake are equally dense: the centre of the scale
        spread = max(abs(_quantile(values, 0.02)), abs(_quantile(values, 0.98)), 1e-12)
        low, high, label = -spread, spread, "MMD witness w(x) (higher: more real)"
    else:
        centre = _quantile(values, 0.5)
        spread = max(abs(_quantile(values, 0.02) - centre), abs(_quantile(values, 0.98) - centre), 1e-12)
        low, high, label = centre - spread, centre + spread, "critic value D(x) (higher: more real)"
    # ten colour bands, one per tenth of the range, edged by level lines: easy to read off, and small in a GIF
    image = ax.imshow(values, origin="lower", extent=bounds, cmap=HEATMAP.resampled(10), vmin=low, vmax=high,
                      alpha=0.75, interpolation="bilinear", aspect="equal")
    if contours:
        levels = [low + (high - low) * i / 10 for i in range(1, 10)]
        ax.contour(values, levels=levels, extent=bounds, colors="black", linewidths=0.4, alpha=0.35)
    if show_manifold and snapshot.get("manifold") is not None:
        mesh = snapshot["manifold"]       # (rows, columns, 2): G of a grid of z, drawn as its rows and columns
        lines = [mesh[row] for row in range(mesh.shape[0])]
        if mesh.shape[0] > 1:
            lines += [mesh[:, column] for column in range(mesh.shape[1])]
        ax.add_collection(LineCollection(lines, colors=MANIFOLD_COLOR, linewidths=0.5, alpha=0.4), autolim=False)
    ax.scatter(snapshot["real"][:, 0], snapshot["real"][:, 1], s=5, color=REAL_COLOR, edgecolors="none")
    fake = snapshot["fake"]
    ax.scatter(fake[:, 0], fake[:, 1], s=5, color=FAKE_COLOR, edgecolors="none")
    if show_arrows and snapshot.get("arrows") is not None:
        count = min(max_arrows, fake.shape[0])
        arrows = _scaled_arrows(snapshot["arrows"][:count], bounds)
        ax.quiver(fake[:count, 0], fake[:count, 1], arrows[:, 0], arrows[:, 1], angles="xy", scale_units="xy",
                  scale=1.0, color=ARROW_COLOR, width=0.004, headwidth=4, alpha=0.9)
    return image, label


def _legend_handles_2d(show_arrows=True, show_manifold=True):
    handles = [Line2D([], [], linestyle="", marker="o", markersize=4, color=REAL_COLOR, label="real samples"),
               Line2D([], [], linestyle="", marker="o", markersize=4, color=FAKE_COLOR, label="generated G(z)")]
    if show_arrows:
        handles.append(Line2D([], [], color=ARROW_COLOR, marker=">", label="G's gradient step on G(z)"))
    if show_manifold:
        handles.append(Line2D([], [], color=MANIFOLD_COLOR, linewidth=0.8, label="G's manifold (grid of z)"))
    return handles


def plot_snapshots_2d(snapshots, path=None, title=None, columns=4, max_panels=8, labels=None):
    """A grid of GAN Lab pictures (see ``plot_samples_2d``), one panel per snapshot, in order: how the
    generated points, the discriminator and the generator's manifold change over training. At most ``max_panels``
    snapshots are drawn (evenly spaced, first and last included); ``labels`` (one per drawn panel) replace the
    panel titles "step N". One colour bar and one legend serve all panels.
    """
    _check_kind("plot_snapshots_2d", snapshots, "2d")
    chosen = _pick(snapshots, max_panels)
    columns = min(columns, len(chosen))
    rows = math.ceil(len(chosen) / columns)
    figure = _new_figure(3.2 * columns + 1.0, 3.2 * rows + 0.8)
    axes = [figure.add_subplot(rows, columns, i + 1) for i in range(len(chosen))]
    for i, (ax, snapshot) in enumerate(zip(axes, chosen)):
        plot_samples_2d(snapshot, ax=ax, colorbar=False, legend=False,
                        title=None if labels is None else labels[i])
        if i % columns:
            ax.set_ylabel("")
        if i < len(chosen) - columns:
            ax.set_xlabel("")
    image = axes[0].images[0]
    if chosen[0]["d_output"] == "probability":
        figure.colorbar(image, ax=axes, shrink=0.7, label="D(x): probability that x is real")
    else:  # every critic is drawn on its own scale (a critic is defined up to a constant): no common numbers
        what = "MMD witness w(x)" if chosen[0]["d_output"] == "witness" else "critic value D(x)"
        bar = figure.colorbar(image, ax=axes, shrink=0.7, ticks=[],
                              label=f"{what}, each panel on its own scale: low (purple) to high (green)")
        bar.ax.set_yticklabels([])
    handles = _legend_handles_2d(show_arrows=any(s.get("arrows") is not None for s in chosen),
                                 show_manifold=any(s.get("manifold") is not None for s in chosen))
    figure.legend(handles=handles, loc="outside lower center", ncol=4, frameon=False)
    figure.suptitle(title or f"Training a GAN on 2-D data ({chosen[0]['loss']} loss)")
    return _finish(figure, path)


def plot_comparison_2d(runs, path=None, title=None, n_modes=None, columns=4):
    """Several runs on the same 2-D data side by side (e.g. one per loss), with their metrics over training.

    runs: a list of dicts with "label" (the run's name), "snapshot" (a ``snapshot_2d`` at the end of the run) and
    optionally "history" (a train.History or a dict of columns with "step", "modes_captured",
    "high_quality_fraction", "mmd2"). Top: one GAN Lab panel per run (data green, generated purple, the run's own
    discriminator as the background: green where it says real), titled with its final metrics. Bottom: modes
    captured (of ``n_modes``), high-quality fraction and MMD^2 over the steps, one line per run.
    """
    if not runs:
        raise ValueError("plot_comparison_2d: no runs to draw")
    _check_kind("plot_comparison_2d", [run["snapshot"] for run in runs], "2d")
    histories = [getattr(run.get("history"), "columns", run.get("history")) for run in runs]
    metrics = [name for name in ("modes_captured", "high_quality_fraction", "mmd2")
               if any(history and _series(history, name)[0] for history in histories)]
    columns = min(columns, len(runs))
    sample_rows = math.ceil(len(runs) / columns)
    figure = _new_figure(max(3.3 * columns, 11.0), 3.3 * sample_rows + (3.0 if metrics else 0.0) + 0.8)
    grid = figure.add_gridspec(sample_rows + (1 if metrics else 0), 1,
                               height_ratios=[3.3] * sample_rows + ([3.0] if metrics else []))
    top = grid[:sample_rows, 0].subgridspec(sample_rows, columns)
    colors = ["tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange", "tab:brown", "tab:pink", "tab:olive",
              "tab:cyan", "tab:gray"]
    for index, (run, history) in enumerate(zip(runs, histories)):
        ax = figure.add_subplot(top[index // columns, index % columns])
        label = run["label"]
        if history and _series(history, "modes_captured")[1]:
            modes = _series(history, "modes_captured")[1][-1]
            quality = _series(history, "high_quality_fraction")[1][-1]
            label += f"\n{modes:.0f}{'/' + str(n_modes) if n_modes else ''} modes, {quality:.0%} high quality"
        plot_samples_2d(run["snapshot"], ax=ax, colorbar=False, legend=False, show_arrows=False, show_manifold=False,
                        title=label)
        ax.title.set_color(colors[index % len(colors)])
        ax.title.set_fontsize(9)
        if index % columns:
            ax.set_ylabel("")
    if metrics:
        bottom = grid[sample_rows, 0].subgridspec(1, len(metrics))
        names = {"modes_captured": ("modes captured", "Modes captured"),
                 "high_quality_fraction": ("fraction within 3 std of a mode", "High-quality fraction"),
                 "mmd2": ("MMD^2 to the data", "MMD^2 (lower is better)")}
        for position, name in enumerate(metrics):
            ax = figure.add_subplot(bottom[0, position])
            for index, (run, history) in enumerate(zip(runs, histories)):
                if history:
                    ax.plot(*_series(history, name), color=colors[index % len(colors)], label=run["label"],
                            marker="o", markersize=2.5)
            if name == "modes_captured" and n_modes:
                ax.axhline(n_modes, color="black", linestyle=":", label=f"all {n_modes} modes")
            if name == "high_quality_fraction":
                ax.set_ylim(-0.02, 1.02)
            if name == "modes_captured":
                ax.set_ylim(bottom=-0.3)
            ax.set_xlabel("generator step")
            ax.set_ylabel(names[name][0])
            ax.set_title(names[name][1])
            if position == len(metrics) - 1:
                ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    figure.legend(handles=_legend_handles_2d(show_arrows=False, show_manifold=False), loc="outside lower center",
                  ncol=2, frameon=False)
    figure.suptitle(title or "Runs compared (background: each discriminator's output, green = real)")
    return _finish(figure, path)


def animate_2d(snapshots, path, title=None, fps=4, dpi=100, max_frames=40):
    """An animated GIF of a whole run, one frame per 2-D snapshot: the picture of ``plot_samples_2d`` (samples.png)
    at its size and resolution, with its colour bar and legend, without the level lines (the colour bands remain)
    to keep the file small. At most ``max_frames`` snapshots are used (evenly spaced, first and last included); each
    frame shows for 1/fps seconds, the last for a second more. Returns the path.

    Drawn by blitting, as matplotlib's animations are: the first frame is drawn whole, as samples.png is, layout
    and all; what stays (axes, ticks, labels) is kept as a background image, and each frame pastes that
    background and draws on it only what changes: the heatmap, the manifold, the dots, the arrows, then the
    legend over them, the title and, for a critic, the colour bar (its range follows the values). Drawing every frame
    whole spent most of its time on ticks and text that never change."""
    _check_kind("animate_2d", snapshots, "2d")
    snapshots = _pick(snapshots, max_frames)
    figure = _new_figure(5.6, 4.8)
    figure.set_dpi(dpi)
    ax = figure.add_subplot()
    canvas = figure.canvas
    frames = []
    for index, snapshot in enumerate(snapshots):
        frame_title = f"{title or snapshot['loss'] + ' GAN'}: step {snapshot['step']}"
        if index == 0:
            plot_samples_2d(snapshot, ax=ax, contours=False, title=frame_title)
            colorbar = ax.images[0].colorbar
            canvas.draw()                              # the whole first frame, its layout worked out
            frames.append(_canvas_image(figure))
            figure.set_layout_engine("none")           # keep these positions from here on
            overlays = [ax.get_legend(), ax.title]
            if snapshot["d_output"] != "probability":    # a critic's colour range changes with its values
                overlays.append(colorbar.ax)
            for artist in _changing_artists(ax) + overlays:
                artist.set_animated(True)              # left out of canvas.draw(): the background
            canvas.draw()
            background = canvas.copy_from_bbox(figure.bbox)
            continue
        for artist in _changing_artists(ax):
            artist.remove()
        image, _ = _draw_snapshot_2d(ax, snapshot, False, True, True, 200)
        colorbar.update_normal(image)
        ax.set_title(frame_title)
        canvas.restore_region(background)
        for artist in _changing_artists(ax) + overlays:
            artist.set_animated(True)
            figure.draw_artist(artist)
        frames.append(_canvas_image(figure))
    durations = [round(1000 / fps)] * len(frames)
    durations[-1] += 1000
    folder = os.path.dirname(os.fspath(path))
    if folder:
        os.makedirs(folder, exist_ok=True)
    frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return path


def _changing_artists(ax):
    """What _draw_snapshot_2d drew into ``ax``, in the order it was drawn (the order the frames draw them in)."""
    return sorted(ax.images + ax.lines + ax.collections, key=lambda artist: artist.get_zorder())


def _canvas_image(figure):
    """The figure's last rendering as a Pillow image (a copy: the canvas reuses its buffer)."""
    width, height = figure.canvas.get_width_height()
    return Image.frombuffer("RGBA", (width, height), figure.canvas.buffer_rgba(), "raw", "RGBA", 0, 1).copy()


# ---------------------------------------------------------------------------------------------------------------
# training curves
# ---------------------------------------------------------------------------------------------------------------


def _series(columns, name):
    """(steps, values) of a history column without its NaN entries; ([], []) when absent."""
    values = columns.get(name)
    if values is None:
        return [], []
    steps = columns.get("step") or list(range(len(values)))
    pairs = [(s, float(v)) for s, v in zip(steps, values) if v is not None and not math.isnan(float(v))]
    return [s for s, _ in pairs], [v for _, v in pairs]


def _moving_average(values, window):
    """The mean of each value and the ones before it, ``window`` at most (a running sum: O(n))."""
    result, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        result.append(total / min(i + 1, window))
    return result


def _plot_noisy(ax, steps, values, color, label, smooth=True):
    """A per-step series as a faint line with its moving average on top (a plain line for short series)."""
    if smooth and len(values) > 50:
        ax.plot(steps, values, color=color, alpha=0.2, linewidth=0.6)
        ax.plot(steps, _moving_average(values, max(5, len(values) // 50)), color=color, label=label)
    else:
        ax.plot(steps, values, color=color, label=label, marker="o" if len(values) < 30 else None, markersize=3)


def plot_curves(history, path=None, title=None, n_modes=None, dim=None):
    """The training curves of a run, one panel per kind of measurement that the history holds:

    - losses of D and G per step, with their equilibrium values (``EQUILIBRIUM``: log 4 and log 2 for the
      non-saturating GAN) as dotted lines;
    - the mean discriminator output on real samples, D(x), and on generated ones, D(G(z)), which meet at 1/2 at
      the equilibrium of the losses in ``HALF_AT_EQUILIBRIUM``;
    - the gradient norms of D's and G's losses with respect to their parameters (log scale);
    - at evaluation steps: modes captured (of ``n_modes`` when given), the high-quality fraction (with the data's
      own, ``within_three_stds(dim)``, when the data's dimension ``dim`` is given) and the MMD^2 between generated
      and real samples (which tends to 0, and being unbiased, scatters around 0: below it too).

    Every panel spans the whole run, from step 0 to the last step, so that a run of a few steps or with a single
    evaluation is drawn to the same scale as a long one; series of fewer than 30 points are drawn with a marker
    at each point. ``history``: a train.History (its ``columns`` and ``meta``) or a plain dict of columns (lists
    of floats, NaN where not recorded, with a "step" column) with optional "meta". Noisy per-step curves are drawn
    faintly with a moving average on top.
    """
    columns = getattr(history, "columns", history)
    meta = getattr(history, "meta", None) or (columns.get("meta") if isinstance(columns, dict) else None) or {}
    loss = meta.get("loss")
    d_output = meta.get("d_output") or (d_output_kind(loss) if loss else "probability")
    panels = []
    if _series(columns, "loss_d")[0] or _series(columns, "loss_g")[0]:
        panels.append("losses")
    if _series(columns, "d_real")[0] or _series(columns, "d_fake")[0]:
        panels.append("outputs")
    if _series(columns, "grad_norm_d")[0] or _series(columns, "grad_norm_g")[0]:
        panels.append("gradients")
    for name in ("modes_captured", "high_quality_fraction", "mmd2"):
        if _series(columns, name)[0]:
            panels.append(name)
    if not panels:
        raise ValueError("plot_curves: the history holds none of loss_d, loss_g, d_real, d_fake, grad_norm_d, "
                         "grad_norm_g, modes_captured, high_quality_fraction, mmd2")

    n_columns = min(3, len(panels))
    n_rows = math.ceil(len(panels) / n_columns)
    figure = _new_figure(4.6 * n_columns, 3.4 * n_rows + 0.4)
    last_step = max(max(columns.get("step") or [1]), 1)
    for index, panel in enumerate(panels):
        ax = figure.add_subplot(n_rows, n_columns, index + 1)
        ax.set_xlabel("generator step")
        ax.set_xlim(-0.03 * last_step, 1.03 * last_step)
        if panel == "losses":
            _draw_loss_panel(ax, columns, loss)
        elif panel == "outputs":
            _plot_noisy(ax, *_series(columns, "d_real"), "tab:green", "mean D(x) on real samples")
            _plot_noisy(ax, *_series(columns, "d_fake"), "tab:purple", "mean D(G(z)) on generated samples")
            if loss in HALF_AT_EQUILIBRIUM or (loss is None and d_output == "probability"):
                ax.axhline(0.5, color="black", linestyle=":", label="equilibrium 1/2")
            ax.set_ylabel("D(x)" if d_output == "probability" else "critic value")
            ax.set_title("Discriminator outputs")
        elif panel == "gradients":
            _plot_noisy(ax, *_series(columns, "grad_norm_d"), "tab:blue", "||grad of D's loss||")
            _plot_noisy(ax, *_series(columns, "grad_norm_g"), "tab:orange", "||grad of G's loss||")
            ax.set_yscale("log")
            ax.set_ylabel("gradient norm (parameters)")
            ax.set_title("Gradient norms")
        elif panel == "modes_captured":
            _plot_noisy(ax, *_series(columns, "modes_captured"), "tab:green", "modes captured", smooth=False)
            if n_modes:
                ax.axhline(n_modes, color="black", linestyle=":", label=f"all {n_modes} modes")
            ax.set_ylim(bottom=-0.3)                       # a run that found no mode shows its points at 0
            ax.set_ylabel("modes with a high-quality sample")
            ax.set_title("Modes captured")
        elif panel == "high_quality_fraction":
            _plot_noisy(ax, *_series(columns, "high_quality_fraction"), "tab:green", "high-quality fraction",
                        smooth=False)
            if dim is not None:
                own = within_three_stds(dim)
                ax.axhline(own, color="black", linestyle=":", label=f"the data's own ({own:.3f} in {dim}-D)")
            ax.set_ylim(-0.03, 1.05)
            ax.set_ylabel("samples within 3 std of a mode")
            ax.set_title("Sample quality")
        elif panel == "mmd2":
            _plot_noisy(ax, *_series(columns, "mmd2"), "tab:red", "MMD^2(generated, real)", smooth=False)
            ax.axhline(0.0, color="black", linestyle=":", label="0: same distribution (unbiased: dips below)")
            ax.set_ylabel("MMD^2 (Gaussian kernel)")
            ax.set_title("Distance to the data")
        ax.legend(fontsize=8)
    figure.suptitle(title or f"Training curves ({loss or 'GAN'} loss)")
    return _finish(figure, path)


def within_three_stds(dim):
    """The fraction of a Gaussian's samples within 3 standard deviations of its mean in ``dim`` dimensions,
    P(chi^2_dim < 9): the data's own high-quality fraction (0.9973 in 1-D, 1 - exp(-4.5) = 0.9889 in 2-D). The
    regularised lower incomplete gamma function P(dim/2, 9/2), by its power series."""
    a, x = dim / 2, 4.5
    term = total = 1.0 / a
    n = 0
    while term > 1e-17 * total:
        n += 1
        term *= x / (a + n)
        total += term
    return total * math.exp(a * math.log(x) - x - math.lgamma(a))


def _draw_loss_panel(ax, columns, loss):
    _plot_noisy(ax, *_series(columns, "loss_d"), "tab:blue", "D loss")
    _plot_noisy(ax, *_series(columns, "loss_g"), "tab:orange", "G loss")
    steps, penalty = _series(columns, "penalty")
    if any(value != 0 for value in penalty):
        _plot_noisy(ax, steps, penalty, "tab:gray", "penalty (added to D's loss)")
    d_value, g_value = EQUILIBRIUM.get(loss, (None, None))
    if d_value is not None:
        ax.axhline(d_value[0], color="tab:blue", linestyle=":", label=f"D at equilibrium: {d_value[1]}")
    if g_value is not None:
        ax.axhline(g_value[0], color="tab:orange", linestyle=":", label=f"G at equilibrium: {g_value[1]}")
    ax.set_ylabel("loss")
    ax.set_title("Losses")


# ---------------------------------------------------------------------------------------------------------------
# theory pictures
# ---------------------------------------------------------------------------------------------------------------


def plot_saturation(path=None, title=None):
    """The picture behind the non-saturating trick (Goodfellow et al. 2014, section 3), computed with tinygan.

    Left: the two generator losses as functions of D(G(z)): the minimax loss log(1 - D(G(z))) and the
    non-saturating loss -log D(G(z)) (both are minimised by G). Right: the size of their gradient with respect to
    the discriminator's logit l, the quantity that backpropagates into G, by autograd: D(G(z)) for the minimax loss
    and 1 - D(G(z)) for the non-saturating one. Early in training D rejects generated samples (D(G(z)) near 0):
    there the minimax gradient vanishes and the non-saturating one is largest.
    """
    probabilities = [0.001 + 0.998 * i / 299 for i in range(300)]
    curves = {}
    for kind in ("minimax", "nonsaturating"):
        values, gradients = [], []
        for p in probabilities:
            logit = tensor([math.log(p / (1 - p))], dtype=backend.float64, requires_grad=True)
            loss = losses.generator_loss(logit, kind=kind)
            (gradient,) = grad(loss, [logit])
            values.append(loss.item())
            gradients.append(abs(gradient.item()))
        curves[kind] = values, gradients

    figure = _new_figure(10.0, 4.0)
    left, right = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    styles = {"minimax": dict(color="tab:red", label="minimax: log(1 - D(G(z)))"),
              "nonsaturating": dict(color="tab:blue", label="non-saturating: -log D(G(z))")}
    gradient_labels = {"minimax": "minimax: D(G(z))", "nonsaturating": "non-saturating: 1 - D(G(z))"}
    for kind, (values, gradients) in curves.items():
        left.plot(probabilities, values, **styles[kind])
        right.plot(probabilities, gradients, color=styles[kind]["color"], label=gradient_labels[kind])
    for ax in (left, right):
        ax.axvspan(0.0, 0.1, color="gray", alpha=0.15, label="early training: D rejects G(z)")
        ax.set_xlabel("D(G(z))   (0: D says fake, 1: D says real)")
        ax.set_xlim(0, 1)
        ax.legend(fontsize=8)
    left.set_ylabel("generator loss (G minimises it)")
    left.set_title("Generator losses")
    right.set_ylabel("|d loss / d logit|: the signal G receives")
    right.set_title("Their gradients (autograd)")
    figure.suptitle(title or "Saturation: the minimax loss gives G no gradient when D rejects its samples")
    return _finish(figure, path)


def plot_vector_fields(panels, path=None, title=None, distance_label="distance to the equilibrium"):
    """Vector fields of 2-parameter games with trajectories on them, and the trajectories' distance to the
    equilibrium below (the Dirac-GAN pictures of Mescheder et al. 2018).

    panels: a list of dicts, one per game, with
        "name"            the panel title
        "grid"            (u, v): 1-D host arrays, the parameter values of the field's grid (columns, rows)
        "field"           (du, dv): 2-D host arrays of shape (len(v), len(u)), the direction of motion at each point
        "trajectory"      (m, 2) host array of parameter values visited, in order
        "xlabel", "ylabel"  axis names (e.g. "theta (generator)", "psi (discriminator)")
    and an optional "equilibrium" (a point, default (0, 0)). Returns the figure.
    """
    if not panels:
        raise ValueError("plot_vector_fields: no panels to draw")
    figure = _new_figure(3.6 * len(panels), 7.0)
    grid = figure.add_gridspec(2, len(panels), height_ratios=[3, 2])
    distance_axes = figure.add_subplot(grid[1, :])
    colors = ["tab:red", "tab:blue", "tab:purple", "tab:green", "tab:orange", "tab:brown"]
    for index, panel in enumerate(panels):
        ax = figure.add_subplot(grid[0, index])
        u, v = panel["grid"]
        du, dv = panel["field"]
        speed = (du * du + dv * dv) ** 0.5
        ax.streamplot(u, v, du, dv, color=speed, cmap="Greys", density=0.9, linewidth=0.8, arrowsize=0.8)
        path_points = panel["trajectory"]
        color = colors[index % len(colors)]
        ax.plot(path_points[:, 0], path_points[:, 1], color=color, linewidth=1.4, label="gradient descent path")
        ax.plot(path_points[0, 0], path_points[0, 1], "o", color=color, label="start")
        equilibrium = panel.get("equilibrium", (0.0, 0.0))
        ax.plot(*equilibrium, marker="*", color="gold", markersize=14, markeredgecolor="black",
                linestyle="", label="equilibrium")
        ax.set_xlim(float(u[0]), float(u[-1]))
        ax.set_ylim(float(v[0]), float(v[-1]))
        ax.set_aspect("equal")
        ax.set_title(panel["name"])
        ax.set_xlabel(panel.get("xlabel", "first parameter"))
        ax.set_ylabel(panel.get("ylabel", "second parameter") if index == 0 else "")
        if index == 0:
            ax.legend(fontsize=7, loc="lower left", framealpha=0.9)
        distance = ((path_points[:, 0] - equilibrium[0]) ** 2 + (path_points[:, 1] - equilibrium[1]) ** 2) ** 0.5
        distance_axes.plot(distance, color=color, label=panel["name"])
    distance_axes.set_yscale("log")
    distance_axes.set_xlabel("step")
    distance_axes.set_ylabel(distance_label)
    distance_axes.set_title("Distance to the equilibrium along each path")
    distance_axes.legend(fontsize=8, ncol=len(panels))
    figure.suptitle(title or "Vector fields of the game and gradient descent paths")
    return _finish(figure, path)


def plot_optimal_discriminator(snapshots, values, sweep=None, path=None, title=None):
    """The optimal discriminator, in three panels:

    1. the data and generator densities with the discriminator trained against the frozen generator, at several
       steps (blue dashed, darker later) and the analytic D*(x) = p_data / (p_data + p_g) (red): from 1-D snapshots
       (``snapshot_1d``; "p_g" should be the generator's exact density where it is known);
    2. ``values``: (steps, V) pairs, the value V(D, G) = E log D(x) + E log(1 - D(G(z))) of the trained D over
       training, approaching C(G) = max_D V = -log 4 + 2 JSD(p_data || p_g) (given as values["target"]);
    3. ``sweep`` (optional): a family of generators, a dict with "shift" (a number describing each generator) and
       "trained" (V of a D trained against it), "theory" (-log 4 + 2 JSD) at the values "theory_shift" (default:
       "shift"), and "xlabel": the trained values sit on the theory curve.

    values: a dict with "steps", "V" and "target" (a number). Returns the figure.
    """
    _check_kind("plot_optimal_discriminator", snapshots, "1d")
    n_panels = 3 if sweep else 2
    figure = _new_figure(4.8 * n_panels, 4.2)
    first = figure.add_subplot(1, n_panels, 1)
    last = snapshots[-1]
    first.plot(last["x"], last["p_data"], **DATA_STYLE, label="data density p_data")
    first.plot(last["x"], last["p_g"], **GENERATOR_STYLE, label="frozen generator's density p_g")
    first.set_xlabel("x")
    first.set_ylabel("density")
    first.set_xlim(*last["bounds"])
    right = first.twinx()
    for index, snapshot in enumerate(snapshots):
        shade = 0.25 + 0.75 * (index + 1) / len(snapshots)
        right.plot(snapshot["x"], snapshot["d"], color="tab:blue", linestyle="--", alpha=shade,
                   linewidth=2.0 if snapshot is last else 1.0,
                   label=f"trained D(x), step {snapshot['step']}")
    right.plot(last["x"], last["d_star"], color="tab:red", linewidth=1.5, label="analytic D*(x)")
    right.set_ylim(-0.02, 1.02)
    right.set_ylabel("D(x)")
    handles = first.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    first.legend(handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    first.set_title("A discriminator trained against a frozen G")

    second = figure.add_subplot(1, n_panels, 2)
    second.plot(values["steps"], values["V"], color="tab:blue", label="V(D, G) of the trained D")
    second.axhline(values["target"], color="tab:red", label=f"-log 4 + 2 JSD = {values['target']:.3f}")
    second.axhline(-math.log(4), color="black", linestyle=":", label="-log 4 (the value when p_g = p_data)")
    second.set_xlabel("discriminator step")
    second.set_ylabel("V(D, G)")
    second.set_title("V climbs to max_D V = C(G)")
    second.legend(fontsize=8)

    if sweep:
        third = figure.add_subplot(1, n_panels, 3)
        third.plot(sweep.get("theory_shift", sweep["shift"]), sweep["theory"], color="tab:red",
                   label="-log 4 + 2 JSD(p_data || p_g)")
        third.plot(sweep["shift"], sweep["trained"], "o", color="tab:blue", label="V(D, G) of a trained D")
        third.axhline(-math.log(4), color="black", linestyle=":", label="-log 4")
        third.set_xlabel(sweep.get("xlabel", "the generator's parameter"))
        third.set_ylabel("V(D, G)")
        third.set_title("Across generators: C(G) = -log 4 + 2 JSD")
        third.legend(fontsize=8)
    figure.suptitle(title or "The optimal discriminator D* = p_data / (p_data + p_g) and C(G) = -log 4 + 2 JSD")
    return _finish(figure, path)


def plot_saturation_run(runs, data_mean, data_samples=None, path=None, title=None):
    """Generators trained from one start with different generator losses (the saturation experiment), four panels:
    the mean of the generated samples against the data's mean, the mean D(G(z)), the norm of G's gradient (log
    scales for the last two) over the steps, and histograms of the final samples with the data's.

    runs: {loss name: {"step": [...], "mean_g": [...], "d_fake": [...], "grad_norm_g": [...], "samples": array}}.
    """
    if not runs:
        raise ValueError("plot_saturation_run: no runs to draw")
    colors = {"minimax": "tab:red", "nonsaturating": "tab:blue"}
    names = {"minimax": "minimax log(1 - D(G(z)))", "nonsaturating": "non-saturating -log D(G(z))"}
    figure = _new_figure(15.0, 3.9)
    axes = [figure.add_subplot(1, 4, i + 1) for i in range(4)]
    for kind, run in runs.items():
        style = dict(color=colors.get(kind), label=names.get(kind, kind))
        axes[0].plot(run["step"], run["mean_g"], **style)
        axes[1].plot(run["step"], run["d_fake"], **style)
        axes[2].plot(run["step"], run["grad_norm_g"], **style)
        axes[3].hist(run["samples"], bins=60, density=True, histtype="step", linewidth=1.5, **style)
    axes[0].axhline(data_mean, **DATA_STYLE, label="data mean")
    axes[0].set_ylabel("mean of G(z)")
    axes[0].set_title("Where the generator's samples are")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("mean D(G(z))")
    axes[1].set_title("How real D thinks they are")
    axes[2].set_yscale("log")
    axes[2].set_ylabel("||gradient of G's loss||")
    axes[2].set_title("The signal G receives")
    if data_samples is not None:
        axes[3].hist(data_samples, bins=60, density=True, color="black", alpha=0.25, label="data")
    axes[3].set_xlabel("x")
    axes[3].set_ylabel("density")
    axes[3].set_title("Samples at the end")
    for ax in axes[:3]:
        ax.set_xlabel("generator step")
    for ax in axes:
        ax.legend(fontsize=7)
    figure.suptitle(title or "Same start, two generator losses: the minimax loss saturates, the non-saturating "
                             "one learns")
    return _finish(figure, path)


def plot_ipm_comparison(critics, sweep, path=None, title=None):
    """What each game's critic sees, for two 1-D Gaussians (as Figure 2 of the WGAN paper), in two rows of three:

    top, at one pair of distributions (real P, fake Q): the GAN's optimal discriminator D*(x) = p / (p + q) (it
    saturates at 0 and 1, flat away from the boundary), the WGAN's optimal critic (a line of slope -1 or 1: the
    same gradient everywhere) and the MMD witness w(t) = E_P k(t, X) - E_Q k(t, Y) (bumps that fade to 0
    beyond a few bandwidths);
    bottom, as the shift between P = N(0, 1) and Q = N(shift, 1) grows: JSD (saturating at log 2), W1 (growing
    linearly) and MMD (saturating), the distances those critics measure.

    critics: a dict of host arrays over "x": "p_real", "p_fake", "d_star", "critic_optimal", "witness" (theory),
    optionally "d_trained", "critic_trained" and "witness_samples" (measured; "<name>_label" replaces the legend
    label of one), and "bandwidth" (a number).
    sweep: a dict with "shift" (a fine grid) and "jsd", "w1", "mmd" on it (theory), optionally "sample_shift" with
    "w1_samples" and "mmd_samples" (estimates from samples), and "marker" (the shift of the top row). Returns the
    figure.
    """
    figure = _new_figure(15.0, 8.4)
    axes = [[figure.add_subplot(2, 3, row * 3 + column + 1) for column in range(3)] for row in range(2)]
    x = critics["x"]
    panels = [
        ("d_star", "d_trained", "D*(x) = p / (p + q)", "a trained D (BCE loss)", "D(x)",
         "GAN: the optimal discriminator saturates"),
        ("critic_optimal", "critic_trained", "optimal 1-Lipschitz critic", "a trained WGAN-GP critic",
         "f(x) (up to a constant)", "WGAN: the optimal critic is linear"),
        ("witness", "witness_samples", f"witness, theory (h = {critics['bandwidth']:g})",
         "tg.losses.mmd_witness on samples", "w(x)", "MMD: the witness fades beyond a few bandwidths"),
    ]
    for ax, (theory, measured, theory_label, measured_label, ylabel, panel_title) in zip(axes[0], panels):
        densities = ax.twinx()
        densities.fill_between(x, critics["p_real"], color=REAL_COLOR, alpha=0.15, label="real P")
        densities.fill_between(x, critics["p_fake"], color=FAKE_COLOR, alpha=0.15, label="fake Q")
        densities.set_ylim(0, 2.5 * max(critics["p_real"].max(), critics["p_fake"].max()))
        densities.set_yticks([])
        ax.set_zorder(densities.get_zorder() + 1)
        ax.patch.set_visible(False)
        ax.plot(x, critics[theory], **(OPTIMAL_STYLE | dict(linewidth=2.0)), label=theory_label)
        if critics.get(measured) is not None:
            ax.plot(x, critics[measured], **(DISCRIMINATOR_STYLE | dict(linewidth=1.5)),
                    label=critics.get(f"{measured}_label", measured_label))
        ax.set_xlabel("x")
        ax.set_ylabel(ylabel)
        ax.set_title(panel_title, fontsize=10)
        handles = ax.get_legend_handles_labels()[0] + densities.get_legend_handles_labels()[0]
        ax.legend(handles=handles, fontsize=7, loc="best")

    rows = [("jsd", None, "JSD(P, Q), nats (quadrature)", math.log(2), "log 2",
             "JSD saturates at log 2: no gradient far away"),
            ("w1", "w1_samples", "W1(P, Q) = |shift|", None, None, "W1 grows linearly: gradient 1 everywhere"),
            ("mmd", "mmd_samples", f"MMD(P, Q), h = {critics['bandwidth']:g} (closed form)", None, None,
             "MMD saturates: its gradient vanishes too")]
    for ax, (theory, measured, label, limit, limit_label, panel_title) in zip(axes[1], rows):
        ax.plot(sweep["shift"], sweep[theory], color="tab:red", linewidth=2.0, label=label)
        if measured and sweep.get(measured) is not None:
            ax.plot(sweep["sample_shift"], sweep[measured], "o", color="tab:blue", markersize=4,
                    label="estimated from samples")
        if limit is not None:
            ax.axhline(limit, color="black", linestyle=":", label=limit_label)
        if sweep.get("marker") is not None:
            ax.axvline(sweep["marker"], color="gray", linewidth=0.8, alpha=0.6, label="the pair drawn above")
        ax.set_xlabel("shift: P = N(0, 1), Q = N(shift, 1)")
        ax.set_title(panel_title, fontsize=10)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7, loc="lower right")
    figure.suptitle(title or "What the critic of each game sees (top) and the distance it measures (bottom)")
    return _finish(figure, path)


def plot_conditional_2d(samples, means, path=None, title=None, accuracy=None, stds=None, ax=None):
    """A conditional GAN's samples, each label's in its own colour, on the modes of the data.

    samples: a list, one (n, 2) host array per label k (the samples of G(z, k)); means: (k, 2), the modes (a grey
    cross each, numbered with its label, in the colour of the label); stds: optional, the modes' standard
    deviations (a black circle of 3 std around each mode); accuracy: optional, per label the fraction of its
    samples within 3 standard deviations of its mode, shown in the legend. A sample far from the cross of its own
    colour is a label the generator ignores."""
    figure = None
    if ax is None:
        figure = _new_figure(7.2, 5.6)
        ax = figure.add_subplot()
    if len(samples) <= 10:
        colours = [matplotlib.colormaps["tab10"](k) for k in range(len(samples))]
    else:   # hues a golden-ratio turn apart: neighbouring labels never get similar colours
        colours = [matplotlib.colormaps["turbo"]((0.05 + 0.618034 * k) % 0.9 + 0.05) for k in range(len(samples))]
    means = [[float(v) for v in row] for row in means]
    stds = [None] * len(means) if stds is None else [float(v) for v in stds]
    for label, points in enumerate(samples):
        colour = colours[label]
        text = f"y = {label}" + (f": {100 * accuracy[label]:.1f}%" if accuracy is not None else "")
        ax.scatter(points[:, 0], points[:, 1], s=5, alpha=0.6, color=colour, label=text, zorder=3)
        if stds[label] is not None:     # the 3-std circle: what counts as "on the mode"
            ax.add_patch(Circle(means[label], 3 * stds[label], fill=False, linewidth=0.8, color="black", zorder=2))
        ax.plot(*means[label], marker="+", markersize=14, markeredgewidth=0.8, color="gray", zorder=1)
        ax.annotate(str(label), means[label], xytext=(8, 8), textcoords="offset points", fontsize=8, color=colour,
                    fontweight="bold")
    ax.set_aspect("equal")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(title or "G(z, y): the samples of each label y (crosses: the modes)")
    ax.legend(fontsize=6, markerscale=3, loc="center left", bbox_to_anchor=(1.0, 0.5),
              title="label" + (": on its mode" if accuracy is not None else ""), title_fontsize=7)
    return _finish(figure, path) if figure is not None else ax.figure
