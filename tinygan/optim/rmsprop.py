"""RMSprop, as torch.optim.RMSprop: the optimizer of the original WGAN."""

from ..factories import zeros_like
from .optimizer import Optimizer


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture notes; centered: Graves, 2013), as torch.optim.RMSprop; WGAN's optimizer.

    lr (gamma), alpha, eps (epsilon), weight_decay (lambda), momentum (mu), centered, maximize:

        v_0 <- 0, b_0 <- 0, g^ave_0 <- 0
        for t = 1, 2, ...:
            g_t <- -grad f(theta_{t-1}) if maximize else grad f(theta_{t-1})
            if lambda != 0:  g_t <- g_t + lambda theta_{t-1}
            v_t <- alpha v_{t-1} + (1 - alpha) g_t^2
            v~_t <- v_t
            if centered:
                g^ave_t <- alpha g^ave_{t-1} + (1 - alpha) g_t
                v~_t <- v~_t - (g^ave_t)^2
            if mu > 0:
                b_t <- mu b_{t-1} + g_t / (sqrt(v~_t) + epsilon)
                theta_t <- theta_{t-1} - gamma b_t
            else:
                theta_t <- theta_{t-1} - gamma g_t / (sqrt(v~_t) + epsilon)

    epsilon is added after the square root (TensorFlow adds it inside). state: 'step' (t), 'square_avg' (v_t),
    with momentum 'momentum_buffer' (b_t), when centered 'grad_avg' (g^ave_t).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, *,
                 maximize=False, capturable=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        super().__init__(params, defaults, capturable)

    def _check_hyperparameters(self, group):
        self._check_non_negative(group, "lr", "eps", "momentum", "weight_decay", "alpha")

    def _update(self, param, grad, state, group):
        alpha, momentum = group["alpha"], group["momentum"]
        if not state:
            state["step"] = self._step_count(param, 0)
            state["square_avg"] = zeros_like(param)
            if momentum > 0:
                state["momentum_buffer"] = zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = zeros_like(param)
        state["step"] += 1

        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        square_avg = state["square_avg"]
        square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg.mul_(alpha).add_(grad, alpha=1 - alpha)
            denominator = (square_avg - grad_avg * grad_avg).sqrt()
        else:
            denominator = square_avg.sqrt()
        denominator.add_(group["eps"])
        if momentum > 0:
            buffer = state["momentum_buffer"]
            buffer.mul_(momentum).addcdiv_(grad, denominator)
            param.add_(buffer, alpha=-group["lr"])
        else:
            param.addcdiv_(grad, denominator, value=-group["lr"])
