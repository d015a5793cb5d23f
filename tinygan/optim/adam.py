"""Adam, as torch.optim.Adam: the optimizer of most GANs.

    opt = tg.optim.Adam(G.parameters(), lr=1e-4, betas=(0.5, 0.999))
    opt.zero_grad(); loss.backward(); opt.step()

The update rule is written line by line after PyTorch's documented algorithm (the pseudo-code is in the class's
docstring, t counts steps from 1), with the same defaults and the same order of operations, so results agree with
torch.optim to rounding. It changes the parameters' own arrays in place (mul_, add_, addcdiv_), on their device,
and never brings a value to the host: a training loop on the GPU does not wait for it.
"""

from .. import ops
from ..factories import zeros_like
from ..fast.fused_adam import FlatBufferAdam
from .optimizer import Optimizer


class Adam(Optimizer):
    r"""Adam (Kingma and Ba, 2015), with the AMSGrad variant, as torch.optim.Adam.

    lr (gamma), betas (beta_1, beta_2), eps (epsilon), weight_decay (lambda), amsgrad, maximize:

        m_0 <- 0, v_0 <- 0, v_0^max <- 0
        for t = 1, 2, ...:
            g_t <- -grad f(theta_{t-1}) if maximize else grad f(theta_{t-1})
            if lambda != 0:  g_t <- g_t + lambda theta_{t-1}
            m_t <- beta_1 m_{t-1} + (1 - beta_1) g_t
            v_t <- beta_2 v_{t-1} + (1 - beta_2) g_t^2
            m^_t <- m_t / (1 - beta_1^t)
            if amsgrad:
                v_t^max <- max(v_{t-1}^max, v_t)
                v^_t <- v_t^max / (1 - beta_2^t)
            else:
                v^_t <- v_t / (1 - beta_2^t)
            theta_t <- theta_{t-1} - gamma m^_t / (sqrt(v^_t) + epsilon)

    The last line is computed as PyTorch computes it, with the bias corrections as Python numbers:
        theta_t <- theta_{t-1} - (gamma / (1 - beta_1^t)) m_t / (sqrt(v_t) / sqrt(1 - beta_2^t) + epsilon)

    state: 'step' (t), 'exp_avg' (m_t), 'exp_avg_sq' (v_t) and, with amsgrad, 'max_exp_avg_sq' (v_t^max).

    fused=True runs the same rule with the moments of a whole parameter group in one flat array each
    (tinygan/fast/fused_adam.py): the same numbers, bit for bit, in a dozen array operations a group instead of
    ten a parameter. It is worth it for small networks, where Python overhead dominates a step.

    capturable=True keeps t in a tensor and computes the bias corrections from it with tensor ops (Optimizer's
    docstring says why): the same numbers, bit for bit. With fused=True too, the step counts of a group sit in
    one array and their bias corrections are computed together (a compiled step records a few dozen
    operations a group instead of twenty a parameter).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 maximize=False, fused=False, capturable=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize)
        super().__init__(params, defaults, capturable)
        self.fused = FlatBufferAdam(self) if fused else None

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        if self.fused is not None:
            self.fused = FlatBufferAdam(self)   # new state tensors: the flat buffers are rebuilt from them

    def _update_group(self, group, params):
        if self.fused is not None:
            self.fused.update_group(group, params)
        else:
            super()._update_group(group, params)

    def _check_hyperparameters(self, group):
        self._check_non_negative(group, "lr", "eps", "weight_decay")
        betas = group["betas"]
        self._require(isinstance(betas, (tuple, list)) and len(betas) == 2,
                      f"betas must be a pair (beta_1, beta_2), got {betas!r}")
        for index, beta in enumerate(betas):
            self._require(0.0 <= beta < 1.0, f"invalid betas[{index}] {beta!r}; it must be in [0, 1)")

    def _update(self, param, grad, state, group):
        beta1, beta2 = group["betas"]
        if not state:
            state["exp_avg"] = zeros_like(param)
            state["exp_avg_sq"] = zeros_like(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = zeros_like(param)
            state["step"] = self._step_count(param, 0)
        state["step"] += 1
        t = state["step"]

        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        if group["amsgrad"]:
            max_exp_avg_sq = state["max_exp_avg_sq"]
            max_exp_avg_sq.copy_(ops.maximum(max_exp_avg_sq, exp_avg_sq))
            exp_avg_sq = max_exp_avg_sq  # from here on v_t means v_t^max
        if self.capturable:
            # t is a float64 0-d tensor: the same float64 arithmetic as the Python numbers below, in tensor ops,
            # converted to the parameter's dtype where it meets the parameter (as a Python number would be)
            step_size = (-group["lr"] / (1 - beta1 ** t)).to(param.dtype)
            bias_correction2_sqrt = ((1 - beta2 ** t) ** 0.5).to(param.dtype)
        else:
            # Python numbers (t is an int), so no tensor work and no host round trip for the bias corrections
            step_size = -group["lr"] / (1 - beta1 ** t)
            bias_correction2_sqrt = (1 - beta2 ** t) ** 0.5
        denominator = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(group["eps"])
        param.addcdiv_(exp_avg, denominator, value=step_size)
