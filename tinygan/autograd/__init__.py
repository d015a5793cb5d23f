"""Automatic differentiation, PyTorch's ``torch.autograd`` by name:

    engine.py     what a tensor remembers, Function, the graph node, backward and grad (read this first)
    checks.py     the checks the engine calls where misuse shows (version counters, freed graphs, devices, ...)
    grad_mode.py  no_grad, enable_grad, set_grad_enabled
    gradcheck.py  gradcheck and gradgradcheck: backward against finite differences

    (gx,) = tg.autograd.grad(outputs=y, inputs=[x], create_graph=True)
    tg.autograd.gradcheck(fn, (x,))
"""

from .checks import once_differentiable
from .engine import Context, Function, TensorBase, grad, run_backward, topological_order
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
