"""An optimizer's state dict: what Optimizer.state_dict() returns and load_state_dict() takes.

    {"state": {index: {"step": t, "exp_avg": tensor, ...}}, "param_groups": [{"lr": ..., "params": [indices]}]}

The step count t is a number here whether the optimizer keeps it as an int or, capturable, as a tensor.

Parameters are named by their position over all groups (0, 1, ...), so a state dict can be loaded into an
optimizer built on other tensors of the same shapes (a resumed run's new model, say).
"""

import copy

from .. import backend
from ..tensor import Tensor


def optimizer_state_dict(optimizer):
    """The optimizer's state as {'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}.

    Parameters are named by their position over all groups (0, 1, ...), so the dict can be loaded into an
    optimizer built on other tensors of the same shapes. The state tensors are detached copies.
    """
    index_of = {}  # id(parameter) -> its index
    groups = []
    for group in optimizer.param_groups:
        saved = {name: value for name, value in group.items() if name != "params"}
        saved["params"] = [index_of.setdefault(id(p), len(index_of)) for p in group["params"]]
        groups.append(saved)
    state = {index_of[id(param)]: {name: int(value) if name == "step" else _copy_state_value(value)
                                   for name, value in param_state.items()}
             for param, param_state in optimizer.state.items()}
    return {"state": state, "param_groups": groups}


def load_optimizer_state_dict(optimizer, state_dict):
    """Take over the state and hyperparameters saved by state_dict() (from this or another optimizer).

    The groups must match this optimizer's in number and size, and each state tensor its parameter's shape;
    anything else raises ValueError and leaves the optimizer as it was. State tensors are copied onto the
    parameters' device (floating-point ones in the parameters' dtype), never shared with state_dict.
    """
    saved_groups, saved_state = _unpack(optimizer, state_dict)
    param_of_index = {}
    for number, (group, saved) in enumerate(zip(optimizer.param_groups, saved_groups)):
        if len(saved["params"]) != len(group["params"]):
            raise ValueError(f"{optimizer._name}.load_state_dict: parameter group {number} has "
                             f"{len(saved['params'])} parameters in the state dict but {len(group['params'])} "
                             f"in this optimizer")
        param_of_index.update(zip(saved["params"], group["params"]))

    new_state = {}
    for index, saved_param_state in saved_state.items():
        if index not in param_of_index:
            raise ValueError(f"{optimizer._name}.load_state_dict: the state dict has state for parameter {index!r}, "
                             f"which is in none of its parameter groups")
        param = param_of_index[index]
        new_state[param] = {name: _loaded_value(optimizer, value, param, name, index)
                            for name, value in saved_param_state.items()}

    new_groups = []
    for group, saved in zip(optimizer.param_groups, saved_groups):
        new_group = {**optimizer.defaults, **saved, "params": group["params"]}
        optimizer._check_hyperparameters(new_group)
        new_groups.append(new_group)
    # Only now, with everything checked, replace what the optimizer had.
    optimizer.state = new_state
    optimizer.param_groups = new_groups


def _unpack(optimizer, state_dict):
    if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
        keys = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
        raise ValueError(f"{optimizer._name}.load_state_dict: expected a dict with the keys 'state' and "
                         f"'param_groups' (what state_dict() returns), got {keys}")
    saved_groups, saved_state = state_dict["param_groups"], state_dict["state"]
    if not all(isinstance(group, dict) and "params" in group for group in saved_groups):
        raise ValueError(f"{optimizer._name}.load_state_dict: every entry of 'param_groups' must be a dict with a "
                         f"'params' list of parameter indices")
    if len(saved_groups) != len(optimizer.param_groups):
        raise ValueError(f"{optimizer._name}.load_state_dict: the state dict has {len(saved_groups)} parameter "
                         f"groups but this optimizer has {len(optimizer.param_groups)}")
    return saved_groups, saved_state


def _loaded_value(optimizer, value, param, name, index):
    if name == "step":   # a number in state dicts, kept as the optimizer keeps it (an int, or a capturable tensor)
        return optimizer._step_count(param, value)
    if not isinstance(value, Tensor):
        return copy.deepcopy(value)  # 'step' and other plain Python values
    if value.shape != param.shape:
        raise ValueError(f"{optimizer._name}.load_state_dict: state {name!r} of parameter {index} has shape "
                         f"{tuple(value.shape)} but the parameter has shape {tuple(param.shape)}")
    loaded = value.detach().to(param.device)
    if backend.is_floating(loaded.dtype):
        loaded = loaded.to(param.dtype)
    return loaded.clone()  # .to returns the tensor itself when nothing changes: copy so nothing is shared


def _copy_state_value(value):
    """What state_dict stores: a detached copy of a tensor (later steps do not change it), other values as they
    are (Python ints and floats are immutable)."""
    return value.detach().clone() if isinstance(value, Tensor) else copy.deepcopy(value)
