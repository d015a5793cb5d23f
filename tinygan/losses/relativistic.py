"""Relativistic GAN losses (Jolicoeur-Martineau 2018): the discriminator judges whether a real sample is more
realistic than a fake one (RSGAN), or than the fakes on average (RaGAN). Both players' losses use both batches."""

from .. import ops
from .checks import logit_pair, needs_real


def rsgan_discriminator_loss(real_logits, fake_logits):
    """Relativistic standard GAN, D: the probability that a real sample is more realistic than a paired fake one.

        L_D = -E[log sigmoid(l_real - l_fake)] = mean(softplus(-(real_logits - fake_logits)))

    real_logits and fake_logits (n,) or (n, 1) with the same n (sample i of one batch is paired with sample i of
    the other); a 0-d tensor. log 2 when the logits agree.
    """
    real, fake = logit_pair("rsgan_discriminator_loss", real_logits, fake_logits, same_batch=True)
    return ops.softplus(fake - real).mean()


def rsgan_generator_loss(fake_logits, real_logits=None):
    """Relativistic standard GAN, G: L_G = -E[log sigmoid(l_fake - l_real)] = mean(softplus(real_logits - fake_logits)).

    fake_logits and real_logits (n,) or (n, 1) with the same n; real_logits is required. log 2 when they agree.
    """
    needs_real("rsgan_generator_loss", real_logits)
    real, fake = logit_pair("rsgan_generator_loss", real_logits, fake_logits, same_batch=True)
    return ops.softplus(real - fake).mean()


def ragan_discriminator_loss(real_logits, fake_logits):
    """Relativistic average GAN (RaSGAN), D: each sample is compared with the mean logit of the other batch.

        L_D = -E_real[log sigmoid(l_real - mean(l_fake))] - E_fake[log(1 - sigmoid(l_fake - mean(l_real)))]
            = mean(softplus(mean(l_fake) - l_real)) + mean(softplus(l_fake - mean(l_real)))

    real_logits (n,) or (n, 1), fake_logits (m,) or (m, 1) (n and m may differ); a 0-d tensor. log 4 when all the
    logits agree.
    """
    real, fake = logit_pair("ragan_discriminator_loss", real_logits, fake_logits)
    return ops.softplus(fake.mean() - real).mean() + ops.softplus(fake - real.mean()).mean()


def ragan_generator_loss(fake_logits, real_logits=None):
    """Relativistic average GAN, G: the discriminator's loss with the roles of real and fake exchanged.

        L_G = -E_fake[log sigmoid(l_fake - mean(l_real))] - E_real[log(1 - sigmoid(l_real - mean(l_fake)))]
            = mean(softplus(mean(l_real) - l_fake)) + mean(softplus(l_real - mean(l_fake)))

    fake_logits (m,) or (m, 1), real_logits (n,) or (n, 1), required; a 0-d tensor. log 4 when all agree.
    """
    needs_real("ragan_generator_loss", real_logits)
    real, fake = logit_pair("ragan_generator_loss", real_logits, fake_logits)
    return ops.softplus(real.mean() - fake).mean() + ops.softplus(real - fake.mean()).mean()
