"""The backend: the only layer of tinygan that imports numpy or cupy.

A tinygan Tensor wraps an array from one of two namespaces ("xp"):

    device "cpu"  -> numpy
    device "cuda" -> cupy   ("gpu" is accepted as an alias)

Everything above this layer asks a tensor's Device for its namespace (``device.xp``) instead of importing numpy,
so the same op code runs on either device. CuPy is imported lazily, the first time "cuda" is asked for, so a
CPU-only user never needs it installed.

    arrays.py            dtypes, devices, making arrays, host transfer
    random.py            seeded generators per device, derive_seed
    checkpoint_bytes.py  arrays as little-endian bytes and back (for tg.save / tg.load)
    threads.py           limit_blas_threads
    machine.py           total_memory of a device, usable_cpus (to check a run's sizes before it starts)
"""

from .arrays import (CPU, CUDA, FLOAT_DTYPES, HOST_ARRAY, Device, array_namespace, as_array, as_device, as_dtype,
                     blas_ready, bool_, cuda_available, cuda_device_count, device_of, float32, float64, format_array,
                     get_default_device, get_default_dtype, has_advanced_index, ignore_float_errors, int32, int64,
                     is_array, is_device_spec, is_dtype_spec, is_floating, is_scalar, read_only_view, scalar_array,
                     scatter_add, set_default_device, set_default_dtype, shares_memory, to_array, to_host)
from .checkpoint_bytes import MAX_ARRAY_BYTES, MAX_DIMS, array_from_bytes, array_to_bytes, npy_bytes
from .random import Generator, default_generator, derive_seed, host_generator, manual_seed
from .machine import total_memory, usable_cpus
from .threads import limit_blas_threads
