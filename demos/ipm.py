"""What the critic of each game sees: the GAN discriminator, the WGAN critic and the MMD witness on two Gaussians.

    python demos/ipm.py --out runs/ipm          # the real picture (about a minute)
    python demos/ipm.py --out runs/ipm --quick  # a few seconds

Figure 2 of the WGAN paper (Arjovsky et al. 2017), with the MMD witness beside it. The generator learns from the
gradient of its critic at its samples, so what matters is the critic's shape where the fake samples are:

1. Top row, real P = N(0, 1) against fake Q = N(4, 1):
   - the GAN's optimal discriminator D*(x) = p(x) / (p(x) + q(x)) is 0 or 1 almost everywhere, flat at the fake
     samples: the minimax generator gets no gradient (a discriminator trained with the BCE loss shows the same);
   - the optimal WGAN critic, the 1-Lipschitz f maximising E_P f - E_Q f, is the line f(x) = -x (up to a
     constant): the same slope at every fake sample, however far from the data. A WGAN-GP critic trained here is a
     line too, a little steeper (about -1.2): the penalty lambda E(|f'| - 1)^2 is soft, and where interpolates
     are rare it lets the slope exceed 1 (tests/test_ipm.py computes that excess for a shift of 2);
   - the MMD witness w(t) = E_P k(t, X) - E_Q k(t, Y) for the Gaussian kernel of bandwidth h = 1: a bump up at
     the data and down at the fakes (the closed form, and tg.losses.mmd_witness on 2,000 samples of each); its
     slope at the fakes fades as they move more than a few bandwidths away.
2. Bottom row, the distance each critic measures as the shift between P = N(0, 1) and Q = N(shift, 1) grows:
   JSD (tg.metrics.jsd_quadrature) rises to log 2 and stays there, W1 = |shift| (and tg.metrics.wasserstein1_1d
   on samples) grows linearly, MMD = sqrt(2 h / sqrt(h^2 + 2) (1 - exp(-shift^2 / (2 (h^2 + 2))))) (and
   tg.losses.mmd on samples) saturates too. A flat distance gives the generator no gradient.

Writes OUT/ipm.png.
"""

import argparse
import math
import os

import tinygan as tg
from tinygan import plots

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default="runs/ipm", help="folder for the figure")
parser.add_argument("--quick", action="store_true", help="short training and a coarse sweep (for tests)")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
steps = 60 if args.quick else 2000
n_samples = 300 if args.quick else 2000
sample_shifts = [0.0, 4.0, 8.0] if args.quick else [0.5 * i for i in range(17)]
theory_shifts = [8.0 * i / (20 if args.quick else 160) for i in range((20 if args.quick else 160) + 1)]
SHIFT, BANDWIDTH, BATCH = 4.0, 1.0, 256
generator = tg.Generator(seed=0)
real_data = tg.distributions.Gaussian(mean=0.0, std=1.0)
fake_data = tg.distributions.Gaussian(mean=SHIFT, std=1.0)


def witness_theory(t, mean_p, mean_q, std, h):
    """E_P k(t, X) - E_Q k(t, Y) for the Gaussian kernel of bandwidth h and P = N(mean_p, std^2), Q = N(mean_q, std^2):
    E exp(-(t - X)^2 / (2 h^2)) = h / sqrt(h^2 + s^2) exp(-(t - m)^2 / (2 (h^2 + s^2))) for X ~ N(m, s^2)."""
    v = h * h + std * std
    return (h / math.sqrt(v)) * ((-(t - mean_p) ** 2 / (2 * v)).exp() - (-(t - mean_q) ** 2 / (2 * v)).exp())


def mmd_theory(shift, h):
    """MMD between N(0, 1) and N(shift, 1) for the Gaussian kernel of bandwidth h: E k = h / sqrt(v) exp(-d^2 /
    (2 v)) with v = h^2 + 2 for every pair, so MMD^2 = 2 h / sqrt(v) (1 - exp(-shift^2 / (2 v)))."""
    v = h * h + 2.0
    return math.sqrt(2 * h / math.sqrt(v) * (1 - math.exp(-shift * shift / (2 * v))))


def train(critic, loss_of):
    """``steps`` Adam steps on loss_of(critic, real batch, fake batch)."""
    opt = tg.optim.Adam(critic.parameters(), lr=2e-3, betas=(0.5, 0.9))
    for _ in range(steps):
        loss = loss_of(critic, real_data.sample(BATCH, generator), fake_data.sample(BATCH, generator))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return critic


# ----------------------------------------------------------------------------------------------------------------
print(f"1. Real N(0, 1) against fake N({SHIFT:g}, 1): D*, the WGAN critic and the MMD witness")
x = tg.linspace(-4.0, SHIFT + 4.0, 401).reshape(-1, 1)
with tg.no_grad():
    p_real, p_fake = real_data.prob(x).reshape(-1), fake_data.prob(x).reshape(-1)
    d_star = (real_data.log_prob(x) - fake_data.log_prob(x)).sigmoid().reshape(-1)

D = train(tg.nn.MLP(1, [32, 32], 1, activation="leaky_relu", generator=generator),
          lambda D, real, fake: tg.losses.bce_discriminator_loss(D(real), D(fake)))
critic = train(tg.nn.MLP(1, [32, 32], 1, activation="leaky_relu", generator=generator),
               lambda f, real, fake: tg.losses.wasserstein_critic_loss(f(real), f(fake))
               + tg.losses.gradient_penalty(f, real, fake, weight=10.0, generator=generator))
midpoint = tg.tensor([[SHIFT / 2]])
with tg.no_grad():
    d_trained = D(x).sigmoid().reshape(-1)
    critic_trained = (critic(x) - critic(midpoint)).reshape(-1)        # a critic is defined up to a constant
    slope = ((critic(tg.tensor([[SHIFT + 1.0]])) - critic(tg.tensor([[-1.0]]))) / (SHIFT + 2.0)).item()
    real_sample, fake_sample = real_data.sample(n_samples, generator), fake_data.sample(n_samples, generator)
    witness_samples = tg.losses.mmd_witness(real_sample, fake_sample, tg.kernels.gaussian(BANDWIDTH))(x)
at_fakes = (x.reshape(-1) - SHIFT).abs() < 1.0
print(f"   D* at the fake samples (within 1 std of {SHIFT:g}): at most {d_star[at_fakes].max().item():.1e}; the "
      f"trained D: at most {d_trained[at_fakes].max().item():.1e}")
print(f"   the trained WGAN-GP critic's mean slope from -1 to {SHIFT + 1:g}: {slope:+.3f} (optimal: -1)")
critics = {"x": x.reshape(-1).numpy(), "p_real": p_real.numpy(), "p_fake": p_fake.numpy(),
           "d_star": d_star.numpy(), "d_trained": d_trained.numpy(),
           "critic_optimal": (SHIFT / 2 - x.reshape(-1)).numpy(), "critic_trained": critic_trained.numpy(),
           "critic_trained_label": f"a trained WGAN-GP critic (mean slope {slope:.2f})",
           "witness": witness_theory(x.reshape(-1), 0.0, SHIFT, 1.0, BANDWIDTH).numpy(),
           "witness_samples": witness_samples.numpy(), "bandwidth": BANDWIDTH}

# ----------------------------------------------------------------------------------------------------------------
print("2. As the shift grows: JSD, W1 and MMD")


def log_normal(mean):
    return lambda points: (-0.5 * (points - mean) ** 2 - 0.5 * math.log(2 * math.pi)).sum(axis=1)


sweep = {"shift": theory_shifts, "marker": SHIFT,
         "jsd": [tg.metrics.jsd_quadrature(log_normal(0.0), log_normal(s), -12.0, 12.0 + s) for s in theory_shifts],
         "w1": theory_shifts, "mmd": [mmd_theory(s, BANDWIDTH) for s in theory_shifts],
         "sample_shift": sample_shifts, "w1_samples": [], "mmd_samples": []}
kernel = tg.kernels.gaussian(BANDWIDTH)
for shift in sample_shifts:
    real = tg.randn(n_samples, 1, generator=generator, dtype=tg.float64)
    fake = tg.randn(n_samples, 1, generator=generator, dtype=tg.float64) + shift
    sweep["w1_samples"].append(tg.metrics.wasserstein1_1d(real, fake))
    with tg.no_grad():
        sweep["mmd_samples"].append(tg.losses.mmd(real, fake, kernel, unbiased=True).item())
for shift, jsd, mmd in zip(theory_shifts, sweep["jsd"], sweep["mmd"]):
    if shift in (1.0, 2.0, 4.0, 8.0):
        print(f"   shift {shift:g}: JSD {jsd:.4f} (log 2 = {math.log(2):.4f}), W1 {shift:g}, MMD {mmd:.4f} "
              f"(its limit {math.sqrt(2 * BANDWIDTH / math.sqrt(BANDWIDTH ** 2 + 2)):.4f})")

plots.plot_ipm_comparison(critics, sweep, os.path.join(args.out, "ipm.png"))
print("\nDone. Figure in", args.out)
