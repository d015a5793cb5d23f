"""Arrays as bytes and back, for checkpoints: tinygan/serialization.py writes and reads safetensors files, and these
helpers are its only contact with numpy. Checkpoint bytes are little-endian and row-major (C order), whatever the
machine, as safetensors requires.
"""

import io

import numpy

from .arrays import as_dtype, bool_, to_array, to_host

MAX_DIMS = 64 if int(numpy.__version__.split(".")[0]) >= 2 else 32
"""The most dimensions an array may have (numpy 2 allows 64, numpy 1 32); a checkpoint's shapes are checked
against it before any array is made."""

MAX_ARRAY_BYTES = 2 ** 63 - 1
"""The largest byte count numpy's index type holds: the product of an array's nonzero sizes times its item size
must fit, even for an empty array (numpy refuses shape (2**63, 0))."""


def array_to_bytes(array):
    """The raw bytes of a numpy or cupy array: little-endian, row-major (copied to the host from the GPU)."""
    host = to_host(array)
    return host.astype(host.dtype.newbyteorder("<"), copy=False).tobytes(order="C")


def npy_bytes(array):
    """The bytes of a .npy file (numpy's own format, readable with numpy.load) holding ``array`` (host copy)."""
    buffer = io.BytesIO()
    numpy.save(buffer, to_host(array), allow_pickle=False)
    return buffer.getvalue()


def array_from_bytes(buffer, dtype, shape, device=None):
    """A new array of ``dtype`` and ``shape`` on ``device`` from little-endian, row-major bytes.

    ``len(buffer)`` must be exactly ``prod(shape) * dtype.itemsize`` (the caller checks it). The array owns its
    memory and is writable. Bools are read as bytes and compared with 0, so a foreign file's byte 2 reads as
    True instead of making an invalid numpy bool.
    """
    dtype = as_dtype(dtype)
    if dtype == bool_:
        host = numpy.frombuffer(buffer, dtype=numpy.uint8) != 0
    else:
        host = numpy.frombuffer(buffer, dtype=dtype.newbyteorder("<")).astype(dtype)  # astype: an owned copy
    return to_array(host.reshape(tuple(shape)), dtype, device)
