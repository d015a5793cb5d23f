"""Algorithm 1 of Goodfellow et al. (2014): train a GAN by alternating gradient steps of the two players.

    for each training step:
        for k steps:
            draw m real samples x ~ p_data and m latent samples z ~ p_z
            update D by descending  loss_D(D(x), D(G(z)))              (the paper: ascend V(D, G))
        draw m latent samples z ~ p_z
        update G by descending  loss_G(D(G(z)))                        (the paper: descend log(1 - D(G(z))))

Each player descends a loss of its own, chosen from tinygan.losses (the paper recommends the non-saturating
generator loss -log D(G(z)) over log(1 - D(G(z))), which saturates early in training). These functions are one
update each, what tinygan.train.Trainer runs at every step; the trainer adds the bookkeeping around them (random
streams, learning-rate schedules, history, checkpoints).

    loss_d, _, _, _ = discriminator_step(G, D, opt_D, losses.bce_discriminator_loss, real, z)
    loss_g = generator_step(G, D, opt_G, losses.nonsaturating_generator_loss, z)

A GMMN has no discriminator: its generator matches the data's moments directly (moment_matching_step).
"""

from .autograd.grad_mode import no_grad
from .nn.utils import clip_weights_


def discriminator_step(G, D, opt_D, loss_fn, real, z, penalty=None, clip_value=None):
    """One update of the discriminator (critic) D on a real batch and the fakes G(z).

    The fakes are made without a graph into G (only D learns here). ``penalty(D, real, fake)``, if given, is added
    to the loss (R1, R2, WGAN-GP: tinygan.losses.penalties). ``clip_value``: clip every weight of D to
    [-clip_value, clip_value] after the update (the original WGAN). Returns (loss, penalty or None, D(real),
    D(fake)); D's gradients stay in its parameters' .grad.
    """
    with no_grad():
        fake = G(z)
    real_out, fake_out = D(real), D(fake)
    loss = loss_fn(real_out, fake_out)
    extra = penalty(D, real, fake) if penalty is not None else None
    opt_D.zero_grad()
    (loss if extra is None else loss + extra).backward()
    opt_D.step()
    if clip_value is not None:
        clip_weights_(D.parameters(), clip_value)
    return loss, extra, real_out, fake_out


def generator_step(G, D, opt_G, loss_fn, z, real_logits=None):
    """One update of the generator G on the latent batch z, through the discriminator D.

    D's parameters are frozen meanwhile (requires_grad off), so backward computes no gradient for them and their
    .grad from D's own step stays as it was. ``real_logits``: D's outputs on a real batch, for the losses that
    compare fake with real (the relativistic ones; the MMD GAN's, on the critic's features). Returns the loss;
    G's gradients stay in its parameters' .grad.
    """
    fake = G(z)
    D.requires_grad_(False)
    try:
        loss = loss_fn(D(fake), real_logits)
        opt_G.zero_grad()
        loss.backward()
    finally:
        D.requires_grad_(True)
    opt_G.step()
    return loss


def moment_matching_step(G, opt_G, loss_fn, z, real):
    """One update of G alone, for the objectives without a discriminator (GMMN, the energy distance): G descends
    loss_fn(G(z), real), a distance between its samples and a real batch. Returns the loss."""
    loss = loss_fn(G(z), real)
    opt_G.zero_grad()
    loss.backward()
    opt_G.step()
    return loss


def update_average(average, model, beta):
    """average <- beta * average + (1 - beta) * model, parameter by parameter: an exponential moving average of a
    model's weights (sampling from the average of a GAN generator gives cleaner samples than the last weights)."""
    with no_grad():
        for mean, current in zip(average.parameters(), model.parameters()):
            mean.mul_(beta).add_(current, alpha=1.0 - beta)
