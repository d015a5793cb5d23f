"""WGAN critics with weight clipping against the gradient penalty (WGAN-GP): their value surfaces compared.

    python demos/gradient_penalty.py --out runs/gradient_penalty          # the real pictures (a few minutes)
    python demos/gradient_penalty.py --out runs/gradient_penalty --quick  # a few seconds

A Wasserstein critic f must be 1-Lipschitz. The WGAN paper keeps it so by clipping every weight to [-c, c] after
each step (c = 0.01); WGAN-GP (Gulrajani et al. 2017) instead adds lambda * E[(||grad f(x_hat)|| - 1)^2] on points
x_hat between real and generated samples. Their Figure 1, repeated here:

1. Critics trained against a frozen "generator" that outputs the real data plus Gaussian noise, on the 8 Gaussians,
   the 25 Gaussians and the swiss roll. The orange arrows are the gradient of f, the direction a generator would
   move its samples. With clipping the critic is a simple function (a bowl, a slope, or flat: a dead network) with
   a tiny gradient (||grad f|| far below 1) that ignores the modes: its arrows sweep all samples the same way.
   With the penalty ||grad f|| is close to 1 between real and fake samples and the arrows converge on each mode.
   ->  OUT/gradient_penalty.png (and the measured critics in OUT/critic_snapshots.safetensors)
2. Both trained as full GANs on the 8 Gaussians with tinygan's Trainer (k = 5 critic steps per generator step;
   RMSprop for clipping, as the WGAN paper advises, Adam for the penalty, as WGAN-GP does), with their
   mode-collapse metrics.  ->  OUT/gradient_penalty_training.png
"""

import argparse
import os

import tinygan as tg
from tinygan import plots, train

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default="runs/gradient_penalty", help="folder for the figures")
parser.add_argument("--quick", action="store_true", help="tiny networks and a few steps (for tests)")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
critic_steps = 20 if args.quick else 2000
gan_steps = 20 if args.quick else 2000
hidden = [16] if args.quick else [128, 128, 128]
batch = 256
generator = tg.Generator(seed=0)

DATASETS = {  # name: (data, std of the noise the frozen "generator" adds to real samples)
    "8 Gaussians": (tg.distributions.ring(radius=2.0, std=0.02), 0.3),
    "25 Gaussians": (tg.distributions.grid(), 0.3),
    "swiss roll": (tg.distributions.SwissRoll(), 0.15),
}
METHODS = ("weight clipping (c = 0.01)", "gradient penalty (lambda = 10)")


def gradient_norms(critic, real, fake):
    """||grad_x f(x_hat)|| at points x_hat = t real + (1 - t) fake, one random t per pair."""
    t = tg.rand(real.shape[0], 1, generator=generator)
    x_hat = (t * real + (1 - t) * fake).requires_grad_()
    (gradient,) = tg.grad(critic(x_hat).sum(), [x_hat])
    return (gradient * gradient).sum(axis=1).sqrt()


# ----------------------------------------------------------------------------------------------------------------
print(f"1. Critics trained for {critic_steps} steps against real data + Gaussian noise")
snapshots, labels = [], []
for method in METHODS:
    for name, (data, noise) in DATASETS.items():
        def noisy_data(z, data=data, noise=noise):        # the frozen "generator": G(z) = real sample + noise * z
            return data.sample(z.shape[0], generator) + noise * z

        critic = tg.nn.MLP(2, hidden, 1, generator=generator)
        opt = tg.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
        for step in range(critic_steps):
            real = data.sample(batch, generator)
            fake = noisy_data(tg.randn(batch, 2, generator=generator))
            loss = tg.losses.wasserstein_critic_loss(critic(real), critic(fake))
            if method.startswith("gradient penalty"):
                loss = loss + tg.losses.gradient_penalty(critic, real, fake, generator=generator, weight=10.0)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if method.startswith("weight clipping"):
                tg.nn.utils.clip_weights_(critic.parameters(), 0.01)

        real = data.sample(1000, generator)
        norms = gradient_norms(critic, real, noisy_data(tg.randn(1000, 2, generator=generator)))
        mean, std = norms.mean().item(), norms.std().item()
        print(f"   {method:>31}, {name:>12}: ||grad f|| between real and fake = {mean:.2g} +- {std:.2g}")
        snapshots.append(plots.snapshot_2d(G=noisy_data, D=critic, data=data, latent=tg.distributions.StandardNormal(2),
                                           loss="wasserstein", step=critic_steps, manifold_size=0))
        labels.append(f"{method.split(' (')[0]}, {name}\n||grad f|| = {mean:.2g} +- {std:.1g}")

plots.save_snapshots(snapshots, os.path.join(args.out, "critic_snapshots.safetensors"))
plots.plot_snapshots_2d(snapshots, os.path.join(args.out, "gradient_penalty.png"), columns=3, max_panels=6,
                        labels=labels, title="WGAN critics against real data + noise: weight clipping (top) and "
                                             "gradient penalty (bottom)")

# ----------------------------------------------------------------------------------------------------------------
print(f"2. Full WGANs on the 8 Gaussians, {gan_steps} generator steps, k = 5 critic steps each")
runs = []
for method in METHODS:
    clipping = method.startswith("weight clipping")
    config = train.preset("ring", dataset_options={"radius": 2.0, "std": 0.02}, loss="wasserstein",
                          penalty=None if clipping else "gp", penalty_weight=0.0 if clipping else 10.0,
                          clip_value=0.01 if clipping else None, k=5, g_hidden=tuple(hidden), d_hidden=tuple(hidden),
                          optimizer="rmsprop" if clipping else "adam", lr_g=5e-4, lr_d=5e-4, betas=(0.5, 0.9),
                          steps=gan_steps, ema=None, lr_drop_at=None, latent="normal", penalty_every=1,
                          eval_every=max(10, gan_steps // 10), eval_samples=200 if args.quick else 2500, seed=0)
    trainer = train.Trainer.from_config(config)
    trainer.train()
    history = trainer.history
    print(f"   {method:>31}: {history.last('modes_captured'):.0f} of 8 modes, high-quality fraction "
          f"{history.last('high_quality_fraction'):.2f}, MMD^2 {history.last('mmd2'):.4f}")
    runs.append({"label": method, "snapshot": plots.snapshot_2d(trainer, n=1000), "history": history})

plots.plot_comparison_2d(runs, os.path.join(args.out, "gradient_penalty_training.png"), n_modes=8, columns=2,
                         title=f"WGAN on the 8 Gaussians, {gan_steps} generator steps:\nweight clipping against the "
                               f"gradient penalty (background: the critic, green = high)")
print("\nDone. Figures in", args.out)
