"""Optimizers (SGD, Adam, RMSprop) and learning-rate schedules (StepLR, ExponentialLR), as in torch.optim.

    opt = tg.optim.Adam([w, b], lr=1e-4, betas=(0.5, 0.999))
    for x in batches:
        opt.zero_grad()              # .grad = None for every parameter
        loss(x).backward()           # fills .grad
        opt.step()                   # updates the parameters in place, under no_grad

An optimizer holds
    param_groups  a list of dicts: 'params' (a list of tensors) plus that group's hyperparameters ('lr', ...),
                  the defaults filled in. Change group['lr'] to change the learning rate (schedules do).
    state         a dict: parameter -> its own dict of state tensors ('exp_avg', ...) and Python int 'step'.
                  It is filled lazily, on a parameter's first step with a gradient.

Each update rule is written line by line after PyTorch's documented algorithm (the pseudo-code is in each class's
docstring, t counts steps from 1), with the same defaults and the same order of operations, so results agree with
torch.optim to rounding. Updates change the parameters' own arrays in place (add_, mul_, addcdiv_, ...), on the
parameters' device, and never bring a value to the host: a training loop on the GPU does not wait for it.
"""

import copy

from . import backend
from .autograd import enable_grad, no_grad
from .ops import maximum
from .tensor import Tensor, zeros_like


class Optimizer:
    """Base class: parameter groups, state, zero_grad, step, state_dict and load_state_dict.

    A subclass passes its hyperparameters' defaults to __init__ and defines
        _check_hyperparameters(group)  raise ValueError for a bad value (a negative lr, ...)
        _update(param, grad, state, group)  one step for one parameter, in place
    """

    def __init__(self, params, defaults):
        self._check_hyperparameters(defaults)
        self.defaults = dict(defaults)
        self.state = {}
        self.param_groups = []
        for group in _as_param_groups(params):
            self.add_param_group(group)

    def add_param_group(self, param_group):
        """Add a group (a dict with 'params' and any hyperparameters that differ from the defaults)."""
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{self._name}: a parameter group is a dict with a 'params' entry, got "
                            f"{type(param_group).__name__}")
        group = dict(param_group)
        group["params"] = _as_param_list(self._name, group["params"])
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_hyperparameters(group)
        already_optimized = {id(p) for other in self.param_groups for p in other["params"]}
        if any(id(p) in already_optimized for p in group["params"]):
            raise ValueError(f"{self._name}: some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Forget the gradients: .grad = None (the default), or zeros in place with set_to_none=False."""
        for param in self._params():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
                continue
            if param.grad.grad_fn is not None:  # a gradient made with create_graph=True: drop its graph
                param.grad = param.grad.detach()
            with no_grad():
                param.grad.zero_()

    @no_grad()
    def step(self, closure=None):
        """Update every parameter that has a gradient; parameters whose .grad is None are left alone.

        closure: an optional function that recomputes the loss (zero_grad, forward, backward) and returns it;
        it runs with autograd on, before the update, and step returns what it returned.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            # no gradient reached a parameter whose .grad is None: no update and no state, as in PyTorch
            params = [param for param in group["params"] if param.grad is not None]
            if params:
                self._update_group(group, params)
        return loss

    def _update_group(self, group, params):
        """Update the parameters of one group that have a gradient: one at a time with _update. (Adam overrides
        this with a fused update of the whole group in flat buffers, which computes the same numbers.)"""
        for param in params:
            self._update(param, param.grad, self.state.setdefault(param, {}), group)

    def _update(self, param, grad, state, group):
        raise NotImplementedError("an Optimizer subclass must define _update(param, grad, state, group)")

    def _check_hyperparameters(self, group):
        pass

    # ------------------------------------------------------------------------------------------------------
    # saving and loading
    # ------------------------------------------------------------------------------------------------------

    def state_dict(self):
        """The optimizer's state as {'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}.

        Parameters are named by their position over all groups (0, 1, ...), so the dict can be loaded into an
        optimizer built on other tensors of the same shapes. The state tensors are detached copies.
        """
        index_of = {}  # id(parameter) -> its index
        groups = []
        for group in self.param_groups:
            saved = {name: value for name, value in group.items() if name != "params"}
            saved["params"] = [index_of.setdefault(id(p), len(index_of)) for p in group["params"]]
            groups.append(saved)
        state = {index_of[id(param)]: {name: _copy_state_value(value) for name, value in param_state.items()}
                 for param, param_state in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Take over the state and hyperparameters saved by state_dict() (from this or another optimizer).

        The groups must match this optimizer's in number and size, and each state tensor its parameter's shape;
        anything else raises ValueError and leaves the optimizer as it was. State tensors are copied onto the
        parameters' device (floating-point ones in the parameters' dtype), never shared with state_dict.
        """
        saved_groups, saved_state = self._unpack(state_dict)
        param_of_index = {}
        for number, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{self._name}.load_state_dict: parameter group {number} has "
                                 f"{len(saved['params'])} parameters in the state dict but {len(group['params'])} "
                                 f"in this optimizer")
            param_of_index.update(zip(saved["params"], group["params"]))

        new_state = {}
        for index, saved_param_state in saved_state.items():
            if index not in param_of_index:
                raise ValueError(f"{self._name}.load_state_dict: the state dict has state for parameter {index!r}, "
                                 f"which is in none of its parameter groups")
            param = param_of_index[index]
            new_state[param] = {name: self._loaded_value(value, param, name, index)
                                for name, value in saved_param_state.items()}

        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            new_group = {**self.defaults, **saved, "params": group["params"]}
            self._check_hyperparameters(new_group)
            new_groups.append(new_group)
        # Only now, with everything checked, replace what the optimizer had.
        self.state = new_state
        self.param_groups = new_groups

    def _unpack(self, state_dict):
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            keys = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"{self._name}.load_state_dict: expected a dict with the keys 'state' and "
                             f"'param_groups' (what state_dict() returns), got {keys}")
        saved_groups, saved_state = state_dict["param_groups"], state_dict["state"]
        if not all(isinstance(group, dict) and "params" in group for group in saved_groups):
            raise ValueError(f"{self._name}.load_state_dict: every entry of 'param_groups' must be a dict with a "
                             f"'params' list of parameter indices")
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{self._name}.load_state_dict: the state dict has {len(saved_groups)} parameter "
                             f"groups but this optimizer has {len(self.param_groups)}")
        return saved_groups, saved_state

    def _loaded_value(self, value, param, name, index):
        if not isinstance(value, Tensor):
            return copy.deepcopy(value)  # 'step' and other plain Python values
        if value.shape != param.shape:
            raise ValueError(f"{self._name}.load_state_dict: state {name!r} of parameter {index} has shape "
                             f"{tuple(value.shape)} but the parameter has shape {tuple(param.shape)}")
        loaded = value.detach().to(param.device)
        if backend.is_floating(loaded.dtype):
            loaded = loaded.to(param.dtype)
        return loaded.clone()  # .to returns the tensor itself when nothing changes: copy so nothing is shared

    # ------------------------------------------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------------------------------------------

    @property
    def _name(self):
        return type(self).__name__

    def _params(self):
        for group in self.param_groups:
            yield from group["params"]

    def _require(self, condition, message):
        if not condition:
            raise ValueError(f"{self._name}: {message}")

    def _check_non_negative(self, group, *names):
        # `not 0 <= value` (rather than `value < 0`) also rejects NaN
        for name in names:
            self._require(0.0 <= group[name], f"invalid {name} {group[name]!r}; it must be >= 0")

    def __repr__(self):
        lines = [f"{self._name} ("]
        for number, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {number}")
            lines += [f"    {name}: {value}" for name, value in sorted(group.items()) if name != "params"]
        return "\n".join(lines + [")"])


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with (Nesterov) momentum, as torch.optim.SGD.

    lr (gamma), momentum (mu), dampening (tau), weight_decay (lambda), nesterov, maximize:

        for t = 1, 2, ...:
            g_t <- -grad f(theta_{t-1}) if maximize else grad f(theta_{t-1})
            if lambda != 0:  g_t <- g_t + lambda theta_{t-1}
            if mu != 0:
                b_t <- mu b_{t-1} + (1 - tau) g_t   if t > 1   else   g_t
                g_t <- g_t + mu b_t   if nesterov   else   b_t
            theta_t <- theta_{t-1} - gamma g_t

    state: 'momentum_buffer' (b_t), kept only when momentum != 0.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        self._check_non_negative(group, "lr", "momentum", "weight_decay")
        self._require(not group["nesterov"] or (group["momentum"] > 0 and group["dampening"] == 0),
                      f"Nesterov momentum requires a momentum > 0 and zero dampening, got momentum="
                      f"{group['momentum']!r} and dampening={group['dampening']!r}")

    def _update(self, param, grad, state, group):
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:  # t = 1; a copy, since grad may be param.grad itself, which zero_grad may zero
                buffer = state["momentum_buffer"] = grad.clone()
            else:
                buffer.mul_(momentum).add_(grad, alpha=1 - dampening)
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        param.add_(grad, alpha=-lr)


class Adam(Optimizer):
    r"""Adam (Kingma and Ba, 2015), with the AMSGrad variant, as torch.optim.Adam.

    lr (gamma), betas (beta_1, beta_2), eps (epsilon), weight_decay (lambda), amsgrad, maximize:

        m_0 <- 0, v_0 <- 0, v_0^max <- 0
        for t = 1, 2, ...:
            g_t <- -grad f(theta_{t-1}) if maximize else grad f(theta_{t-1})
            if lambda != 0:  g_t <- g_t + lambda theta_{t-1}
            m_t <- beta_1 m_{t-1} + (1 - beta_1) g_t
            v_t <- beta_2 v_{t-1} + (1 - beta_2) g_t^2
            m^_t <- m_t / (1 - beta_1^t)
            if amsgrad:
                v_t^max <- max(v_{t-1}^max, v_t)
                v^_t <- v_t^max / (1 - beta_2^t)
            else:
                v^_t <- v_t / (1 - beta_2^t)
            theta_t <- theta_{t-1} - gamma m^_t / (sqrt(v^_t) + epsilon)

    The last line is computed as PyTorch computes it, with the bias corrections as Python numbers:
        theta_t <- theta_{t-1} - (gamma / (1 - beta_1^t)) m_t / (sqrt(v_t) / sqrt(1 - beta_2^t) + epsilon)

    state: 'step' (t), 'exp_avg' (m_t), 'exp_avg_sq' (v_t) and, with amsgrad, 'max_exp_avg_sq' (v_t^max).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 maximize=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize)
        self._fused = {}  # id(parameter group) -> its _FusedAdam (flat buffers), made on the group's first step
        super().__init__(params, defaults)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self._fused.clear()  # new groups and new state tensors: the flat buffers are rebuilt from them

    def __getstate__(self):
        # copy.deepcopy and pickle: leave the flat buffers out (a copy of a view is no longer a view); the copy
        # rebuilds them from its own state on its next step
        return {**self.__dict__, "_fused": {}}

    def _update_group(self, group, params):
        """Update a group's parameters with gradients: all at once in flat buffers (_FusedAdam) in the usual
        case, one by one with _update otherwise (mixed dtypes or devices, or parameters at different steps)."""
        states = [self.state.setdefault(param, {}) for param in params]
        if not _FusedAdam.applies(params, states):
            super()._update_group(group, params)
            return
        fused = self._fused.get(id(group))
        if fused is None or not fused.matches(params, states, group["amsgrad"]):
            fused = self._fused[id(group)] = _FusedAdam(params, states, group["amsgrad"])
        fused.step(params, states, group)

    def _check_hyperparameters(self, group):
        self._check_non_negative(group, "lr", "eps", "weight_decay")
        betas = group["betas"]
        self._require(isinstance(betas, (tuple, list)) and len(betas) == 2,
                      f"betas must be a pair (beta_1, beta_2), got {betas!r}")
        for index, beta in enumerate(betas):
            self._require(0.0 <= beta < 1.0, f"invalid betas[{index}] {beta!r}; it must be in [0, 1)")

    def _update(self, param, grad, state, group):
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = zeros_like(param)
            state["exp_avg_sq"] = zeros_like(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = zeros_like(param)
        state["step"] += 1
        t = state["step"]

        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        if group["amsgrad"]:
            max_exp_avg_sq = state["max_exp_avg_sq"]
            max_exp_avg_sq.copy_(maximum(max_exp_avg_sq, exp_avg_sq))
            exp_avg_sq = max_exp_avg_sq  # from here on v_t means v_t^max
        # Python numbers (t is an int), so no tensor work and no host round trip for the bias corrections
        bias_correction1 = 1 - beta1 ** t
        bias_correction2_sqrt = (1 - beta2 ** t) ** 0.5
        denominator = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(group["eps"])
        param.addcdiv_(exp_avg, denominator, value=-group["lr"] / bias_correction1)


class _FusedAdam:
    """Fast path of Adam (what it fuses and why): one parameter group's update done in flat buffers.

    Adam._update spends about ten array operations per parameter, each a Python call with its checks; for the
    small networks of a toy GAN that Python overhead, not the arithmetic, is most of an optimizer step. Here
    the moments m_t and v_t of all the group's parameters live in one flat array each, so each line of the
    update rule is one array operation for the whole group. Only gathering the gradients (one concatenate)
    and adding each parameter's update stay per parameter. On the GPU that is also a dozen kernel launches
    per group instead of a dozen per parameter.

    The numbers are Adam._update's, bit for bit: the same elementwise operations in the same order and dtype
    (Python numbers become scalars of the parameters' dtype, as the in-place Tensor methods make them).
    Each parameter's state tensors ('exp_avg', ...) are views into the flat buffers, so ``state``, state_dict
    and the one-by-one path all see the live values. The buffers are rebuilt, keeping the values, when the
    group's parameters with a gradient change or a state tensor was replaced (load_state_dict).
    """

    @staticmethod
    def applies(params, states):
        """True when the group can be updated at once: one device and dtype for every parameter and gradient,
        gradients of their parameters' shapes, and every parameter at the same step."""
        first = params[0].data
        kind, dtype, step = type(first), first.dtype, states[0].get("step", 0)
        for param, state in zip(params, states):
            data, grad = param.data, param.grad.data
            if (type(data) is not kind or data.dtype != dtype or type(grad) is not kind or grad.dtype != dtype
                    or grad.shape != data.shape or state.get("step", 0) != step):
                return False
        return True

    def __init__(self, params, states, amsgrad):
        first = params[0].data
        self.xp, self.kind, self.dtype, self.amsgrad = backend.array_namespace(first), type(first), first.dtype, amsgrad
        names = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
        total = sum(param.data.size for param in params)
        self.buffers = {name: self.xp.zeros(total, dtype=self.dtype) for name in names}
        self.grad = self.xp.empty(total, dtype=self.dtype)   # the gathered gradients
        self.work = self.xp.empty(total, dtype=self.dtype)   # scratch; at the end, every parameter's update
        self.params, self.views, self.updates = list(params), [], []
        offset = 0
        for param, state in zip(params, states):
            shape, end = param.data.shape, offset + param.data.size
            views = {}
            for name, buffer in self.buffers.items():
                view = buffer[offset:end].reshape(shape)
                if name in state:
                    view[...] = state[name].data  # keep the values so far (a resumed or one-by-one run)
                state[name] = Tensor._make(view, False, None, 0, None)
                views[name] = view
            state.setdefault("step", 0)
            self.views.append(views)
            self.updates.append(self.work[offset:end].reshape(shape))
            offset = end

    def matches(self, params, states, amsgrad):
        """True if these buffers still hold exactly these parameters' state."""
        if (len(params) != len(self.params) or amsgrad != self.amsgrad or type(params[0].data) is not self.kind
                or params[0].data.dtype != self.dtype):
            return False
        for param, mine, state, views in zip(params, self.params, states, self.views):
            if param is not mine or param.data.shape != views["exp_avg"].shape:
                return False
            for name, view in views.items():
                tensor = state.get(name)
                if tensor is None or tensor.data is not view:
                    return False
        return True

    def step(self, params, states, group):
        """Adam._update for every parameter of the group, line by line on the flat buffers."""
        xp, grad, work = self.xp, self.grad, self.work
        f = self.dtype.type
        beta1, beta2 = group["betas"]
        t = states[0]["step"] + 1
        xp.concatenate([param.grad.data.reshape(-1) for param in params], out=grad)
        if group["maximize"]:
            xp.negative(grad, out=grad)
        if group["weight_decay"] != 0:                               # g <- g + lambda theta
            xp.concatenate([param.data.reshape(-1) for param in params], out=work)
            xp.multiply(work, f(group["weight_decay"]), out=work)
            xp.add(grad, work, out=grad)
        exp_avg, exp_avg_sq = self.buffers["exp_avg"], self.buffers["exp_avg_sq"]
        xp.multiply(exp_avg, f(beta1), out=exp_avg)                  # m <- beta1 m + (1 - beta1) g
        xp.multiply(grad, f(1 - beta1), out=work)
        xp.add(exp_avg, work, out=exp_avg)
        xp.multiply(exp_avg_sq, f(beta2), out=exp_avg_sq)            # v <- beta2 v + (1 - beta2) g^2
        xp.multiply(grad, grad, out=work)
        xp.multiply(work, f(1 - beta2), out=work)
        xp.add(exp_avg_sq, work, out=exp_avg_sq)
        if self.amsgrad:                                             # v^max <- max(v^max, v)
            exp_avg_sq = xp.maximum(self.buffers["max_exp_avg_sq"], exp_avg_sq, out=self.buffers["max_exp_avg_sq"])
        bias_correction1 = 1 - beta1 ** t
        bias_correction2_sqrt = (1 - beta2 ** t) ** 0.5
        xp.sqrt(exp_avg_sq, out=work)                                # sqrt(v) / sqrt(1 - beta2^t) + eps
        xp.divide(work, f(bias_correction2_sqrt), out=work)
        xp.add(work, f(group["eps"]), out=work)
        xp.divide(exp_avg, work, out=work)                           # -(lr / (1 - beta1^t)) m / (...)
        xp.multiply(work, f(-group["lr"] / bias_correction1), out=work)
        for param, update, state in zip(params, self.updates, states):
            xp.add(param.data, update, out=param.data)               # theta <- theta + update, in place
            param._version[0] += 1
            for name in self.buffers:
                state[name]._version[0] += 1
            state["step"] = t


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture notes; centered: Graves, 2013), as torch.optim.RMSprop; WGAN's optimizer.

    lr (gamma), alpha, eps (epsilon), weight_decay (lambda), momentum (mu), centered, maximize:

        v_0 <- 0, b_0 <- 0, g^ave_0 <- 0
        for t = 1, 2, ...:
            g_t <- -grad f(theta_{t-1}) if maximize else grad f(theta_{t-1})
            if lambda != 0:  g_t <- g_t + lambda theta_{t-1}
            v_t <- alpha v_{t-1} + (1 - alpha) g_t^2
            v~_t <- v_t
            if centered:
                g^ave_t <- alpha g^ave_{t-1} + (1 - alpha) g_t
                v~_t <- v~_t - (g^ave_t)^2
            if mu > 0:
                b_t <- mu b_{t-1} + g_t / (sqrt(v~_t) + epsilon)
                theta_t <- theta_{t-1} - gamma b_t
            else:
                theta_t <- theta_{t-1} - gamma g_t / (sqrt(v~_t) + epsilon)

    epsilon is added after the square root (TensorFlow adds it inside). state: 'step' (t), 'square_avg' (v_t),
    with momentum 'momentum_buffer' (b_t), when centered 'grad_avg' (g^ave_t).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, *,
                 maximize=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        self._check_non_negative(group, "lr", "eps", "momentum", "weight_decay", "alpha")

    def _update(self, param, grad, state, group):
        alpha, momentum = group["alpha"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = zeros_like(param)
            if momentum > 0:
                state["momentum_buffer"] = zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = zeros_like(param)
        state["step"] += 1

        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        square_avg = state["square_avg"]
        square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg.mul_(alpha).add_(grad, alpha=1 - alpha)
            denominator = (square_avg - grad_avg * grad_avg).sqrt()
        else:
            denominator = square_avg.sqrt()
        denominator.add_(group["eps"])
        if momentum > 0:
            buffer = state["momentum_buffer"]
            buffer.mul_(momentum).addcdiv_(grad, denominator)
            param.add_(buffer, alpha=-group["lr"])
        else:
            param.addcdiv_(grad, denominator, value=-group["lr"])


# ---------------------------------------------------------------------------------------------------------------
# learning-rate schedules (torch.optim.lr_scheduler)
# ---------------------------------------------------------------------------------------------------------------


class LRScheduler:
    """Base class of learning-rate schedules: call scheduler.step() once per epoch, after optimizer.step().

    Each step sets every group's 'lr' from get_lr(). Like PyTorch's schedules these are chainable: the new lr
    is computed from the group's current lr, and the starting value is kept in group['initial_lr'].
    """

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}")
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for number, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{type(self).__name__}: param_groups[{number}] has no 'initial_lr', needed "
                                   f"to resume the schedule at last_epoch={last_epoch}")
        self.optimizer = optimizer
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()  # epoch 0: the lr the schedule starts from

    def get_lr(self):
        raise NotImplementedError("an LRScheduler subclass must define get_lr()")

    def step(self):
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self):
        """The learning rates the last step set, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self):
        return {name: value for name, value in vars(self).items() if name != "optimizer"}

    def load_state_dict(self, state_dict):
        vars(self).update(state_dict)


class StepLR(LRScheduler):
    """Multiply the learning rate by gamma every step_size epochs: lr = initial_lr * gamma ** (epoch // step_size)."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        if not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive int, got {step_size!r}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return lrs
        return [lr * self.gamma for lr in lrs]


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by gamma every epoch: lr = initial_lr * gamma ** epoch."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self.last_epoch == 0:
            return lrs
        return [lr * self.gamma for lr in lrs]


# ---------------------------------------------------------------------------------------------------------------
# checking what users pass
# ---------------------------------------------------------------------------------------------------------------


def _as_param_groups(params):
    """The groups an optimizer was given: a list of dicts, from an iterable of tensors or of dicts."""
    if isinstance(params, Tensor):
        raise TypeError("optimizer: params should be an iterable of Tensors or of parameter-group dicts, got a "
                        "single Tensor; pass a list: [tensor]")
    if isinstance(params, dict):
        raise TypeError("optimizer: params should be an iterable of Tensors or of parameter-group dicts, got one "
                        "dict; pass a list of groups: [group]")
    params = list(params)
    if not params:
        raise ValueError("optimizer: got an empty parameter list")
    if all(isinstance(p, dict) for p in params):
        return params
    if any(isinstance(p, dict) for p in params):
        raise TypeError("optimizer: params mixes tensors and parameter-group dicts; put the tensors in a group")
    return [{"params": params}]


def _as_param_list(optimizer_name, params):
    """A group's 'params' as a list of leaf tensors, each once."""
    if isinstance(params, Tensor):
        return [params]
    if isinstance(params, (set, frozenset)):
        raise TypeError(f"{optimizer_name}: parameters must be given in an ordered collection (a list), not a "
                        f"set, whose order changes between runs and would scramble state_dict")
    params = list(params)
    for param in params:
        if not isinstance(param, Tensor):
            raise TypeError(f"{optimizer_name}: can only optimize Tensors, but one of the params is "
                            f"{type(param).__name__}")
        if not param.is_leaf:
            raise ValueError(f"{optimizer_name}: can't optimize a non-leaf Tensor (one made by an op, "
                             f"{param.grad_fn!r}); optimize the leaf tensors it was computed from")
    if len({id(p) for p in params}) != len(params):
        raise ValueError(f"{optimizer_name}: a parameter group lists the same parameter more than once")
    return params


def _copy_state_value(value):
    """What state_dict stores: a detached copy of a tensor (later steps do not change it), other values as they
    are (Python ints and floats are immutable)."""
    return value.detach().clone() if isinstance(value, Tensor) else copy.deepcopy(value)
