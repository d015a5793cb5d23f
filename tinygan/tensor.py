"""Tensor: the array users hold, with the arithmetic, the methods and the in-place updates.

What autograd needs of a tensor (array, requires_grad, grad, grad_fn, the version counter, backward, detach) is in
``autograd.TensorBase``, which Tensor derives from. Everything here is a door into the ops: each operator and
method is a one-line call to the function of the same name in tinygan/ops/, so a reader looking for how
``x.exp()`` is differentiated goes to ``ops/basic.py``'s ``Exp``. The factories (tg.tensor, zeros, randn, ...) are
in factories.py.
"""

from . import backend, ops
from .autograd import TensorBase
from .autograd.grad_mode import is_grad_enabled
from .graph_picture import graph_dot


class Tensor(TensorBase):
    __slots__ = ()

    # Make numpy hand `numpy_scalar * tensor` to Tensor.__rmul__ instead of treating the tensor as an array.
    __array_ufunc__ = None

    def __array__(self, dtype=None, copy=None):
        raise TypeError("a tinygan Tensor is not converted to a numpy array implicitly; call .numpy() (values on "
                        "the host) or .detach().numpy() explicitly")

    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        """Tensor(data) is the same as tg.tensor(data): see that function for the dtype rules."""
        if isinstance(data, Tensor):
            data = data.array
        array = backend.to_array(data, dtype, device)
        self._set_fields(array.copy() if array is data else array, False, None, 0, None)  # never alias the caller's
        self.requires_grad = requires_grad

    @staticmethod
    def _make(array, requires_grad=False, grad_fn=None, output_nr=0, version_counter=None):
        """Wrap an array without checks or copies: the one way tinygan makes a tensor of an array it owns (ops,
        the engine, the factories). ``version_counter`` None starts a new counter."""
        tensor = Tensor.__new__(Tensor)   # the fields of _set_fields, set here directly: every op result is made here
        tensor.array = array
        tensor._requires_grad = requires_grad
        tensor.grad = None
        tensor.grad_fn = grad_fn
        tensor.output_nr = output_nr
        tensor._version_counter = [0] if version_counter is None else version_counter
        return tensor

    def _set_fields(self, array, requires_grad, grad_fn, output_nr, version_counter):
        self.array = array
        self._requires_grad = requires_grad
        self.grad = None
        self.grad_fn = grad_fn
        self.output_nr = output_nr
        self._version_counter = [0] if version_counter is None else version_counter

    # ------------------------------------------------------------------------------------------------------
    # attributes
    # ------------------------------------------------------------------------------------------------------

    @property
    def data(self):
        """The same values outside autograd, PyTorch's ``.data``: a tensor that shares this one's memory, requires
        no grad and has a version counter of its own, so autograd does not see a change made through it. That is
        what initialisers copied from PyTorch code rely on (``m.weight.data.normal_(0.0, 0.02)``,
        ``p.data.clamp_(-c, c)``). In your own code prefer ``with tg.no_grad():`` on the tensor itself, or
        ``.detach()``, whose changes autograd does see. The raw numpy/cupy array is ``.array``."""
        return Tensor._make(self.array)

    @data.setter
    def data(self, value):
        """``p.data = t``: p holds t's values from now on (their shape, dtype and device may differ), as in
        PyTorch; autograd is not told."""
        if not isinstance(value, Tensor):
            raise TypeError(f"data: assign a tinygan Tensor, got {type(value).__name__} (make one with tg.tensor)")
        self.array = value.array

    def requires_grad_(self, requires_grad=True):
        """Set requires_grad in place and return self (for leaves)."""
        self.requires_grad = requires_grad
        return self

    @property
    def shape(self):
        return self.array.shape

    @property
    def ndim(self):
        return self.array.ndim

    def size(self, dim=None):
        """PyTorch's size(): the shape as a tuple, or the length of axis ``dim``. (NumPy's ``a.size``, the number of
        elements, is ``numel()`` here: PyTorch's spelling wins where the two differ.)"""
        if dim is None:
            return self.array.shape
        return self.array.shape[ops.normalize_axis("size", dim, self.array.ndim)]

    def numel(self):
        """The number of elements."""
        return self.array.size

    def dim(self):
        """The number of axes (PyTorch's name for ndim)."""
        return self.array.ndim

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def device(self):
        return backend.device_of(self.array)

    @property
    def T(self):
        """The tensor with its axes reversed (the transpose for 2-D)."""
        return ops.transpose(self)

    @property
    def mT(self):
        """The last two axes swapped (a batch of matrices transposed)."""
        return ops.swapaxes(self, -1, -2)

    def __len__(self):
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]

    def __hash__(self):
        return id(self)

    # ------------------------------------------------------------------------------------------------------
    # host transfer, conversion, graph surgery
    # ------------------------------------------------------------------------------------------------------

    def numpy(self):
        """The values as a numpy array on the host: a read-only view on the CPU, a copy from the GPU."""
        if self.device.type == "cpu":
            return backend.read_only_view(self.array)
        return backend.to_host(self.array)

    def item(self):
        """The value of a one-element tensor as a Python number (a host transfer: it waits for the GPU)."""
        if self.array.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted to a Python number, this one has "
                             f"shape {tuple(self.shape)}")
        return self.array.item()

    def tolist(self):
        return backend.to_host(self.array).tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.array.size != 1:
            raise RuntimeError(f"bool: the truth value of a tensor with {self.array.size} elements is ambiguous; "
                               f"use .any() or .all()")
        return bool(self.item())

    def to(self, *targets, device=None, dtype=None):
        """A copy on another device ("cpu", "cuda") and/or of another dtype (tg.float64), differentiable:
        x.to("cuda"), x.to(tg.float64), x.to("cuda", tg.float64), x.to(device=..., dtype=...), x.to(other_tensor)
        (other's device and dtype). Returns self when nothing changes, as PyTorch does."""
        for target in targets:
            if isinstance(target, Tensor):
                device, dtype = target.device, target.dtype
            elif backend.is_device_spec(target):
                device = target
            elif backend.is_dtype_spec(target):
                dtype = target
            else:
                raise ValueError(f"to: {target!r} is neither a device ('cpu', 'cuda') nor a dtype (tg.float32, "
                                 f"tg.float64, 'float64', ...)")
        result = self if dtype is None else ops.cast(self, dtype)
        return result if device is None else ops.to_device(result, device)

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return ops.cast(self, backend.float32)

    def double(self):
        return ops.cast(self, backend.float64)

    def long(self):
        return ops.cast(self, backend.int64)

    def bool(self):
        return ops.cast(self, backend.bool_)

    def clone(self):
        """A copy with its own memory, differentiable (gradient passes straight through)."""
        return ops.clone(self)

    def graph(self, name="output"):
        """The graph that produced this tensor, as Graphviz DOT text (see tg.graph)."""
        return graph_dot(self, name)

    def __repr__(self):
        values = backend.format_array(self.array)
        extras = [f"dtype={self.dtype}", f"device='{self.device}'"]
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({values}, {', '.join(extras)})"

    # ------------------------------------------------------------------------------------------------------
    # in-place updates: x += y, x[i] = y, and the methods ending in _ (optimizers and initializers use them)
    # ------------------------------------------------------------------------------------------------------

    def _records(self, *operands):
        """True when autograd must see an in-place change of self by ``operands``: grad mode is on and self or an
        operand requires grad. Otherwise the change is made on the arrays and only counted (the version)."""
        return is_grad_enabled() and (self._requires_grad or any(
            isinstance(operand, Tensor) and operand._requires_grad for operand in operands))

    def _record_in_place(self, op_name, out_of_place):
        """An in-place change that autograd must see, done as PyTorch does: the result is computed out of place
        from a copy of self (``out_of_place(copy)``, recorded), written into self's memory, and self takes the
        result's place in the graph. The copy keeps what earlier nodes saved of self intact; if one saved self
        itself, its version has moved on and its backward raises."""
        if self.grad_fn is None and self._requires_grad:
            raise RuntimeError(
                f"{op_name}: a leaf tensor that requires grad is used in an in-place operation while autograd "
                f"records (PyTorch refuses it too): its gradient would describe a value that no longer exists. To "
                f"update a parameter, do it under `with tg.no_grad():`; to compute with it, use the out-of-place "
                f"op (x = x + y)")
        if self.array.base is not None:
            raise RuntimeError(
                f"{op_name}: self is a view of another tensor's memory (a slice, a reshape, a transpose); changing "
                f"it in place while autograd records would change the other tensor behind autograd's back. Use "
                f"the out-of-place op, or do it under tg.no_grad()")
        result = out_of_place(self.clone())
        if result.shape != self.shape or result.dtype != self.dtype:
            raise ValueError(f"{op_name}: the result has shape {tuple(result.shape)} and dtype {result.dtype}, but "
                             f"an in-place change must keep self's {tuple(self.shape)} and {self.dtype}")
        self.array[...] = result.array
        self.grad_fn, self.output_nr, self._requires_grad = result.grad_fn, result.output_nr, result._requires_grad
        return self._bump_version()

    def _refuse_if_recording(self, op_name, *operands):
        if self._records(*operands):
            raise RuntimeError(
                f"{op_name}: autograd does not record this in-place change, and self or an operand requires grad "
                f"while grad mode is on; do it under `with tg.no_grad():` (a parameter update), or use the "
                f"out-of-place op")

    def _inplace_operand(self, op_name, other):
        """The raw array (or number) to combine with self in place: same device, no other float dtype, a shape
        that broadcasts into self's, no float into an integer tensor. A 0-d float tensor stands for a number,
        as in PyTorch: it is rounded to self's dtype as a Python float would be (so x.mul_(beta) means the same
        for beta = 0.999 and for beta = tg.tensor(0.999, dtype=tg.float64))."""
        if isinstance(other, Tensor):
            if other.device != self.device:
                raise ValueError(f"{op_name}: self is on {self.device} but the other tensor is on {other.device}")
            if other.ndim == 0 and other.dtype != self.dtype and backend.is_floating(other.dtype) \
                    and backend.is_floating(self.dtype):
                return other.array.astype(self.dtype)
            if other.dtype != self.dtype and backend.is_floating(other.dtype):
                raise TypeError(f"{op_name}: self is {self.dtype} but the other tensor is {other.dtype}; convert "
                                f"it first (no silent dtype conversion)")
            array = other.array
            if array.ndim > self.ndim or any(o not in (1, s) for o, s in
                                             zip(array.shape[::-1], self.shape[::-1])):
                raise ValueError(f"{op_name}: a tensor of shape {tuple(array.shape)} cannot be broadcast into "
                                 f"self's shape {tuple(self.shape)}")
            return array
        if backend.is_scalar(other):
            if not backend.is_floating(self.dtype) and isinstance(other, float) and not other.is_integer():
                raise TypeError(f"{op_name}: cannot put the float {other!r} into the {self.dtype} tensor in place; "
                                f"convert it first (x = x.float())")
            return other
        raise TypeError(f"{op_name}: expected a Tensor or a number, got {type(other).__name__}")

    def add_(self, other, alpha=1):
        """self += alpha * other, in place."""
        if self._records(other):
            return self._record_in_place("add_", lambda copy: copy + (other if _is_one(alpha) else other * alpha))
        value = self._inplace_operand("add_", other)
        if not _is_one(alpha):
            value = value * _like_self(self, alpha)
        self.device.xp.add(self.array, value, out=self.array)
        return self._bump_version()

    def sub_(self, other, alpha=1):
        """self -= alpha * other, in place."""
        return self.add_(other, alpha=-alpha)

    def mul_(self, other):
        """self *= other, in place."""
        if self._records(other):
            return self._record_in_place("mul_", lambda copy: copy * other)
        value = _like_self(self, self._inplace_operand("mul_", other))
        self.device.xp.multiply(self.array, value, out=self.array)
        return self._bump_version()

    def div_(self, other):
        """self /= other, in place."""
        if self._records(other):
            return self._record_in_place("div_", lambda copy: copy / other)
        value = _like_self(self, self._inplace_operand("div_", other))
        self.device.xp.divide(self.array, value, out=self.array)
        return self._bump_version()

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __setitem__(self, key, value):
        """self[key] = value, in place (NumPy indexing; value is a number or a tensor broadcast to self[key])."""
        if self._records(value):
            self._record_in_place("__setitem__", lambda copy: ops.setitem(copy, key, value))
            return
        if isinstance(value, Tensor):
            if value.dtype != self.dtype and backend.is_floating(value.dtype):
                raise TypeError(f"__setitem__: self is {self.dtype} but the value is {value.dtype}; convert it first")
            value = value.to(self.device).array
        self.array[ops.index_key(self, key)] = value
        self._bump_version()

    def addcmul_(self, tensor1, tensor2, value=1):
        """self += value * tensor1 * tensor2, in place (Adam's second-moment update)."""
        self._refuse_if_recording("addcmul_", tensor1, tensor2)
        product = self._inplace_operand("addcmul_", tensor1) * self._inplace_operand("addcmul_", tensor2)
        self.device.xp.add(self.array, product * _like_self(self, value), out=self.array)
        return self._bump_version()

    def addcdiv_(self, tensor1, tensor2, value=1):
        """self += value * tensor1 / tensor2, in place (Adam's and RMSprop's parameter update)."""
        self._refuse_if_recording("addcdiv_", tensor1, tensor2)
        quotient = self._inplace_operand("addcdiv_", tensor1) / self._inplace_operand("addcdiv_", tensor2)
        self.device.xp.add(self.array, quotient * _like_self(self, value), out=self.array)
        return self._bump_version()

    def clamp_(self, min=None, max=None):
        """Limit every element to [min, max], in place (WGAN weight clipping)."""
        self._refuse_if_recording("clamp_")
        self.device.xp.clip(self.array, min, max, out=self.array)
        return self._bump_version()

    clip_ = clamp_   # PyTorch has both names

    def fill_(self, value):
        """Set every element to ``value``, in place."""
        self._refuse_if_recording("fill_")
        self.array.fill(value)
        return self._bump_version()

    def zero_(self):
        """Set every element to 0, in place."""
        return self.fill_(0)

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        """Fill with draws from N(mean, std^2), in place. Drawn on the host in float64 from a CPU generator (the
        default one when None) and rounded to self's dtype, so a seed gives the same values on every device."""
        self._refuse_if_recording("normal_")
        draws = backend.host_generator(generator).normal(self.shape, backend.float64)
        return self.copy_(Tensor(mean + std * draws, dtype=self.dtype, device=self.device))

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        """Fill with draws from U(a, b), in place; drawn as normal_ draws."""
        self._refuse_if_recording("uniform_")
        draws = backend.host_generator(generator).uniform(self.shape, backend.float64)
        return self.copy_(Tensor(a + (b - a) * draws, dtype=self.dtype, device=self.device))

    def copy_(self, source):
        """Copy ``source``'s values into self, in place (broadcast to self's shape)."""
        self._refuse_if_recording("copy_", source)
        value = self._inplace_operand("copy_", source)
        self.array[...] = value
        return self._bump_version()

    def set_(self, source):
        """Make self hold ``source``'s array (its shape, dtype and device may differ from self's), in place:
        how Module.to moves a parameter to another device or dtype while it stays the same Parameter object."""
        self._refuse_if_recording("set_", source)
        self.array = source.array
        return self._bump_version()

    # ------------------------------------------------------------------------------------------------------
    # operators
    # ------------------------------------------------------------------------------------------------------

    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.sub(self, other)

    def __rsub__(self, other):
        return ops.sub(other, self)

    def __mul__(self, other):
        return ops.mul(self, other)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __truediv__(self, other):
        return ops.div(self, other)

    def __rtruediv__(self, other):
        return ops.div(other, self)

    def __pow__(self, other):
        return ops.pow(self, other)

    def __rpow__(self, other):
        return ops.pow(other, self)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __neg__(self):
        return ops.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return ops.abs(self)

    def __getitem__(self, key):
        return ops.getitem(self, key)

    # comparisons: bool tensors that carry no gradient
    def __lt__(self, other):
        return ops.less(self, other)

    def __le__(self, other):
        return ops.less_equal(self, other)

    def __gt__(self, other):
        return ops.greater(self, other)

    def __ge__(self, other):
        return ops.greater_equal(self, other)

    def __eq__(self, other):
        if other is None:  # so that `t.grad == None` answers instead of raising (prefer `is None`)
            return False
        return ops.equal(self, other)

    def __ne__(self, other):
        if other is None:
            return True
        return ops.not_equal(self, other)

    def __invert__(self):
        return ops.logical_not(self)

    def __and__(self, other):
        return ops.logical_and(self, other)

    def __or__(self, other):
        return ops.logical_or(self, other)

    # ------------------------------------------------------------------------------------------------------
    # methods that mirror the functions in tinygan/ops/ (their arguments and meaning are the functions')
    # ------------------------------------------------------------------------------------------------------

    def add(self, other):
        return ops.add(self, other)

    def sub(self, other):
        return ops.sub(self, other)

    def mul(self, other):
        return ops.mul(self, other)

    def div(self, other):
        return ops.div(self, other)

    def pow(self, exponent):
        return ops.pow(self, exponent)

    def matmul(self, other):
        return ops.matmul(self, other)

    def mm(self, other):
        return ops.mm(self, other)

    def neg(self):
        return ops.neg(self)

    def exp(self):
        return ops.exp(self)

    def log(self):
        return ops.log(self)

    def log1p(self):
        return ops.log1p(self)

    def sqrt(self):
        return ops.sqrt(self)

    def abs(self):
        return ops.abs(self)

    def sin(self):
        return ops.sin(self)

    def cos(self):
        return ops.cos(self)

    def tanh(self):
        return ops.tanh(self)

    def sigmoid(self):
        return ops.sigmoid(self)

    def relu(self):
        return ops.relu(self)

    def leaky_relu(self, negative_slope=0.01):
        return ops.leaky_relu(self, negative_slope)

    def elu(self, alpha=1.0):
        return ops.elu(self, alpha)

    def softplus(self, beta=1.0):
        return ops.softplus(self, beta)

    def logsigmoid(self):
        return ops.logsigmoid(self)

    def clamp(self, min=None, max=None):
        return ops.clamp(self, min, max)

    clip = clamp   # PyTorch has both names

    def maximum(self, other):
        return ops.maximum(self, other)

    def minimum(self, other):
        return ops.minimum(self, other)

    def sum(self, *args, **kwargs):
        return ops.sum(self, *args, **kwargs)

    def mean(self, *args, **kwargs):
        return ops.mean(self, *args, **kwargs)

    def var(self, *args, **kwargs):
        return ops.var(self, *args, **kwargs)

    def std(self, *args, **kwargs):
        return ops.std(self, *args, **kwargs)

    def max(self, *args, **kwargs):
        return ops.max(self, *args, **kwargs)

    def min(self, *args, **kwargs):
        return ops.min(self, *args, **kwargs)

    def logsumexp(self, *args, **kwargs):
        return ops.logsumexp(self, *args, **kwargs)

    def norm(self, *args, **kwargs):
        return ops.norm(self, *args, **kwargs)

    def argmax(self, *args, **kwargs):
        return ops.argmax(self, *args, **kwargs)

    def argmin(self, *args, **kwargs):
        return ops.argmin(self, *args, **kwargs)

    def any(self, *args, **kwargs):
        return ops.any(self, *args, **kwargs)

    def all(self, *args, **kwargs):
        return ops.all(self, *args, **kwargs)

    def less(self, other):
        return ops.less(self, other)

    def less_equal(self, other):
        return ops.less_equal(self, other)

    def greater(self, other):
        return ops.greater(self, other)

    def greater_equal(self, other):
        return ops.greater_equal(self, other)

    def equal(self, other):
        return ops.equal(self, other)

    def not_equal(self, other):
        return ops.not_equal(self, other)

    def logical_and(self, other):
        return ops.logical_and(self, other)

    def logical_or(self, other):
        return ops.logical_or(self, other)

    def logical_not(self):
        return ops.logical_not(self)

    def isfinite(self):
        return ops.isfinite(self)

    def isnan(self):
        return ops.isnan(self)

    def sign(self):
        return ops.sign(self)

    def reshape(self, *shape):
        return ops.reshape(self, _shape_arg(shape))

    def view(self, *shape):
        return ops.reshape(self, _shape_arg(shape))

    def transpose(self, *axes):
        """NumPy's transpose(axes) or, given two axes, PyTorch's transpose(dim0, dim1): see ops.transpose."""
        return ops.transpose(self, *axes)

    def t(self):
        return ops.t(self)

    def permute(self, *axes):
        return ops.permute(self, _shape_arg(axes))

    def swapaxes(self, axis1, axis2):
        return ops.swapaxes(self, axis1, axis2)

    def expand(self, *shape):
        return ops.expand(self, _shape_arg(shape))

    def broadcast_to(self, shape):
        return ops.broadcast_to(self, shape)

    def sum_to_size(self, *size):
        """Summed over the axes that broadcasting from ``size`` would add or stretch (PyTorch's sum_to_size):
        what the engine does to the gradient of an input that forward broadcast."""
        return ops.sum_to(self, _shape_arg(size))

    def repeat(self, *sizes):
        return ops.repeat(self, *sizes)

    def split(self, split_size_or_sections, dim=0):
        return ops.split(self, split_size_or_sections, dim)

    def chunk(self, chunks, dim=0):
        return ops.chunk(self, chunks, dim)

    def squeeze(self, *args, **kwargs):
        return ops.squeeze(self, *args, **kwargs)

    def unsqueeze(self, *args, **kwargs):
        return ops.unsqueeze(self, *args, **kwargs)

    def flatten(self, start_dim=0, end_dim=-1):
        return ops.flatten(self, start_dim, end_dim)


def _is_one(number):
    """True for the number 1 (not for a tensor: alpha may be a 0-d tensor, whose value is not read)."""
    return not isinstance(number, Tensor) and number == 1


def _like_self(tensor, value):
    """A Python number as a scalar of the tensor's dtype, so in-place arithmetic cannot promote it; a tensor (a
    number kept on the device, such as a capturable Adam's step size) as its array, of the same dtype."""
    if isinstance(value, Tensor):
        return tensor._inplace_operand("value", value)
    return tensor.array.dtype.type(value) if backend.is_scalar(value) else value


def _shape_arg(args):
    """Accept both x.reshape(2, 3) and x.reshape((2, 3))."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)
