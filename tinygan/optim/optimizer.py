"""The Optimizer base class: parameter groups, state, zero_grad, step, state_dict and load_state_dict.

An optimizer holds
    param_groups  a list of dicts: 'params' (a list of tensors) plus that group's hyperparameters ('lr', ...),
                  the defaults filled in. Change group['lr'] to change the learning rate (schedules do).
    state         a dict: parameter -> its own dict of state tensors ('exp_avg', ...) and Python int 'step'.
                  It is filled lazily, on a parameter's first step with a gradient.

A subclass (sgd.py, adam.py, rmsprop.py) gives its hyperparameters' defaults and writes its update rule for one
parameter in ``_update``: that is all there is to an optimizer.
"""

import copy

from .. import backend
from ..grad_mode import enable_grad, no_grad
from ..tensor import Tensor


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
        """Update the parameters of one group that have a gradient: one at a time with _update."""
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
