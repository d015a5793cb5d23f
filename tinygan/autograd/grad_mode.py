"""Grad mode: whether ops record the graph. ``no_grad`` turns recording off, ``enable_grad`` back on.

    with tg.no_grad():            # sampling, evaluation, parameter updates: no graph, nothing to free
        samples = G(z)

    @tg.no_grad()                 # the same for a whole function
    def evaluate(G): ...

The mode is one flag for the whole process. The engine reads it in ``Function.apply`` (record this op or not) and
sets it while it runs backward: off for a plain backward, on for ``create_graph=True``.
"""

import functools


class _GradMode:
    enabled = True


def is_grad_enabled():
    """True when ops record the graph (the default); False inside ``no_grad``."""
    return _GradMode.enabled


class set_grad_enabled:
    """``with tg.set_grad_enabled(flag):`` records the graph inside the block when ``flag`` is true, and restores
    the previous mode on exit, whatever happens inside. Also a decorator: ``@tg.set_grad_enabled(False)``."""

    def __init__(self, mode):
        self.mode = bool(mode)

    def __enter__(self):
        self._previous = _GradMode.enabled
        _GradMode.enabled = self.mode
        return self

    def __exit__(self, *exc_info):
        _GradMode.enabled = self._previous
        return False

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(self.mode):
                return function(*args, **kwargs)
        return wrapper


class no_grad(set_grad_enabled):
    """``with tg.no_grad():`` (or ``@tg.no_grad()``, or ``@tg.no_grad``): ops inside record no graph and their results
    need no grad. Use it for evaluation, for sampling, and for parameter updates.
    """

    def __new__(cls, function=None):
        # ``@tg.no_grad`` without parentheses passes the function to the class itself: hand back the function
        # wrapped, as ``@tg.no_grad()`` would (PyTorch accepts both spellings).
        if function is not None:
            return no_grad()(function)
        return super().__new__(cls)

    def __init__(self, function=None):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """``with tg.enable_grad():`` turns recording back on inside a ``no_grad`` block (also ``@tg.enable_grad``)."""

    def __new__(cls, function=None):
        if function is not None:
            return enable_grad()(function)
        return super().__new__(cls)

    def __init__(self, function=None):
        super().__init__(True)
