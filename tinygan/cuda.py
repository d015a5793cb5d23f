"""``tg.cuda.is_available()``, as torch.cuda: whether the "cuda" device (CuPy and an NVIDIA GPU) can be used."""

from . import backend


def is_available():
    """True when CuPy is installed and sees a GPU."""
    return backend.cuda_available()


def device_count():
    """The number of GPUs CuPy sees (0 without CuPy or a GPU)."""
    return backend.cuda_device_count()
