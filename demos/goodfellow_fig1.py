"""Figure 1 of the GAN paper, trained for real: a 1-D generator learns a Gaussian with Algorithm 1.

    python demos/goodfellow_fig1.py --out runs/goodfellow_fig1          # the real picture (about a minute)
    python demos/goodfellow_fig1.py --out runs/goodfellow_fig1 --quick  # a few seconds

Goodfellow et al. (2014), Figure 1: "GANs are trained by simultaneously updating the discriminative distribution
(D, blue, dashed line) so that it discriminates between samples from the data generating distribution (black,
dotted line) p_x from those of the generative distribution p_g (G) (green, solid line). The lower horizontal line
is the domain from which z is sampled, in this case uniformly. The horizontal line above is part of the domain
of x. The upward arrows show how the mapping x = G(z) imposes the non-uniform distribution p_g on transformed
samples."

Here the data is N(2, 0.5^2), z ~ U[-1, 1], and G and D are small MLPs trained by tinygan's Trainer
(Algorithm 1: k discriminator steps, then one generator step, non-saturating loss). Each panel is a moment of
training; the red dash-dot line is the optimal discriminator D* = p_data / (p_data + p_g) for the G of that moment,
which the trained D follows. At the end p_g covers p_data and D is 1/2 everywhere: the discriminator cannot tell
the two apart.

Writes OUT/goodfellow_fig1.png (the figure), OUT/curves.png (losses, D outputs, gradients, MMD over training),
and OUT/snapshots_1d.safetensors (the measured snapshots: plots.load_snapshots redraws them).
"""

import argparse
import os

from tinygan import plots, train

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default="runs/goodfellow_fig1", help="folder for the figures")
parser.add_argument("--quick", action="store_true", help="a short run for tests (seconds)")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
steps = 60 if args.quick else 3000
moments = [0, 20, 40, 60] if args.quick else [0, 30, 80, 300, 3000]   # the panels: generator steps

config = train.preset("gaussian", dataset_options={"mean": 2.0, "std": 0.5}, latent="uniform", latent_dim=1,
                      g_activation="elu", d_activation="elu", k=5, steps=steps, lr_g=2e-3, lr_d=2e-3,
                      eval_every=100, seed=0)
trainer = train.Trainer.from_config(config)
print(f"Algorithm 1 on {trainer.data}: k = {config.k} discriminator steps per generator step, "
      f"{steps} generator steps, latent {trainer.latent}")

bounds = [-1.5, 4.0]                                            # the same x axis for every panel
snapshots = [plots.snapshot_1d(trainer, bounds=bounds)]        # before training


def take_snapshot(trainer):
    if trainer.step in moments:
        snapshots.append(plots.snapshot_1d(trainer, bounds=bounds))
        last = snapshots[-1]
        print(f"   step {trainer.step:5d}: mean D(x) over the data's range = "
              f"{float(last['d'][(last['x'] > 1) & (last['x'] < 3)].mean()):.3f}")


trainer.train(callback=take_snapshot, callback_every=10)

plots.save_snapshots(snapshots, os.path.join(args.out, "snapshots_1d.safetensors"))
plots.plot_game_1d(plots.load_snapshots(os.path.join(args.out, "snapshots_1d.safetensors")),
                   os.path.join(args.out, "goodfellow_fig1.png"),
                   title="Figure 1 of the GAN paper, trained: p_g (green) moves onto p_data (black); D (blue) falls to "
                         "1/2 where the data is")
plots.plot_curves(trainer.history, os.path.join(args.out, "curves.png"),
                  title="Training curves of the 1-D game (non-saturating loss)")
print("\nDone. Figures in", args.out)
