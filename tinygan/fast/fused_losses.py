"""The GAN losses built on the binary cross-entropy, on the fused BCE node (fast/fused_ops.py).

The same numbers as tinygan.losses' bce_discriminator_loss, nonsaturating_generator_loss and
minimax_generator_loss (bit for bit: tests/test_fast.py), with the same argument checks; each term is one graph
node each way where the plain version records a negation, a softplus and a mean (and six nodes of backward).
"""

from ..losses.checks import checked_logits
from .fused_ops import binary_cross_entropy_with_logits as fused_bce


def bce_discriminator_loss(real_logits, fake_logits):
    """mean(softplus(-real_logits)) + mean(softplus(fake_logits)), as tinygan.losses.bce_discriminator_loss."""
    real = checked_logits("bce_discriminator_loss", real_logits, "real_logits")
    fake = checked_logits("bce_discriminator_loss", fake_logits, "fake_logits")
    return fused_bce(real, 1.0) + fused_bce(fake, 0.0)


def nonsaturating_generator_loss(fake_logits, real_logits=None):
    """mean(softplus(-fake_logits)), as tinygan.losses.nonsaturating_generator_loss."""
    return fused_bce(checked_logits("nonsaturating_generator_loss", fake_logits, "fake_logits"), 1.0)


def minimax_generator_loss(fake_logits, real_logits=None):
    """-mean(softplus(fake_logits)), as tinygan.losses.minimax_generator_loss."""
    return -fused_bce(checked_logits("minimax_generator_loss", fake_logits, "fake_logits"), 0.0)


FUSED_LOSSES = {
    "nonsaturating": (bce_discriminator_loss, nonsaturating_generator_loss),
    "minimax": (bce_discriminator_loss, minimax_generator_loss),
}
"""The losses of tinygan.losses.LOSSES that have a fused version here, by the same names."""
