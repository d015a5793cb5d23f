"""Least-squares GAN (Mao et al. 2017): the discriminator regresses its raw output onto labels a (fake) and b (real),
the generator pulls its samples' outputs towards c."""

from .checks import flat_logits, logit_pair


def lsgan_discriminator_loss(real_logits, fake_logits, a=0.0, b=1.0):
    """L_D = 1/2 E_real[(D(x) - b)^2] + 1/2 E_fake[(D(G(z)) - a)^2], with the fake label a = 0, real label b = 1.

    As in the paper, D here is the discriminator's raw output (its last layer without a sigmoid): pass the logits
    as they are. real_logits (n,) or (n, 1), fake_logits (m,) or (m, 1); a 0-d tensor. The optimal output for a
    fixed G is D*(x) = (b p_data + a p_g) / (p_data + p_g), so 1/2 when p_g = p_data, where L_D = 0.25.
    """
    real, fake = logit_pair("lsgan_discriminator_loss", real_logits, fake_logits)
    return 0.5 * ((real - b) ** 2).mean() + 0.5 * ((fake - a) ** 2).mean()


def lsgan_generator_loss(fake_logits, real_logits=None, c=1.0):
    """L_G = 1/2 E_fake[(D(G(z)) - c)^2], c = 1 (the generator wants its samples labelled real).

    fake_logits (m,) or (m, 1), raw outputs as in lsgan_discriminator_loss; real_logits is not used. 0.125 at the
    equilibrium output 1/2.
    """
    fake = flat_logits("lsgan_generator_loss", fake_logits, "fake_logits")
    return 0.5 * ((fake - c) ** 2).mean()
