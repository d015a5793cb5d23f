"""Results without gradients: comparisons, logic, isfinite/isnan and sign. Each gives a tensor that carries no
gradient (bool, or sign's -1/0/1), so none of them is a Function."""

from .arguments import binary_operands, constant
from .arguments import xp_of


def _compare(op_name, array_function):
    def compare(a, b):
        a, b = binary_operands(op_name, a, b)
        return constant(a, getattr(xp_of(a.array), array_function)(a.array, b.array))
    compare.__name__ = op_name
    compare.__doc__ = f"Elementwise {op_name} as a bool tensor (carries no gradient)."
    return compare


less = _compare("less", "less")
less_equal = _compare("less_equal", "less_equal")
greater = _compare("greater", "greater")
greater_equal = _compare("greater_equal", "greater_equal")
equal = _compare("equal", "equal")
not_equal = _compare("not_equal", "not_equal")
logical_and = _compare("logical_and", "logical_and")
logical_or = _compare("logical_or", "logical_or")


def logical_not(a):
    """Elementwise not of a bool tensor."""
    return constant(a, xp_of(a.array).logical_not(a.array))


def isfinite(a):
    """True where a is neither inf nor NaN."""
    return constant(a, xp_of(a.array).isfinite(a.array))


def isnan(a):
    """True where a is NaN."""
    return constant(a, xp_of(a.array).isnan(a.array))


def sign(a):
    """-1, 0 or 1 elementwise (no gradient: its derivative is 0 almost everywhere)."""
    return constant(a, xp_of(a.array).sign(a.array))
