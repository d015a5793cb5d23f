"""Optimizers and learning-rate schedules, as in torch.optim.

    opt = tg.optim.Adam([w, b], lr=1e-4, betas=(0.5, 0.999))
    for x in batches:
        opt.zero_grad()              # .grad = None for every parameter
        loss(x).backward()           # fills .grad
        opt.step()                   # updates the parameters in place, under no_grad

    optimizer.py     the Optimizer base class: parameter groups, state, zero_grad, step, state dicts
    adam.py          Adam (fused=True: the same update in flat buffers, tinygan/fast/fused_adam.py)
    sgd.py           SGD, with (Nesterov) momentum
    rmsprop.py       RMSprop
    lr_scheduler.py  StepLR, ExponentialLR
"""

from .adam import Adam
from .lr_scheduler import ExponentialLR, LRScheduler, StepLR
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "RMSprop", "LRScheduler", "StepLR", "ExponentialLR"]
