"""Parameter and Module: the base of every layer and model, shaped like torch.nn.Module.

    class Critic(tg.nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = tg.nn.Linear(2, 64)       # a submodule: its parameters are the critic's too
            self.out = tg.nn.Linear(64, 1)
        def forward(self, x):
            return self.out(self.hidden(x).relu())

A Module finds its parameters, buffers and submodules by looking at its attributes (also inside lists, tuples and
dicts), in the order they were assigned: there is nothing to register except buffers, the non-trainable tensors
that belong in a state dict (register_buffer).
"""

from .. import backend
from ..factories import tensor, zeros_like
from ..grad_mode import no_grad
from ..tensor import Tensor
from . import state_dict

# ---------------------------------------------------------------------------------------------------------------
# Parameter and Module
# ---------------------------------------------------------------------------------------------------------------


class Parameter(Tensor):
    """A Tensor that is a trainable part of a Module: requires grad, and is found by Module.parameters().

    Parameter(t) shares t's data (as in PyTorch); Parameter(numpy_array or list) makes a new tensor.
    """

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        source = data if isinstance(data, Tensor) else tensor(data)
        self._set_fields(source.array, False, None, 0, source._version_counter)
        self.requires_grad = requires_grad

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


def _members(name, value):
    """(dotted name, value) for the Parameters, Tensors and Modules in ``value``, opening lists, tuples, dicts."""
    if isinstance(value, (Module, Tensor)):
        yield name, value
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _members(f"{name}.{index}", item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _members(f"{name}.{key}", item)


class Module:
    """Base class of every layer and model. Subclasses set parameters and submodules as attributes in __init__
    (after calling super().__init__()) and define forward(); calling the module calls forward."""

    def __init__(self):
        self.training = True
        self._buffer_names = []

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def register_buffer(self, name, value):
        """Keep a tensor that is state but not trained (a running estimate, say) as attribute ``name``: it goes
        into state_dict() and moves with to(), but parameters() leaves it out."""
        if not isinstance(value, Tensor) or isinstance(value, Parameter):
            raise TypeError(f"register_buffer: {name!r} must be a plain Tensor (not a Parameter)")
        if name not in self._names_of_buffers():
            self._buffer_names.append(name)
        setattr(self, name, value)

    def _names_of_buffers(self):
        return self.__dict__.get("_buffer_names", [])

    # -- discovery ---------------------------------------------------------------------------------------

    def _own_members(self):
        """(name, value) for this module's own attributes that are Parameters, buffers or Modules."""
        buffers = self._names_of_buffers()
        for name, value in vars(self).items():
            if isinstance(value, Module):  # the usual members, without opening anything
                yield name, value
                continue
            if not isinstance(value, (Tensor, list, tuple, dict)):
                continue  # a number, a string, a flag: nothing to find in it
            for member_name, member in _members(name, value):
                if isinstance(member, Parameter) or isinstance(member, Module):
                    yield member_name, member
                elif isinstance(member, Tensor) and member_name in buffers:
                    yield member_name, member

    def named_children(self):
        """(name, submodule) for the modules directly inside this one."""
        for name, member in self._own_members():
            if isinstance(member, Module):
                yield name, member

    def children(self):
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix="", _seen=None):
        """(dotted name, module) for this module ("") and every module inside it, depth first; a module used in
        two places is listed once."""
        seen = set() if _seen is None else _seen
        if id(self) in seen:
            return
        seen.add(id(self))
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name, seen)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def _named_tensors(self, want_parameters):
        seen = set()
        for module_name, module in self.named_modules():
            buffers = set(module._names_of_buffers())
            for name, member in module._own_members():
                is_parameter = isinstance(member, Parameter)
                is_buffer = not is_parameter and isinstance(member, Tensor) and name in buffers
                if (want_parameters and is_parameter) or (not want_parameters and is_buffer):
                    if id(member) not in seen:  # a tensor shared by two layers is listed once
                        seen.add(id(member))
                        yield (f"{module_name}.{name}" if module_name else name), member

    def named_parameters(self):
        """(dotted name, Parameter) for every parameter, in a stable order: each module's own parameters in the
        order they were assigned, then its submodules' (PyTorch's order)."""
        return self._named_tensors(want_parameters=True)

    def parameters(self):
        for _, parameter in self.named_parameters():
            yield parameter

    def named_buffers(self):
        return self._named_tensors(want_parameters=False)

    def buffers(self):
        for _, buffer in self.named_buffers():
            yield buffer

    # -- training state ----------------------------------------------------------------------------------

    def zero_grad(self, set_to_none=True):
        """Forget the parameters' gradients (set them to None, or to zeros with set_to_none=False)."""
        for parameter in self.parameters():
            if set_to_none or parameter.grad is None:
                parameter.grad = None
            else:  # fresh zeros (multiplying by 0 would keep NaN and inf)
                parameter.grad = zeros_like(parameter.grad)

    def requires_grad_(self, requires_grad=True):
        """Set requires_grad of every parameter (False freezes the module: backward computes no gradient for it);
        returns self."""
        for parameter in self.parameters():
            parameter.requires_grad_(requires_grad)
        return self

    def train(self, mode=True):
        """Put this module and every module inside it in training mode (or evaluation mode with mode=False)."""
        for module in self.modules():
            module.training = mode
        return self

    def eval(self):
        return self.train(False)

    def to(self, target):
        """Move every parameter and buffer (and gradient) to a device ("cpu", "cuda") or convert it to a dtype,
        in place; returns self."""
        to_dtype = not backend.is_device_spec(target)
        with no_grad():
            for member in list(self.parameters()) + list(self.buffers()):
                if to_dtype and not backend.is_floating(member.dtype):
                    continue  # a dtype applies to float tensors; integer buffers (counts, indices) stay as they are
                member.set_(member.detach().to(target))
                if member.grad is not None:
                    member.grad = member.grad.detach().to(target)
        return self

    def float(self):
        return self.to(backend.float32)

    def double(self):
        return self.to(backend.float64)

    # -- state dicts -------------------------------------------------------------------------------------

    def state_dict(self):
        """{dotted name: tensor} for every parameter and buffer (see nn/state_dict.py)."""
        return state_dict.module_state_dict(self)

    def load_state_dict(self, state_dict_to_load, strict=True):
        """Copy values from a state dict into this module's parameters and buffers (see nn/state_dict.py).
        Returns (missing_keys, unexpected_keys)."""
        return state_dict.load_module_state_dict(self, state_dict_to_load, strict)

    # -- printing ----------------------------------------------------------------------------------------

    def extra_repr(self):
        """The text inside the parentheses of this module's repr line (layer sizes, say)."""
        return ""

    def __repr__(self):
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        if self.extra_repr():
            lines.append(f"  {self.extra_repr()}")
        for name, child in children:
            child_text = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_text}")
        lines.append(")")
        return "\n".join(lines)
