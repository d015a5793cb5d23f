"""Optimizers: the first steps against the documented update rules computed by hand in numpy float64, agreement
with torch.optim, parameter groups, zero_grad, state_dict round trips, errors, devices and dtypes, a small MLP fit,
and the learning-rate schedules."""

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays

import tinygan as tg
from tinygan import optim

# ---------------------------------------------------------------------------------------------------------------
# references: PyTorch's documented pseudo-code, line by line, in numpy float64
# ---------------------------------------------------------------------------------------------------------------


def reference_sgd(theta, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                  maximize=False):
    """theta after each step, for gradients grads[0], grads[1], ... (the gradient at the current theta)."""
    path, b = [], None
    for t, gradient in enumerate(grads, start=1):
        g = -gradient if maximize else gradient
        if weight_decay != 0:
            g = g + weight_decay * theta
        if momentum != 0:
            b = g if t == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        theta = theta - lr * g
        path.append(theta)
    return path


def reference_adam(theta, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                   maximize=False):
    beta1, beta2 = betas
    m, v, v_max = np.zeros_like(theta), np.zeros_like(theta), np.zeros_like(theta)
    path = []
    for t, gradient in enumerate(grads, start=1):
        g = -gradient if maximize else gradient
        if weight_decay != 0:
            g = g + weight_decay * theta
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        m_hat = m / (1 - beta1 ** t)
        if amsgrad:
            v_max = np.maximum(v_max, v)
            v_hat = v_max / (1 - beta2 ** t)
        else:
            v_hat = v / (1 - beta2 ** t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        path.append(theta)
    return path


def reference_rmsprop(theta, grads, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                      centered=False, maximize=False):
    v, b, g_ave = np.zeros_like(theta), np.zeros_like(theta), np.zeros_like(theta)
    path = []
    for gradient in grads:
        g = -gradient if maximize else gradient
        if weight_decay != 0:
            g = g + weight_decay * theta
        v = alpha * v + (1 - alpha) * g ** 2
        v_tilde = v
        if centered:
            g_ave = g_ave * alpha + (1 - alpha) * g
            v_tilde = v_tilde - g_ave ** 2
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(v_tilde) + eps)
            theta = theta - lr * b
        else:
            theta = theta - lr * g / (np.sqrt(v_tilde) + eps)
        path.append(theta)
    return path


def tinygan_path(optimizer_class, theta, grads, dtype=tg.float64, device="cpu", **hyperparameters):
    """The same steps with a tinygan optimizer: .grad is set to each gradient in turn, then step()."""
    param = tg.tensor(theta, dtype=dtype, device=device, requires_grad=True)
    optimizer = optimizer_class([param], **hyperparameters)
    path = []
    for gradient in grads:
        param.grad = tg.tensor(gradient, dtype=dtype, device=device)
        optimizer.step()
        path.append(param.to("cpu").numpy().copy())
    return path


def assert_paths_close(ours, reference, rtol=1e-10, atol=1e-10):
    assert len(ours) == len(reference)
    for step, (a, b) in enumerate(zip(ours, reference), start=1):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"after step {step}")


# ---------------------------------------------------------------------------------------------------------------
# hypothesis: drawn problems and hyperparameters
# ---------------------------------------------------------------------------------------------------------------

STEPS = 4
finite = st.floats(-5.0, 5.0, allow_nan=False, allow_infinity=False)
rate = st.floats(0.0, 1.0)
coefficient = st.one_of(st.just(0.0), st.floats(0.01, 0.99))  # momentum, weight decay: 0 (off) or on
small_eps = st.floats(1e-8, 1e-2)


@st.composite
def problems(draw):
    """A starting point and STEPS gradients of one drawn shape (0-d included)."""
    shape = draw(st.sampled_from([(), (3,), (2, 3)]))
    theta = draw(arrays(np.float64, shape, elements=finite))
    grads = [draw(arrays(np.float64, shape, elements=finite)) for _ in range(STEPS)]
    return theta, grads


@st.composite
def sgd_hyperparameters(draw):
    momentum = draw(coefficient)
    nesterov = momentum > 0 and draw(st.booleans())
    dampening = 0.0 if nesterov else draw(st.floats(0.0, 0.9))
    return dict(lr=draw(rate), momentum=momentum, dampening=dampening, weight_decay=draw(coefficient),
                nesterov=nesterov, maximize=draw(st.booleans()))


adam_hyperparameters = st.fixed_dictionaries(dict(
    lr=st.floats(1e-4, 1.0), betas=st.tuples(st.floats(0.0, 0.99), st.floats(0.0, 0.9999)), eps=small_eps,
    weight_decay=coefficient, amsgrad=st.booleans(), maximize=st.booleans()))

rmsprop_hyperparameters = st.fixed_dictionaries(dict(
    lr=st.floats(1e-4, 1.0), alpha=st.floats(0.5, 0.999), eps=small_eps, weight_decay=coefficient,
    momentum=coefficient, centered=st.booleans(), maximize=st.booleans()))


@given(problems(), sgd_hyperparameters())
def test_sgd_follows_the_documented_update_rule(problem, hyperparameters):
    theta, grads = problem
    assert_paths_close(tinygan_path(optim.SGD, theta, grads, **hyperparameters),
                       reference_sgd(theta, grads, **hyperparameters))


@given(problems(), adam_hyperparameters)
def test_adam_follows_the_documented_update_rule(problem, hyperparameters):
    theta, grads = problem
    assert_paths_close(tinygan_path(optim.Adam, theta, grads, **hyperparameters),
                       reference_adam(theta, grads, **hyperparameters))


@given(problems(), rmsprop_hyperparameters)
def test_rmsprop_follows_the_documented_update_rule(problem, hyperparameters):
    theta, grads = problem
    assert_paths_close(tinygan_path(optim.RMSprop, theta, grads, **hyperparameters),
                       reference_rmsprop(theta, grads, **hyperparameters))


@pytest.mark.parametrize("optimizer_class, reference, defaults", [
    (optim.Adam, reference_adam, dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
                                      maximize=False)),
    (optim.RMSprop, reference_rmsprop, dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                                            centered=False, maximize=False)),
    (optim.SGD, reference_sgd, dict(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                                    maximize=False)),
])
def test_defaults_are_pytorchs(optimizer_class, reference, defaults):
    optimizer = optimizer_class([tg.zeros(2, requires_grad=True)])
    assert optimizer.defaults == defaults
    assert {name: value for name, value in optimizer.param_groups[0].items() if name != "params"} == defaults
    theta, grads = np.array([0.5, -2.0]), [np.array([1.0, -3.0]), np.array([0.25, 2.0])]
    expected = reference(theta, grads, lr=defaults["lr"])  # the references' other defaults are PyTorch's too
    assert_paths_close(tinygan_path(optimizer_class, theta, grads), expected)


# ---------------------------------------------------------------------------------------------------------------
# every optimizer with every option on, for the tests below
# ---------------------------------------------------------------------------------------------------------------

CONFIGS = {
    "sgd": (optim.SGD, dict(lr=0.1)),
    "sgd-momentum": (optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01, maximize=True)),
    "sgd-nesterov": (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    "adam": (optim.Adam, dict(lr=0.01, weight_decay=0.1)),
    "adam-amsgrad": (optim.Adam, dict(lr=0.01, betas=(0.5, 0.9), amsgrad=True, maximize=True)),
    "rmsprop": (optim.RMSprop, dict(lr=0.01)),
    "rmsprop-centered-momentum": (optim.RMSprop, dict(lr=0.01, alpha=0.9, centered=True, momentum=0.9,
                                                      weight_decay=0.1)),
}
config_names = pytest.mark.parametrize("config", CONFIGS)


def make_params(device="cpu", dtype=tg.float32, seed=0):
    generator = tg.Generator(seed, device=device)
    return [tg.randn(3, 2, dtype=dtype, generator=generator, requires_grad=True),
            tg.randn(2, dtype=dtype, generator=generator, requires_grad=True),
            tg.randn(dtype=dtype, generator=generator, requires_grad=True)]


def set_grads(params, seed):
    generator = tg.Generator(seed, device=params[0].device)
    for param in params:
        param.grad = tg.randn(*param.shape, dtype=param.dtype, generator=generator)


def two_groups(params, hyperparameters):
    """The first two parameters with the config's settings, the last with half its learning rate."""
    return [{"params": params[:2]}, {"params": params[2:], "lr": hyperparameters["lr"] / 2}]


def state_tensors(optimizer):
    return [(param, name, value) for param, param_state in optimizer.state.items()
            for name, value in param_state.items() if isinstance(value, tg.Tensor)]


# ---------------------------------------------------------------------------------------------------------------
# agreement with PyTorch (optional)
# ---------------------------------------------------------------------------------------------------------------

TORCH_CONFIGS = {
    **CONFIGS,
    "sgd-weight-decay-dampening": (optim.SGD, dict(lr=0.05, momentum=0.5, dampening=0.5, weight_decay=0.1)),
    "adam-defaults": (optim.Adam, dict()),
    "adam-all": (optim.Adam, dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05, amsgrad=True)),
    "rmsprop-defaults": (optim.RMSprop, dict()),
    "rmsprop-centered-maximize": (optim.RMSprop, dict(lr=1e-3, centered=True, maximize=True, eps=1e-4)),
}


@pytest.mark.parametrize("config", TORCH_CONFIGS)
def test_fifty_steps_on_a_quadratic_agree_with_torch_optim(config):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: the comparison with torch.optim is "
                                                "optional")
    optimizer_class, hyperparameters = TORCH_CONFIGS[config]
    rng = np.random.default_rng(0)
    m = rng.normal(size=(5, 5))
    a, b, theta = m @ m.T / 5 + np.eye(5), rng.normal(size=5), rng.normal(size=5)

    def run(library, make_leaf, optimizer):
        x = make_leaf(theta)
        opt = optimizer([x], **hyperparameters)
        matrix, vector = library.tensor(a), library.tensor(b)
        for _ in range(50):
            opt.zero_grad()
            loss = 0.5 * (x * (matrix @ x)).sum() - (vector * x).sum()  # 1/2 x^T A x - b^T x
            loss.backward()
            opt.step()
        return x.detach().numpy().copy()

    ours = run(tg, lambda v: tg.tensor(v, requires_grad=True), optimizer_class)
    theirs = run(torch, lambda v: torch.tensor(v, requires_grad=True), getattr(torch.optim, optimizer_class.__name__))
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("schedule, kwargs", [("StepLR", dict(step_size=3, gamma=0.5)),
                                              ("ExponentialLR", dict(gamma=0.9))])
def test_schedules_agree_with_torch(schedule, kwargs):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: the comparison with "
                                                "torch.optim.lr_scheduler is optional")
    ours_opt = optim.SGD([{"params": [tg.zeros(1, requires_grad=True)]},
                          {"params": [tg.zeros(1, requires_grad=True)], "lr": 0.3}], lr=1.0)
    torch_opt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)]},
                                 {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.3}], lr=1.0)
    ours = getattr(optim, schedule)(ours_opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, schedule)(torch_opt, **kwargs)
    for _ in range(10):
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-15)
        ours_opt.step()
        torch_opt.step()
        ours.step()
        theirs.step()


# ---------------------------------------------------------------------------------------------------------------
# dtypes, devices, in place, no host round trips
# ---------------------------------------------------------------------------------------------------------------


@config_names
def test_float32_parameters_and_state_stay_float32_and_are_updated_in_place(config):
    optimizer_class, hyperparameters = CONFIGS[config]
    params = make_params(dtype=tg.float32)
    arrays_before = [p.array for p in params]
    start = [p.numpy().astype(np.float64) for p in params]
    optimizer = optimizer_class(params, **hyperparameters)
    reference = {optim.SGD: reference_sgd, optim.Adam: reference_adam, optim.RMSprop: reference_rmsprop}
    grads = []
    for seed in range(3):
        set_grads(params, seed)
        grads.append([p.grad.numpy().astype(np.float64) for p in params])
        versions = [p._version for p in params]
        optimizer.step()
        assert all(p._version > v for p, v in zip(params, versions))
    for index, param in enumerate(params):
        assert param.dtype == tg.float32 and param.array.dtype == np.float32
        assert param.array is arrays_before[index]  # the parameter's own array, changed in place
        expected = reference[optimizer_class](start[index], [g[index] for g in grads], **hyperparameters)[-1]
        np.testing.assert_allclose(param.numpy(), expected, rtol=1e-5, atol=1e-5)
    for param, name, value in state_tensors(optimizer):
        assert value.dtype == tg.float32, name


@config_names
def test_state_lives_on_the_parameters_device(config, device):
    optimizer_class, hyperparameters = CONFIGS[config]
    params = make_params(device)
    optimizer = optimizer_class(two_groups(params, hyperparameters), **hyperparameters)
    for seed in range(2):
        set_grads(params, seed)
        optimizer.step()
    assert state_tensors(optimizer) or config == "sgd"
    for param, name, value in state_tensors(optimizer):
        assert value.device == param.device == device, name
    saved = optimizer.state_dict()
    for param_state in saved["state"].values():
        assert all(v.device == device for v in param_state.values() if isinstance(v, tg.Tensor))

    # loading a state saved on the CPU puts it on the parameters' device
    cpu_params = make_params("cpu")
    cpu_optimizer = optimizer_class(two_groups(cpu_params, hyperparameters), **hyperparameters)
    set_grads(cpu_params, 0)
    cpu_optimizer.step()
    optimizer.load_state_dict(cpu_optimizer.state_dict())
    for param, name, value in state_tensors(optimizer):
        assert value.device == param.device == device, name


@config_names
def test_step_brings_nothing_to_the_host(config, monkeypatch):
    optimizer_class, hyperparameters = CONFIGS[config]
    params = make_params()
    optimizer = optimizer_class(two_groups(params, hyperparameters), **hyperparameters)

    def host_transfer(*args, **kwargs):
        raise AssertionError("step() brought a value to the host")

    for name in ("item", "numpy", "tolist", "__bool__", "__float__", "__int__"):
        monkeypatch.setattr(tg.Tensor, name, host_transfer)
    monkeypatch.setattr(tg.backend, "to_host", host_transfer)
    for seed in range(3):
        set_grads(params, seed)
        optimizer.step()


# ---------------------------------------------------------------------------------------------------------------
# parameter groups, skipped parameters, zero_grad, closure
# ---------------------------------------------------------------------------------------------------------------


def test_param_groups_have_their_own_hyperparameters_with_defaults_filled_in():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0], requires_grad=True)
    optimizer = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert [len(g["params"]) for g in optimizer.param_groups] == [1, 1]
    assert optimizer.param_groups[0]["lr"] == 0.1 and optimizer.param_groups[0]["momentum"] == 0
    assert optimizer.param_groups[1]["lr"] == 0.5 and optimizer.param_groups[1]["momentum"] == 0.9
    for _ in range(2):
        a.grad, b.grad = tg.ones(2), tg.ones(1)
        optimizer.step()
    np.testing.assert_allclose(a.numpy(), [1.0 - 0.2, 2.0 - 0.2], rtol=1e-6)
    np.testing.assert_allclose(b.numpy(), [3.0 - 0.5 * 1.0 - 0.5 * 1.9], rtol=1e-6)  # b_1 = 1, b_2 = 0.9 + 1

    optimizer.param_groups[0]["lr"] = 1.0  # how schedules change the learning rate
    optimizer.step()
    np.testing.assert_allclose(a.numpy(), [-0.2, 0.8], rtol=1e-6)


def test_add_param_group_and_duplicate_parameters():
    a, b = tg.zeros(2, requires_grad=True), tg.zeros(3, requires_grad=True)
    optimizer = optim.Adam([a], lr=0.1)
    optimizer.add_param_group({"params": [b], "betas": (0.5, 0.9)})
    assert optimizer.param_groups[1]["lr"] == 0.1 and optimizer.param_groups[1]["betas"] == (0.5, 0.9)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optimizer.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="more than once"):
        optim.Adam([a, a])
    with pytest.raises(ValueError, match="invalid lr"):
        optimizer.add_param_group({"params": [tg.zeros(1, requires_grad=True)], "lr": -1.0})


@config_names
def test_a_parameter_whose_grad_is_none_is_skipped(config):
    optimizer_class, hyperparameters = CONFIGS[config]
    params = make_params()
    optimizer = optimizer_class(params, **hyperparameters)
    before = params[1].numpy().copy()
    for seed in range(2):
        set_grads(params, seed)
        params[1].grad = None
        optimizer.step()
    np.testing.assert_array_equal(params[1].numpy(), before)  # weight decay does not touch it either
    assert not optimizer.state.get(params[1])


def test_zero_grad_sets_to_none_by_default():
    params = make_params()
    set_grads(params, 0)
    params[2].grad = None
    optim.SGD(params, lr=0.1).zero_grad()
    assert all(p.grad is None for p in params)


def test_zero_grad_set_to_none_false_zeroes_in_place():
    params = make_params()
    set_grads(params, 0)
    params[2].grad = None
    grad_arrays = [p.grad.array for p in params[:2]]
    optim.SGD(params, lr=0.1).zero_grad(set_to_none=False)
    for param, array in zip(params[:2], grad_arrays):
        assert param.grad.array is array and param.grad.dtype == param.dtype
        np.testing.assert_array_equal(param.grad.numpy(), np.zeros(param.shape))
    assert params[2].grad is None  # a missing gradient stays missing


def test_zeroing_gradients_in_place_leaves_the_momentum_buffer_alone():
    param = tg.zeros(2, requires_grad=True)
    optimizer = optim.SGD([param], lr=0.1, momentum=0.9)
    param.grad = tg.ones(2)
    optimizer.step()  # b_1 = g_1: a copy of the gradient, not the gradient itself
    optimizer.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(optimizer.state[param]["momentum_buffer"].numpy(), [1.0, 1.0])


def test_zero_grad_set_to_none_false_drops_a_gradient_graph():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.grad_fn is not None
    optim.SGD([x], lr=0.1).zero_grad(set_to_none=False)
    assert x.grad.grad_fn is None and not x.grad.requires_grad
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


def test_step_runs_the_closure_with_autograd_on_and_returns_its_loss():
    x = tg.tensor([1.0, -2.0], requires_grad=True)
    optimizer = optim.SGD([x], lr=0.25)

    def closure():
        optimizer.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert loss.item() == pytest.approx(5.0)
    np.testing.assert_allclose(x.numpy(), [0.5, -1.0])  # x - 0.25 * 2x


def test_repr_lists_each_group():
    text = repr(optim.SGD([tg.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9))
    assert text.startswith("SGD (") and "Parameter Group 0" in text and "lr: 0.1" in text


# ---------------------------------------------------------------------------------------------------------------
# state_dict / load_state_dict
# ---------------------------------------------------------------------------------------------------------------


def test_state_dict_format_is_pytorchs():
    params = make_params()
    optimizer = optim.Adam(two_groups(params, dict(lr=0.1)), lr=0.1, amsgrad=True)
    set_grads(params, 0)
    params[1].grad = None
    optimizer.step()
    saved = optimizer.state_dict()
    assert set(saved) == {"state", "param_groups"}
    assert [g["params"] for g in saved["param_groups"]] == [[0, 1], [2]]
    assert saved["param_groups"][1]["lr"] == 0.05 and saved["param_groups"][0]["amsgrad"] is True
    assert set(saved["state"]) == {0, 2}  # parameter 1 had no gradient, so no state
    assert set(saved["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert saved["state"][0]["step"] == 1 and type(saved["state"][0]["step"]) is int
    assert isinstance(saved["state"][2]["exp_avg"], tg.Tensor) and saved["state"][2]["exp_avg"].shape == ()


@config_names
def test_state_dict_round_trip_gives_identical_subsequent_steps(config):
    optimizer_class, hyperparameters = CONFIGS[config]
    params = make_params()
    optimizer = optimizer_class(two_groups(params, hyperparameters), **hyperparameters)
    for seed in range(3):
        set_grads(params, seed)
        optimizer.step()
    saved = optimizer.state_dict()
    saved_values = {(index, name): value.numpy().copy() for index, param_state in saved["state"].items()
                    for name, value in param_state.items() if isinstance(value, tg.Tensor)}

    copies = [tg.tensor(p.numpy(), requires_grad=True) for p in params]
    other_settings = {**hyperparameters, "lr": hyperparameters["lr"] * 7}  # replaced by the loaded ones
    restored = optimizer_class(two_groups(copies, other_settings), **other_settings)
    restored.load_state_dict(saved)
    assert [g["lr"] for g in restored.param_groups] == [g["lr"] for g in optimizer.param_groups]
    assert all(g["params"] is not s["params"] for g, s in zip(restored.param_groups, saved["param_groups"]))

    for seed in range(3, 6):
        set_grads(params, seed)
        set_grads(copies, seed)
        optimizer.step()
        restored.step()
        for param, copy in zip(params, copies):
            np.testing.assert_array_equal(copy.numpy(), param.numpy())

    # copies, not aliases: the steps after saving changed neither the saved tensors nor each other's state
    for (index, name), value in saved_values.items():
        np.testing.assert_array_equal(saved["state"][index][name].numpy(), value)
    for (_, _, ours), (_, _, theirs) in zip(state_tensors(optimizer), state_tensors(restored)):
        assert not np.shares_memory(ours.numpy(), theirs.numpy())


def test_state_dict_tensors_are_detached_copies():
    param = tg.zeros(2, requires_grad=True)
    optimizer = optim.SGD([param], lr=0.1, momentum=0.9)
    param.grad = tg.ones(2)
    optimizer.step()
    saved = optimizer.state_dict()["state"][0]["momentum_buffer"]
    live = optimizer.state[param]["momentum_buffer"]
    assert not saved.requires_grad and not np.shares_memory(saved.numpy(), live.numpy())


def test_load_state_dict_copies_and_casts_to_the_parameters_dtype():
    source = tg.zeros(2, dtype=tg.float64, requires_grad=True)
    source_optimizer = optim.Adam([source])
    source.grad = tg.ones(2, dtype=tg.float64)
    source_optimizer.step()
    saved = source_optimizer.state_dict()
    target = tg.zeros(2, requires_grad=True)
    optimizer = optim.Adam([target])
    optimizer.load_state_dict(saved)
    assert optimizer.state[target]["exp_avg"].dtype == tg.float32
    assert optimizer.state[target]["step"] == 1
    target.grad = tg.ones(2)
    optimizer.step()  # float32 state with float32 parameters: no dtype error
    assert target.dtype == tg.float32


def _adam_after_one_step():
    params = make_params()
    optimizer = optim.Adam(two_groups(params, dict(lr=0.1)), lr=0.1)
    set_grads(params, 0)
    optimizer.step()
    return optimizer


@pytest.mark.parametrize("corrupt, message", [
    (lambda s: s["param_groups"].pop(), "has 1 parameter groups but this optimizer has 2"),
    (lambda s: s["param_groups"].append({"params": []}), "has 3 parameter groups but this optimizer has 2"),
    (lambda s: s["param_groups"][0]["params"].pop(), "parameter group 0 has 1 parameters in the state dict but 2"),
    (lambda s: s["param_groups"][1]["params"].append(7), "parameter group 1 has 2 parameters"),
    (lambda s: s["state"].update({9: {}}), "state for parameter 9"),
    (lambda s: s["state"][0].update(exp_avg=tg.zeros(4)), "'exp_avg' of parameter 0 has shape"),
    (lambda s: s.pop("state"), "'state' and 'param_groups'"),
    (lambda s: s["param_groups"][0].update(lr=-1.0), "invalid lr"),
    (lambda s: s["param_groups"][0].update(betas=(1.5, 0.9)), r"betas\[0\]"),
])
def test_load_state_dict_validates_and_leaves_the_optimizer_unchanged_on_error(corrupt, message):
    saved = _adam_after_one_step().state_dict()
    corrupt(saved)
    optimizer = _adam_after_one_step()
    groups_before, state_before = optimizer.param_groups, optimizer.state
    with pytest.raises(ValueError, match=message):
        optimizer.load_state_dict(saved)
    assert optimizer.param_groups is groups_before and optimizer.state is state_before


# ---------------------------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer_class, hyperparameters, message", [
    (optim.SGD, dict(lr=-0.1), "invalid lr -0.1"),
    (optim.SGD, dict(lr=float("nan")), "invalid lr nan"),
    (optim.SGD, dict(lr=0.1, momentum=-0.5), "invalid momentum"),
    (optim.SGD, dict(lr=0.1, weight_decay=-1e-4), "invalid weight_decay"),
    (optim.SGD, dict(lr=0.1, nesterov=True), "Nesterov momentum requires a momentum"),
    (optim.SGD, dict(lr=0.1, nesterov=True, momentum=0.9, dampening=0.1), "zero dampening"),
    (optim.Adam, dict(lr=-1e-3), "invalid lr"),
    (optim.Adam, dict(eps=-1e-8), "invalid eps"),
    (optim.Adam, dict(weight_decay=-0.1), "invalid weight_decay"),
    (optim.Adam, dict(betas=(1.0, 0.999)), r"invalid betas\[0\] 1.0; it must be in \[0, 1\)"),
    (optim.Adam, dict(betas=(-0.1, 0.999)), r"invalid betas\[0\]"),
    (optim.Adam, dict(betas=(0.9, 1.0)), r"invalid betas\[1\]"),
    (optim.Adam, dict(betas=(0.9,)), "betas must be a pair"),
    (optim.RMSprop, dict(lr=-0.01), "invalid lr"),
    (optim.RMSprop, dict(alpha=-0.5), "invalid alpha"),
    (optim.RMSprop, dict(eps=-1.0), "invalid eps"),
    (optim.RMSprop, dict(momentum=-0.9), "invalid momentum"),
    (optim.RMSprop, dict(weight_decay=-0.1), "invalid weight_decay"),
])
def test_bad_hyperparameters_raise_value_error(optimizer_class, hyperparameters, message):
    with pytest.raises(ValueError, match=f"{optimizer_class.__name__}: .*{message}"):
        optimizer_class([tg.zeros(1, requires_grad=True)], **hyperparameters)
    # the same value given in a parameter group is caught too
    with pytest.raises(ValueError, match=message):
        optimizer_class([{"params": [tg.zeros(1, requires_grad=True)], **hyperparameters}])


def test_bad_params_raise():
    x = tg.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match="got a single Tensor"):
        optim.SGD(x, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([x * 2], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([x, 1.0], lr=0.1)
    with pytest.raises(TypeError, match="not a set"):
        optim.SGD([{"params": {x}}], lr=0.1)
    with pytest.raises(TypeError, match="mixes tensors and parameter-group dicts"):
        optim.SGD([x, {"params": [tg.zeros(1, requires_grad=True)]}], lr=0.1)
    with pytest.raises(TypeError, match="'params' entry"):
        optim.SGD([{"lr": 0.1}], lr=0.1)


# ---------------------------------------------------------------------------------------------------------------
# a small MLP fits a 1-D regression target with each optimizer
# ---------------------------------------------------------------------------------------------------------------


def make_mlp(hidden=32, seed=0):
    """Leaf tensors of a 1 -> hidden -> hidden -> 1 tanh network (weights scaled by 1/sqrt(fan_in))."""
    generator = tg.Generator(seed)
    params = []
    for fan_in, fan_out in [(1, hidden), (hidden, hidden), (hidden, 1)]:
        weight = tg.randn(fan_out, fan_in, generator=generator) * (1.0 / fan_in ** 0.5)
        params += [weight.detach().requires_grad_(), tg.zeros(fan_out, requires_grad=True)]
    return params


def mlp(params, x):
    w1, b1, w2, b2, w3, b3 = params
    hidden = tg.tanh(tg.linear(x, w1, b1))
    hidden = tg.tanh(tg.linear(hidden, w2, b2))
    return tg.linear(hidden, w3, b3)


@pytest.mark.parametrize("optimizer_class, hyperparameters, steps", [
    (optim.SGD, dict(lr=0.05, momentum=0.9), 400),
    (optim.Adam, dict(lr=0.01), 300),
    (optim.RMSprop, dict(lr=1e-3, momentum=0.5), 600),
])
def test_a_small_mlp_fits_a_1d_regression_target(optimizer_class, hyperparameters, steps):
    x = tg.linspace(-1.0, 1.0, 64).reshape(64, 1)
    y = tg.sin(3.0 * x)
    params = make_mlp()
    optimizer = optimizer_class(params, **hyperparameters)

    def mse():
        return ((mlp(params, x) - y) ** 2).mean()

    first = mse().item()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = mse()
        loss.backward()
        optimizer.step()
    assert mse().item() < first / 100


# ---------------------------------------------------------------------------------------------------------------
# learning-rate schedules
# ---------------------------------------------------------------------------------------------------------------


def test_step_lr_multiplies_by_gamma_every_step_size_epochs():
    optimizer = optim.SGD([{"params": [tg.zeros(1, requires_grad=True)]},
                           {"params": [tg.zeros(1, requires_grad=True)], "lr": 0.1}], lr=1.0)
    scheduler = optim.StepLR(optimizer, step_size=2, gamma=0.5)
    seen = [scheduler.get_last_lr()]
    for _ in range(5):
        scheduler.step()
        seen.append(scheduler.get_last_lr())
    np.testing.assert_allclose([s[0] for s in seen], [1.0, 1.0, 0.5, 0.5, 0.25, 0.25])
    np.testing.assert_allclose([s[1] for s in seen], [0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    assert [g["lr"] for g in optimizer.param_groups] == seen[-1]
    assert [g["initial_lr"] for g in optimizer.param_groups] == [1.0, 0.1]


def test_exponential_lr_and_its_state_dict():
    optimizer = optim.Adam([tg.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = optim.ExponentialLR(optimizer, gamma=0.9)
    for _ in range(3):
        scheduler.step()
    assert scheduler.get_last_lr() == pytest.approx([0.9 ** 3])
    saved = scheduler.state_dict()
    assert saved["last_epoch"] == 3 and "optimizer" not in saved

    resumed_optimizer = optim.Adam([tg.zeros(1, requires_grad=True)], lr=1.0)
    resumed_optimizer.load_state_dict(optimizer.state_dict())
    assert resumed_optimizer.param_groups[0]["initial_lr"] == 1.0  # saved with the optimizer's groups
    resumed = optim.ExponentialLR(resumed_optimizer, gamma=0.9)  # epoch 0 keeps the loaded lr, 0.9 ** 3
    resumed.load_state_dict(saved)
    scheduler.step()
    resumed.step()
    assert resumed.get_last_lr() == scheduler.get_last_lr() == pytest.approx([0.9 ** 4])
    with pytest.raises(KeyError, match="initial_lr"):
        optim.ExponentialLR(optim.SGD([tg.zeros(1, requires_grad=True)], lr=0.1), gamma=0.9, last_epoch=4)
    with pytest.raises(ValueError, match="step_size"):
        optim.StepLR(optimizer, step_size=0)
