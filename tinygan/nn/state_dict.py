"""A module's state dict: {dotted name: tensor} for every parameter and buffer (PyTorch's names and order), what
Module.state_dict() returns and Module.load_state_dict() takes."""

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor


def module_state_dict(module):
    """{dotted name: tensor} for every parameter and buffer. The tensors share memory with the module
    (detached): save them with tg.save, or copy them before changing the model if you need the old values."""
    state = {}
    for name, member in list(module.named_parameters()) + list(module.named_buffers()):
        state[name] = member.detach()
    return state


def load_module_state_dict(module, state_dict, strict=True):
    """Copy values from ``state_dict`` into this module's parameters and buffers.

    Everything is checked before anything is copied, so a failed load leaves the module unchanged: every
    shape and dtype must match, and with strict=True the keys must match exactly (a KeyError lists the
    missing and unexpected keys). Returns (missing_keys, unexpected_keys).
    """
    source = getattr(state_dict, "source", None)
    where = f" from {source}" if source else ""
    own = dict(list(module.named_parameters()) + list(module.named_buffers()))
    missing = [name for name in own if name not in state_dict]
    unexpected = [name for name in state_dict if name not in own]
    if strict and (missing or unexpected):
        raise KeyError(f"load_state_dict{where} into {type(module).__name__}: missing keys {missing}, "
                       f"unexpected keys {unexpected}")
    for name, target in own.items():
        if name not in state_dict:
            continue
        value = state_dict[name]
        if not isinstance(value, Tensor):
            raise TypeError(f"load_state_dict{where}: {name!r} is a {type(value).__name__}, not a Tensor")
        if value.shape != target.shape:
            raise ValueError(f"load_state_dict{where}: {name!r} has shape {tuple(value.shape)} in the state "
                             f"dict but {tuple(target.shape)} in {type(module).__name__}")
        if value.dtype != target.dtype:
            raise TypeError(f"load_state_dict{where}: {name!r} is {value.dtype} in the state dict but "
                            f"{target.dtype} in {type(module).__name__}; convert the model with .to(dtype) "
                            f"first (no silent conversion)")
    with no_grad():
        for name, target in own.items():
            if name in state_dict:
                target.copy_(state_dict[name].to(target.device))
    return missing, unexpected
