"""What every loss checks of its arguments: logits are a float Tensor of shape (batch,) or (batch, 1) with batch > 0,
flattened to (batch,) where real and fake logits are combined elementwise; samples are a non-empty float batch."""

from .. import backend
from ..tensor import Tensor


def checked_logits(function_name, logits, argument="logits"):
    """``logits`` as given, after checking it is a float Tensor of shape (batch,) or (batch, 1), batch > 0."""
    if not isinstance(logits, Tensor):
        raise TypeError(f"{function_name}: {argument} must be a tinygan Tensor of shape (batch,) or (batch, 1), "
                        f"got {type(logits).__name__}")
    if not backend.is_floating(logits.dtype):
        raise TypeError(f"{function_name}: {argument} must be a floating-point tensor, got {logits.dtype}")
    shape = tuple(logits.shape)
    if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
        raise ValueError(f"{function_name}: {argument} must have shape (batch,) or (batch, 1), one logit per sample, "
                         f"got {shape}")
    if shape[0] == 0:
        raise ValueError(f"{function_name}: {argument} is an empty batch (shape {shape}); the mean of no samples "
                         f"is undefined")
    return logits


def flat_logits(function_name, logits, argument="logits"):
    """``logits`` checked as by checked_logits and flattened to (batch,), for losses that combine logits
    elementwise (a (batch,) and a (batch, 1) tensor must not broadcast into a (batch, batch) matrix)."""
    logits = checked_logits(function_name, logits, argument)
    return logits.reshape(logits.shape[0]) if logits.ndim == 2 else logits


def logit_pair(function_name, real_logits, fake_logits, same_batch=False):
    """Both logit tensors as (batch,) tensors; with same_batch, their batch sizes must match."""
    real = flat_logits(function_name, real_logits, "real_logits")
    fake = flat_logits(function_name, fake_logits, "fake_logits")
    if same_batch and real.shape != fake.shape:
        raise ValueError(f"{function_name}: compares each real logit with one fake logit, so the batches must have "
                         f"equal sizes; got real_logits of shape {tuple(real_logits.shape)} and fake_logits of "
                         f"shape {tuple(fake_logits.shape)}")
    return real, fake


def needs_real(function_name, real_logits):
    if real_logits is None:
        raise ValueError(f"{function_name}: a relativistic generator loss compares fake with real logits; pass "
                         f"real_logits (the discriminator's logits on a real batch)")


def check_samples(function_name, samples, argument):
    if not isinstance(samples, Tensor):
        raise TypeError(f"{function_name}: {argument} must be a tinygan Tensor of shape (batch, ...), got "
                        f"{type(samples).__name__}")
    if samples.ndim < 1 or samples.shape[0] == 0 or not backend.is_floating(samples.dtype):
        raise ValueError(f"{function_name}: {argument} must be a non-empty float batch of shape (batch, ...), got "
                         f"shape {tuple(samples.shape)} and dtype {samples.dtype}")
