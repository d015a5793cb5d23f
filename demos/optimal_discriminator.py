"""The optimal discriminator: trained against a frozen generator, D converges to D* = p_data / (p_data + p_g).

    python demos/optimal_discriminator.py --out runs/optimal_discriminator          # the real picture (~1 minute)
    python demos/optimal_discriminator.py --out runs/optimal_discriminator --quick  # a few seconds

Proposition 1 of the GAN paper: for a fixed generator G, the discriminator that maximises

    V(D, G) = E_{x ~ p_data}[log D(x)] + E_{x ~ p_g}[log(1 - D(x))]

is D*(x) = p_data(x) / (p_data(x) + p_g(x)), and the maximum is C(G) = -log 4 + 2 JSD(p_data || p_g) (Theorem 1).
Both densities are known here, so we can compare a trained network with the formula:

1. data: two Gaussians at -2 and +2; generator: frozen, G(z) = 1.5 z + 0.5 with z ~ N(0, 1), so p_g = N(0.5, 1.5^2).
   A discriminator MLP is trained alone (the generator never moves) by minimising the BCE loss, i.e. ascending V.
2. V(D, G) of the trained D on a large held-out batch, over training, against -log 4 + 2 JSD (the JSD by
   quadrature, tg.metrics.jsd_quadrature).
3. The same for a family of generators that reproduce the data shifted by s: at s = 0, p_g = p_data, D* = 1/2
   everywhere and C(G) = -log 4, its minimum.

Writes OUT/optimal_discriminator.png.
"""

import argparse
import math
import os

import tinygan as tg
from tinygan import plots

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default="runs/optimal_discriminator", help="folder for the figure")
parser.add_argument("--quick", action="store_true", help="short training for tests (seconds)")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
steps = 100 if args.quick else 2500
sweep_steps = 50 if args.quick else 1000
shifts = [0.0, 3.0] if args.quick else [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0]
batch, evaluation_batch = 256, 2000 if args.quick else 20000

generator = tg.Generator(seed=0)
data = tg.distributions.get("mixture1d")                      # 1/2 N(-2, 0.5^2) + 1/2 N(2, 0.5^2)
latent = tg.distributions.StandardNormal(1)
G = tg.nn.Linear(1, 1, generator=generator)
with tg.no_grad():                                            # freeze G at G(z) = 1.5 z + 0.5
    G.weight.fill_(1.5)
    G.bias.fill_(0.5)
G.weight.requires_grad_(False)
G.bias.requires_grad_(False)
p_g = tg.distributions.Gaussian(mean=0.5, std=1.5)           # the exact density of G(z)


def value(D, real, fake):
    """V(D, G) = E log D(x) + E log(1 - D(G(z))), the negative of the BCE discriminator loss."""
    with tg.no_grad():
        return -tg.losses.bce_discriminator_loss(D(real), D(fake)).item()


def train_discriminator(sample_fake, steps, on_step=None):
    """A fresh discriminator trained by Adam on the BCE loss against samples of a frozen generator."""
    D = tg.nn.MLP(1, [64, 64], 1, activation="leaky_relu", generator=generator)
    opt = tg.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
    for step in range(1, steps + 1):
        loss = tg.losses.bce_discriminator_loss(D(data.sample(batch, generator)), D(sample_fake(batch)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if on_step is not None:
            on_step(step, D)
    return D


def log_p_g(x):
    return p_g.log_prob(x)


# ----------------------------------------------------------------------------------------------------------------
target = -math.log(4) + 2 * tg.metrics.jsd_quadrature(data.log_prob, log_p_g, -12.0, 12.0)
print(f"1. A discriminator against the frozen G(z) = 1.5 z + 0.5; C(G) = -log 4 + 2 JSD = {target:.4f}")
real_eval = data.sample(evaluation_batch, generator)
with tg.no_grad():
    fake_eval = G(latent.sample(evaluation_batch, generator))
snapshot_steps = {max(1, steps // 50), steps // 10, steps}
snapshots, values = [], {"steps": [], "V": [], "target": target}


def record(step, D):
    if step % max(1, steps // 100) == 0:
        values["steps"].append(step)
        values["V"].append(value(D, real_eval, fake_eval))
    if step in snapshot_steps:
        snapshot = plots.snapshot_1d(G=G, D=D, data=data, latent=latent, loss="nonsaturating", step=step,
                                     bounds=[-5.0, 6.0])
        # both densities are known exactly: replace the estimate of p_g, and D* with it
        x = tg.tensor(snapshot["x"]).reshape(-1, 1)
        with tg.no_grad():
            snapshot["p_g"] = p_g.prob(x).numpy()
            snapshot["d_star"] = (data.log_prob(x) - p_g.log_prob(x)).sigmoid().numpy()
        snapshots.append(snapshot)


def sample_frozen_generator(n):
    with tg.no_grad():
        return G(latent.sample(n, generator))


D = train_discriminator(sample_frozen_generator, steps, record)
last = snapshots[-1]
mass = last["p_data"] + last["p_g"]
gap = float(abs(last["d"] - last["d_star"])[mass > 0.01 * mass.max()].max())   # where there are samples to learn from
print(f"   after {steps} steps: V(D, G) = {values['V'][-1]:.4f}; largest |D(x) - D*(x)| where p_data + p_g is above 1% "
      f"of its peak: {gap:.3f}")

# ----------------------------------------------------------------------------------------------------------------
print("2. Generators that reproduce the data shifted by s: the trained V against -log 4 + 2 JSD")
sweep = {"shift": [], "trained": [], "xlabel": "the generator's shift s: p_g(x) = p_data(x - s)",
         "theory_shift": [i * max(shifts) / 60 for i in range(61)]}


def theory(shift):
    """C(G) = -log 4 + 2 JSD(p_data || p_g) for p_g(x) = p_data(x - shift), the JSD by quadrature."""
    def log_p_shifted(x):
        return data.log_prob(x - shift)
    return -math.log(4) + 2 * tg.metrics.jsd_quadrature(data.log_prob, log_p_shifted, -12.0, 12.0 + shift)


sweep["theory"] = [theory(shift) for shift in sweep["theory_shift"]]
for shift in shifts:
    def shifted_data(n, shift=shift):                        # a frozen "generator": p_g(x) = p_data(x - s)
        return data.sample(n, generator) + shift

    D_s = train_discriminator(shifted_data, sweep_steps)
    trained = value(D_s, real_eval, shifted_data(evaluation_batch))
    sweep["shift"].append(shift)
    sweep["trained"].append(trained)
    print(f"   s = {shift:3.1f}: V of the trained D = {trained:+.4f}, -log 4 + 2 JSD = {theory(shift):+.4f}")

plots.plot_optimal_discriminator(snapshots, values, sweep, os.path.join(args.out, "optimal_discriminator.png"))
print("\nDone. Figure in", args.out)
