"""The Optimizer base class: parameter groups, state, zero_grad and step (state dicts: state_dict.py).

An optimizer holds
    param_groups  a list of dicts: 'params' (a list of tensors) plus that group's hyperparameters ('lr', ...),
                  the defaults filled in. Change group['lr'] to change the learning rate (schedules do).
    state         a dict: parameter -> its own dict of state tensors ('exp_avg', ...) and the step count
                  'step'. It is filled lazily, on a parameter's first step with a gradient.
    capturable    False: 'step' is a Python int. True: a float64 0-d tensor, and everything the update computes
                  from it is tensor work, as PyTorch's option of that name: a recorded step (tg.compile) replays
                  no Python, so it can only follow a count that lives in an array.

A subclass (sgd.py, adam.py, rmsprop.py) gives its hyperparameters' defaults and writes its update rule for one
parameter in ``_update``: that is all there is to an optimizer.
"""

from ..autograd.grad_mode import enable_grad, no_grad
from ..backend import float64
from ..factories import tensor
from . import state_dict
from .param_groups import as_param_groups, as_param_list


class Optimizer:
    """Base class: parameter groups, state, zero_grad, step, state_dict and load_state_dict.

    A subclass passes its hyperparameters' defaults to __init__ and defines
        _check_hyperparameters(group)  raise ValueError for a bad value (a negative lr, ...)
        _update(param, grad, state, group)  one step for one parameter, in place
    """

    def __init__(self, params, defaults, capturable=False):
        self._check_hyperparameters(defaults)
        self.defaults = dict(defaults)
        self.capturable = capturable
        self.state = {}
        self.param_groups = []
        for group in as_param_groups(params):
            self.add_param_group(group)

    def add_param_group(self, param_group):
        """Add a group (a dict with 'params' and any hyperparameters that differ from the defaults)."""
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{self._name}: a parameter group is a dict with a 'params' entry, got "
                            f"{type(param_group).__name__}")
        group = dict(param_group)
        group["params"] = as_param_list(self._name, group["params"])
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_hyperparameters(group)
        already_optimized = {id(p) for other in self.param_groups for p in other["params"]}
        if any(id(p) in already_optimized for p in group["params"]):
            raise ValueError(f"{self._name}: some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def _step_count(self, param, count):
        """The step count ``count`` as this optimizer keeps it (see ``capturable`` above)."""
        return tensor(float(count), dtype=float64, device=param.device) if self.capturable else int(count)

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
        """Update the parameters of one group that have a gradient: one at a time with _update."""
        for param in params:
            self._update(param, param.grad, self.state.setdefault(param, {}), group)

    def _update(self, param, grad, state, group):
        raise NotImplementedError("an Optimizer subclass must define _update(param, grad, state, group)")

    def _check_hyperparameters(self, group):
        pass

    def state_dict(self):
        """The optimizer's state as {'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}: see
        optim/state_dict.py."""
        return state_dict.optimizer_state_dict(self)

    def load_state_dict(self, state_dict_to_load):
        """Take over the state and hyperparameters saved by state_dict() (from this or another optimizer): see
        optim/state_dict.py."""
        state_dict.load_optimizer_state_dict(self, state_dict_to_load)

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


# ---------------------------------------------------------------------------------------------------------------
