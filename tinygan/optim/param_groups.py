"""What an optimizer accepts as parameters: an iterable of tensors, or of parameter-group dicts; checked with a
message that says what to pass instead."""

from ..tensor import Tensor


def as_param_groups(params):
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


def as_param_list(optimizer_name, params):
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
