"""Optimizers and learning-rate schedules, as in torch.optim.

    opt = tg.optim.Adam([w, b], lr=1e-4, betas=(0.5, 0.999))
    for x in batches:
        opt.zero_grad()              # .grad = None for every parameter
        loss(x).backward()           # fills .grad
        opt.step()                   # updates the parameters in place, under no_grad

    optimizer.py     the Optimizer base class: parameter groups, state, zero_grad, step, state dicts
    adam.py          Adam (fused=True: the same update in flat buffers, tinygan/fast/fused_adam.py)
    adamw.py         AdamW
    sgd.py           SGD, with (Nesterov) momentum
    rmsprop.py       RMSprop
    lr_scheduler.py  StepLR, ExponentialLR, LambdaLR, CosineAnnealingLR (tg.optim.lr_scheduler, as in PyTorch)
"""

from . import lr_scheduler
from .adam import Adam
from .adamw import AdamW
from .lr_scheduler import CosineAnnealingLR, ExponentialLR, LambdaLR, LRScheduler, StepLR
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler", "LRScheduler", "StepLR", "ExponentialLR",
           "LambdaLR", "CosineAnnealingLR"]
