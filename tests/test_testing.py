"""gradcheck and gradgradcheck themselves: they pass correct ops and catch wrong ones (negative controls)."""

import numpy as np
import pytest

import tinygan as tg
from user_functions import square_with_factor
from tinygan.testing import GradcheckError, gradcheck, gradgradcheck


def leaf(values, dtype=tg.float64):
    return tg.tensor(values, dtype=dtype, requires_grad=True)


X = [0.7, -1.3, 2.1]  # entries of size ~1, so that relative errors are what the checks see
Y = [1.1, 0.4, -0.9]


# ---------------------------------------------------------------------------------------------------------------
# deliberately wrong (and right) Functions
# ---------------------------------------------------------------------------------------------------------------


class MulMissingTerm(tg.Function):
    """x * y whose backward gives g * y to both inputs: y's gradient misses its term (it should be g * x)."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return grad * y, grad * y


class CubeDetachedBackward(tg.Function):
    """x**3 with backward 3 x^2 g: right to first order, but x is detached, so the second derivative is lost."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        x = x.detach()
        return grad * 3 * x * x


class TwiceProduct(tg.Function):
    """2 g x, with a backward that is wrong with respect to x (a factor 1.1)."""

    @staticmethod
    def forward(ctx, g, x):
        ctx.save_for_backward(g, x)
        return 2 * g * x

    @staticmethod
    def backward(ctx, grad):
        g, x = ctx.saved_tensors
        return grad * 2 * x, grad * 2 * g * 1.1


class SquareWithWrongHelper(tg.Function):
    """x**2 whose backward (2 g x) is computed by a helper Function with a wrong backward of its own."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return TwiceProduct.apply(grad, x)


class GradientInFloat32(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return (grad * 2).float()


class GradientOfWrongShape(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return grad[:1] * 2


class NoisyBackward(tg.Function):
    """x * 2 whose backward multiplies by 2 + fresh random noise of size ``scale`` each time."""

    scale = 1e-3
    rng = np.random.default_rng()

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        noise = NoisyBackward.rng.normal(size=grad.shape) * NoisyBackward.scale
        return grad * (2 + tg.tensor(noise, dtype=grad.dtype))


class ConstantInBackward(tg.Function):
    """x * 2 whose backward returns 2 g + 1: a zero cotangent gives a non-zero gradient."""

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return grad * 2 + 1


# ---------------------------------------------------------------------------------------------------------------
# correct functions pass
# ---------------------------------------------------------------------------------------------------------------

CORRECT = {
    "square": (square_with_factor(1.0), (X,)),
    "mul": (lambda x, y: x * y, (X, Y)),
    "matmul broadcasting": (lambda a, b: a @ b, (np.arange(6.0).reshape(2, 3) / 4, np.ones((2, 3, 2)) * 0.3)),
    "tanh sum": (lambda x: x.tanh().sum(axis=0), (np.array([X, Y]),)),
    "two outputs": (lambda x, y: (x * y, (x - y).exp()), (X, Y)),
    "norm": (lambda x: x.norm(axis=1), (np.array([X, Y]),)),
}


@pytest.mark.parametrize("fast_mode", [False, True])
@pytest.mark.parametrize("name", CORRECT)
def test_gradcheck_and_gradgradcheck_pass_correct_functions(name, fast_mode):
    fn, values = CORRECT[name]
    inputs = tuple(leaf(v) for v in values)
    assert gradcheck(fn, inputs, fast_mode=fast_mode)
    assert gradgradcheck(fn, inputs, fast_mode=fast_mode)


def test_gradcheck_passes_on_every_device(device):
    x = tg.tensor(X, dtype=tg.float64, device=device, requires_grad=True)
    assert gradcheck(lambda t: (t * t).sigmoid(), (x,))
    assert gradgradcheck(lambda t: (t * t).sigmoid(), (x,))


def test_inputs_that_need_no_grad_are_held_constant():
    x, c = leaf(X), tg.tensor(Y, dtype=tg.float64)
    assert gradcheck(lambda a, b: a * b, (x, c))


def test_gradcheck_leaves_the_inputs_unchanged():
    x = leaf(X)
    gradcheck(lambda t: t.exp(), (x,))
    gradcheck(lambda t: t.exp(), (x,), fast_mode=True)
    np.testing.assert_array_equal(x.numpy(), X)


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="requires_grad"):
        gradcheck(lambda t: t * 2, (tg.tensor(X, dtype=tg.float64),))


# ---------------------------------------------------------------------------------------------------------------
# wrong first derivatives are caught by both checks
# ---------------------------------------------------------------------------------------------------------------

CHECKS = {"gradcheck": gradcheck, "gradgradcheck": gradgradcheck}


@pytest.mark.parametrize("fast_mode", [False, True])
@pytest.mark.parametrize("check", CHECKS)
def test_factor_1_001_is_caught_with_rtol_1e_4(check, fast_mode):
    # A factor 1.001 is a relative error of exactly 1e-3, which is the default rtol: at the default tolerance it
    # sits on the boundary. With rtol=1e-4 it is ten times the tolerance and must be caught.
    with pytest.raises(GradcheckError):
        CHECKS[check](square_with_factor(1.001), (leaf(X),), rtol=1e-4, fast_mode=fast_mode)


@pytest.mark.parametrize("fast_mode", [False, True])
@pytest.mark.parametrize("check", CHECKS)
def test_factor_1_01_is_caught_with_default_tolerances(check, fast_mode):
    with pytest.raises(GradcheckError):
        CHECKS[check](square_with_factor(1.01), (leaf(X),), fast_mode=fast_mode)


@pytest.mark.parametrize("fast_mode", [False, True])
def test_a_factor_well_inside_the_tolerance_passes(fast_mode):
    assert gradcheck(square_with_factor(1.0001), (leaf(X),), fast_mode=fast_mode)


@pytest.mark.parametrize("fast_mode", [False, True])
@pytest.mark.parametrize("check", CHECKS)
def test_missing_term_is_caught(check, fast_mode):
    with pytest.raises(GradcheckError):
        CHECKS[check](MulMissingTerm.apply, (leaf(X), leaf(Y)), fast_mode=fast_mode)


def test_raise_exception_false_returns_false():
    assert gradcheck(MulMissingTerm.apply, (leaf(X), leaf(Y)), raise_exception=False) is False
    assert gradgradcheck(MulMissingTerm.apply, (leaf(X), leaf(Y)), raise_exception=False) is False
    assert gradcheck(square_with_factor(1.01), (leaf(X),), fast_mode=True, raise_exception=False) is False


def test_failure_message_names_input_output_element_and_both_values():
    def product(x, y):
        return MulMissingTerm.apply(x, y)

    with pytest.raises(GradcheckError) as error:
        gradcheck(product, (leaf(X), leaf(Y)))
    message = str(error.value)
    # Only y's gradient is wrong; the worst entry is d out[2] / d y[2]: analytical y[2] = -0.9, numerical x[2] = 2.1.
    assert message.startswith("product:")
    assert "output 0" in message and "differentiable input 1" in message
    assert "output element (2,)" in message and "input element (2,)" in message
    assert "analytical -0.9" in message and "numerical 2.1" in message


def test_fast_mode_failure_message_gives_both_values():
    with pytest.raises(GradcheckError, match="analytical|from backward") as error:
        gradcheck(square_with_factor(1.01), (leaf(X),), fast_mode=True)
    assert "by finite differences" in str(error.value)


# ---------------------------------------------------------------------------------------------------------------
# right first derivative, wrong second derivative: only gradgradcheck sees it
# ---------------------------------------------------------------------------------------------------------------

WRONG_SECOND_DERIVATIVE = {
    "detached term": CubeDetachedBackward.apply,
    "helper with a wrong backward": SquareWithWrongHelper.apply,
}


@pytest.mark.parametrize("fast_mode", [False, True])
@pytest.mark.parametrize("name", WRONG_SECOND_DERIVATIVE)
def test_wrong_second_derivative_passes_gradcheck_but_fails_gradgradcheck(name, fast_mode):
    fn = WRONG_SECOND_DERIVATIVE[name]
    assert gradcheck(fn, (leaf(X),), fast_mode=fast_mode)
    with pytest.raises(GradcheckError, match="gradient of"):
        gradgradcheck(fn, (leaf(X),), fast_mode=fast_mode)


def test_gradgradcheck_with_given_grad_outputs():
    assert gradgradcheck(lambda t: t.sin(), (leaf(X),), grad_outputs=(leaf(Y),))
    with pytest.raises(GradcheckError):
        gradgradcheck(CubeDetachedBackward.apply, (leaf(X),), grad_outputs=(leaf(Y),))


# ---------------------------------------------------------------------------------------------------------------
# everything else gradcheck reports
# ---------------------------------------------------------------------------------------------------------------

def test_float32_inputs_trigger_a_warning():
    with pytest.warns(UserWarning, match="float64"):
        gradcheck(lambda t: t * 2, (leaf(X, dtype=tg.float32),), raise_exception=False)


def test_float64_inputs_trigger_no_warning(recwarn):
    gradcheck(lambda t: t * 2, (leaf(X),))
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


def test_gradient_of_the_wrong_dtype_is_reported():
    with pytest.raises(GradcheckError, match=r"is \(3,\) float32 on cpu, but the input is \(3,\) float64"):
        gradcheck(GradientInFloat32.apply, (leaf(X),))


def test_gradient_of_the_wrong_shape_is_reported():
    with pytest.raises(RuntimeError, match=r"GradientOfWrongShape: its backward returned a gradient of shape \(1,\)"):
        gradcheck(GradientOfWrongShape.apply, (leaf(X),))


def test_non_deterministic_backward_is_reported():
    with pytest.raises(GradcheckError, match="not deterministic"):
        gradcheck(NoisyBackward.apply, (leaf(X),))


def test_nondet_tol_accepts_small_non_determinism(monkeypatch):
    monkeypatch.setattr(NoisyBackward, "scale", 1e-12)
    assert gradcheck(NoisyBackward.apply, (leaf(X),), nondet_tol=1e-9)


def test_non_zero_gradient_from_a_zero_cotangent_is_reported():
    with pytest.raises(GradcheckError, match="zero cotangent"):
        gradcheck(ConstantInBackward.apply, (leaf(X),))


# ---------------------------------------------------------------------------------------------------------------
# cases found in review
# ---------------------------------------------------------------------------------------------------------------

def test_a_nan_does_not_hide_a_wrong_backward():
    x = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    nan = tg.tensor([float("nan")], dtype=tg.float64)
    wrong = square_with_factor(2.5)
    for fast in (False, True):
        assert not gradcheck(lambda x: tg.concatenate([wrong(x), nan]), (x,), fast_mode=fast,
                             raise_exception=False)


def test_outputs_cut_from_the_graph_are_not_checked():
    x = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    assert gradcheck(lambda x: (2 * x, (3 * x).detach()), (x,))
