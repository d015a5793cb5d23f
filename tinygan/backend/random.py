"""Random numbers: seeded generators on each device, the default generators, and seeds derived from a seed.

The same seed on the same device gives the same draws. The CPU stream is numpy's PCG64, the GPU stream CuPy's own
generator: the values differ between devices.
"""

import numpy

from .arrays import as_device, int64


class Generator:
    """A seeded source of random numbers on one device, for reproducible draws.

        g = Generator(seed=0)                 # numpy's PCG64 on the CPU
        g = Generator(seed=0, device="cuda")  # cupy's generator on the GPU

    The same seed on the same device gives the same draws. The CPU and GPU streams are different algorithms, so
    the values differ between devices. Without a seed the generator is seeded from the operating system.
    """

    def __init__(self, seed=None, device=None):
        self.device = as_device(device)
        self.seed = seed
        self.manual_seed(seed)

    def manual_seed(self, seed):
        """Restart the stream from ``seed``."""
        self.seed = seed
        if self.device.type == "cpu":
            self._rng = numpy.random.default_rng(seed)
        else:
            self._rng = self.device.xp.random.default_rng(seed)
        return self

    def normal(self, shape, dtype):
        """Standard normal draws N(0, 1) of the given float dtype."""
        return self._rng.standard_normal(size=tuple(shape), dtype=dtype)

    def uniform(self, shape, dtype):
        """Uniform draws on [0, 1) of the given float dtype."""
        return self._rng.random(size=tuple(shape), dtype=dtype)

    def integers(self, low, high, shape, dtype=int64):
        """Uniform integers in [low, high)."""
        return self._rng.integers(low, high, size=tuple(shape), dtype=dtype)

    def __repr__(self):
        return f"Generator(seed={self.seed}, device='{self.device}')"


def derive_seed(seed, *keys):
    """A 63-bit seed made from ``seed`` and the integers ``keys``: derive_seed(7, step) differs for every step.

    Used to give each training step its own generator, so step t draws the same numbers whether the run went
    straight through or was resumed from a checkpoint. numpy's SeedSequence mixes the numbers, so nearby
    (seed, key) pairs give unrelated streams.
    """
    entropy = [int(seed)] + [int(key) for key in keys]
    if any(value < 0 for value in entropy):
        raise ValueError(f"derive_seed: seeds and keys must be non-negative integers, got {entropy}")
    return int(numpy.random.SeedSequence(entropy).generate_state(1, numpy.uint64)[0] >> 1)


_default_generators = {}
_default_seed = None


def default_generator(device):
    """The generator random factories use when none is given: one per device, seeded by manual_seed (or the OS)."""
    device = as_device(device)
    if device.type not in _default_generators:
        _default_generators[device.type] = Generator(_default_seed, device)
    return _default_generators[device.type]


def host_generator(generator=None):
    """The CPU generator that draws values meant to be the same on every device (initial weights): ``generator``
    itself, or the default CPU generator when None."""
    if generator is None:
        return default_generator("cpu")
    if generator.device.type != "cpu":
        raise ValueError("initial values are drawn on the host, so that a seed gives the same values on every "
                         "device; pass a CPU generator, tg.Generator(seed, device=\"cpu\")")
    return generator


def manual_seed(seed):
    """Seed the default generator of every device, so code that passes no generator is reproducible."""
    global _default_seed
    _default_seed = seed
    _default_generators.clear()
