"""Adam with the moments of a parameter group in flat buffers: ``tg.optim.Adam(params, fused=True)``.

The same numbers as Adam's plain update (tinygan/optim/adam.py), bit for bit; tests/test_fast.py checks it.
"""

from .. import backend
from ..tensor import Tensor


class FlatBufferAdam:
    """The fused path of one Adam optimizer: each of its parameter groups in flat buffers (_FlatBuffers).

    A group is updated in flat buffers when it can be: one device and dtype for every parameter and gradient,
    gradients of their parameters' shapes, and every parameter at the same step. Otherwise (a parameter skipped a
    step, say) the group's parameters are updated one by one with Adam's plain rule. The buffers are rebuilt,
    keeping the values, when the group's parameters with a gradient change or a state tensor was replaced
    (load_state_dict).
    """

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.groups = {}   # id(parameter group) -> its _FlatBuffers, made on the group's first step

    def update_group(self, group, params):
        states = [self.optimizer.state.setdefault(param, {}) for param in params]
        if not _FlatBuffers.applies(params, states):
            for param, state in zip(params, states):
                self.optimizer._update(param, param.grad, state, group)
            return
        buffers = self.groups.get(id(group))
        if buffers is None or not buffers.matches(params, states, group["amsgrad"]):
            buffers = self.groups[id(group)] = _FlatBuffers(params, states, group["amsgrad"])
        buffers.step(params, states, group)

    def __getstate__(self):
        # copy.deepcopy and pickle of an optimizer: the copy rebuilds its buffers from its own state on its next
        # step (a copy of a view into a flat buffer is no longer a view)
        return {"optimizer": self.optimizer, "groups": {}}


class _FlatBuffers:
    """One parameter group's Adam state in flat buffers, and its update (what it fuses and why).

    Adam._update spends about ten array operations per parameter, each a Python call with its checks; for the
    small networks of a toy GAN that Python overhead, not the arithmetic, is most of an optimizer step. Here
    the moments m_t and v_t of all the group's parameters live in one flat array each, so each line of the
    update rule is one array operation for the whole group. Only gathering the gradients (one concatenate)
    and adding each parameter's update stay per parameter. On the GPU that is also a dozen kernel launches
    per group instead of a dozen per parameter.

    The numbers are Adam._update's, bit for bit: the same elementwise operations in the same order and dtype
    (Python numbers become scalars of the parameters' dtype, as the in-place Tensor methods make them).
    Each parameter's state tensors ('exp_avg', ...) are views into the flat buffers, so ``state``, state_dict
    and the one-by-one path all see the live values. The buffers are rebuilt, keeping the values, when the
    group's parameters with a gradient change or a state tensor was replaced (load_state_dict).
    """

    @staticmethod
    def applies(params, states):
        """True when the group can be updated at once: one device and dtype for every parameter and gradient,
        gradients of their parameters' shapes, and every parameter at the same step."""
        first = params[0].array
        kind, dtype, step = type(first), first.dtype, states[0].get("step", 0)
        for param, state in zip(params, states):
            data, grad = param.array, param.grad.array
            if (type(data) is not kind or data.dtype != dtype or type(grad) is not kind or grad.dtype != dtype
                    or grad.shape != data.shape or state.get("step", 0) != step):
                return False
        return True

    def __init__(self, params, states, amsgrad):
        first = params[0].array
        self.xp, self.kind, self.dtype, self.amsgrad = backend.array_namespace(first), type(first), first.dtype, amsgrad
        names = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
        total = sum(param.array.size for param in params)
        self.buffers = {name: self.xp.zeros(total, dtype=self.dtype) for name in names}
        self.grad = self.xp.empty(total, dtype=self.dtype)   # the gathered gradients
        self.work = self.xp.empty(total, dtype=self.dtype)   # scratch; at the end, every parameter's update
        self.params, self.views, self.updates = list(params), [], []
        offset = 0
        for param, state in zip(params, states):
            shape, end = param.array.shape, offset + param.array.size
            views = {}
            for name, buffer in self.buffers.items():
                view = buffer[offset:end].reshape(shape)
                if name in state:
                    view[...] = state[name].array  # keep the values so far (a resumed or one-by-one run)
                state[name] = Tensor._make(view)
                views[name] = view
            state.setdefault("step", 0)
            self.views.append(views)
            self.updates.append(self.work[offset:end].reshape(shape))
            offset = end

    def matches(self, params, states, amsgrad):
        """True if these buffers still hold exactly these parameters' state."""
        if (len(params) != len(self.params) or amsgrad != self.amsgrad or type(params[0].array) is not self.kind
                or params[0].array.dtype != self.dtype):
            return False
        for param, mine, state, views in zip(params, self.params, states, self.views):
            if param is not mine or param.array.shape != views["exp_avg"].shape:
                return False
            for name, view in views.items():
                tensor = state.get(name)
                if tensor is None or tensor.array is not view:
                    return False
        return True

    def step(self, params, states, group):
        """Adam._update for every parameter of the group, line by line on the flat buffers."""
        xp, grad, work = self.xp, self.grad, self.work
        f = self.dtype.type
        beta1, beta2 = group["betas"]
        t = states[0]["step"] + 1
        xp.concatenate([param.grad.array.reshape(-1) for param in params], out=grad)
        if group["maximize"]:
            xp.negative(grad, out=grad)
        if group["weight_decay"] != 0:                               # g <- g + lambda theta
            xp.concatenate([param.array.reshape(-1) for param in params], out=work)
            xp.multiply(work, f(group["weight_decay"]), out=work)
            xp.add(grad, work, out=grad)
        exp_avg, exp_avg_sq = self.buffers["exp_avg"], self.buffers["exp_avg_sq"]
        xp.multiply(exp_avg, f(beta1), out=exp_avg)                  # m <- beta1 m + (1 - beta1) g
        xp.multiply(grad, f(1 - beta1), out=work)
        xp.add(exp_avg, work, out=exp_avg)
        xp.multiply(exp_avg_sq, f(beta2), out=exp_avg_sq)            # v <- beta2 v + (1 - beta2) g^2
        xp.multiply(grad, grad, out=work)
        xp.multiply(work, f(1 - beta2), out=work)
        xp.add(exp_avg_sq, work, out=exp_avg_sq)
        if self.amsgrad:                                             # v^max <- max(v^max, v)
            exp_avg_sq = xp.maximum(self.buffers["max_exp_avg_sq"], exp_avg_sq, out=self.buffers["max_exp_avg_sq"])
        bias_correction1 = 1 - beta1 ** t
        bias_correction2_sqrt = (1 - beta2 ** t) ** 0.5
        xp.sqrt(exp_avg_sq, out=work)                                # sqrt(v) / sqrt(1 - beta2^t) + eps
        xp.divide(work, f(bias_correction2_sqrt), out=work)
        xp.add(work, f(group["eps"]), out=work)
        xp.divide(exp_avg, work, out=work)                           # -(lr / (1 - beta1^t)) m / (...)
        xp.multiply(work, f(-group["lr"] / bias_correction1), out=work)
        for param, update, state in zip(params, self.updates, states):
            xp.add(param.array, update, out=param.array)               # theta <- theta + update, in place
            param._bump_version()
            for name in self.buffers:
                state[name]._bump_version()
            state["step"] = t
