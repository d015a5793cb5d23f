"""The Dirac-GAN (Mescheder et al. 2018): the smallest GAN, whose training dynamics can be drawn in a plane.

    python demos/dirac_gan.py --out runs/dirac_gan          # the real picture (seconds)
    python demos/dirac_gan.py --out runs/dirac_gan --quick

The data is a single point, x = 0. The generator is a single point too, x = theta. The discriminator is linear,
D(x) = psi * x (a logit). The equilibrium is theta = 0 (G found the data) and psi = 0 (D cannot tell them apart).
Gradient descent on both players moves (theta, psi) along the vector field

    v(theta, psi) = ( -d loss_G / d theta,  -d loss_D / d psi )

which we compute with tinygan's autograd for four games, on a grid (the grey streamlines) and along a path of
simultaneous gradient descent from (1, 1) (the coloured line):

    GAN (minimax)           a rotation near the equilibrium: the path circles and slowly spirals outwards
    GAN (non-saturating)    pulled in from far away, but near the equilibrium it spirals outwards too: the path
                            ends up circling the equilibrium, never reaching it
    WGAN (linear critic)    an exact rotation everywhere: the path spirals outwards
    GAN + R1 penalty        gamma/2 |dD/dx|^2 on the data damps psi: the path converges to the equilibrium

Writes OUT/dirac_gan.png.
"""

import argparse
import os

import tinygan as tg
from tinygan import plots

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default="runs/dirac_gan", help="folder for the figure")
parser.add_argument("--quick", action="store_true", help="a coarser grid and a shorter path (for tests)")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
grid_size = 9 if args.quick else 25
steps = 50 if args.quick else 500
learning_rate = 0.1
start = (1.0, 1.0)
gamma = 0.5  # the R1 weight

GAMES = {  # name: (discriminator loss, generator loss, R1 weight)
    "GAN (minimax)": ("minimax", "minimax", 0.0),
    "GAN (non-saturating)": ("nonsaturating", "nonsaturating", 0.0),
    "WGAN (linear critic)": ("wasserstein", "wasserstein", 0.0),
    f"GAN + R1 (gamma = {gamma})": ("nonsaturating", "nonsaturating", gamma),
}


def vector_field(theta, psi, d_kind, g_kind, r1_weight):
    """v = (-dL_G/dtheta, -dL_D/dpsi) at n points at once: theta and psi are (n,) tensors, one game per entry.

    The losses average over the n games, and game i depends only on theta_i and psi_i, so n times the gradient of
    the average is each game's own gradient."""
    n = theta.shape[0]
    theta, psi = theta.detach().requires_grad_(), psi.detach().requires_grad_()
    real = tg.zeros(n, 1, dtype=tg.float64)                # the data point x = 0, once per game

    def discriminator(x):                                  # D_psi(x) = psi * x, a logit per game
        return psi * x.reshape(n)

    loss_d = tg.losses.discriminator_loss(discriminator(real), psi * theta, kind=d_kind)
    if r1_weight:
        loss_d = loss_d + tg.losses.r1_penalty(discriminator, real, gamma=r1_weight)
    loss_g = tg.losses.generator_loss(psi * theta, kind=g_kind)
    (d_theta,) = tg.grad(loss_g, [theta])
    (d_psi,) = tg.grad(loss_d, [psi])
    return -d_theta * n, -d_psi * n


axis = tg.linspace(-2.0, 2.0, grid_size, dtype=tg.float64)
theta_grid = tg.broadcast_to(axis.reshape(1, -1), (grid_size, grid_size)).reshape(-1)   # columns: theta
psi_grid = tg.broadcast_to(axis.reshape(-1, 1), (grid_size, grid_size)).reshape(-1)     # rows: psi

panels = []
for name, (d_kind, g_kind, r1_weight) in GAMES.items():
    v_theta, v_psi = vector_field(theta_grid, psi_grid, d_kind, g_kind, r1_weight)

    # simultaneous gradient descent: both players step along the field at the same point
    theta, psi = tg.tensor([start[0]], dtype=tg.float64), tg.tensor([start[1]], dtype=tg.float64)
    path = [[start[0], start[1]]]
    for _ in range(steps):
        step_theta, step_psi = vector_field(theta, psi, d_kind, g_kind, r1_weight)
        theta, psi = theta + learning_rate * step_theta, psi + learning_rate * step_psi
        path.append([theta.item(), psi.item()])
    distance = (path[-1][0] ** 2 + path[-1][1] ** 2) ** 0.5
    print(f"{name:>26}: after {steps} steps (theta, psi) = ({path[-1][0]:+.3f}, {path[-1][1]:+.3f}), "
          f"distance to the equilibrium {distance:.3g} (started at {(start[0] ** 2 + start[1] ** 2) ** 0.5:.3g})")
    panels.append({"name": name, "grid": (axis.numpy(), axis.numpy()),
                   "field": (v_theta.numpy().reshape(grid_size, grid_size),
                             v_psi.numpy().reshape(grid_size, grid_size)),
                   "trajectory": tg.tensor(path, dtype=tg.float64).numpy(),
                   "xlabel": "theta (the generator's point)", "ylabel": "psi (the discriminator's slope)"})

plots.plot_vector_fields(panels, os.path.join(args.out, "dirac_gan.png"),
                         title=f"Dirac-GAN: data at 0, G at theta, D(x) = psi x; simultaneous gradient descent, "
                               f"learning rate {learning_rate}")
print("\nDone. Figure in", args.out)
