"""Tensor: the array users hold, with the arithmetic, the methods and the in-place updates.

What autograd needs of a tensor (data, requires_grad, grad, grad_fn, the version counter, backward, detach) is in
``autograd.TensorBase``, which Tensor derives from. Everything here is a door into the ops: each operator and
method is a one-line call to the function of the same name in tinygan/ops/, so a reader looking for how
``x.exp()`` is differentiated goes to ``ops/basic.py``'s ``Exp``. The factories (tg.tensor, zeros, randn, ...) are
in factories.py.
"""

from . import backend, ops
from .autograd import TensorBase
from .grad_mode import is_grad_enabled
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
    def _make(data, requires_grad=False, grad_fn=None, output_nr=0, version_counter=None):
        """Wrap an array without checks or copies: the one way tinygan makes a tensor of an array it owns (ops,
        the engine, the factories). ``version_counter`` None starts a new counter."""
        tensor = Tensor.__new__(Tensor)   # the fields of _set_fields, set here directly: every op result is made here
        tensor.array = data
        tensor._requires_grad = requires_grad
        tensor.grad = None
        tensor.grad_fn = grad_fn
        tensor.output_nr = output_nr
        tensor._version_counter = [0] if version_counter is None else version_counter
        return tensor

    def _set_fields(self, data, requires_grad, grad_fn, output_nr, version_counter):
        self.array = data
        self._requires_grad = requires_grad
        self.grad = None
        self.grad_fn = grad_fn
        self.output_nr = output_nr
        self._version_counter = [0] if version_counter is None else version_counter

    # ------------------------------------------------------------------------------------------------------
    # attributes
    # ------------------------------------------------------------------------------------------------------

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

    @property
    def size(self):
        """Number of elements, as NumPy's ``size`` (PyTorch's ``numel()``)."""
        return self.array.size

    def numel(self):
        return self.array.size

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

    def to(self, target):
        """A copy on another device ("cpu", "cuda") or of another dtype (tg.float64), differentiable.

        Returns self when nothing changes, as PyTorch does.
        """
        if backend.is_device_spec(target):
            return ops.to_device(self, target)
        return ops.cast(self, target)

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
    # in-place updates (for optimizers and initializers)
    # ------------------------------------------------------------------------------------------------------

    def _check_inplace(self, op_name):
        if is_grad_enabled():
            if self.grad_fn is not None:
                raise RuntimeError(
                    f"{op_name}: in-place changes to a tensor made by an op ({self.grad_fn!r}) are not supported "
                    f"while autograd records; use the out-of-place op, or do it under tg.no_grad() on a "
                    f"tensor you no longer differentiate through")
            if self._requires_grad:
                raise RuntimeError(
                    f"{op_name}: a leaf tensor that requires grad cannot be changed in place while autograd "
                    f"records (the change would not be differentiated); wrap the update in `with tg.no_grad():`")

    def _inplace_operand(self, op_name, other):
        """The raw array to combine with self in place, with the same dtype and a shape that fits self."""
        if isinstance(other, Tensor):
            if other.device != self.device:
                raise ValueError(f"{op_name}: self is on {self.device} but the other tensor is on {other.device}")
            if other.requires_grad and is_grad_enabled():
                raise RuntimeError(f"{op_name}: the other tensor requires grad, but in-place ops are not recorded "
                                   f"by autograd, so its gradient would be lost; use the out-of-place op, or "
                                   f"pass other.detach() if no gradient should flow")
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
            return other
        raise TypeError(f"{op_name}: expected a Tensor or a number, got {type(other).__name__}")

    def add_(self, other, alpha=1):
        """self += alpha * other, in place."""
        self._check_inplace("add_")
        value = self._inplace_operand("add_", other)
        xp = self.device.xp
        if alpha != 1:
            value = value * _like_self(self, alpha)
        xp.add(self.array, value, out=self.array)
        return self._bump_version()

    def sub_(self, other, alpha=1):
        """self -= alpha * other, in place."""
        return self.add_(other, alpha=-alpha)

    def mul_(self, other):
        """self *= other, in place."""
        self._check_inplace("mul_")
        value = _like_self(self, self._inplace_operand("mul_", other))
        self.device.xp.multiply(self.array, value, out=self.array)
        return self._bump_version()

    def div_(self, other):
        """self /= other, in place."""
        self._check_inplace("div_")
        value = _like_self(self, self._inplace_operand("div_", other))
        self.device.xp.divide(self.array, value, out=self.array)
        return self._bump_version()

    def addcmul_(self, tensor1, tensor2, value=1):
        """self += value * tensor1 * tensor2, in place (Adam's second-moment update)."""
        self._check_inplace("addcmul_")
        product = self._inplace_operand("addcmul_", tensor1) * self._inplace_operand("addcmul_", tensor2)
        self.device.xp.add(self.array, product * _like_self(self, value), out=self.array)
        return self._bump_version()

    def addcdiv_(self, tensor1, tensor2, value=1):
        """self += value * tensor1 / tensor2, in place (Adam's and RMSprop's parameter update)."""
        self._check_inplace("addcdiv_")
        quotient = self._inplace_operand("addcdiv_", tensor1) / self._inplace_operand("addcdiv_", tensor2)
        self.device.xp.add(self.array, quotient * _like_self(self, value), out=self.array)
        return self._bump_version()

    def clamp_(self, min=None, max=None):
        """Limit every element to [min, max], in place (WGAN weight clipping)."""
        self._check_inplace("clamp_")
        self.device.xp.clip(self.array, min, max, out=self.array)
        return self._bump_version()

    def fill_(self, value):
        """Set every element to ``value``, in place."""
        self._check_inplace("fill_")
        self.array.fill(value)
        return self._bump_version()

    def set_(self, source):
        """Make self hold ``source``'s data (its shape, dtype and device may differ from self's), in place:
        how Module.to moves a parameter to another device or dtype while it stays the same Parameter object."""
        self._check_inplace("set_")
        self.array = source.array
        return self._bump_version()

    def zero_(self):
        """Set every element to 0, in place."""
        return self.fill_(0)

    def copy_(self, source):
        """Copy ``source``'s values into self, in place (broadcast to self's shape)."""
        self._check_inplace("copy_")
        value = self._inplace_operand("copy_", source)
        self.array[...] = value
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
    # methods that mirror the functions in ops.py
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

    def softplus(self):
        return ops.softplus(self)

    def logsigmoid(self):
        return ops.logsigmoid(self)

    def clamp(self, min=None, max=None):
        return ops.clamp(self, min, max)

    clip = clamp

    def maximum(self, other):
        return ops.maximum(self, other)

    def minimum(self, other):
        return ops.minimum(self, other)

    def sum(self, axis=None, keepdims=False):
        return ops.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return ops.mean(self, axis, keepdims)

    def var(self, axis=None, ddof=0, keepdims=False):
        return ops.var(self, axis, ddof, keepdims)

    def std(self, axis=None, ddof=0, keepdims=False):
        return ops.std(self, axis, ddof, keepdims)

    def max(self, axis=None, keepdims=False):
        return ops.max(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        return ops.min(self, axis, keepdims)

    def logsumexp(self, axis=None, keepdims=False):
        return ops.logsumexp(self, axis, keepdims)

    def norm(self, axis=None, keepdims=False):
        return ops.norm(self, axis, keepdims)

    def argmax(self, axis=None, keepdims=False):
        return ops.argmax(self, axis, keepdims)

    def argmin(self, axis=None, keepdims=False):
        return ops.argmin(self, axis, keepdims)

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

    def any(self, axis=None, keepdims=False):
        return ops.any(self, axis, keepdims)

    def all(self, axis=None, keepdims=False):
        return ops.all(self, axis, keepdims)

    def reshape(self, *shape):
        return ops.reshape(self, _shape_arg(shape))

    def view(self, *shape):
        return ops.reshape(self, _shape_arg(shape))

    def transpose(self, *axes):
        return ops.transpose(self, _shape_arg(axes) if axes else None)

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

    def squeeze(self, axis=None):
        return ops.squeeze(self, axis)

    def unsqueeze(self, axis):
        return ops.unsqueeze(self, axis)

    def flatten(self, start_dim=0, end_dim=-1):
        return ops.flatten(self, start_dim, end_dim)


def _like_self(tensor, value):
    """A Python number as a scalar of the tensor's dtype, so in-place arithmetic cannot promote it."""
    return tensor.array.dtype.type(value) if backend.is_scalar(value) else value


def _shape_arg(args):
    """Accept both x.reshape(2, 3) and x.reshape((2, 3))."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)
