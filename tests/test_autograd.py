"""The autograd engine: backward, tg.grad, grad mode, the graph's life cycle, Function, and engine errors."""

import gc
import inspect
import weakref

import numpy as np
import pytest

import tinygan as tg
from user_functions import square_with_factor
from tinygan.testing import gradcheck, gradgradcheck


def leaf(values, dtype=tg.float64):
    return tg.tensor(values, dtype=dtype, requires_grad=True)


def finite_difference(f, t, eps=1e-6):
    """d f() / d t by central differences, as a numpy array; f() returns a one-element Tensor computed from t.

    The helper perturbs t's array directly (t.array), bypassing autograd on purpose: it is the reference.
    """
    grad = np.zeros(t.shape)
    flat = t.array.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + eps
        plus = f().item()
        flat[i] = original - eps
        minus = f().item()
        flat[i] = original
        grad.reshape(-1)[i] = (plus - minus) / (2 * eps)
    return grad


@pytest.fixture
def gc_disabled():
    """Runs a test with the cycle collector off: what is freed then was freed by reference counting alone."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    yield
    if was_enabled:
        gc.enable()


# ---------------------------------------------------------------------------------------------------------------
# backward on graphs of every shape
# ---------------------------------------------------------------------------------------------------------------

def test_gradient_of_a_simple_expression(device):
    x = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64, device=device, requires_grad=True)
    (x * x + 3 * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 7.0, 9.0])
    assert x.grad.device == device and x.grad.dtype == tg.float64


def test_reused_tensor_gets_the_sum_of_its_gradients():
    x = leaf([2.0, -1.0])
    (x * x * x).sum().backward()  # x used three times
    np.testing.assert_allclose(x.grad.numpy(), 3 * x.numpy() ** 2)


def test_diamond_sums_both_paths():
    x = leaf([0.5, 1.5])
    a = x.exp()
    b, c = a * 2, a * 3
    (b + c).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 5 * np.exp(x.numpy()))


class CountBackward(tg.Function):
    """The identity, counting how often its backward runs."""

    calls = 0

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        CountBackward.calls += 1
        return grad


def _stacked_diamonds(x, levels=20):
    """sin(y) + cos(y), nested: 2**levels paths from the output to x, through only 3 * levels nodes."""
    y = x
    for _ in range(levels):
        y = y.sin() + y.cos()
    return y.sum()


def test_stacked_diamonds_give_the_right_gradient():
    x = leaf([0.3])
    _stacked_diamonds(x).backward()
    expected = finite_difference(lambda: _stacked_diamonds(x), x)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)


def test_each_node_runs_once_however_many_paths_reach_it():
    CountBackward.calls = 0
    x = leaf([0.3])
    _stacked_diamonds(CountBackward.apply(x)).backward()
    assert CountBackward.calls == 1


def test_chain_of_10000_ops_does_not_hit_the_recursion_limit():
    x = leaf([1.0, 2.0])
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001 ** 10_000] * 2)
    del y  # freeing a long chain must not recurse either


def test_gradient_of_a_broadcast_input_is_summed_back_to_its_shape():
    x = leaf(np.ones((3, 1)))
    y = leaf(np.ones(4))
    (x + y).sum().backward()
    assert x.grad.shape == (3, 1) and y.grad.shape == (4,)
    np.testing.assert_array_equal(x.grad.numpy(), np.full((3, 1), 4.0))
    np.testing.assert_array_equal(y.grad.numpy(), np.full(4, 3.0))


def test_backward_with_an_explicit_gradient():
    x = leaf([1.0, 2.0])
    (x * x).backward(tg.tensor([1.0, 10.0], dtype=tg.float64))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 40.0])


def test_inputs_that_do_not_require_grad_get_no_grad():
    x = leaf([1.0])
    c = tg.tensor([2.0], dtype=tg.float64)
    (x * c).sum().backward()
    assert c.grad is None


# ---------------------------------------------------------------------------------------------------------------
# accumulation, retain_graph, freed graphs
# ---------------------------------------------------------------------------------------------------------------

def test_leaf_grad_accumulates_over_two_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * x.numpy())


def test_second_backward_through_a_freed_graph_says_to_retain_it():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_freed_graph_is_caught_even_for_ops_that_saved_nothing():
    x = leaf([1.0, 2.0])
    y = (x + 1).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_create_graph_retains_the_graph_by_default():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(create_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * x.numpy())


def test_grad_frees_the_graph_unless_asked_to_retain_it():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    tg.grad(y, [x], retain_graph=True)
    tg.grad(y, [x])
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        tg.grad(y, [x])


def test_leaf_grad_can_be_changed_in_place():
    x = leaf([1.0, 2.0, 3.0])
    x.sum().backward()
    x.grad.mul_(0.5)
    np.testing.assert_array_equal(x.grad.numpy(), [0.5, 0.5, 0.5])


def test_changing_one_leaf_grad_in_place_leaves_the_other_alone():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).backward(tg.tensor([1.0, 1.0], dtype=tg.float64))
    a.grad.zero_()
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])


# ---------------------------------------------------------------------------------------------------------------
# version counter: tensors saved for backward must not change in place
# ---------------------------------------------------------------------------------------------------------------

def test_changing_a_saved_input_in_place_makes_backward_raise_naming_the_op():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    with tg.no_grad():
        x.add_(1)
    with pytest.raises(RuntimeError,
                       match=r"Mul: a leaf tensor of shape \(2,\), saved for backward, was changed by an in-place"):
        y.backward()


def test_changing_a_saved_output_in_place_makes_backward_raise_naming_the_op():
    x = leaf([1.0, 2.0])
    e = x.exp()  # Exp saves its output
    y = e.sum()
    with tg.no_grad():
        e.mul_(2)
    with pytest.raises(RuntimeError, match=r"Exp: its own output of shape \(2,\), saved for backward"):
        y.backward()


def test_changing_the_base_of_a_saved_view_makes_backward_raise():
    x = leaf([1.0, 2.0, 3.0, 4.0])
    v = x.reshape(2, 2)
    y = (v * v).sum()  # Mul saved the view v
    with tg.no_grad():
        x.mul_(2)
    with pytest.raises(RuntimeError, match=r"Mul: a tensor of shape \(2, 2\) made by Reshape, saved for backward"):
        y.backward()


def test_changing_a_view_of_a_saved_tensor_makes_backward_raise():
    x = leaf([1.0, 2.0, 3.0, 4.0])
    y = (x * x).sum()
    v = x.reshape(2, 2)
    with tg.no_grad():
        v.add_(1)
    with pytest.raises(RuntimeError, match="in-place"):
        y.backward()


def test_changing_a_detached_copy_of_a_saved_tensor_makes_backward_raise():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    x.detach().add_(1)
    with pytest.raises(RuntimeError, match="in-place"):
        y.backward()


def test_changing_a_view_made_under_no_grad_makes_backward_raise():
    x = leaf([1.0, 2.0, 3.0, 4.0])
    y = (x * x).sum()
    with tg.no_grad():
        x.reshape(2, 2).add_(1)
    with pytest.raises(RuntimeError, match="in-place"):
        y.backward()


def test_changing_the_base_of_a_saved_view_raises_even_when_the_base_needs_no_grad():
    base = tg.tensor([1.0, 2.0, 3.0, 4.0], dtype=tg.float64)
    w = leaf(np.ones((2, 2)))
    y = (base.reshape(2, 2) * w).sum()  # Mul saved the view for w's gradient
    base.add_(1)
    with pytest.raises(RuntimeError, match="in-place"):
        y.backward()


def test_inplace_changes_after_backward_are_fine():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    with tg.no_grad():
        x.sub_(x.grad, alpha=0.1)
    np.testing.assert_allclose(x.numpy(), [0.8, 1.6])


# ---------------------------------------------------------------------------------------------------------------
# grad mode
# ---------------------------------------------------------------------------------------------------------------

def test_no_grad_context_records_nothing_and_restores_the_mode():
    x = leaf([1.0])
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = x * 2
    assert tg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None


def test_enable_grad_inside_no_grad_records_again():
    x = leaf([1.0])
    with tg.no_grad():
        with tg.enable_grad():
            y = x * 2
        assert not tg.is_grad_enabled()
    assert y.requires_grad and y.grad_fn is not None


def test_no_grad_as_a_decorator():
    @tg.no_grad()
    def double(t):
        """Doubles."""
        assert not tg.is_grad_enabled()
        return t * 2

    y = double(leaf([1.0]))
    assert not y.requires_grad
    assert tg.is_grad_enabled()
    assert double.__name__ == "double" and double.__doc__ == "Doubles."


def test_enable_grad_as_a_decorator():
    @tg.enable_grad()
    def double(t):
        return t * 2

    with tg.no_grad():
        y = double(leaf([1.0]))
        assert not tg.is_grad_enabled()
    assert y.requires_grad


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with tg.no_grad():
            1 / 0
    assert tg.is_grad_enabled()


# ---------------------------------------------------------------------------------------------------------------
# tg.grad
# ---------------------------------------------------------------------------------------------------------------

def test_grad_returns_gradients_and_does_not_touch_dot_grad():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    gx, gw = tg.grad((x * w).sum(), [x, w])
    np.testing.assert_allclose(gx.numpy(), w.numpy())
    np.testing.assert_allclose(gw.numpy(), x.numpy())
    assert x.grad is None and w.grad is None


def test_grad_has_the_pytorch_signature():
    parameters = inspect.signature(tg.grad).parameters
    assert list(parameters) == ["outputs", "inputs", "grad_outputs", "retain_graph", "create_graph", "allow_unused"]
    assert [p.default for p in list(parameters.values())[2:]] == [None, None, False, False]


def test_grad_accepts_a_single_tensor_as_inputs():
    x = leaf([1.0, 2.0])
    (gx,) = tg.grad((x * x).sum(), x)
    np.testing.assert_allclose(gx.numpy(), [2.0, 4.0])


def test_grad_with_respect_to_a_non_leaf():
    x = leaf([0.5, 1.0])
    h = x.exp()
    (gh,) = tg.grad((h * h).sum(), [h])
    np.testing.assert_allclose(gh.numpy(), 2 * np.exp(x.numpy()))
    assert h.grad is None and x.grad is None


class BackwardMustNotRun(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 1

    @staticmethod
    def backward(ctx, grad):
        raise AssertionError("tg.grad ran a node that lies below the requested inputs")


def test_grad_runs_only_the_part_of_the_graph_above_the_inputs():
    x = leaf([1.0, 2.0])
    h = BackwardMustNotRun.apply(x)
    (gh,) = tg.grad((h * h).sum(), [h])
    np.testing.assert_allclose(gh.numpy(), [2.0, 4.0])


def test_grad_with_grad_outputs_and_several_outputs():
    x = leaf([1.0, 2.0])
    (gx,) = tg.grad([x * 2, x * x], [x], grad_outputs=[tg.tensor([1.0, 1.0], dtype=tg.float64),
                                                       tg.tensor([10.0, 100.0], dtype=tg.float64)])
    np.testing.assert_allclose(gx.numpy(), [2 + 20.0, 2 + 400.0])


def test_grad_of_an_unused_input_raises_unless_allow_unused():
    x, unused = leaf([1.0]), leaf([2.0])
    y = (x * 3).sum()
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        tg.grad(y, [x, unused], retain_graph=True)
    gx, g_unused = tg.grad(y, [x, unused], allow_unused=True)
    np.testing.assert_allclose(gx.numpy(), [3.0])
    assert g_unused is None


def test_grad_results_are_detached_without_create_graph():
    x = leaf([1.0, 2.0])
    (gx,) = tg.grad((x * x).sum(), x)
    assert not gx.requires_grad


# ---------------------------------------------------------------------------------------------------------------
# create_graph: second derivatives
# ---------------------------------------------------------------------------------------------------------------

def test_second_and_third_derivative_of_x_cubed():
    x = leaf([-1.5, 0.5, 2.0])
    (first,) = tg.grad((x ** 3).sum(), x, create_graph=True)
    (second,) = tg.grad(first.sum(), x, create_graph=True)
    (third,) = tg.grad(second.sum(), x)
    np.testing.assert_allclose(first.numpy(), 3 * x.numpy() ** 2)
    np.testing.assert_allclose(second.numpy(), 6 * x.numpy())
    np.testing.assert_allclose(third.numpy(), [6.0, 6.0, 6.0])


def test_backward_with_create_graph_gives_a_differentiable_grad():
    x = leaf([1.0, 2.0])
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (second,) = tg.grad(x.grad.sum(), x)
    np.testing.assert_allclose(second.numpy(), 6 * x.numpy())


def _mlp_parameters():
    g = tg.Generator(0)
    return (tg.randn(3, 4, dtype=tg.float64, generator=g, requires_grad=True),
            tg.randn(4, dtype=tg.float64, generator=g, requires_grad=True),
            tg.randn(4, 1, dtype=tg.float64, generator=g, requires_grad=True),
            tg.randn(5, 3, dtype=tg.float64, generator=g))


def _mlp(x, w1, b1, w2):
    return (x @ w1 + b1).tanh() @ w2


def test_hessian_vector_product_of_an_mlp_matches_finite_differences():
    w1, b1, w2, x = _mlp_parameters()
    v = tg.randn(3, 4, dtype=tg.float64, generator=tg.Generator(1))

    def loss_gradient(weights):
        (g,) = tg.grad((_mlp(x, weights, b1, w2) ** 2).mean(), weights, create_graph=True)
        return g

    (hv,) = tg.grad((loss_gradient(w1) * v).sum(), w1)

    eps = 1e-5
    plus = tg.tensor(w1.numpy() + eps * v.numpy(), requires_grad=True)
    minus = tg.tensor(w1.numpy() - eps * v.numpy(), requires_grad=True)
    numerical = (loss_gradient(plus).numpy() - loss_gradient(minus).numpy()) / (2 * eps)
    np.testing.assert_allclose(hv.numpy(), numerical, rtol=1e-6, atol=1e-8)


def _gradient_penalty(x, w1, b1, w2):
    """WGAN-GP: mean over samples of (||d D(x) / dx|| - 1)^2, differentiable with respect to D's weights."""
    (grad_x,) = tg.grad(_mlp(x, w1, b1, w2).sum(), x, create_graph=True)
    return ((grad_x.norm(axis=1) - 1) ** 2).mean()


def test_gradient_penalty_gradient_with_respect_to_the_weights_matches_finite_differences():
    w1, b1, w2, data = _mlp_parameters()
    x = tg.tensor(data.numpy(), requires_grad=True)
    penalty = _gradient_penalty(x, w1, b1, w2)
    penalty.backward()
    for weight in (w1, b1, w2):
        numerical = finite_difference(lambda: _gradient_penalty(x, w1, b1, w2), weight)
        np.testing.assert_allclose(weight.grad.numpy(), numerical, rtol=1e-5, atol=1e-8)


# ---------------------------------------------------------------------------------------------------------------
# 0-d results (numpy returns scalars, not arrays, from ufuncs and full reductions on them)
# ---------------------------------------------------------------------------------------------------------------


SAVES_ITS_OUTPUT = {
    "sqrt": (lambda x: x.sqrt(), 0.5 / np.sqrt(0.5)),
    "exp": (lambda x: x.exp(), np.exp(0.5)),
    "sigmoid": (lambda x: x.sigmoid(), np.exp(-0.5) / (1 + np.exp(-0.5)) ** 2),
    "sqrt of a full sum": (lambda x: (x * x).sum().sqrt(), 1.0),
}


@pytest.mark.parametrize("op", SAVES_ITS_OUTPUT)
def test_backward_through_an_op_that_saves_its_0d_output(op):
    fn, expected = SAVES_ITS_OUTPUT[op]
    x = leaf(0.5)
    fn(x).backward()
    np.testing.assert_allclose(x.grad.item(), expected)


def test_std_of_a_whole_tensor_is_differentiable():
    x = leaf([1.0, 2.0, 4.0])
    x.std().backward()
    np.testing.assert_allclose(x.grad.numpy(), finite_difference(lambda: x.std(), x), rtol=1e-6)


def test_second_derivative_of_tanh_at_a_0d_tensor():
    x = leaf(0.5)
    (first,) = tg.grad(x.tanh(), x, create_graph=True)
    (second,) = tg.grad(first, x)
    t = np.tanh(0.5)
    np.testing.assert_allclose(second.item(), -2 * t * (1 - t * t))


def test_hessian_of_the_norm_of_a_whole_tensor():
    values = np.array([0.7, -1.3, 2.1])
    x = leaf(values)
    (g,) = tg.grad(x.norm(), x, create_graph=True)
    hessian = np.stack([tg.grad(g[i], x, retain_graph=True)[0].numpy() for i in range(3)])
    n = np.linalg.norm(values)
    np.testing.assert_allclose(hessian, np.eye(3) / n - np.outer(values, values) / n ** 3)


# ---------------------------------------------------------------------------------------------------------------
# user-defined Functions
# ---------------------------------------------------------------------------------------------------------------

square = square_with_factor(1.0, name="Square")


class Scale(tg.Function):
    """A Function with a plain (non-tensor) argument: backward returns None for it."""

    @staticmethod
    def forward(ctx, x, factor):
        ctx.factor = factor
        return x * factor

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.factor, None


class SquareOnce(tg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    @tg.once_differentiable
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 2 * x


class TwoOutputs(tg.Function):
    """(2x, 3x); backward records the gradients it was given."""

    seen = []

    @staticmethod
    def forward(ctx, x):
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, grad_double, grad_triple):
        TwoOutputs.seen = [grad_double.numpy().copy(), grad_triple.numpy().copy()]
        return grad_double * 2 + grad_triple * 3


def test_user_function_with_saved_tensors_computes_the_gradient():
    x = leaf([1.0, -2.0])
    square(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, -4.0])


def test_user_function_passes_gradcheck_and_gradgradcheck():
    x = leaf([[0.3, -1.2], [2.0, 0.7]])
    assert gradcheck(square, (x,))
    assert gradgradcheck(square, (x,))


def test_user_function_with_a_plain_argument():
    x = leaf([1.0, 2.0])
    Scale.apply(x, 2.5).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.5, 2.5])
    assert gradcheck(lambda t: Scale.apply(t, -0.5), (leaf([0.1, 0.2]),))


def test_multi_output_function_gets_zeros_for_an_unused_output():
    x = leaf([1.0, 2.0])
    double, _ = TwoOutputs.apply(x)
    double.sum().backward()
    np.testing.assert_array_equal(TwoOutputs.seen[1], [0.0, 0.0])
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_multi_output_function_sums_gradients_of_both_outputs():
    x = leaf([1.0, 2.0])
    double, triple = TwoOutputs.apply(x)
    (double + triple * 10).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [32.0, 32.0])


def test_once_differentiable_backward_works_to_first_order():
    x = leaf([1.5, -0.5])
    assert gradcheck(SquareOnce.apply, (x,))


def test_once_differentiable_raises_on_double_backward_naming_the_op():
    x = leaf([1.5, -0.5])
    (gx,) = tg.grad(SquareOnce.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(gx.numpy(), [3.0, -1.0])
    with pytest.raises(RuntimeError, match="SquareOnce is marked once_differentiable"):
        gx.sum().backward()


def test_once_differentiable_op_fails_gradgradcheck_loudly():
    with pytest.raises(RuntimeError, match="SquareOnce"):
        gradgradcheck(SquareOnce.apply, (leaf([1.5, -0.5]),))


# ---------------------------------------------------------------------------------------------------------------
# nothing keeps a finished graph alive
# ---------------------------------------------------------------------------------------------------------------

def test_intermediates_are_freed_once_the_output_is_dropped(gc_disabled):
    x = leaf([1.0, 2.0])
    hidden = x.exp()
    out = (hidden * hidden).sum()
    hidden_ref, node_ref = weakref.ref(hidden), weakref.ref(hidden.grad_fn)
    del hidden
    out.backward()
    del out
    assert hidden_ref() is None
    assert node_ref() is None


def test_backward_frees_saved_tensors_while_the_output_is_still_alive(gc_disabled):
    x = leaf([1.0, 2.0])
    hidden = x.exp()
    out = (hidden * hidden).sum()  # Mul saved `hidden` for backward
    hidden_ref = weakref.ref(hidden)
    del hidden
    assert hidden_ref() is not None
    out.backward()
    assert hidden_ref() is None


def test_a_graph_that_was_never_run_is_freed_when_dropped(gc_disabled):
    x = leaf([1.0, 2.0])
    hidden = x.sin()
    out = (hidden * x).exp().sum()
    refs = [weakref.ref(hidden), weakref.ref(out.grad_fn)]
    del hidden, out
    assert all(ref() is None for ref in refs)


def test_create_graph_leaves_no_cycles(gc_disabled):
    x = leaf([1.0, 2.0])
    hidden = x.sin()
    (g,) = tg.grad((hidden * hidden).sum(), x, create_graph=True)
    refs = [weakref.ref(hidden), weakref.ref(g), weakref.ref(g.grad_fn)]
    g.sum().backward()
    del hidden, g
    assert all(ref() is None for ref in refs)


# ---------------------------------------------------------------------------------------------------------------
# looking at the graph
# ---------------------------------------------------------------------------------------------------------------

def test_graph_is_dot_text_naming_each_op_shape_and_dtype():
    x = tg.ones(2, 3, requires_grad=True)
    w = tg.ones(3, 4, requires_grad=True)
    y = (x @ w).tanh().sum()
    text = tg.graph(y)
    assert text.startswith("digraph")
    for op in ("MatMul", "Tanh", "Sum"):
        assert op in text
    assert "(2, 4) float32" in text and "() float32" in text
    assert "leaf" in text and "(2, 3) float32" in text and "(3, 4) float32" in text
    assert y.graph() == text


def test_graph_of_a_leaf_has_no_ops():
    text = tg.graph(tg.ones(2, requires_grad=True))
    assert "digraph" in text and "Backward" not in text and "shape=box" not in text


# ---------------------------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------------------------

def test_matmul_shape_mismatch_names_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\)"):
        tg.ones(2, 3) @ tg.ones(4, 5)


def test_broadcast_mismatch_names_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"mul: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        tg.ones(2, 3) * tg.ones(4)


def test_backward_on_a_non_scalar_needs_a_gradient():
    y = leaf([1.0, 2.0]) * 2
    with pytest.raises(RuntimeError, match=r"shape \(2,\).*gradient="):
        y.backward()


def test_backward_gradient_must_have_the_output_shape():
    y = leaf([1.0, 2.0]) * 2
    with pytest.raises(RuntimeError, match="shape"):
        y.backward(tg.ones(3, dtype=tg.float64))


def test_backward_on_a_tensor_that_does_not_require_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (tg.ones(2) * 2).sum().backward()


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating"):
        tg.tensor([1, 2], requires_grad=True)


def test_unknown_device_raises_value_error():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        tg.ones(2, device="tpu")


class _ArrayOnAnotherDevice(np.ndarray):
    """A numpy array that the patched backend reports as living on "cuda" (so no GPU is needed)."""


@pytest.fixture
def fake_gpu_tensor(monkeypatch):
    real_device_of = tg.backend.device_of
    monkeypatch.setattr(tg.backend, "device_of", lambda array: tg.backend.CUDA
                        if isinstance(array, _ArrayOnAnotherDevice) else real_device_of(array))
    t = tg.ones(3)
    t.array = t.array.view(_ArrayOnAnotherDevice)
    return t


def test_mixing_devices_raises_naming_the_op_and_both_devices(fake_gpu_tensor):
    assert fake_gpu_tensor.device == "cuda"
    with pytest.raises(ValueError, match=r"Add: its tensors are on different devices \(cpu, cuda\)"):
        tg.ones(3) + fake_gpu_tensor


def test_inplace_with_another_device_raises(fake_gpu_tensor):
    with pytest.raises(ValueError, match="add_: self is on cpu but the other tensor is on cuda"):
        tg.ones(3).add_(fake_gpu_tensor)


def test_mixing_a_real_gpu_tensor_with_a_cpu_tensor_raises(device):
    if device == "cpu":
        pytest.skip("needs a second device")
    with pytest.raises(ValueError, match="different devices"):
        tg.ones(3, device=device) * tg.ones(3)


def test_generator_on_another_device_than_asked_raises(device):
    if device == "cpu":
        pytest.skip("needs a second device")
    with pytest.raises(ValueError, match="generator is on cpu"):
        tg.randn(3, device=device, generator=tg.Generator(0))


# ---------------------------------------------------------------------------------------------------------------
# cases found in review (each compared with what PyTorch does)
# ---------------------------------------------------------------------------------------------------------------

class CubeOnRawArrays(tg.Function):
    """x**3 with a backward on raw arrays that keeps its input on ctx (not saved): once differentiable."""

    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return x ** 3

    @staticmethod
    @tg.once_differentiable
    def backward(ctx, grad):
        return tg.Tensor(grad.array * 3 * ctx.x ** 2)


def test_once_differentiable_raises_even_when_nothing_was_saved():
    x = tg.tensor([2.0], dtype=tg.float64, requires_grad=True)
    (gx,) = tg.grad(CubeOnRawArrays.apply(x).sum() + (x * x).sum(), [x], create_graph=True)
    with pytest.raises(RuntimeError, match="CubeOnRawArrays is marked once_differentiable"):
        tg.grad(gx.sum(), [x])


def test_once_differentiable_first_derivative_is_unchanged():
    x = tg.tensor([2.0], dtype=tg.float64, requires_grad=True)
    (gx,) = tg.grad(CubeOnRawArrays.apply(x).sum(), [x], create_graph=True)
    assert gx.item() == 12.0


def test_a_detached_copy_saved_for_backward_stays_a_constant():
    # x * x.detach(): d/dx = x.detach(), which does not depend on x, so the second derivative is 0.
    x = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    (gx,) = tg.grad((x * x.detach()).sum(), [x], create_graph=True)
    assert gx.requires_grad is False
    np.testing.assert_array_equal(gx.numpy(), [1.0, 2.0])


def test_an_indexing_copy_does_not_share_its_base_version_counter():
    buffer = tg.randn(10, 2, generator=tg.Generator(0))
    w = tg.randn(3, 2, generator=tg.Generator(1), requires_grad=True)
    batch = buffer[tg.tensor([3, 7])]          # advanced indexing copies
    loss = tg.linear(batch, w).sum()
    buffer[0:1].fill_(0.0)                     # refreshing the buffer must not invalidate the graph
    loss.backward()
    np.testing.assert_allclose(w.grad.numpy(), np.tile(batch.numpy().sum(axis=0), (3, 1)), rtol=1e-6)


def test_a_slicing_view_still_shares_its_base_version_counter():
    base = tg.tensor([1.0, 2.0, 3.0])
    w = tg.tensor([1.0, 1.0], requires_grad=True)
    y = (base[1:] * w).sum()
    base.add_(1.0)
    with pytest.raises(RuntimeError, match="changed by an in-place operation"):
        y.backward()


def test_create_graph_leaf_grads_own_their_memory():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward(create_graph=True)
    assert a.grad is not b.grad and a.grad.array is not b.grad.array
    with tg.no_grad():
        a.grad.zero_()                        # writable, and b.grad is untouched
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])


def test_create_graph_leaf_grad_is_not_the_callers_gradient():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    g = tg.tensor([5.0, 6.0])
    (x * 1.0).backward(g, create_graph=True)
    assert x.grad.array is not g.array
