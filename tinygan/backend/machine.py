"""What the machine has: memory per device and usable CPUs, for checking a run's sizes before it starts."""

import os

from .arrays import as_device


def total_memory(device="cpu"):
    """The bytes of memory ``device`` has in all (the machine's RAM for "cpu", the GPU's own for "cuda"), or None
    where it cannot be told (a platform without sysconf). Total, not free: a size checked against it is
    impossible on this machine whatever else runs, and the answer does not change from one run to the next."""
    device = as_device(device)
    if device.type == "cuda":
        return int(device.xp.cuda.Device().mem_info[1])
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def usable_cpus():
    """How many CPUs this process may run on (its affinity where the platform has one, else all of them)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
