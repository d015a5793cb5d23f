"""Gradient checking: compare what backward computes with finite differences.

    import tinygan as tg
    x = tg.randn(3, 4, dtype=tg.float64, requires_grad=True)
    tg.testing.gradcheck(lambda x: (x * x).sum(axis=1), (x,))        # True, or raises GradcheckError
    tg.testing.gradgradcheck(lambda x: (x * x).sum(axis=1), (x,))    # the same for second derivatives

For a function f with inputs x_1..x_n and outputs y_1..y_m, backward computes vector-Jacobian products
v^T J. ``gradcheck`` builds the full Jacobian J from backward, one unit cotangent v per output element, and
compares it, entry by entry, with central differences

    J[k, l] ~ (y_k(x + eps e_l) - y_k(x - eps e_l)) / (2 eps)

accepting |analytical - numerical| <= atol + rtol * |numerical|. Use float64 inputs: with float32 the finite
differences are swamped by rounding (gradcheck warns). ``fast_mode=True`` compares the single number v^T J u for
random u and v instead, one backward and two forward passes in all.

Beyond the Jacobian it checks that gradients have the inputs' shapes, dtypes and devices, that a zero cotangent
gives zero gradients, and that two backward passes give the same result.
"""

import warnings

from . import backend
from .autograd import grad as autograd_grad
from .tensor import Tensor


class GradcheckError(RuntimeError):
    """Raised by gradcheck and gradgradcheck when backward disagrees with finite differences."""


def _as_tuple(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _checked_positions(outputs):
    """Which of fn's outputs gradcheck compares: the float tensors that require grad (as in PyTorch: an output
    cut from the graph, by detach() say, has no gradient to check)."""
    return [i for i, out in enumerate(outputs) if isinstance(out, Tensor) and backend.is_floating(out.dtype)
            and out.requires_grad]


def _mismatch(xp, analytical, numerical, atol, rtol):
    """Where |analytical - numerical| > atol + rtol |numerical|, a NaN on one side counting as a mismatch
    (NaN on both sides counts as agreement)."""
    error = xp.abs(analytical - numerical)
    both_nan = xp.isnan(analytical) & xp.isnan(numerical)
    return ~(error <= atol + rtol * xp.abs(numerical)) & ~both_nan, error


def _multi_index(flat_index, shape):
    """The tuple index of element number ``flat_index`` (C order) of an array of ``shape``."""
    index = []
    for size in reversed(shape):
        flat_index, position = divmod(flat_index, size)
        index.append(position)
    return tuple(reversed(index))


def _function_name(fn):
    """A readable name for error messages: MyOp.apply for a Function, else the function's own name."""
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, type):
        return f"{owner.__name__}.{fn.__name__}"
    return getattr(fn, "__name__", "fn")


def _fail(message, raise_exception):
    if raise_exception:
        raise GradcheckError(message)
    return False


def _backward_products(outputs, diff_inputs, cotangents):
    """v^T J for the given cotangents: one gradient per differentiable input (zeros where unused)."""
    pairs = [(out, v) for out, v in zip(outputs, cotangents) if out.requires_grad]
    if not pairs:
        return [Tensor._make(t.device.xp.zeros_like(t.array)) for t in diff_inputs]
    grads = autograd_grad([out for out, _ in pairs], diff_inputs, [v for _, v in pairs],
                          retain_graph=True, allow_unused=True)
    return [Tensor._make(t.device.xp.zeros_like(t.array)) if g is None else g
            for g, t in zip(grads, diff_inputs)]


def _evaluate(fn, inputs, positions):
    """fn's outputs at ``positions``, as flat float64 arrays, for finite differences."""
    outputs = _as_tuple(fn(*inputs))
    return [outputs[i].array.astype(backend.float64).reshape(-1) for i in positions]


def _numerical_column(fn, inputs, positions, tensor, index, step):
    """d(outputs)/d(tensor[index]) by central differences, as one flat float64 array per output."""
    original = tensor.array[index].copy()
    tensor.array[index] = original + step
    plus = _evaluate(fn, inputs, positions)
    tensor.array[index] = original - step
    minus = _evaluate(fn, inputs, positions)
    tensor.array[index] = original
    return [(p - m) / (2 * step) for p, m in zip(plus, minus)]


def _check_metadata(fn_name, diff_inputs, grads, raise_exception):
    for position, (tensor, grad) in enumerate(zip(diff_inputs, grads)):
        if grad.shape != tensor.shape or grad.dtype != tensor.dtype or grad.device != tensor.device:
            return _fail(f"{fn_name}: the gradient of differentiable input {position} is {tuple(grad.shape)} "
                         f"{grad.dtype} on {grad.device}, but the input is {tuple(tensor.shape)} {tensor.dtype} on "
                         f"{tensor.device}; they must match", raise_exception)
    return True


def gradcheck(fn, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=False, nondet_tol=0.0,
              raise_exception=True):
    """Check the gradients of ``fn`` at ``inputs`` against central finite differences.

    fn: takes the inputs and returns a Tensor or a tuple of Tensors.
    inputs: a Tensor or a tuple; the floating tensors with requires_grad=True are differentiated.
    Returns True if every check passes; otherwise raises GradcheckError naming the input, the output, the element,
    the analytical and numerical values and the error (or returns False with raise_exception=False).
    """
    inputs = _as_tuple(inputs)
    fn_name = _function_name(fn)
    diff_inputs = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not diff_inputs:
        raise ValueError("gradcheck: no input requires grad; create the inputs with requires_grad=True")
    if any(t.dtype != backend.float64 for t in diff_inputs):
        warnings.warn("gradcheck: some inputs are not float64; finite differences in float32 are dominated by "
                      "rounding, so expect false failures. Use .double() inputs.", UserWarning, stacklevel=2)
    all_outputs = _as_tuple(fn(*inputs))
    positions = _checked_positions(all_outputs)
    if not positions:
        raise ValueError(f"gradcheck: {fn_name} returned no floating-point tensor that requires grad to check")
    outputs = [all_outputs[i] for i in positions]
    device = diff_inputs[0].device
    generator = backend.Generator(0, device)

    # Shapes, dtypes, zero cotangent, and two identical backward passes.
    random_v = [Tensor._make(generator.normal(out.shape, out.dtype)) for out in outputs]
    first = _backward_products(outputs, diff_inputs, random_v)
    if not _check_metadata(fn_name, diff_inputs, first, raise_exception):
        return False
    second = _backward_products(outputs, diff_inputs, random_v)
    for position, (g1, g2) in enumerate(zip(first, second)):
        mismatch, error = _mismatch(device.xp, g1.array, g2.array, nondet_tol, 0.0)
        if g1.size and bool(mismatch.any()):
            difference = float(error[mismatch].max())  # nan when one pass gave NaN where the other did not
            return _fail(f"{fn_name}: two backward passes with the same cotangent gave gradients for input "
                         f"{position} that differ by {difference:.3g} (allowed {nondet_tol}); backward is not "
                         f"deterministic", raise_exception)
    zero_v = [Tensor._make(device.xp.zeros(out.shape, dtype=out.dtype)) for out in outputs]
    for position, g in enumerate(_backward_products(outputs, diff_inputs, zero_v)):
        if g.size and float(device.xp.max(device.xp.abs(g.array))) != 0.0:
            return _fail(f"{fn_name}: a zero cotangent gave a non-zero gradient for input {position}",
                         raise_exception)

    if fast_mode:
        return _fast_check(fn, fn_name, inputs, positions, outputs, diff_inputs, generator, eps, atol, rtol,
                           raise_exception)
    return _full_check(fn, fn_name, inputs, positions, outputs, diff_inputs, eps, atol, rtol, raise_exception)


def _full_check(fn, fn_name, inputs, positions, outputs, diff_inputs, eps, atol, rtol, raise_exception):
    """Compare every entry of the Jacobian: one backward per output element, two forwards per input element."""
    xp = diff_inputs[0].device.xp
    # analytical[o][i][k, l] = d(output o, element k)/d(input i, element l): row k comes from the backward
    # pass with the unit cotangent on element k of output o, which gives the rows of every input at once.
    analytical = []
    for out_position, out in enumerate(outputs):
        rows = [xp.zeros((out.size, t.size), dtype=backend.float64) for t in diff_inputs]
        for k in range(out.size):
            v = [Tensor._make(xp.zeros(o.shape, dtype=o.dtype)) for o in outputs]
            v[out_position].array.reshape(-1)[k] = 1
            for row, grad in zip(rows, _backward_products(outputs, diff_inputs, v)):
                row[k] = grad.array.astype(backend.float64).reshape(-1)
        analytical.append(rows)

    # The forward passes record a graph (no no_grad here): fn may itself call tg.grad, as gradgradcheck's does.
    for in_position, tensor in enumerate(diff_inputs):
        columns = [_numerical_column(fn, inputs, positions, tensor, _multi_index(element, tensor.shape), eps)
                   for element in range(tensor.size)]
        for out_position, out in enumerate(outputs):
            numerical = (xp.stack([column[out_position] for column in columns], axis=1) if columns
                         else xp.zeros((out.size, 0)))
            jacobian = analytical[out_position][in_position]
            mismatch, error = _mismatch(xp, jacobian, numerical, atol, rtol)
            if mismatch.size and bool(mismatch.any()):
                # report the worst entry: the largest excess over the tolerance, a NaN counting as the largest
                excess = xp.nan_to_num(error - (atol + rtol * xp.abs(numerical)), nan=xp.inf)
                k, element = divmod(int(xp.where(mismatch, excess, -xp.inf).argmax()), tensor.size)
                return _fail(
                    f"{fn_name}: Jacobian mismatch for output {out_position} with respect to differentiable input "
                    f"{in_position}, at output element {_multi_index(k, out.shape)} and input element "
                    f"{_multi_index(element, tensor.shape)}: analytical {float(jacobian[k, element]):.8g}, "
                    f"numerical {float(numerical[k, element]):.8g}, error {float(error[k, element]):.3g} > "
                    f"atol + rtol * |numerical| = {atol + rtol * abs(float(numerical[k, element])):.3g}",
                    raise_exception)
    return True


def _fast_check(fn, fn_name, inputs, positions, outputs, diff_inputs, generator, eps, atol, rtol,
                raise_exception):
    """Compare v^T J u from backward with the directional finite difference of v^T f along u."""
    xp = diff_inputs[0].device.xp
    u = [generator.normal(t.shape, backend.float64) for t in diff_inputs]
    v = [Tensor._make(generator.normal(out.shape, out.dtype)) for out in outputs]
    grads = _backward_products(outputs, diff_inputs, v)
    analytical = sum(float(xp.sum(g.array.astype(backend.float64) * ui)) for g, ui in zip(grads, u))

    originals = [t.array.copy() for t in diff_inputs]

    def v_dot_f(sign):
        for t, original, ui in zip(diff_inputs, originals, u):
            t.array[...] = (original + sign * eps * ui).astype(t.dtype)
        values = _evaluate(fn, inputs, positions)
        return sum(float(xp.sum(val * vi.array.astype(backend.float64).reshape(-1))) for val, vi in zip(values, v))

    numerical = (v_dot_f(+1) - v_dot_f(-1)) / (2 * eps)
    for t, original in zip(diff_inputs, originals):
        t.array[...] = original
    error = abs(analytical - numerical)
    both_nan = analytical != analytical and numerical != numerical
    if not (error <= atol + rtol * abs(numerical)) and not both_nan:  # "not <=" so that a NaN fails
        return _fail(f"{fn_name}: fast gradcheck mismatch: v^T J u from backward is {analytical:.8g}, by finite "
                     f"differences {numerical:.8g}, error {error:.3g} > atol + rtol * |numerical| = "
                     f"{atol + rtol * abs(numerical):.3g}. Run with fast_mode=False to locate the element.",
                     raise_exception)
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=False,
                  nondet_tol=0.0, raise_exception=True):
    """Check second derivatives: gradcheck applied to the function (inputs, v) -> v^T J(inputs).

    That function is fn's backward run with create_graph=True, so this checks that every op's backward is itself
    correctly differentiable (what gradient penalties rely on). grad_outputs (the v) are drawn at random, with a
    fixed seed, unless given; they are differentiated too.

    A backward that is wrong by a constant factor is still consistent with its own derivative, so the second-order
    check alone would pass it; gradgradcheck therefore runs the first-order gradcheck first, and passes only when
    both the gradient and the gradient of the gradient are right.
    """
    inputs = _as_tuple(inputs)
    if not gradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol, fast_mode=fast_mode, nondet_tol=nondet_tol,
                     raise_exception=raise_exception):
        return False
    outputs = _as_tuple(fn(*inputs))
    diff_outputs = [outputs[i] for i in _checked_positions(outputs)]
    if grad_outputs is None:
        generator = backend.Generator(1, diff_outputs[0].device if diff_outputs else backend.CPU)
        grad_outputs = [Tensor._make(generator.normal(out.shape, out.dtype), True)
                        for out in diff_outputs]
    grad_outputs = _as_tuple(grad_outputs)
    if len(grad_outputs) != len(diff_outputs):
        raise ValueError(f"gradgradcheck: {len(diff_outputs)} differentiable outputs but {len(grad_outputs)} "
                         f"grad_outputs")
    count = len(inputs)

    def first_derivative(*args):
        these_inputs, these_grad_outputs = args[:count], args[count:]
        outs = _as_tuple(fn(*these_inputs))
        outs = [outs[i] for i in _checked_positions(outs)]
        diff = [t for t in these_inputs if isinstance(t, Tensor) and t.requires_grad]
        grads = autograd_grad(outs, diff, list(these_grad_outputs), create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    first_derivative.__name__ = f"gradient of {_function_name(fn)}"
    return gradcheck(first_derivative, inputs + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     fast_mode=fast_mode, nondet_tol=nondet_tol, raise_exception=raise_exception)
