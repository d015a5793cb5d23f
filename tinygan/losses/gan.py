"""The GAN objectives, on discriminator logits: the original game (minimax and non-saturating), hinge and
Wasserstein. Every loss is a quantity to minimise, the batch mean, a 0-d tensor.

A discriminator returns one logit l per sample: D(x) = sigmoid(l) is its probability that x is real. No loss here
takes log(sigmoid(l)), which is -inf or NaN once sigmoid(l) rounds to 0 or 1; they use

    log D(x)       = log sigmoid(l)  = -softplus(-l)
    log(1 - D(x))  = log sigmoid(-l) = -softplus(l)

whose forward and backward are finite for any finite l. References: Goodfellow et al. 2014 (the game and its
non-saturating variant), Arjovsky et al. 2017 (WGAN), Lim & Ye 2017 / Miyato et al. 2018 (hinge). Least squares
and the relativistic losses are in least_squares.py and relativistic.py.
"""

from .. import ops
from .checks import checked_logits, flat_logits, logit_pair


def bce_discriminator_loss(real_logits, fake_logits):
    """The discriminator's binary cross-entropy, -V(D, G) of the GAN game:

        L_D = -E_real[log D(x)] - E_fake[log(1 - D(G(z)))]
            = mean(softplus(-real_logits)) + mean(softplus(fake_logits))

    real_logits (n,) or (n, 1), fake_logits (m,) or (m, 1); returns a 0-d tensor. Minimising it maximises V; the
    optimum for a fixed G is D*(x) = p_data(x) / (p_data(x) + p_g(x)), where L_D = log 4 - 2 JSD(p_data || p_g),
    so log 4 when p_g = p_data (every logit 0).
    """
    real = checked_logits("bce_discriminator_loss", real_logits, "real_logits")   # a mean over (n,) or (n, 1) is
    fake = checked_logits("bce_discriminator_loss", fake_logits, "fake_logits")   # the same: no need to flatten
    return ops.softplus(-real).mean() + ops.softplus(fake).mean()


def nonsaturating_generator_loss(fake_logits, real_logits=None):
    """The non-saturating generator loss (the one the GAN paper recommends in practice):

        L_G = -E_fake[log D(G(z))] = mean(softplus(-fake_logits))

    fake_logits (m,) or (m, 1); real_logits is not used (accepted so every generator loss has one signature).
    dL/dl = -sigmoid(-l) / m: close to -1/m for a fake that D rejects confidently (l << 0), so G keeps learning.
    log 2 at logit 0.
    """
    fake = checked_logits("nonsaturating_generator_loss", fake_logits, "fake_logits")
    return ops.softplus(-fake).mean()


def minimax_generator_loss(fake_logits, real_logits=None):
    """The minimax (saturating) generator loss, G's side of min_G max_D V(D, G):

        L_G = E_fake[log(1 - D(G(z)))] = mean(logsigmoid(-fake_logits)) = -mean(softplus(fake_logits))

    fake_logits (m,) or (m, 1); real_logits is not used. dL/dl = -sigmoid(l) / m: it vanishes for a fake that D
    rejects confidently (about 4.5e-5 at l = -10), which is why it saturates early in training. -log 2 at logit 0.
    """
    fake = checked_logits("minimax_generator_loss", fake_logits, "fake_logits")
    return -ops.softplus(fake).mean()


# ---------------------------------------------------------------------------------------------------------------
# hinge (Lim & Ye 2017; Miyato et al. 2018)
# ---------------------------------------------------------------------------------------------------------------


def hinge_discriminator_loss(real_logits, fake_logits):
    """L_D = E_real[relu(1 - l_real)] + E_fake[relu(1 + l_fake)].

    real_logits (n,) or (n, 1), fake_logits (m,) or (m, 1); a 0-d tensor. 2 at logit 0.
    """
    real, fake = logit_pair("hinge_discriminator_loss", real_logits, fake_logits)
    return ops.relu(1.0 - real).mean() + ops.relu(1.0 + fake).mean()


def hinge_generator_loss(fake_logits, real_logits=None):
    """L_G = -E_fake[l_fake].  fake_logits (m,) or (m, 1); real_logits is not used."""
    return -flat_logits("hinge_generator_loss", fake_logits, "fake_logits").mean()


# ---------------------------------------------------------------------------------------------------------------
# Wasserstein (Arjovsky et al. 2017)
# ---------------------------------------------------------------------------------------------------------------


def wasserstein_critic_loss(real_logits, fake_logits):
    """L_critic = E_fake[f(G(z))] - E_real[f(x)], f the critic (its outputs are scores, not probabilities).

    Minimising it maximises E_real[f] - E_fake[f], which estimates the Wasserstein-1 distance (up to a constant
    factor) when f is kept Lipschitz: by weight clipping after each critic step (``clip_weights_(critic.parameters(),
    0.01)``, the paper's c = 0.01), by ``gradient_penalty`` (WGAN-GP) or by spectral normalisation.
    real_logits (n,) or (n, 1), fake_logits (m,) or (m, 1); a 0-d tensor. 0 when the scores agree.
    """
    real, fake = logit_pair("wasserstein_critic_loss", real_logits, fake_logits)
    return fake.mean() - real.mean()


wasserstein_discriminator_loss = wasserstein_critic_loss


def wasserstein_generator_loss(fake_logits, real_logits=None):
    """L_G = -E_fake[f(G(z))].  fake_logits (m,) or (m, 1); real_logits is not used."""
    return -flat_logits("wasserstein_generator_loss", fake_logits, "fake_logits").mean()
