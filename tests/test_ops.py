"""Property tests for every differentiable op of tinygan.

Each test draws small inputs with hypothesis (float64 arrays, 0-d to 3-d, each axis 1..4), runs the op, and checks

  1. the forward values against NumPy (the reference every op promises to match),
  2. first and second derivatives with ``gradgradcheck`` (which runs ``gradcheck`` first): full Jacobians compared
     with central finite differences, with a drawn cotangent ("grad_outputs") for the second-order check,
  3. that float32 inputs give float32 outputs and float32 gradients (no silent float64).

Finite differences need smooth functions, so drawn inputs keep away from kinks (relu at 0, clamp at its bounds)
and ties (max, maximum) and stay inside the domain (log of positive numbers). Leaves are also drawn with
non-contiguous memory (a transposed or strided view), because an op that assumes C order breaks there.

Ops are listed in tables (``UNARY_OPS``, ``BINARY_OPS``, ``REDUCTIONS``, ``SHAPE_OPS``) and each table entry is a
separate pytest case named after the op, so ``pytest -k sigmoid`` runs one op and a failure names the op.

A test that exposes a known tinygan bug is marked ``xfail(strict=True)`` with the bug in the reason: when the bug is
fixed it starts passing, strict xfail turns that into a failure, and the marker is removed (none is open now).
"""

import decimal
import math
import operator
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygan as tg
from user_functions import square_with_factor
from tinygan.testing import GradcheckError, gradgradcheck

# ---------------------------------------------------------------------------------------------------------------
# hypothesis settings
# ---------------------------------------------------------------------------------------------------------------


def examples(fraction=1.0):
    """@settings for the tests here: the active profile ("dev" or "ci", see conftest.py) with its max_examples
    scaled by ``fraction`` (at least 5), and with the function-scoped ``device`` fixture allowed: the fixture only
    names a device, so sharing it between the examples of one test is safe."""
    profile = settings.default
    return settings(max_examples=max(5, round(profile.max_examples * fraction)),
                    suppress_health_check=[*profile.suppress_health_check, HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


# ---------------------------------------------------------------------------------------------------------------
# strategies: shapes and values
# ---------------------------------------------------------------------------------------------------------------

MAX_SIDE = 4
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=MAX_SIDE)
nonscalar_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=MAX_SIDE)
broadcastable_pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1,
                                                        max_side=MAX_SIDE)


def floats(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def away_from(kinks, margin=1e-2):
    """Element filter: keep values at least ``margin`` from every kink (finite differences use steps of 1e-6)."""
    return lambda value: all(abs(value - kink) >= margin for kink in kinks)


def values(low=-3.0, high=3.0, kinks=(), margin=1e-2):
    """Element strategy: floats in [low, high], kept at least ``margin`` away from ``kinks``."""
    elements = floats(low, high)
    return elements.filter(away_from(kinks, margin)) if kinks else elements


def grid(offset=0.0):
    """Element strategy: the grid 0.1 * k + offset. Two grids with offsets 0 and 0.05 never come closer than 0.05,
    so values drawn from them have no ties (max, min, maximum, minimum are smooth there)."""
    return st.integers(-50, 50).map(lambda k: round(0.1 * k + offset, 10))  # 101 values: enough for 4 x 4 x 4


def arrays(shape, elements=None):
    return hnp.arrays(np.float64, shape, elements=values() if elements is None else elements)


LAYOUTS = ("contiguous", "transposed", "strided")


def leaf(array, device, layout="contiguous", dtype=tg.float64):
    """A leaf tensor that requires grad and holds ``array``'s values on ``device``.

    layout "transposed": the leaf's data is the transpose of a contiguous buffer (not C-contiguous for 2-D and up);
    layout "strided": the leaf's data is every other element of a buffer twice as long in the last axis.
    (tg.tensor always copies into C order, so a non-contiguous leaf is made by wrapping a view of its buffer.)
    """
    array = np.asarray(array, dtype=np.float64)
    if layout == "contiguous" or array.ndim == 0:
        return tg.tensor(array, dtype=dtype, device=device, requires_grad=True)
    if layout == "transposed":
        buffer = tg.tensor(np.ascontiguousarray(array.T), dtype=dtype, device=device)
        view = buffer.array.T
    elif layout == "strided":
        storage = np.zeros(array.shape[:-1] + (2 * array.shape[-1],))
        storage[..., ::2] = array
        buffer = tg.tensor(storage, dtype=dtype, device=device)
        view = buffer.array[..., ::2]
    else:
        raise ValueError(layout)
    return tg.Tensor._make(view, requires_grad=True)


def to_numpy(tensor):
    return np.asarray(tensor.detach().cpu().numpy())


# ---------------------------------------------------------------------------------------------------------------
# checks used by every test
# ---------------------------------------------------------------------------------------------------------------


def check_forward(name, out, expected, rtol=1e-10, atol=1e-12):
    """out (a tinygan tensor) has the shape, dtype and values of ``expected`` (a NumPy result)."""
    expected = np.asarray(expected)
    assert isinstance(out, tg.Tensor), f"{name}: returned {type(out).__name__}, not a Tensor"
    assert out.shape == expected.shape, f"{name}: forward shape {out.shape}, NumPy gives {expected.shape}"
    assert out.dtype == expected.dtype, f"{name}: forward dtype {out.dtype}, NumPy gives {expected.dtype}"
    np.testing.assert_allclose(to_numpy(out), expected, rtol=rtol, atol=atol,
                               err_msg=f"{name}: forward values differ from NumPy")


def draw_cotangent(data, out, device):
    """A drawn dL/d(out) for the second-order check (it must require grad: gradgradcheck differentiates it)."""
    array = data.draw(arrays(out.shape, floats(-2.0, 2.0)), label="cotangent")
    return tg.tensor(array, device=device, requires_grad=True)


def check_gradients(name, fn, inputs, cotangent=None, **tolerances):
    """gradcheck + gradgradcheck of fn at inputs in float64; a failure names the op."""
    try:
        gradgradcheck(fn, tuple(inputs), grad_outputs=cotangent, **tolerances)
    except GradcheckError as error:
        raise AssertionError(f"{name}: {error}") from None


def check_float32(name, fn, arrays_in, reference, device, rtol=1e-4, atol=1e-4):
    """fn on float32 leaves: a float32 output close to the float64 reference and float32 gradients."""
    leaves = [tg.tensor(a, dtype=tg.float32, device=device, requires_grad=True) for a in arrays_in]
    out = fn(*leaves)
    assert out.dtype == tg.float32, f"{name}: float32 inputs gave a {out.dtype} output (silent promotion)"
    rounded = [np.asarray(a, dtype=np.float32).astype(np.float64) for a in arrays_in]
    np.testing.assert_allclose(to_numpy(out), reference(*rounded), rtol=rtol, atol=atol,
                               err_msg=f"{name}: float32 forward differs from the float64 reference")
    out.backward(tg.ones_like(out))
    for position, x in enumerate(leaves):
        assert x.grad is not None, f"{name}: float32 input {position} got no gradient"
        assert x.grad.dtype == tg.float32, f"{name}: float32 input {position} got a {x.grad.dtype} gradient"


# ---------------------------------------------------------------------------------------------------------------
# elementwise ops of one tensor
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unary:
    name: str
    fn: Callable          # the tinygan op
    reference: Callable   # the same in NumPy
    low: float = -3.0     # drawn inputs lie in [low, high] ...
    high: float = 3.0
    kinks: tuple = ()     # ... and keep away from the points where the op is not differentiable

    def __str__(self):
        return self.name


def np_sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


UNARY_OPS = [
    Unary("neg (-x)", lambda x: -x, np.negative),
    Unary("tg.neg", tg.neg, np.negative),
    Unary("exp", tg.exp, np.exp),
    Unary("log", tg.log, np.log, low=0.1, high=5.0),
    Unary("log1p", tg.log1p, np.log1p, low=-0.9, high=5.0),
    Unary("sqrt", tg.sqrt, np.sqrt, low=0.1, high=5.0),
    Unary("abs", tg.abs, np.abs, kinks=(0.0,)),
    Unary("sin", tg.sin, np.sin),
    Unary("cos", tg.cos, np.cos),
    Unary("tanh", tg.tanh, np.tanh),
    Unary("sigmoid", tg.sigmoid, np_sigmoid, low=-8.0, high=8.0),
    Unary("softplus", tg.softplus, lambda x: np.logaddexp(0.0, x), low=-8.0, high=8.0),
    Unary("logsigmoid", tg.logsigmoid, lambda x: -np.logaddexp(0.0, -x), low=-8.0, high=8.0),
    Unary("relu", tg.relu, lambda x: np.maximum(x, 0.0), kinks=(0.0,)),
    Unary("leaky_relu", tg.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x), kinks=(0.0,)),
    Unary("leaky_relu(0.2)", lambda x: tg.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x),
          kinks=(0.0,)),
    Unary("clamp(-1, 1.5)", lambda x: tg.clamp(x, -1.0, 1.5), lambda x: np.clip(x, -1.0, 1.5), kinks=(-1.0, 1.5)),
    Unary("clamp(min=0.5)", lambda x: tg.clamp(x, min=0.5), lambda x: np.maximum(x, 0.5), kinks=(0.5,)),
    Unary("clamp(max=-0.5)", lambda x: x.clamp(max=-0.5), lambda x: np.minimum(x, -0.5), kinks=(-0.5,)),
    Unary("x ** 3", lambda x: x ** 3, lambda x: x ** 3),
    Unary("x ** 2.5", lambda x: x ** 2.5, lambda x: x ** 2.5, low=0.2, high=3.0),
    Unary("x ** -1.5", lambda x: x ** -1.5, lambda x: x ** -1.5, low=0.2, high=3.0),
    Unary("2.0 ** x", lambda x: 2.0 ** x, lambda x: 2.0 ** x),
    Unary("clone", tg.clone, np.copy),
]


@pytest.mark.parametrize("op", UNARY_OPS, ids=str)
@examples(1.0)
@given(data=st.data())
def test_unary_op(op, device, data):
    x_np = data.draw(arrays(shapes, values(op.low, op.high, op.kinks)), label="x")
    x = leaf(x_np, device, data.draw(st.sampled_from(LAYOUTS), label="layout"))

    out = op.fn(x)
    check_forward(op.name, out, op.reference(x_np))
    check_gradients(op.name, op.fn, [x], draw_cotangent(data, out, device))
    check_float32(op.name, op.fn, [x_np], op.reference, device)


# ---------------------------------------------------------------------------------------------------------------
# elementwise ops of two operands (tensor or Python number on either side)
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Binary:
    name: str
    fn: Callable
    reference: Callable
    a_values: st.SearchStrategy = values()   # elements drawn for the first operand ...
    b_values: st.SearchStrategy = values()   # ... and for the second

    def __str__(self):
        return self.name


BINARY_OPS = [
    Binary("a + b", operator.add, np.add),
    Binary("a - b", operator.sub, np.subtract),
    Binary("a * b", operator.mul, np.multiply),
    Binary("a / b", operator.truediv, np.divide, b_values=values(kinks=(0.0,), margin=0.3)),
    Binary("a ** b", operator.pow, np.power, a_values=values(0.2, 3.0), b_values=values(-2.0, 2.0)),
    Binary("maximum", tg.maximum, np.maximum, a_values=grid(0.0), b_values=grid(0.05)),
    Binary("minimum", tg.minimum, np.minimum, a_values=grid(0.0), b_values=grid(0.05)),
]


@pytest.mark.parametrize("op", BINARY_OPS, ids=str)
@examples(1.0)
@given(data=st.data())
def test_binary_op_on_broadcast_tensors(op, device, data):
    a_shape, b_shape = data.draw(broadcastable_pairs, label="shapes").input_shapes
    a_np = data.draw(arrays(a_shape, op.a_values), label="a")
    b_np = data.draw(arrays(b_shape, op.b_values), label="b")
    a = leaf(a_np, device, data.draw(st.sampled_from(LAYOUTS), label="layout of a"))
    b = leaf(b_np, device, data.draw(st.sampled_from(LAYOUTS), label="layout of b"))

    out = op.fn(a, b)
    check_forward(op.name, out, op.reference(a_np, b_np))
    check_gradients(op.name, op.fn, [a, b], draw_cotangent(data, out, device))
    check_float32(op.name, op.fn, [a_np, b_np], op.reference, device)


@pytest.mark.parametrize("op", BINARY_OPS, ids=str)
@examples(0.25)
@given(data=st.data(), scalar_first=st.booleans())
def test_binary_op_with_python_number(op, device, data, scalar_first):
    """op(tensor, number) and op(number, tensor): the number adopts the tensor's dtype, float32 stays float32."""
    shape = data.draw(shapes, label="shape")
    if scalar_first:
        s = data.draw(op.a_values, label="number")
        x_np = data.draw(arrays(shape, op.b_values), label="x")
        fn, reference, name = (lambda x: op.fn(s, x)), (lambda x: op.reference(s, x)), f"{op.name} with a = {s!r}"
    else:
        s = data.draw(op.b_values, label="number")
        x_np = data.draw(arrays(shape, op.a_values), label="x")
        fn, reference, name = (lambda x: op.fn(x, s)), (lambda x: op.reference(x, s)), f"{op.name} with b = {s!r}"
    x = leaf(x_np, device, data.draw(st.sampled_from(LAYOUTS), label="layout"))

    out = fn(x)
    check_forward(name, out, np.asarray(reference(x_np), dtype=np.float64))
    check_gradients(name, fn, [x], draw_cotangent(data, out, device))
    check_float32(name, fn, [x_np], reference, device)


@pytest.mark.parametrize("make_number", [float, int, np.float64, np.float32], ids=lambda f: f.__name__)
def test_numbers_of_any_type_adopt_the_tensor_dtype(device, make_number):
    x = tg.tensor([0.5, 1.5, 2.5], dtype=tg.float32, device=device, requires_grad=True)
    two = make_number(2)
    results = {"x * 2": x * two, "2 * x": two * x, "x + 2": x + two, "2 - x": two - x, "x / 2": x / two,
               "2 / x": two / x, "x ** 2": x ** two, "2 ** x": two ** x, "maximum(x, 2)": tg.maximum(x, two),
               "minimum(2, x)": tg.minimum(two, x), "where(x > 1, x, 2)": tg.where(x > 1.0, x, two),
               "leaky_relu(x, 2)": tg.leaky_relu(x, two)}
    for name, out in results.items():
        assert out.dtype == tg.float32, f"{name} with a {make_number.__name__} gave {out.dtype}, not float32"
        (grad,) = tg.grad(out.sum(), [x])
        assert grad.dtype == tg.float32, f"{name} with a {make_number.__name__}: gradient is {grad.dtype}"


def test_clamp_bounds_adopt_the_tensor_dtype(device):
    """NumPy float64 bounds do not promote a float32 tensor (np.clip would, under NumPy 2's promotion rules)."""
    x = tg.tensor([0.25, 1.5, 2.5], dtype=tg.float32, device=device, requires_grad=True)
    out = tg.clamp(x, np.float64(0.5), np.float64(2.0))
    assert out.dtype == tg.float32
    out.sum().backward()
    assert x.grad.dtype == tg.float32


def test_two_float_dtypes_do_not_mix(device):
    a = tg.tensor([1.0], dtype=tg.float32, device=device)
    b = tg.tensor([1.0], dtype=tg.float64, device=device)
    with pytest.raises(TypeError, match="float dtypes"):
        a + b


def test_operators_and_functions_agree(device):
    """The operator spellings (+, -, *, /, **, unary -, @) are the functions tg.add, ..., tg.matmul."""
    rng = np.random.default_rng(0)
    a_np, b_np = rng.uniform(0.5, 2.0, (3, 3)), rng.uniform(0.5, 2.0, (3, 3))
    a, b = tg.tensor(a_np, device=device), tg.tensor(b_np, device=device)
    pairs = {"add": (a + b, tg.add(a, b)), "sub": (a - b, tg.sub(a, b)), "mul": (a * b, tg.mul(a, b)),
             "div": (a / b, tg.div(a, b)), "pow": (a ** b, tg.pow(a, b)), "neg": (-a, tg.neg(a)),
             "matmul": (a @ b, tg.matmul(a, b)), "transpose": (a.T, tg.transpose(a))}
    for name, (by_operator, by_function) in pairs.items():
        np.testing.assert_array_equal(to_numpy(by_operator), to_numpy(by_function), err_msg=name)


# ---------------------------------------------------------------------------------------------------------------
# where
# ---------------------------------------------------------------------------------------------------------------


@examples(1.0)
@given(data=st.data())
def test_where(device, data):
    cond_shape, a_shape, b_shape = data.draw(
        hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=MAX_SIDE),
        label="shapes").input_shapes
    cond_np = data.draw(hnp.arrays(np.bool_, cond_shape), label="condition")
    a_np, b_np = data.draw(arrays(a_shape), label="a"), data.draw(arrays(b_shape), label="b")
    condition = tg.tensor(cond_np, device=device)
    a, b = leaf(a_np, device, "transposed"), leaf(b_np, device)

    def fn(a, b):
        return tg.where(condition, a, b)

    out = fn(a, b)
    check_forward("where", out, np.where(cond_np, a_np, b_np))
    check_gradients("where", fn, [a, b], draw_cotangent(data, out, device))
    check_float32("where", fn, [a_np, b_np], lambda a, b: np.where(cond_np, a, b), device)
    # A Python number on either side.
    check_gradients("where(c, a, 0.5)", lambda a: tg.where(condition, a, 0.5), [a])
    check_gradients("where(c, 0.5, b)", lambda b: tg.where(condition, 0.5, b), [b])
    check_forward("where(c, 0.5, b)", tg.where(condition, 0.5, b), np.where(cond_np, 0.5, b_np))


# ---------------------------------------------------------------------------------------------------------------
# matmul and linear
# ---------------------------------------------------------------------------------------------------------------


@st.composite
def matmul_shapes(draw):
    """Shapes a, b for a @ b: 1-D vectors or (batches of) matrices whose batch axes broadcast."""
    n, k, m = (draw(st.integers(1, 3), label=name) for name in "nkm")
    batch_a, batch_b = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=2),
                            label="batch shapes").input_shapes
    a_shape = (k,) if draw(st.booleans(), label="a is a vector") else batch_a + (n, k)
    b_shape = (k,) if draw(st.booleans(), label="b is a vector") else batch_b + (k, m)
    return a_shape, b_shape


@examples(2.0)
@given(data=st.data(), use_operator=st.booleans())
def test_matmul(device, data, use_operator):
    a_shape, b_shape = data.draw(matmul_shapes(), label="shapes")
    a_np, b_np = data.draw(arrays(a_shape), label="a"), data.draw(arrays(b_shape), label="b")
    # A matrix operand may be given as the transpose (.mT) of a leaf: a non-contiguous input to matmul.
    a_swapped = len(a_shape) >= 2 and data.draw(st.booleans(), label="a given as a.mT")
    b_swapped = len(b_shape) >= 2 and data.draw(st.booleans(), label="b given as b.mT")
    a = leaf(np.swapaxes(a_np, -1, -2) if a_swapped else a_np, device)
    b = leaf(np.swapaxes(b_np, -1, -2) if b_swapped else b_np, device)

    def fn(a, b):
        a, b = (a.mT if a_swapped else a), (b.mT if b_swapped else b)
        return a @ b if use_operator else tg.matmul(a, b)

    name = f"matmul {a_shape} @ {b_shape}"
    out = fn(a, b)
    check_forward(name, out, np.matmul(a_np, b_np))
    check_gradients(name, fn, [a, b], draw_cotangent(data, out, device))
    check_float32(name, lambda a, b: a @ b, [a_np, b_np], np.matmul, device)


@examples(1.0)
@given(data=st.data(), with_bias=st.booleans())
def test_linear(device, data, with_bias):
    batch = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3), label="batch shape")
    n_in, n_out = data.draw(st.integers(1, 3), label="in"), data.draw(st.integers(1, 3), label="out")
    x_np = data.draw(arrays(batch + (n_in,)), label="x")
    w_np = data.draw(arrays((n_out, n_in)), label="weight")
    b_np = data.draw(arrays((n_out,)), label="bias")
    inputs = [leaf(x_np, device), leaf(w_np, device, "transposed")] + ([leaf(b_np, device)] if with_bias else [])
    expected = x_np @ w_np.T + (b_np if with_bias else 0.0)

    out = tg.linear(*inputs)
    check_forward("linear", out, expected)
    check_gradients("linear", tg.linear, inputs, draw_cotangent(data, out, device))


# ---------------------------------------------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------------------------------------------


def np_logsumexp(x, axis=None, keepdims=False):
    shift = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else np.squeeze(out, axis=tuple(range(x.ndim)) if axis is None else axis)


def np_norm(x, axis=None, keepdims=False):
    return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))


@dataclass(frozen=True)
class Reduction:
    name: str
    fn: Callable          # fn(x, axis, keepdims)
    reference: Callable   # the same in NumPy
    elements: st.SearchStrategy = values()
    distinct: bool = False  # draw distinct elements (no ties)
    ddof: int = 0           # the reduction needs more than ddof elements per slice

    def __str__(self):
        return self.name


REDUCTIONS = [
    Reduction("sum", tg.sum, np.sum),
    Reduction("mean", tg.mean, np.mean),
    Reduction("var", lambda x, axis, keepdims: tg.var(x, axis, keepdims=keepdims), np.var),
    Reduction("var(ddof=1)", lambda x, axis, keepdims: tg.var(x, axis, ddof=1, keepdims=keepdims),
              lambda x, axis, keepdims: np.var(x, axis, ddof=1, keepdims=keepdims), ddof=1),
    # std = sqrt(var) has no derivative where var = 0: distinct values keep var > 0 unless the slice has 1 element.
    Reduction("std", lambda x, axis, keepdims: x.std(axis, keepdims=keepdims), np.std,
              elements=grid(), distinct=True, ddof=1),
    # max and min have no derivative at ties: distinct values (a grid drawn without repeats).
    Reduction("max", tg.max, np.max, elements=grid(), distinct=True),
    Reduction("min", lambda x, axis, keepdims: x.min(axis, keepdims), np.min, elements=grid(), distinct=True),
    Reduction("logsumexp", tg.logsumexp, np_logsumexp),
    # the 2-norm is smooth away from 0: every element at least 0.1 from 0.
    Reduction("norm", tg.norm, np_norm, elements=values(kinks=(0.0,), margin=0.1)),
]


def axis_arguments(ndim):
    """None, one axis (negative allowed) or a tuple of distinct axes (possibly empty)."""
    options = [st.none(), hnp.valid_tuple_axes(ndim)]
    if ndim:
        options.append(st.integers(-ndim, ndim - 1))
    return st.one_of(*options)


def reduced_count(shape, axis):
    axes = range(len(shape)) if axis is None else (axis,) if isinstance(axis, int) else axis
    return math.prod(shape[i] for i in axes)


@pytest.mark.parametrize("op", REDUCTIONS, ids=str)
@examples(1.0)
@given(data=st.data(), keepdims=st.booleans())
def test_reduction(op, device, data, keepdims):
    shape = data.draw(shapes, label="shape")
    axis = data.draw(axis_arguments(len(shape)), label="axis")
    assume(reduced_count(shape, axis) > op.ddof)
    x_np = data.draw(hnp.arrays(np.float64, shape, elements=op.elements, unique=op.distinct), label="x")
    x = leaf(x_np, device, data.draw(st.sampled_from(LAYOUTS), label="layout"))

    def fn(x):
        return op.fn(x, axis, keepdims)

    def reference(x):
        return op.reference(x, axis=axis, keepdims=keepdims)

    name = f"{op.name}(axis={axis}, keepdims={keepdims})"
    expected = np.asarray(reference(x_np))
    out = fn(x)
    check_forward(name, out, expected)
    check_gradients(name, fn, [x], draw_cotangent(data, out, device))
    check_float32(name, fn, [x_np], reference, device)


@examples(0.5)
@given(data=st.data())
def test_max_and_min_share_the_gradient_equally_among_ties(device, data):
    """At a tie the gradient is a subgradient: each tied position gets an equal share (so it still sums to g)."""
    shape = data.draw(nonscalar_shapes, label="shape")
    x_np = data.draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 0.0, 1.0])), label="x")
    for name, fn, numpy_fn in [("max", tg.max, np.max), ("min", tg.min, np.min)]:
        x = leaf(x_np, device)
        fn(x, axis=-1).sum().backward()
        hits = (x_np == numpy_fn(x_np, axis=-1, keepdims=True))
        np.testing.assert_allclose(to_numpy(x.grad), hits / hits.sum(axis=-1, keepdims=True),
                                   err_msg=f"{name}: tie gradient")


@examples(0.5)
@given(data=st.data())
def test_norm_gradient_is_finite_at_zero(device, data):
    """norm has no derivative at 0; tinygan returns the subgradient 0 there, and second derivatives stay finite."""
    shape = data.draw(nonscalar_shapes, label="shape")
    x_np = data.draw(arrays(shape), label="x")
    zero_rows = data.draw(hnp.arrays(np.bool_, shape[:-1]), label="rows set to zero")
    x_np[zero_rows] = 0.0
    x = leaf(x_np, device)

    (grad,) = tg.grad(tg.norm(x, axis=-1).sum(), [x], create_graph=True)
    row_norms = np_norm(x_np, axis=-1, keepdims=True)
    expected = np.divide(x_np, row_norms, out=np.zeros_like(x_np), where=row_norms > 0)
    np.testing.assert_allclose(to_numpy(grad), expected, rtol=1e-12, atol=1e-12)
    (second,) = tg.grad((grad * grad).sum(), [x])
    assert np.all(np.isfinite(to_numpy(second))), "norm: second derivative is not finite at 0"


# NumPy returns scalars (np.float64, np.bool_), not 0-d arrays, from ufuncs on 0-d arrays; every op must still give
# (and use internally) arrays. The property tests draw 0-d inputs too; these cases pin each op down at 0-d.
def zero_d_case(name, fn, points):
    return pytest.param(name, fn, points, id=name)


ZERO_D_CASES = ([zero_d_case(op.name, op.fn, [0.7]) for op in UNARY_OPS]
                + [zero_d_case(op.name, op.fn, [0.7, 1.35]) for op in BINARY_OPS]
                + [zero_d_case(f"{op.name} of 0-d", lambda x, op=op: op.fn(x, None, False), [0.7])
                   for op in REDUCTIONS if op.ddof == 0]  # var(ddof=1) and std of one element are undefined
                + [zero_d_case(f"{op.name} to 0-d", lambda x, op=op: op.fn(x, None, False), [[0.7, -1.3, 0.45]])
                   for op in REDUCTIONS])


@pytest.mark.parametrize("case, fn, points", ZERO_D_CASES)
def test_op_on_0d_tensors(case, fn, points, device):
    """Every op works on 0-d tensors (a loss is one): the result holds an array on the input's device, and first
    and second derivatives are right at a fixed point (0.7 and 1.35 lie inside every op's domain, away from its
    kinks, and are not tied)."""
    inputs = [leaf(np.array(point), device) for point in points]
    out = fn(*inputs)
    assert isinstance(out.array, type(inputs[0].array)), f"{case}: the result holds a {type(out.array).__name__}"
    assert out.device == device, f"{case}: the result is on {out.device}"
    check_gradients(case, fn, inputs)


# ---------------------------------------------------------------------------------------------------------------
# shape ops
# ---------------------------------------------------------------------------------------------------------------
# Each case below draws the op's arguments for a given shape and returns (description, tinygan fn, numpy fn).


def reshape_case(draw, shape):
    target = list(draw(st.permutations(list(shape) + [1] * draw(st.integers(0, 1), label="extra 1s")),
                       label="reshape target"))
    if target and draw(st.booleans(), label="use -1"):
        target[draw(st.integers(0, len(target) - 1))] = -1
    spelling = draw(st.sampled_from(["tg.reshape", "x.reshape(*shape)", "x.view(shape)"]), label="spelling")
    if spelling == "tg.reshape":
        fn = lambda x: tg.reshape(x, target)  # noqa: E731
    elif spelling == "x.reshape(*shape)":
        fn = lambda x: x.reshape(*target)  # noqa: E731
    else:
        fn = lambda x: x.view(tuple(target))  # noqa: E731
    return f"{spelling} to {target}", fn, lambda x: np.reshape(x, target)


def transpose_case(draw, shape):
    axes = draw(st.none() | st.permutations(range(len(shape))), label="axes")
    return f"transpose(axes={axes})", lambda x: tg.transpose(x, axes), lambda x: np.transpose(x, axes)


def permute_case(draw, shape):
    axes = tuple(draw(st.permutations(range(len(shape))), label="axes"))
    return f"x.permute{axes}", lambda x: x.permute(*axes), lambda x: np.transpose(x, axes)


def swapaxes_case(draw, shape):
    if not shape:
        return ".T of a 0-d tensor", lambda x: x.T, np.transpose
    first, second = (draw(st.integers(-len(shape), len(shape) - 1)) for _ in range(2))
    return (f"swapaxes({first}, {second})", lambda x: tg.swapaxes(x, first, second),
            lambda x: np.swapaxes(x, first, second))


def matrix_transpose_case(draw, shape):
    if len(shape) < 2:
        return "x.T", lambda x: x.T, np.transpose
    return "x.mT", lambda x: x.mT, lambda x: np.swapaxes(x, -1, -2)


def broadcast_case(draw, shape):
    """A shape that ``shape`` broadcasts to: new leading axes, and axes of size 1 stretched."""
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=1), label="new leading axes"))
    target = lead + tuple(draw(st.integers(1, 3)) if n == 1 else n for n in shape)
    if draw(st.booleans(), label="use expand"):
        # expand: -1 keeps an existing axis as it is
        spec = lead + tuple(-1 if n == t and draw(st.booleans()) else t for n, t in zip(shape, target[len(lead):]))
        return f"x.expand{spec}", lambda x: x.expand(*spec), lambda x: np.broadcast_to(x, target)
    return f"broadcast_to({target})", lambda x: tg.broadcast_to(x, target), lambda x: np.broadcast_to(x, target)


def squeeze_case(draw, shape):
    ones = [i for i, n in enumerate(shape) if n == 1]
    axis = draw(st.none() | st.sampled_from([tuple(ones)] + [i for i in ones] + [i - len(shape) for i in ones]),
                label="axis")
    return f"squeeze(axis={axis})", lambda x: tg.squeeze(x, axis), lambda x: np.squeeze(x, axis)


def unsqueeze_case(draw, shape):
    axis = draw(st.integers(-len(shape) - 1, len(shape)), label="axis")
    return f"unsqueeze({axis})", lambda x: x.unsqueeze(axis), lambda x: np.expand_dims(x, axis)


def flatten_case(draw, shape):
    if not shape:
        return "flatten of 0-d", tg.flatten, lambda x: np.reshape(x, (1,))
    start = draw(st.integers(0, len(shape) - 1), label="start")
    end = draw(st.integers(start, len(shape) - 1), label="end")
    start_arg = start - len(shape) if draw(st.booleans()) else start
    end_arg = end - len(shape) if draw(st.booleans()) else end
    merged = shape[:start] + (-1,) + shape[end + 1:]
    return (f"flatten({start_arg}, {end_arg})", lambda x: tg.flatten(x, start_arg, end_arg),
            lambda x: np.reshape(x, merged))


SHAPE_OPS = {"reshape": reshape_case, "transpose": transpose_case, "permute": permute_case,
             "swapaxes": swapaxes_case, "T and mT": matrix_transpose_case, "broadcast_to and expand": broadcast_case,
             "squeeze": squeeze_case, "unsqueeze": unsqueeze_case, "flatten": flatten_case}


@pytest.mark.parametrize("op", SHAPE_OPS)
@examples(1.0)
@given(data=st.data())
def test_shape_op(op, device, data):
    shape = data.draw(shapes, label="shape")
    name, fn, reference = SHAPE_OPS[op](data.draw, shape)
    x_np = data.draw(arrays(shape), label="x")
    x = leaf(x_np, device, data.draw(st.sampled_from(LAYOUTS), label="layout"))

    out = fn(x)
    check_forward(name, out, reference(x_np), rtol=0, atol=0)
    check_gradients(name, fn, [x], draw_cotangent(data, out, device))
    check_float32(name, fn, [x_np], reference, device)


def test_expand_rejects_minus_one_on_a_new_axis(device):
    """-1 means "keep this axis", so it has no meaning for a new leading axis (PyTorch raises too)."""
    x = tg.tensor([1.0, 2.0, 3.0], device=device)
    with pytest.raises(ValueError):
        x.expand(-1, 3)


# ---------------------------------------------------------------------------------------------------------------
# indexing: ints, slices, None, Ellipsis, integer arrays (with repeats), boolean masks
# ---------------------------------------------------------------------------------------------------------------


def repeated_indices(n):
    """An integer index list into an axis of size n that usually repeats positions (negative ones too)."""
    return st.lists(st.integers(-n, n - 1), min_size=1, max_size=6)


@st.composite
def index_keys(draw, shape):
    kind = draw(st.sampled_from(["basic", "integer array", "integer arrays", "mixed", "mask", "leading mask"]),
                label="kind of key")
    if kind == "basic":  # ints, slices (any step), None, Ellipsis
        return draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    if kind == "integer array":  # one index list along one axis, given as a list, numpy array or tinygan tensor
        axis = draw(st.integers(0, len(shape) - 1))
        positions = draw(repeated_indices(shape[axis]))
        form = draw(st.sampled_from([list, np.array, tg.tensor]))
        return (slice(None),) * axis + (form(positions),)
    if kind == "integer arrays":  # one integer array per axis, broadcast together
        result_shape = hnp.array_shapes(min_dims=1, max_dims=2, max_side=3)
        return draw(hnp.integer_array_indices(shape, result_shape=result_shape))
    if kind == "mixed":  # per axis: an int, a slice or an index array (all of one length, so they broadcast);
        length = draw(st.integers(1, 4))  # None and Ellipsis thrown in
        key = []
        for n in shape:
            index_array = st.lists(st.integers(-n, n - 1), min_size=length, max_size=length).map(np.array)
            key.append(draw(st.one_of(st.integers(-n, n - 1), st.slices(n), index_array)))
        if draw(st.booleans()):
            key.insert(draw(st.integers(0, len(key))), None)
        if draw(st.booleans()):
            key.insert(draw(st.integers(0, len(key))), Ellipsis)
        return tuple(key)
    if kind == "mask":  # a boolean mask of the whole shape
        return draw(hnp.arrays(np.bool_, shape))
    lead = draw(st.integers(1, len(shape)))  # a mask over the leading axes, then slices
    return (draw(hnp.arrays(np.bool_, shape[:lead])), Ellipsis)


@examples(3.0)
@given(data=st.data())
def test_getitem(device, data):
    shape = data.draw(nonscalar_shapes, label="shape")
    key = data.draw(index_keys(shape), label="key")
    numpy_key = tuple(k.numpy() if isinstance(k, tg.Tensor) else k for k in key) if isinstance(key, tuple) else key
    x_np = data.draw(arrays(shape), label="x")
    x = leaf(x_np, device, data.draw(st.sampled_from(LAYOUTS), label="layout"))

    def fn(x):
        return x[key]

    name = f"x[{key!r}] with x of shape {shape}"
    out = fn(x)
    check_forward(name, out, x_np[numpy_key], rtol=0, atol=0)
    check_gradients(name, fn, [x], draw_cotangent(data, out, device))


@examples(0.5)
@given(data=st.data())
def test_getitem_gradient_adds_up_repeated_indices(device, data):
    """x[idx] with repeated positions: each position's gradient is the sum of the cotangents that read it."""
    shape = data.draw(nonscalar_shapes, label="shape")
    positions = data.draw(repeated_indices(shape[0]), label="indices")
    x_np = data.draw(arrays(shape), label="x")
    x = leaf(x_np, device)
    out = x[positions]
    cotangent = data.draw(arrays(out.shape, floats(-2.0, 2.0)), label="cotangent")
    out.backward(tg.tensor(cotangent, device=device))

    expected = np.zeros(shape)
    np.add.at(expected, np.array(positions), cotangent)
    np.testing.assert_allclose(to_numpy(x.grad), expected, rtol=1e-12, atol=1e-12,
                               err_msg=f"gradient of x[{positions}]")


# ---------------------------------------------------------------------------------------------------------------
# concatenate and stack
# ---------------------------------------------------------------------------------------------------------------


@examples(1.0)
@given(data=st.data(), count=st.integers(1, 3), use_alias=st.booleans())
def test_concatenate(device, data, count, use_alias):
    base = data.draw(nonscalar_shapes, label="shape")
    axis = data.draw(st.integers(-len(base), len(base) - 1), label="axis")
    arrays_np = []
    for i in range(count):
        shape = list(base)
        shape[axis] = data.draw(st.integers(1, 3), label=f"size {i} along axis")
        arrays_np.append(data.draw(arrays(tuple(shape)), label=f"input {i}"))
    inputs = [leaf(a, device, data.draw(st.sampled_from(LAYOUTS))) for a in arrays_np]
    join = tg.cat if use_alias else tg.concatenate

    def fn(*xs):
        return join(list(xs), axis=axis)

    name = f"concatenate of {[a.shape for a in arrays_np]} on axis {axis}"
    out = fn(*inputs)
    check_forward(name, out, np.concatenate(arrays_np, axis=axis), rtol=0, atol=0)
    check_gradients(name, fn, inputs, draw_cotangent(data, out, device))
    check_float32(name, fn, arrays_np, lambda *xs: np.concatenate(xs, axis=axis), device)


@examples(1.0)
@given(data=st.data(), count=st.integers(1, 3))
def test_stack(device, data, count):
    shape = data.draw(shapes, label="shape")
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)), label="axis")
    arrays_np = [data.draw(arrays(shape), label=f"input {i}") for i in range(count)]
    inputs = [leaf(a, device, data.draw(st.sampled_from(LAYOUTS))) for a in arrays_np]

    def fn(*xs):
        return tg.stack(xs, axis=axis)

    name = f"stack of {count} x {shape} on axis {axis}"
    out = fn(*inputs)
    check_forward(name, out, np.stack(arrays_np, axis=axis), rtol=0, atol=0)
    check_gradients(name, fn, inputs, draw_cotangent(data, out, device))
    check_float32(name, fn, arrays_np, lambda *xs: np.stack(xs, axis=axis), device)


# ---------------------------------------------------------------------------------------------------------------
# cast, .double(), .float(), clone
# ---------------------------------------------------------------------------------------------------------------


@examples(0.5)
@given(data=st.data())
def test_cast_between_float_dtypes(device, data):
    x_np = data.draw(arrays(shapes), label="x")
    v_np = data.draw(arrays(x_np.shape, floats(-2.0, 2.0)), label="cotangent")

    # float64 -> float32: the values are rounded, the gradient comes back as float64.
    x64 = leaf(x_np, device)
    for spelling, y in [("x.float()", x64.float()), ("tg.cast(x, tg.float32)", tg.cast(x64, tg.float32)),
                        ("x.to(tg.float32)", x64.to(tg.float32))]:
        check_forward(spelling, y, x_np.astype(np.float32), rtol=0, atol=0)
        (grad,) = tg.grad(y, [x64], tg.tensor(v_np, dtype=tg.float32, device=device))
        assert grad.dtype == tg.float64, f"{spelling}: the gradient of a float64 input is {grad.dtype}"
        np.testing.assert_array_equal(to_numpy(grad), v_np.astype(np.float32).astype(np.float64))

    # float32 -> float64 with .double(): exact values, the gradient comes back as float32.
    x32 = leaf(x_np, device, dtype=tg.float32)
    y = x32.double()
    check_forward("x.double()", y, x_np.astype(np.float32).astype(np.float64), rtol=0, atol=0)
    y.backward(tg.tensor(v_np, device=device))
    assert x32.grad.dtype == tg.float32
    np.testing.assert_array_equal(to_numpy(x32.grad), v_np.astype(np.float32))

    # Casting to the dtype a tensor already has returns it unchanged.
    assert x64.double() is x64 and x32.float() is x32

    # Through a float32 round trip, finite differences need a step far above float32 rounding (1e-7 relative).
    check_gradients("x.float().double()", lambda x: x.float().double() * 3.0, [x64], eps=1e-2)

    # A tensor that requires grad cannot become an integer tensor (the gradient would be lost silently).
    with pytest.raises(TypeError):
        x64.long()


@examples(0.25)
@given(data=st.data())
def test_clone_has_its_own_memory(device, data):
    x_np = data.draw(arrays(shapes), label="x")
    x = leaf(x_np, device, data.draw(st.sampled_from(LAYOUTS), label="layout"))
    y = x.clone()
    assert y is not x and y.array is not x.array
    assert not x.device.xp.shares_memory(x.array, y.array), "clone shares memory with its input"
    y.backward(tg.ones_like(y))
    np.testing.assert_array_equal(to_numpy(x.grad), np.ones_like(x_np))


# ---------------------------------------------------------------------------------------------------------------
# comparisons: bool tensors without gradient
# ---------------------------------------------------------------------------------------------------------------

COMPARISONS = [("<", operator.lt, np.less), ("<=", operator.le, np.less_equal), (">", operator.gt, np.greater),
               (">=", operator.ge, np.greater_equal), ("==", operator.eq, np.equal), ("!=", operator.ne, np.not_equal),
               ("tg.less", tg.less, np.less), ("tg.greater_equal", tg.greater_equal, np.greater_equal),
               ("tg.equal", tg.equal, np.equal), ("tg.not_equal", tg.not_equal, np.not_equal)]


@pytest.mark.parametrize("name, compare, reference", COMPARISONS, ids=[c[0] for c in COMPARISONS])
@examples(0.25)
@given(data=st.data())
def test_comparison_gives_bool_without_gradient(name, compare, reference, device, data):
    a_shape, b_shape = data.draw(broadcastable_pairs, label="shapes").input_shapes
    small_integers = st.integers(-2, 2).map(float)  # few distinct values, so ties (==) happen often
    a_np = data.draw(arrays(a_shape, small_integers), label="a")
    b_np = data.draw(arrays(b_shape, small_integers), label="b")
    number = data.draw(small_integers, label="number")
    a, b = leaf(a_np, device), leaf(b_np, device)

    for description, out, expected in [(f"a {name} b", compare(a, b), reference(a_np, b_np)),
                                       (f"a {name} {number}", compare(a, number), reference(a_np, number)),
                                       (f"{number} {name} b", compare(number, b), reference(number, b_np))]:
        assert out.dtype == tg.bool_, f"{description}: dtype {out.dtype}, not bool"
        assert not out.requires_grad and out.grad_fn is None, f"{description}: carries a gradient"
        np.testing.assert_array_equal(to_numpy(out), expected, err_msg=description)
    with pytest.raises(RuntimeError, match="does not require grad"):
        compare(a, b).backward(tg.ones_like(compare(a, b)))
    with pytest.raises(TypeError):
        compare(a, b).requires_grad = True


def test_comparison_of_0d_tensors(device):
    """Comparing 0-d tensors gives 0-d bool tensors that print, convert to NumPy and work as where's condition."""
    a = tg.tensor(0.5, dtype=tg.float64, device=device, requires_grad=True)
    for name, compare, reference in COMPARISONS:
        for description, out, expected in [(f"a {name} a", compare(a, a), reference(0.5, 0.5)),
                                           (f"a {name} 1.0", compare(a, 1.0), reference(0.5, 1.0)),
                                           (f"1.0 {name} a", compare(1.0, a), reference(1.0, 0.5))]:
            assert out.dtype == tg.bool_ and out.shape == () and not out.requires_grad, description
            assert to_numpy(out) == expected, description
            assert "tensor(" in repr(out), description
    (grad,) = tg.grad(tg.where(a > 0.0, a * 3.0, 0.0), [a])
    assert float(grad) == 3.0


# ---------------------------------------------------------------------------------------------------------------
# numerically stable sigmoid, softplus, logsigmoid
# ---------------------------------------------------------------------------------------------------------------

HIGH_PRECISION = decimal.Context(prec=60)


def exact_sigmoid(x):
    """sigmoid(x) = 1 / (1 + e^-x) with 60 significant digits (Python's decimal module), as a float."""
    with decimal.localcontext(HIGH_PRECISION):
        return float(1 / (1 + (-decimal.Decimal(float(x))).exp()))


def exact_softplus(x):
    """softplus(x) = log(1 + e^x) = max(x, 0) + log(1 + u) with u = e^-|x|, to 60 digits. For small u the log is
    summed as its series u - u^2/2 + u^3/3 - ..., since 1 + u would round u away (u is 1e-4343 at |x| = 1e4)."""
    with decimal.localcontext(HIGH_PRECISION):
        d = decimal.Decimal(float(x))
        u = (-abs(d)).exp()
        if u < decimal.Decimal("0.01"):
            log1p_u = sum((-1) ** (k + 1) * u ** k / k for k in range(1, 40))  # the rest is below 0.01^40
        else:
            log1p_u = (1 + u).ln()
        return float(max(d, 0) + log1p_u)


STABLE_OPS = {
    # name: (op, exact value, exact derivative, absolute error allowed in the derivative, in ulps of 1)
    # sigmoid's derivative is computed as out * (1 - out): for large x, 1 - out is exact only to an ulp of 1 (it is
    # 0 where the true value is below 1e-16), as in PyTorch, so it is checked to an absolute tolerance.
    "sigmoid": (tg.sigmoid, exact_sigmoid, lambda x: exact_sigmoid(x) * exact_sigmoid(-x), 4),
    "softplus": (tg.softplus, exact_softplus, exact_sigmoid, 0),
    "logsigmoid": (tg.logsigmoid, lambda x: -exact_softplus(-x), lambda x: exact_sigmoid(-x), 0),
}


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64], ids=str)
@pytest.mark.parametrize("op", STABLE_OPS)
@examples(0.5)
@given(data=st.data())
def test_stable_ops_match_high_precision(op, dtype, device, data):
    """Values and derivatives for |x| <= 40 (where a naive formula has already lost all precision in one tail)
    match a 60-digit reference to within 64 ulps (the stable formulas are good to about |x| / 2 ulps)."""
    fn, exact_value, exact_derivative, derivative_ulps = STABLE_OPS[op]
    x_np = data.draw(hnp.arrays(np.float64, data.draw(nonscalar_shapes), elements=floats(-40.0, 40.0)), label="x")
    x = leaf(x_np, device, dtype=dtype)
    x_rounded = x_np.astype(dtype)  # the values the op really sees
    eps, tiny = np.finfo(dtype).eps, np.finfo(dtype).tiny

    out = fn(x)
    out.backward(tg.ones_like(out))
    # atol=tiny: below the smallest normal number float32 results are subnormal and lose relative precision.
    np.testing.assert_allclose(to_numpy(out), np.vectorize(exact_value)(x_rounded), rtol=64 * eps, atol=tiny,
                               err_msg=f"{op} value")
    np.testing.assert_allclose(to_numpy(x.grad), np.vectorize(exact_derivative)(x_rounded), rtol=64 * eps,
                               atol=max(derivative_ulps * eps, tiny), err_msg=f"{op} derivative")


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64], ids=str)
@pytest.mark.parametrize("op", STABLE_OPS)
@examples(0.25)
@given(data=st.data())
def test_stable_ops_are_finite_for_huge_inputs(op, dtype, device, data):
    """For |x| up to 1e4 (exp(1e4) overflows every float) values, gradients and second derivatives are finite."""
    fn, exact_value, _, _ = STABLE_OPS[op]
    drawn = data.draw(st.lists(floats(-1e4, 1e4), min_size=1, max_size=8), label="x")
    x_np = np.array([-1e4, -1e3, -100.0, 100.0, 1e3, 1e4] + drawn)
    x = leaf(x_np, device, dtype=dtype)

    out = fn(x)
    (grad,) = tg.grad(out.sum(), [x], create_graph=True)
    (second,) = tg.grad(grad.sum(), [x])
    for what, tensor in [("value", out), ("gradient", grad), ("second derivative", second)]:
        assert tensor.dtype == dtype, f"{op} {what}: dtype {tensor.dtype}, input {dtype}"
        finite = np.isfinite(to_numpy(tensor))
        assert np.all(finite), f"{op} {what} is not finite at x = {x_np[~finite]}"
    # In the far tails the values are 0, 1 or x itself: compare with the exact values, loosely.
    expected = np.vectorize(exact_value)(x_np.astype(dtype))
    np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-6, atol=np.finfo(dtype).tiny, err_msg=f"{op} value")


# ---------------------------------------------------------------------------------------------------------------
# the helpers above are tested too: a property test is only as good as its inputs
# ---------------------------------------------------------------------------------------------------------------


@examples(0.25)
@given(shape=nonscalar_shapes)
def test_non_contiguous_leaves_really_are_non_contiguous(device, shape):
    x_np = np.arange(math.prod(shape), dtype=np.float64).reshape(shape)
    for layout in ("transposed", "strided"):
        x = leaf(x_np, device, layout)
        np.testing.assert_array_equal(to_numpy(x), x_np)
        assert x.requires_grad and x.is_leaf
        can_be_non_contiguous = (sum(n > 1 for n in shape) >= 2) if layout == "transposed" else shape[-1] > 1
        if can_be_non_contiguous:
            assert not x.array.flags["C_CONTIGUOUS"], f"{layout} leaf of shape {shape} is C-contiguous"


def test_gradient_checks_catch_a_wrong_backward(device):
    """check_gradients fails on an op whose backward is wrong (so passing tests mean something)."""

    wrong_square = square_with_factor(0.5, name="WrongSquare")  # should be 2 * grad * x, gives grad * x
    x = leaf(np.array([0.5, -1.0, 2.0]), device)

    with pytest.raises(AssertionError, match="WrongSquare.*Jacobian mismatch"):
        check_gradients("WrongSquare", wrong_square, [x])


# ---------------------------------------------------------------------------------------------------------------
# cases found in review (expected values are PyTorch's)
# ---------------------------------------------------------------------------------------------------------------

def test_changing_a_where_condition_in_place_makes_backward_raise():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    condition = tg.tensor([True, False, True])
    y = tg.where(condition, x, 0.0).sum()
    condition.copy_(tg.tensor([False, False, False]))
    with pytest.raises(RuntimeError, match="changed by an in-place operation"):
        y.backward()


def test_changing_an_index_tensor_in_place_makes_backward_raise():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    index = tg.tensor([0, 0])
    y = x[index].sum()
    index.fill_(2)
    with pytest.raises(RuntimeError, match="changed by an in-place operation"):
        y.backward()


def test_pow_gradients_are_finite_at_zero():
    x = tg.tensor([0.0, 1.0], dtype=tg.float64, requires_grad=True)
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])
    exponent = tg.tensor(2.0, dtype=tg.float64, requires_grad=True)
    (tg.tensor([0.0, 2.0], dtype=tg.float64) ** exponent).sum().backward()
    np.testing.assert_allclose(exponent.grad.item(), 4 * np.log(2.0))  # 0 from the base 0, 2^2 log 2 from 2


def test_mean_over_no_elements_has_an_empty_gradient():
    x = tg.zeros(0, 3, requires_grad=True)
    x.mean(axis=1).sum().backward()
    assert x.grad.shape == (0, 3)


def test_bool_divided_by_float64_stays_float64():
    assert (tg.tensor([True, False]) / tg.tensor([2.0, 4.0], dtype=tg.float64)).dtype == tg.float64


@pytest.mark.parametrize("name", ["exp", "log1p", "sqrt", "sin", "tanh", "sigmoid", "softplus", "mean", "var",
                                  "norm", "logsumexp"])
def test_real_functions_of_integer_tensors_give_the_default_float(name):
    assert getattr(tg, name)(tg.arange(1, 4)).dtype == tg.float32


def test_clamp_of_an_integer_tensor_to_a_fractional_bound_is_float32():
    assert tg.clamp(tg.arange(3), 0.5).dtype == tg.float32
    assert tg.clamp(tg.arange(3), 1).dtype == tg.int64


def test_a_numpy_float64_scalar_keeps_its_dtype():
    assert tg.tensor(np.float64(1.5)).dtype == tg.float64


@pytest.mark.parametrize("call", [lambda t: t.sum(axis=0), lambda t: t.squeeze(0), lambda t: t.max(axis=-1),
                                  lambda t: tg.concatenate([t, t])])
def test_a_0d_tensor_has_no_axis_to_reduce_or_join(call):
    with pytest.raises(ValueError, match="out of range"):
        call(tg.tensor(1.0))


def test_numpy_integers_are_accepted_as_axes():
    x = tg.ones(2, 3)
    assert x.sum(axis=np.int64(1)).shape == (2,)


def test_comparing_a_tensor_with_none_answers():
    assert (tg.ones(2) == None) is False  # noqa: E711 (what the test is about)
    assert (tg.ones(2) != None) is True  # noqa: E711


# ---------------------------------------------------------------------------------------------------------------
# binary_cross_entropy_with_logits: a fused node (forward and backward one node each) behind the GAN losses
# ---------------------------------------------------------------------------------------------------------------


def bce_reference(logits, target):
    """mean(t * softplus(-l) + (1 - t) * softplus(l)) in float64 with 60-digit softplus (the textbook
    -[t log sigmoid(l) + (1 - t) log(1 - sigmoid(l))] written without a rounded sigmoid)."""
    softplus_pos = np.vectorize(exact_softplus)(logits)
    softplus_neg = np.vectorize(exact_softplus)(-logits)
    return np.mean(target * softplus_neg + (1 - target) * softplus_pos)


BCE_TARGETS = {"zero": 0.0, "one": 1.0, "number": 0.3, "tensor": "tensor"}


@pytest.mark.parametrize("target_kind", BCE_TARGETS)
@examples(0.5)
@given(data=st.data())
def test_binary_cross_entropy_with_logits_values_and_derivatives(target_kind, device, data):
    """Value against the 60-digit reference, then gradgradcheck (first and second derivatives) with respect to the
    logits and, for a tensor target, the target; logits up to +-30 (where log(sigmoid) would have lost everything)."""
    shape = data.draw(nonscalar_shapes, label="shape")
    logits_np = data.draw(hnp.arrays(np.float64, shape, elements=floats(-30.0, 30.0)), label="logits")
    logits = leaf(logits_np, device)
    if target_kind == "tensor":
        target_np = data.draw(hnp.arrays(np.float64, shape, elements=floats(0.0, 1.0)), label="target")
        target = leaf(target_np, device)
        inputs = (logits, target)
        function = tg.binary_cross_entropy_with_logits
    else:
        target_np = BCE_TARGETS[target_kind]
        inputs = (logits,)

        def function(logits):
            return tg.binary_cross_entropy_with_logits(logits, target_np)

    out = function(*inputs)
    assert out.shape == () and out.dtype == tg.float64
    np.testing.assert_allclose(to_numpy(out), bce_reference(logits_np, target_np), rtol=1e-12, atol=1e-300)
    assert gradgradcheck(function, inputs)


def test_binary_cross_entropy_with_logits_third_derivative(device):
    """Its backward node has a differentiable backward too: gradgradcheck of the gradient function checks the
    third derivative of the loss."""
    logits = leaf([[-3.0], [0.5], [2.0]], device)
    for target in (0.0, 1.0, 0.25):
        def gradient(logits, target=target):
            (grad,) = tg.grad(tg.binary_cross_entropy_with_logits(logits, target), [logits], create_graph=True)
            return grad
        assert gradgradcheck(gradient, (logits,)), target


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64], ids=str)
def test_binary_cross_entropy_with_logits_keeps_the_tail_precision(dtype, device):
    """A confidently right logit (l = 30 with target 1, l = -30 with target 0) has a loss and a gradient of about
    e^-30 = 9.4e-14 / n, kept to full relative precision: sigmoid(l) - t would round them to 0 in float32."""
    logits = tg.tensor([30.0, 30.0], dtype=dtype, device=device, requires_grad=True)
    for target, sign in ((1.0, 1.0), (0.0, -1.0)):
        out = tg.binary_cross_entropy_with_logits(logits * sign, target)
        (grad,) = tg.grad(out, [logits])
        assert out.dtype == dtype and grad.dtype == dtype
        np.testing.assert_allclose(to_numpy(out), exact_softplus(-30.0), rtol=64 * np.finfo(dtype).eps)
        np.testing.assert_allclose(to_numpy(grad), [-exact_sigmoid(-30.0) / 2] * 2, rtol=64 * np.finfo(dtype).eps)


@pytest.mark.parametrize("logits, target, error, words", [
    (np.zeros(3), 0.0, TypeError, "tinygan Tensor"),
    ("int", 0.0, TypeError, "floating-point"),
    ("empty", 0.0, ValueError, "no elements"),
    ("float32", 1.5, ValueError, "in [0, 1]"),
    ("float32", True, ValueError, "in [0, 1]"),
    ("float32", "other shape", ValueError, "shape and dtype"),
    ("float32", "float64", ValueError, "shape and dtype"),
])
def test_binary_cross_entropy_with_logits_rejects_bad_input(logits, target, error, words):
    made = {"int": tg.tensor([1, 2]), "empty": tg.zeros(0), "float32": tg.zeros(3)}
    logits = made.get(logits, logits) if isinstance(logits, str) else logits
    target = {"other shape": tg.zeros(3, 1), "float64": tg.zeros(3, dtype=tg.float64)}.get(target, target) \
        if isinstance(target, str) else target
    with pytest.raises(error, match=re.escape(words)) as raised:
        tg.binary_cross_entropy_with_logits(logits, target)
    assert "binary_cross_entropy_with_logits" in str(raised.value)
