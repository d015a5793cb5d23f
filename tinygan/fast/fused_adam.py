"""Adam with the moments of a parameter group in flat buffers: ``tg.optim.Adam(params, fused=True)``.

The same numbers as Adam's plain update (tinygan/optim/adam.py), bit for bit, with or without capturable=True;
tests/test_fast.py checks it.
"""

from .. import backend
from ..backend.recording import recording_now
from ..tensor import Tensor


class FlatBufferAdam:
    """The fused path of one Adam optimizer: each of its parameter groups in flat buffers (_FlatBuffers).

    A group is updated in flat buffers when it can be: one device and dtype for every parameter and gradient,
    gradients of their parameters' shapes, and (unless the optimizer is capturable, where each parameter's step
    count has its own place in a buffer) every parameter at the same step. Otherwise (a parameter skipped a step,
    say) the group's parameters are updated one by one with Adam's plain rule. The buffers are rebuilt, keeping
    the values, when the group's parameters with a gradient change or a state tensor was replaced
    (load_state_dict).
    """

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.groups = {}   # id(parameter group) -> its _FlatBuffers, made on the group's first step

    def update_group(self, group, params):
        states = [self.optimizer.state.setdefault(param, {}) for param in params]
        capturable = self.optimizer.capturable
        if not _FlatBuffers.applies(params, states, capturable):
            return self._one_by_one(group, params, states)
        buffers = self.groups.get(id(group))
        if buffers is None or not buffers.matches(params, states, group["amsgrad"]):
            if recording_now():
                # new buffers would be arrays the recording (tg.compile) never saw: update one by one this
                # time (the same numbers, all of it recorded); the buffers are made at the next eager step
                return self._one_by_one(group, params, states)
            buffers = self.groups[id(group)] = _FlatBuffers(params, states, group["amsgrad"], capturable)
        buffers.step(params, states, group)

    def _one_by_one(self, group, params, states):
        """Adam's plain update, a parameter at a time."""
        for param, state in zip(params, states):
            self.optimizer._update(param, param.grad, state, group)

    def __getstate__(self):
        # copy.deepcopy and pickle of an optimizer: the copy rebuilds its buffers from its own state on its next
        # step (a copy of a view into a flat buffer is no longer a view)
        return {"optimizer": self.optimizer, "groups": {}}


class _FlatBuffers:
    """One parameter group's Adam state in flat buffers, and its update (what it fuses and why).

    Adam._update spends about ten array operations per parameter (twenty with capturable=True, whose bias
    corrections are tensor work too), each a Python call with its checks, or a recorded instruction in a
    compiled step; for the small networks of a toy GAN that overhead, not the arithmetic, is most of an
    optimizer step. Here the moments m_t and v_t of all the group's parameters live in one flat array each, so
    each line of the update rule is one array operation for the whole group. Only gathering the gradients (one
    concatenate) and adding each parameter's update stay per parameter. On the GPU that is also a dozen kernel
    launches per group instead of a dozen per parameter.

    capturable=True: every parameter's step count t lives in one float64 array (its state['step'] is a 0-d view
    of its entry), the bias corrections are computed for all of them at once with the float64 array operations
    Adam's capturable path uses on each, and each is spread over its parameter's elements (one gather). The flat
    arrays are held by Tensors and read through them at every step, so that a recording (tg.compile), which
    watches the arrays of tensors, sees every operation.

    The numbers are Adam._update's, bit for bit: the same elementwise operations in the same order and dtype
    (Python numbers become scalars of the parameters' dtype, as the in-place Tensor methods make them).
    Each parameter's state tensors ('exp_avg', ...) are views into the flat buffers, so ``state``, state_dict
    and the one-by-one path all see the live values. The buffers are rebuilt, keeping the values, when the
    group's parameters with a gradient change or a state tensor was replaced (load_state_dict).
    """

    @staticmethod
    def applies(params, states, capturable):
        """True when the group can be updated at once: one device and dtype for every parameter and gradient,
        gradients of their parameters' shapes, and (counts kept in Python) every parameter at the same step."""
        first = params[0].array
        kind, dtype = type(first), first.dtype
        for param, state in zip(params, states):
            data, grad = param.array, param.grad.array
            if (type(data) is not kind or data.dtype != dtype or type(grad) is not kind or grad.dtype != dtype
                    or grad.shape != data.shape):
                return False
            if not capturable and state.get("step", 0) != states[0].get("step", 0):
                return False
        return True

    def __init__(self, params, states, amsgrad, capturable):
        first = params[0].array
        self.xp, self.kind, self.dtype = backend.array_namespace(first), type(first), first.dtype
        self.amsgrad, self.capturable = amsgrad, capturable
        self.sizes = [param.array.size for param in params]
        total = sum(self.sizes)
        names = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
        self.flat = {name: Tensor._make(self.xp.zeros(total, dtype=self.dtype)) for name in names}
        self.grad = Tensor._make(self.xp.empty(total, dtype=self.dtype))   # the gathered gradients
        self.work = Tensor._make(self.xp.empty(total, dtype=self.dtype))   # scratch; at the end, the updates
        if capturable:
            self.flat["step"] = Tensor._make(self.xp.zeros(len(params), dtype=backend.float64))
        self.params, self.views = list(params), []
        offset = 0
        for index, (param, state) in enumerate(zip(params, states)):
            shape, end = param.array.shape, offset + param.array.size
            views = {name: buffer.array[offset:end].reshape(shape) for name, buffer in self.flat.items()
                     if name != "step"}
            if capturable:
                views["step"] = self.flat["step"].array[index:index + 1].reshape(())
            for name, view in views.items():
                if name in state:
                    view[...] = state[name].array  # keep the values so far (a resumed or one-by-one run)
                state[name] = Tensor._make(view)
            state.setdefault("step", 0)
            self.views.append(views)
            offset = end

    def matches(self, params, states, amsgrad):
        """True if these buffers still hold exactly these parameters' state: each state tensor still views its
        place in the buffers (load_state_dict, ``.data =`` or ``set_`` would have given it other memory)."""
        if (len(params) != len(self.params) or amsgrad != self.amsgrad
                or not isinstance(params[0].array, self.kind) or params[0].array.dtype != self.dtype):
            return False
        for param, mine, state, views in zip(params, self.params, states, self.views):
            if param is not mine or param.array.size != views["exp_avg"].size:
                return False
            for name, view in views.items():
                tensor = state.get(name)
                if tensor is None or not _is_view(tensor.array, view):
                    return False
        return True

    def step(self, params, states, group):
        """Adam._update for every parameter of the group, line by line on the flat buffers."""
        xp, grad, work = self.xp, self.grad.array, self.work.array
        f = self.dtype.type
        beta1, beta2 = group["betas"]
        xp.concatenate([param.grad.array.reshape(-1) for param in params], out=grad)
        if group["maximize"]:
            xp.negative(grad, out=grad)
        if group["weight_decay"] != 0:                               # g <- g + lambda theta
            xp.concatenate([param.array.reshape(-1) for param in params], out=work)
            xp.multiply(work, f(group["weight_decay"]), out=work)
            xp.add(grad, work, out=grad)
        exp_avg, exp_avg_sq = self.flat["exp_avg"].array, self.flat["exp_avg_sq"].array
        xp.multiply(exp_avg, f(beta1), out=exp_avg)                  # m <- beta1 m + (1 - beta1) g
        xp.multiply(grad, f(1 - beta1), out=work)
        xp.add(exp_avg, work, out=exp_avg)
        xp.multiply(exp_avg_sq, f(beta2), out=exp_avg_sq)            # v <- beta2 v + (1 - beta2) g^2
        xp.multiply(grad, grad, out=work)
        xp.multiply(work, f(1 - beta2), out=work)
        xp.add(exp_avg_sq, work, out=exp_avg_sq)
        if self.amsgrad:                                             # v^max <- max(v^max, v)
            max_exp_avg_sq = self.flat["max_exp_avg_sq"].array
            exp_avg_sq = xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        if self.capturable:
            # each parameter's own t, and its bias corrections, in float64 array operations (Adam's capturable
            # path), then in the parameters' dtype, spread over each parameter's elements (repeat: each number
            # copied size times; in NumPy several times faster than gathering them with an index of every element,
            # while CuPy copies one slice per parameter, a kernel each)
            t = self.flat["step"].array
            xp.add(t, 1, out=t)
            step_size = xp.divide(-group["lr"], xp.subtract(1.0, xp.power(beta1, t))).astype(self.dtype)
            bias_correction2_sqrt = xp.power(xp.subtract(1.0, xp.power(beta2, t)), 0.5).astype(self.dtype)
            step_size = xp.repeat(step_size, self.sizes)
            bias_correction2_sqrt = xp.repeat(bias_correction2_sqrt, self.sizes)
        else:
            t = states[0]["step"] + 1
            step_size = f(-group["lr"] / (1 - beta1 ** t))
            bias_correction2_sqrt = f((1 - beta2 ** t) ** 0.5)
        xp.sqrt(exp_avg_sq, out=work)                                # sqrt(v) / sqrt(1 - beta2^t) + eps
        xp.divide(work, bias_correction2_sqrt, out=work)
        xp.add(work, f(group["eps"]), out=work)
        xp.divide(exp_avg, work, out=work)                           # -(lr / (1 - beta1^t)) m / (...)
        xp.multiply(work, step_size, out=work)
        offset = 0
        for param, state, size in zip(params, states, self.sizes):
            # sliced here from the array ``self.work`` holds now (not kept from the start): inside a recording
            # that is the recording's view, through which every operation is seen
            update = work[offset:offset + size].reshape(param.array.shape)
            xp.add(param.array, update, out=param.array)               # theta <- theta + update, in place
            param._bump_version()
            for name in self.flat:
                state[name]._bump_version()
            if not self.capturable:
                state["step"] = t
            offset += size


def _is_view(array, view):
    """Whether ``array`` is ``view``, or (inside a recording, tinygan/fast/compiler.py, which gives every tensor a
    RecordingArray viewing its array) a view of exactly ``view``."""
    return array is view or getattr(array, "base", None) is view
