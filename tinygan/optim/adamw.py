"""AdamW (Loshchilov and Hutter, 2019), as torch.optim.AdamW: Adam with decoupled weight decay."""

from .adam import Adam


class AdamW(Adam):
    r"""Adam whose weight decay shrinks the parameters directly instead of adding lambda theta to the gradient:

        theta_{t-1} <- theta_{t-1} - gamma lambda theta_{t-1}          (then Adam's step, without weight decay)

    as torch.optim.AdamW computes it, with its default weight_decay = 0.01. (fused=True is not offered here.)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, capturable=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, capturable=capturable)

    def _update(self, param, grad, state, group):
        param.mul_(1 - group["lr"] * group["weight_decay"])
        super()._update(param, grad, state, {**group, "weight_decay": 0})
