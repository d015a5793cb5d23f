"""Small user-written Functions shared by the tests (a module, not a test file)."""

import tinygan as tg


def square_with_factor(factor, name="ScaledSquare"):
    """x**2 as a user Function whose backward is off by ``factor`` (1 is correct): returns its ``apply``."""

    class ScaledSquare(tg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 2 * x * factor

    ScaledSquare.__name__ = ScaledSquare.__qualname__ = name
    return ScaledSquare.apply
