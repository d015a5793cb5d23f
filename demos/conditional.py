"""A conditional GAN (Mirza and Osindero 2014) on the ring and the grid: one generator, a label picks the mode.

    python demos/conditional.py --out runs/conditional          # the real pictures (several minutes)
    python demos/conditional.py --out runs/conditional --quick  # a few seconds

G(z, y) and D(x, y) get the label y as a one-hot vector beside their input; each mode of the mixture is a label,
and the real batches come with their modes (tg.distributions.GaussianMixture.sample_with_components). Trained with
the presets' recipes and conditional=True (tinygan train ring --conditional), the generator draws, for each label
k, samples of mode k only: each label's samples are drawn in its own colour, inside the circle of 3 standard
deviations around mode k (grey cross, numbered in the label's colour), and the legend gives the fraction of label
k's samples within 3 standard deviations of mode k (the target: 99% or more for every mode). A label the
generator ignored would scatter its colour over other modes.

Writes OUT/conditional_ring.png and OUT/conditional_grid.png.
"""

import argparse
import os

from tinygan import plots, train

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default="runs/conditional", help="folder for the figures")
parser.add_argument("--quick", action="store_true", help="a few steps (for tests)")
args = parser.parse_args()
STEPS = {"ring": 40, "grid": 40} if args.quick else {"ring": 3000, "grid": 10000}
N = 200 if args.quick else 1000

for dataset, steps in STEPS.items():
    config = train.preset(dataset, conditional=True, steps=steps, eval_every=0)
    print(f"{dataset}: a conditional GAN, {steps} steps of the preset's recipe")
    trainer = train.Trainer.from_config(config)
    trainer.train()
    data, samples, accuracy = trainer.data, [], []
    for label in range(data.n_modes):
        points = trainer.sample(N, seed=label, label=label).double()
        distance = ((points - data.means[label:label + 1]) ** 2).sum(axis=1).sqrt()
        accuracy.append((distance <= 3 * data.stds[label].item()).double().mean().item())
        samples.append(points.numpy())
    print(f"   label accuracy (samples of label k within 3 std of mode k): worst mode {100 * min(accuracy):.2f}%, "
          f"mean {100 * sum(accuracy) / len(accuracy):.2f}%")
    plots.plot_conditional_2d(samples, data.means.numpy(), os.path.join(args.out, f"conditional_{dataset}.png"),
                              title=f"A conditional GAN on the {dataset} ({steps} steps): G(z, y) for each label y",
                              accuracy=accuracy, stds=data.stds.numpy())
print("\nDone. Figures in", args.out)
