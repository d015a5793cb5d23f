"""Learning-rate schedules, as torch.optim.lr_scheduler: StepLR, ExponentialLR, LambdaLR, CosineAnnealingLR.

    scheduler = tg.optim.lr_scheduler.StepLR(opt, step_size=1000, gamma=0.5)
    for epoch in ...: train(...); opt.step(); scheduler.step()
"""

import math

from .optimizer import Optimizer


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


class LambdaLR(LRScheduler):
    """lr = initial_lr * lr_lambda(epoch), with one function for every group or a list of one per group."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        count = len(optimizer.param_groups)
        self.lr_lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * count
        if len(self.lr_lambdas) != count:
            raise ValueError(f"LambdaLR: {len(self.lr_lambdas)} functions for {count} parameter groups")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base_lr * lr_lambda(self.last_epoch) for base_lr, lr_lambda in zip(self.base_lrs, self.lr_lambdas)]

    def state_dict(self):
        return {name: value for name, value in super().state_dict().items() if name != "lr_lambdas"}


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing (Loshchilov and Hutter, 2017): from initial_lr down to eta_min over T_max epochs,

        lr_epoch = eta_min + (initial_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2,

    computed step by step from the current lr as PyTorch does (chainable), so values agree with torch's."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        if not isinstance(T_max, int) or T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive int, got {T_max!r}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        epoch, period, low = self.last_epoch, self.T_max, self.eta_min
        if epoch == 0:
            return lrs
        if (epoch - 1 - period) % (2 * period) == 0:
            return [lr + (base_lr - low) * (1 - math.cos(math.pi / period)) / 2
                    for lr, base_lr in zip(lrs, self.base_lrs)]
        return [(1 + math.cos(math.pi * epoch / period)) / (1 + math.cos(math.pi * (epoch - 1) / period)) * (lr - low)
                + low for lr in lrs]
