"""Mode collapse on the 2-D ring and grid: the GAN losses of tinygan, side by side, with their metrics.

    python demos/mode_collapse.py --out runs/mode_collapse          # the real pictures (about 6 minutes of CPU)
    python demos/mode_collapse.py --out runs/mode_collapse --quick  # a few seconds

The ring (8 Gaussians on the unit circle, std 0.01) and the grid (25 Gaussians, std 0.05) are the benchmarks of
VEEGAN and PacGAN: a generator that collapses covers only some of the modes. For each dataset, one run per GAN loss
of tg.losses.LOSSES (the seven of the README's first table; the f-GAN losses, "fgan-*", are left out here), all with
the same generator, discriminator, optimizer, learning rate, seed and number of steps (the Wasserstein critic also
gets the gradient penalty it needs to be Lipschitz: WGAN-GP). Every few hundred steps the trainer measures, on 2,500
generated samples:

    modes captured          modes with at least one sample within 3 standard deviations
    high-quality fraction   the fraction of samples within 3 standard deviations of some mode (data: 0.99)
    MMD^2                   the kernel two-sample distance between generated and real samples

One recipe for all (k = 1 discriminator step per generator step, Adam with learning rate 1e-3) is a fair race but
not each loss's best: WGAN-GP is usually trained with k = 5 critic steps (as in demos/gradient_penalty.py), and
with k = 1 it collapses on the grid. Single runs of GANs on these datasets are noisy, too: a loss that captures
every mode with one seed may drop some with another, and a run may lose a mode and find it again (watch the
curves). Compare the patterns, not a single number. Writes, for each dataset:

    OUT/mode_collapse_<dataset>.png        the runs side by side, with their metrics over training
    OUT/training_<dataset>.png and .gif    the non-saturating run filmed: snapshots over training, and an animation
    OUT/curves_<dataset>.png               its losses, discriminator outputs, gradient norms and metrics
    OUT/<dataset>_snapshots.safetensors    the final snapshot of every run (plots.load_snapshots reads it)
"""

import argparse
import os

import tinygan as tg
from tinygan import plots, train

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default="runs/mode_collapse", help="folder for the figures")
parser.add_argument("--quick", action="store_true", help="tiny networks and a few steps (for tests)")
parser.add_argument("--datasets", nargs="+", choices=["ring", "grid"], help="default: both (--quick: the ring)")
args = parser.parse_args()
datasets = args.datasets or (["ring"] if args.quick else ["ring", "grid"])
os.makedirs(args.out, exist_ok=True)

STEPS = {"ring": 3000, "grid": 5000}
GAN_LOSSES = [name for name in tg.losses.LOSSES if not name.startswith("fgan-")]
hidden = (16, 16) if args.quick else (128, 128, 128)

for dataset in datasets:
    steps = 30 if args.quick else STEPS[dataset]
    print(f"{dataset}: {len(GAN_LOSSES)} losses, {steps} steps each")
    runs, snapshots = [], []
    for loss in GAN_LOSSES:
        penalty = "gp" if loss == "wasserstein" else None
        config = train.preset(dataset, loss=loss, penalty=penalty, penalty_weight=10.0 if penalty else 0.0,
                              g_hidden=hidden, d_hidden=hidden, lr_g=1e-3, lr_d=1e-3, steps=steps, ema=None,
                              latent="normal", penalty_every=1,
                              lr_drop_at=None, eval_every=steps // 12 if not args.quick else steps // 2,
                              eval_samples=200 if args.quick else 2500, seed=0)
        trainer = train.Trainer.from_config(config)
        if loss == "nonsaturating":  # the first run is also filmed: snapshots during training, drawn as GAN Lab does
            bounds = plots.snapshot_2d(trainer)["bounds"]
            film = [plots.snapshot_2d(trainer, bounds=bounds)]
            trainer.train(callback=lambda t: film.append(plots.snapshot_2d(t, bounds=bounds)),
                          callback_every=max(1, steps // (3 if args.quick else 12)))
            plots.plot_snapshots_2d(film, os.path.join(args.out, f"training_{dataset}.png"),
                                    title=f"The non-saturating GAN learning the {dataset}")
            plots.animate_2d(film, os.path.join(args.out, f"training_{dataset}.gif"),
                             title=f"non-saturating GAN, {dataset}")
            plots.plot_curves(trainer.history, os.path.join(args.out, f"curves_{dataset}.png"),
                              n_modes=trainer.data.n_modes, dim=trainer.data.dim,
                              title=f"Training curves of the non-saturating GAN on the {dataset}")
        else:
            trainer.train()
        snapshot = plots.snapshot_2d(trainer, n=1000, bounds=None)
        snapshots.append(snapshot)
        label = loss + (" + GP" if penalty else "")
        runs.append({"label": label, "snapshot": snapshot, "history": trainer.history})
        history = trainer.history
        print(f"   {label:>17}: {history.last('modes_captured'):3.0f} of {trainer.data.n_modes} modes, "
              f"high-quality fraction {history.last('high_quality_fraction'):.2f}, MMD^2 {history.last('mmd2'):.4f}")
    plots.save_snapshots(snapshots, os.path.join(args.out, f"{dataset}_snapshots.safetensors"))
    plots.plot_comparison_2d(runs, os.path.join(args.out, f"mode_collapse_{dataset}.png"), n_modes=trainer.data.n_modes,
                             title=f"Mode collapse on the {dataset}: {steps} steps of each loss, same networks and "
                                   f"seed (background: each D's output, green = real)")

print("\nDone. Figures in", args.out)
