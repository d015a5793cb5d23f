"""Saturating versus non-saturating generator loss: the same start, two generator losses, which one learns.

    python demos/saturation.py --out runs/saturation          # the real picture (about ten seconds)
    python demos/saturation.py --out runs/saturation --quick  # a few seconds

Section 3 of the GAN paper: "Early in learning, when G is poor, D can reject samples with high confidence [...]
log(1 - D(G(z))) saturates. Rather than training G to minimize log(1 - D(G(z))) we can train G to maximize
log D(G(z))." This demo shows it twice:

1. OUT/saturation_theory.png: both generator losses and their gradients (by tinygan's autograd) as functions of
   D(G(z)).
2. OUT/saturation.png: a 1-D game where G starts far from the data and D has been trained until it rejects G's
   samples confidently (the situation early in training). From that same state we train once with the minimax
   generator loss and once with the non-saturating one, the discriminator trained alongside in both runs.

G is trained with plain SGD, as in the paper, so the size of its gradient is the size of its step. (Adam divides
the gradient by a running estimate of its own size, which hides much of the difference.)
"""

import argparse
import os

import tinygan as tg
from tinygan import plots

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default="runs/saturation", help="folder for the figures")
parser.add_argument("--quick", action="store_true", help="a short run for tests (seconds)")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
steps = 100 if args.quick else 2500
warmup = 100 if args.quick else 300
batch = 128

# ----------------------------------------------------------------------------------------------------------------
print("1. The theory: both losses and their gradients as functions of D(G(z))")
plots.plot_saturation(os.path.join(args.out, "saturation_theory.png"))

# ----------------------------------------------------------------------------------------------------------------
print("2. The experiment: data N(4, 0.5^2); G starts near 0; D first learns to reject G's samples")
data = tg.distributions.Gaussian(mean=4.0, std=0.5)
latent = tg.distributions.StandardNormal(1)
generator = tg.Generator(seed=0)
G = tg.nn.Linear(1, 1, generator=generator)          # G(z) = w z + b: it can match the data exactly
D = tg.nn.MLP(1, [32, 32], 1, activation="leaky_relu", generator=generator)


def discriminator_step(opt_D):
    """One step of D on the BCE loss (= -V(D, G)); returns the mean D(G(z)) on the fake batch."""
    real = data.sample(batch, generator)
    with tg.no_grad():
        fake = G(latent.sample(batch, generator))
    fake_logits = D(fake)
    loss = tg.losses.bce_discriminator_loss(D(real), fake_logits)
    opt_D.zero_grad()
    loss.backward()
    opt_D.step()
    return fake_logits.sigmoid().mean().item()


opt_D = tg.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
for _ in range(warmup):
    d_of_fake = discriminator_step(opt_D)
print(f"   after {warmup} discriminator steps, mean D(G(z)) = {d_of_fake:.2e}: D rejects G's samples")
start_G = {name: value.clone() for name, value in G.state_dict().items()}   # the common starting point
start_D = {name: value.clone() for name, value in D.state_dict().items()}

runs = {}
for kind in ("minimax", "nonsaturating"):
    G.load_state_dict(start_G)
    D.load_state_dict(start_D)
    generator.manual_seed(1)                                            # the same batches in both runs
    opt_D = tg.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_G = tg.optim.SGD(G.parameters(), lr=0.01)
    record = {"step": [], "mean_g": [], "d_fake": [], "grad_norm_g": []}
    for step in range(1, steps + 1):
        d_of_fake = discriminator_step(opt_D)                           # Algorithm 1 with k = 1
        fake_logits = D(G(latent.sample(batch, generator)))
        loss_g = tg.losses.generator_loss(fake_logits, kind=kind)    # log(1 - D(G(z)))  or  -log D(G(z))
        opt_G.zero_grad()
        loss_g.backward()
        grad_norm = sum((p.grad * p.grad).sum().item() for p in G.parameters()) ** 0.5
        opt_G.step()
        with tg.no_grad():
            samples = G(latent.sample(1000, generator))
        record["step"].append(step)
        record["mean_g"].append(samples.mean().item())
        record["d_fake"].append(d_of_fake)
        record["grad_norm_g"].append(grad_norm)
    record["samples"] = samples.numpy().ravel()
    runs[kind] = record
    print(f"   {kind:>13}: after {steps} steps the generator's mean is {record['mean_g'][-1]:.2f} (data: 4.00), "
          f"|grad| went from {record['grad_norm_g'][0]:.1e} to {record['grad_norm_g'][-1]:.1e}")

plots.plot_saturation_run(runs, data_mean=4.0, data_samples=data.sample(1000, generator).numpy().ravel(),
                          path=os.path.join(args.out, "saturation.png"))
print("\nDone. Figures in", args.out)
