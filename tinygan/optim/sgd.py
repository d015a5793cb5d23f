"""SGD, optionally with (Nesterov) momentum, as torch.optim.SGD."""

from .optimizer import Optimizer


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with (Nesterov) momentum, as torch.optim.SGD.

    lr (gamma), momentum (mu), dampening (tau), weight_decay (lambda), nesterov, maximize:

        for t = 1, 2, ...:
            g_t <- -grad f(theta_{t-1}) if maximize else grad f(theta_{t-1})
            if lambda != 0:  g_t <- g_t + lambda theta_{t-1}
            if mu != 0:
                b_t <- mu b_{t-1} + (1 - tau) g_t   if t > 1   else   g_t
                g_t <- g_t + mu b_t   if nesterov   else   b_t
            theta_t <- theta_{t-1} - gamma g_t

    state: 'momentum_buffer' (b_t), kept only when momentum != 0.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        self._check_non_negative(group, "lr", "momentum", "weight_decay")
        self._require(not group["nesterov"] or (group["momentum"] > 0 and group["dampening"] == 0),
                      f"Nesterov momentum requires a momentum > 0 and zero dampening, got momentum="
                      f"{group['momentum']!r} and dampening={group['dampening']!r}")

    def _update(self, param, grad, state, group):
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:  # t = 1; a copy, since grad may be param.grad itself, which zero_grad may zero
                buffer = state["momentum_buffer"] = grad.clone()
            else:
                buffer.mul_(momentum).add_(grad, alpha=1 - dampening)
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        param.add_(grad, alpha=-lr)
