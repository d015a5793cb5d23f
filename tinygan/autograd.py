"""Reverse-mode automatic differentiation: the graph, Function, backward and grad.

The whole idea in a paragraph. Every differentiable op is a subclass of ``Function`` with two static methods:

    forward(ctx, *arrays)  -> array(s)      computes the result on raw backend arrays (numpy or cupy)
    backward(ctx, *grads)  -> grads          given dL/d(output) as Tensors, returns dL/d(input) for each input,
                                             written with differentiable tinygan ops

``MyOp.apply(*args)`` runs forward and, when autograd is recording and an input requires grad, returns a Tensor
whose ``grad_fn`` is a ``Context``: the node of the graph. A node remembers where each input came from (the node
that made it, or the leaf tensor itself), the input shapes, and the tensors forward saved for backward.

``backward`` walks the nodes from the output to the leaves in one topological order (iteratively, so a chain of
any length works), calls each node's backward once with the sum of the gradients that reached it, sums each
input gradient back to the input's shape when forward broadcast it (the only place unbroadcasting happens), and
adds the gradients that reach leaves into their ``.grad``.

Because backward is itself written in tinygan ops, running it while autograd records (``create_graph=True``)
builds a graph of the backward pass, and differentiating that gives second derivatives: gradient penalties,
gradgradcheck and Hessian-vector products need nothing special. Without ``create_graph`` backward runs under
``no_grad`` and costs no more than a hand-written backward.
"""

import functools

from . import backend
from .backend import as_array, is_array
from .tensor import Tensor

# ---------------------------------------------------------------------------------------------------------------
# grad mode
# ---------------------------------------------------------------------------------------------------------------


class _GradMode:
    enabled = True


def is_grad_enabled():
    """True when ops record the graph (the default); False inside ``no_grad``."""
    return _GradMode.enabled


class _SetGradMode:
    """Context manager and decorator that sets grad mode and restores the previous mode on exit."""

    mode = True

    def __enter__(self):
        self._previous = _GradMode.enabled
        _GradMode.enabled = self.mode
        return self

    def __exit__(self, *exc_info):
        _GradMode.enabled = self._previous
        return False

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return function(*args, **kwargs)
        return wrapper


class no_grad(_SetGradMode):
    """``with tg.no_grad():`` (or ``@tg.no_grad()``): ops inside record no graph and their results need no grad.

    Use it for evaluation, for sampling, and for parameter updates.
    """

    mode = False


class enable_grad(_SetGradMode):
    """``with tg.enable_grad():`` turns recording back on inside a ``no_grad`` block."""

    mode = True


# ---------------------------------------------------------------------------------------------------------------
# the graph node
# ---------------------------------------------------------------------------------------------------------------


class Context:
    """A node of the graph: what one call of a Function needs to run its backward.

    A Function's forward receives it as ``ctx`` and may store anything on it (``ctx.axis = axis``); arrays it
    will need in backward go through ``ctx.save_for_backward`` so they come back as Tensors connected to the
    graph (needed for double backward) and so in-place changes to them are caught.

    Fields the engine uses:
        function          the Function subclass
        next_edges        one entry per forward argument: None (not a tensor, or needs no grad),
                          (node, output_index) for a tensor made by an op, (leaf_tensor, -1) for a leaf
        input_shapes      the shape of each tensor argument (None for others), for unbroadcasting
        needs_input_grad  a bool per argument, as in PyTorch, so backward can skip work
        output_meta       (shape, dtype) of each output, to make zero gradients for unused outputs
    """

    # Defaults live on the class so that making a Context (once per op call) only sets what differs.
    next_edges = ()
    input_shapes = ()
    needs_input_grad = ()
    output_meta = ()
    _to_save = None
    _saved = ()
    _freed = False

    def __init__(self, function, recording=False):
        self.function = function
        self._recording = recording

    # -- what forward and backward use ----------------------------------------------------------------------

    def save_for_backward(self, *arrays):
        """Keep arrays for backward. Call it in forward with input or output arrays (or None).

        An array that is one of forward's inputs or its output comes back in backward as that Tensor, so
        gradients of gradients flow through it. Any other array comes back as a constant (no gradient): save
        only inputs and outputs if your backward must itself be differentiable, and recompute the rest there.
        """
        if self._recording:
            self._to_save = arrays

    @property
    def saved_tensors(self):
        """The saved arrays as Tensors, checked: the graph must not be freed nor the tensors changed in place."""
        if self._freed:
            raise RuntimeError(
                f"{self.function.__name__}: trying to run backward through the graph a second time, but its saved "
                f"tensors were freed by the first backward. Pass retain_graph=True to the first backward (or "
                f"tg.grad) if you need to backward through the graph again.")
        tensors = []
        for kind, value, version_box, version in self._saved:
            if version_box is not None and version_box[0] != version:
                if kind == "output":
                    what = f"its own output of shape {tuple(value[0].shape)}"
                elif value.grad_fn is not None:
                    what = f"a tensor of shape {tuple(value.shape)} made by {value.grad_fn.function.__name__}"
                else:
                    what = f"a leaf tensor of shape {tuple(value.shape)}"
                raise RuntimeError(
                    f"{self.function.__name__}: {what}, saved for backward, was changed by an in-place operation "
                    f"(its version is {version_box[0]}, it was {version} when saved). Do the in-place update "
                    f"after backward, or on a copy (.clone()).")
            if kind == "output":
                array, index = value
                # Rebuilding the output Tensor from its data and this node is exact: a tensor's gradient
                # identity is (grad_fn, output index), and holding the Tensor itself would make a cycle.
                value = Tensor._make(array, True, self, index, version_box)
            tensors.append(value)
        return tuple(tensors)

    # -- engine bookkeeping ---------------------------------------------------------------------------------

    def _resolve_saved(self, args, arrays, raw_outs, out_tensors):
        """After forward: turn each saved array into (kind, value, version box, version at save time).

        ``raw_outs`` are the objects forward returned, so an output is recognised by identity even when numpy
        returned a scalar that apply then wrapped as a 0-d array (``out_tensors`` hold the wrapped arrays).
        """
        saved = []
        for array in self._to_save:
            saved.append(_saved_entry(array, args, arrays, raw_outs, out_tensors))
        self._saved = tuple(saved)
        self._to_save = None

    def _release(self):
        """Drop what backward needed so the arrays can be freed; a later backward through this node raises."""
        self._saved = ()
        self._freed = True

    def name(self):
        return f"{self.function.__name__}Backward"

    def __repr__(self):
        return f"<{self.name()}>"


def _saved_entry(array, args, arrays, raw_outs, out_tensors):
    """What Context keeps for one saved array: an input tensor, an output, or a constant (see _resolve_saved)."""
    if array is None:
        return ("constant", None, None, 0)
    for position, passed in enumerate(arrays):
        if passed is array and isinstance(args[position], Tensor):
            tensor = args[position]
            return ("input", tensor, tensor._version, tensor._version[0])
    for index, out in enumerate(raw_outs):
        if out is array:
            out_tensor = out_tensors[index]
            box = out_tensor._version
            return ("output", (out_tensor.data, index), box, box[0])
    constant = array if is_array(array) else as_array(array)
    return ("constant", Tensor._make(constant, False, None, 0, None), None, 0)


# ---------------------------------------------------------------------------------------------------------------
# Function
# ---------------------------------------------------------------------------------------------------------------


class Function:
    """Base class of every differentiable op, built-in or yours.

        class Square(tg.Function):
            @staticmethod
            def forward(ctx, x):                # x is a raw numpy/cupy array
                ctx.save_for_backward(x)
                return x * x
            @staticmethod
            def backward(ctx, grad):            # grad is a Tensor: dL/d(output)
                (x,) = ctx.saved_tensors        # a Tensor, connected to the graph
                return grad * 2 * x             # tinygan ops, so this is differentiable too

        y = Square.apply(x)

    ``apply`` takes tensors and plain Python values (axes, shapes, flags) in any order; forward gets arrays in
    place of the tensors and the plain values as they are. backward returns one gradient per forward argument
    (None for plain values or inputs that need none), of the input's shape or of a shape the input was broadcast
    to in forward: the engine sums such a gradient back to the input's shape. forward may return a tuple of
    arrays for several outputs; backward then receives one gradient per output (zeros for unused outputs).

    Set ``is_view = True`` on an op whose output may share memory with its first input (reshape, transpose,
    indexing): when it does, the two share a version counter, so an in-place change through either is caught by
    backward.
    """

    is_view = False

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("a Function subclass must define forward(ctx, *arrays)")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("a Function subclass must define backward(ctx, *grads)")

    @classmethod
    def apply(cls, *args):
        # Split the arguments: forward gets arrays where the caller passed tensors, other values as they are.
        # The same pass notes whether an input requires grad and whether the tensors share one device.
        tensors, arrays = [], []
        requires_grad = mixed_devices = False
        for arg in args:
            if isinstance(arg, Tensor):
                data = arg.data
                if tensors:
                    mixed_devices = mixed_devices or type(data) is not type(tensors[0].data)
                    for other in tensors:
                        if other.data is data and other is not arg:
                            # x and x.detach() hold one array; forward gets a separate view of it for each, so
                            # that save_for_backward (which matches arrays by identity) tells them apart.
                            data = data.view()
                            break
                requires_grad = requires_grad or arg._requires_grad
                tensors.append(arg)
                arrays.append(data)
            else:
                arrays.append(arg)
        if mixed_devices:
            _raise_device_mismatch(cls, tensors)
        record = requires_grad and _GradMode.enabled
        ctx = Context(cls, record)

        result = cls.forward(ctx, *arrays)

        # Wrap what forward returned. numpy returns scalars, not 0-d arrays, from some ops on 0-d input: a Tensor
        # always holds an array. The output of a view op shares its input's version counter (also outside the
        # graph). One output is the usual case, handled without loops.
        if type(result) is not tuple:
            out = result if type(result) is _HOST_ARRAY or is_array(result) else as_array(result)
            view_box = _shared_version(args, out) if cls.is_view else None
            if record:
                return _connect(ctx, args, arrays, (result,), [out], view_box)[0]
            return Tensor._make(out, False, None, 0, view_box)
        out_arrays = [_as_array(out) for out in result]
        view_box = _shared_version(args, out_arrays[0]) if cls.is_view else None
        if record:
            return tuple(_connect(ctx, args, arrays, result, out_arrays, view_box))
        return tuple([Tensor._make(out, False, None, 0, view_box) for out in out_arrays])


_HOST_ARRAY = backend.CPU.xp.ndarray  # numpy's array type: most results are one, which is quick to check


def _as_array(value):
    """What forward returned, as an array: numpy scalars (from some ops on 0-d arrays) become 0-d arrays."""
    return value if type(value) is _HOST_ARRAY or is_array(value) else as_array(value)


def _shared_version(args, out):
    """The version counter the output of a view op (is_view) shares with its input, or None (a new counter).

    Ops marked is_view may return a view (reshape of a contiguous tensor, basic slicing) or a copy (advanced
    indexing, reshape of a transposed tensor). Only an output that really shares memory with the input shares
    its counter: then an in-place change through either is seen by both, and copies raise no false alarm.
    """
    if not backend.shares_memory(out, args[0].data):
        return None
    return args[0]._version


def _connect(ctx, args, arrays, raw_outs, out_arrays, view_box):
    """Make the outputs of a recorded call and fill in the node: edges to the inputs, shapes, saved tensors."""
    if len(out_arrays) == 1:  # the usual case, without the loops
        out = out_arrays[0]
        outs = [Tensor._make(out, True, ctx, 0, view_box)]
        ctx.output_meta = ((out.shape, out.dtype),)
    else:
        outs = [Tensor._make(out, True, ctx, index, view_box) for index, out in enumerate(out_arrays)]
        ctx.output_meta = tuple([(out.shape, out.dtype) for out in out_arrays])
    edges, shapes, needs = [], [], []
    for arg in args:
        # where the gradient for this argument goes: the node that made it, the leaf itself, or nowhere
        if not isinstance(arg, Tensor):
            edges.append(None)
            shapes.append(None)
            needs.append(False)
        elif arg._requires_grad:
            edges.append((arg, -1) if arg.grad_fn is None else (arg.grad_fn, arg.output_nr))
            shapes.append(arg.data.shape)
            needs.append(True)
        else:
            edges.append(None)
            shapes.append(arg.data.shape)
            needs.append(False)
    ctx.next_edges = tuple(edges)
    ctx.input_shapes = tuple(shapes)
    ctx.needs_input_grad = tuple(needs)
    if ctx._to_save is not None:
        ctx._resolve_saved(args, arrays, raw_outs, outs)
    return outs


def _raise_device_mismatch(function, tensors):
    devices = [str(t.device) for t in tensors]
    raise ValueError(f"{function.__name__}: its tensors are on different devices ({', '.join(devices)}); "
                     f"move them to one device with .to('cpu') or .to('cuda') first")


class _OnceDifferentiableError(Function):
    """The graph node behind the gradients of a once-differentiable op under create_graph=True: its backward,
    the second derivative, raises instead of returning wrong numbers."""

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(
            f"{ctx.op_name} is marked once_differentiable: its backward is not written in differentiable ops, so "
            f"it has no second derivative. Do not differentiate through its gradient (create_graph=True), or "
            f"rewrite its backward with tinygan ops.")


def once_differentiable(backward):
    """Decorator for a Function's backward that is not itself differentiable (it works on raw arrays, say).

    The backward runs under no_grad. When a caller asks for create_graph=True, the gradients it returns are
    connected to the op's inputs and to the incoming gradients through a node whose backward raises a
    RuntimeError naming the op, so differentiating them fails loudly instead of silently giving wrong
    (missing) second derivatives.
    """

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        recording = _GradMode.enabled
        with no_grad():
            results = backward(ctx, *grads)
        if not recording:
            return results
        single = not isinstance(results, tuple)
        results = (results,) if single else results
        edges = [edge for edge in ctx.next_edges if edge is not None]
        for grad in grads:
            if isinstance(grad, Tensor) and grad.requires_grad:
                edges.append((grad, -1) if grad.grad_fn is None else (grad.grad_fn, grad.output_nr))
        if not edges:
            return results[0] if single else results
        error_node = Context(_OnceDifferentiableError, True)
        error_node.op_name = ctx.function.__name__
        error_node.next_edges = tuple(edges)
        error_node.input_shapes = (None,) * len(edges)
        error_node.needs_input_grad = (True,) * len(edges)
        error_node.output_meta = tuple((r.shape, r.dtype) for r in results if r is not None)
        wrapped, index = [], 0
        for result in results:
            if result is None:
                wrapped.append(None)
                continue
            wrapped.append(Tensor._make(result.data, True, error_node, index, None))
            index += 1
        return wrapped[0] if single else tuple(wrapped)

    return wrapper


# ---------------------------------------------------------------------------------------------------------------
# the engine
# ---------------------------------------------------------------------------------------------------------------


def _topological_order(root_nodes):
    """Every node reachable from the roots, each after all nodes that use its outputs (iterative DFS)."""
    order = []
    visited = set()
    stack = [(node, False) for node in root_nodes]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        for edge in node.next_edges:
            if edge is not None and edge[1] >= 0 and edge[0] not in visited:
                stack.append((edge[0], False))
    order.reverse()
    return order


def _check_gradient(root, gradient):
    if gradient is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: the output has shape {tuple(root.shape)}; a gradient can be created implicitly only "
                f"for a single-element output. Pass gradient= (a tensor of shape {tuple(root.shape)}), or "
                f"reduce the output first, e.g. out.sum().backward().")
        return Tensor._make(backend.array_namespace(root.data).ones_like(root.data), False, None, 0, None)
    if not isinstance(gradient, Tensor):
        from .tensor import tensor as make_tensor
        gradient = make_tensor(gradient, dtype=root.dtype, device=root.device)
    if gradient.shape != root.shape:
        raise RuntimeError(f"backward: gradient has shape {tuple(gradient.shape)} but the output has shape "
                           f"{tuple(root.shape)}; they must match")
    if gradient.dtype != root.dtype or gradient.device != root.device:
        raise RuntimeError(f"backward: gradient is {gradient.dtype} on {gradient.device} but the output is "
                           f"{root.dtype} on {root.device}; they must match")
    return gradient


def _accumulate(previous, gradient):
    """previous + gradient, or gradient alone for the first one. In a first-order backward (nothing recorded) two
    arrays of one kind are added directly: the add op's own sum, without its dispatch."""
    if previous is None:
        return gradient
    if not _GradMode.enabled and type(previous.data) is type(gradient.data) and \
            previous.data.dtype == gradient.data.dtype:
        return Tensor._make(_as_array(previous.data + gradient.data), False, None, 0, None)
    return previous + gradient


def run_backward(outputs, gradients, retain_graph, create_graph, inputs=None, allow_unused=False):
    """The engine. Sends ``gradients`` (dL/d output) back through the graph.

    With ``inputs=None`` (Tensor.backward) the gradients that reach leaves are added to their ``.grad``.
    With ``inputs`` (tg.grad) nothing is accumulated: the gradient with respect to each input is returned, and
    only the part of the graph between the outputs and those inputs is run.
    """
    if retain_graph is None:
        retain_graph = create_graph
    node_grads = {}        # node -> list with one accumulated gradient per output of the node
    leaf_grads = {}        # id(leaf) -> [leaf, accumulated gradient]
    roots = []
    for output, gradient in zip(outputs, gradients):
        if not output._requires_grad:
            raise RuntimeError(f"backward: a tensor of shape {tuple(output.shape)} does not require grad and has "
                               f"no grad_fn, so there is nothing to differentiate. Did you create it under "
                               f"no_grad, or forget requires_grad=True on its inputs?")
        gradient = _check_gradient(output, gradient)
        if output.grad_fn is None:
            entry = leaf_grads.setdefault(id(output), [output, None])
            entry[1] = _accumulate(entry[1], gradient)
        else:
            buffer = node_grads.setdefault(output.grad_fn, [None] * len(output.grad_fn.output_meta))
            buffer[output.output_nr] = _accumulate(buffer[output.output_nr], gradient)
            roots.append(output.grad_fn)

    order = _topological_order(roots)
    captured = None
    needed = None
    if inputs is not None:
        captured = {}      # (node, output index) of a non-leaf input -> its gradient
        for tensor in inputs:
            if tensor.grad_fn is not None:
                captured[(tensor.grad_fn, tensor.output_nr)] = None
        needed = _nodes_leading_to(order, inputs, captured)

    previous_mode = _GradMode.enabled
    _GradMode.enabled = create_graph
    try:
        for node in order:
            grads = node_grads.pop(node, None)
            if grads is None:
                continue
            if captured is not None:
                for index, grad in enumerate(grads):
                    if (node, index) in captured:
                        captured[(node, index)] = grad
                if node not in needed:
                    continue
            if node._freed:
                raise RuntimeError(
                    f"{node.function.__name__}: trying to run backward through the graph a second time, but it "
                    f"was freed by the first backward. Pass retain_graph=True to the first backward (or tg.grad) "
                    f"if you need to backward through the graph again.")
            _run_node(node, grads, node_grads, leaf_grads)
            if not retain_graph:
                node._release()
    finally:
        _GradMode.enabled = previous_mode

    if inputs is None:
        _add_to_leaf_grads(leaf_grads, create_graph, [g for g in gradients if isinstance(g, Tensor)])
        return None
    return _collect_input_grads(inputs, captured, leaf_grads, allow_unused, create_graph)


def _run_node(node, grads, node_grads, leaf_grads):
    """Call one node's backward and pass each input gradient on to the node (or leaf) that made that input."""
    if len(grads) > 1:
        _fill_unused_outputs(node, grads)
    input_grads = node.function.backward(node, *grads)
    if not isinstance(input_grads, tuple):
        input_grads = (input_grads,)
    if len(input_grads) != len(node.next_edges):
        raise RuntimeError(f"{node.function.__name__}.backward returned {len(input_grads)} gradients but forward "
                           f"took {len(node.next_edges)} arguments; return one per argument (None for non-tensors)")
    for edge, grad, shape in zip(node.next_edges, input_grads, node.input_shapes):
        if edge is None or grad is None:
            continue
        if not isinstance(grad, Tensor):
            raise TypeError(f"{node.function.__name__}.backward must return Tensors (or None), "
                            f"got {type(grad).__name__}")
        if grad.data.shape != shape:
            grad = sum_to(grad, shape, node.function.__name__)
        target, output_index = edge
        if output_index < 0:
            entry = leaf_grads.get(id(target))
            if entry is None:
                leaf_grads[id(target)] = [target, grad]
            else:
                entry[1] = _accumulate(entry[1], grad)
        else:
            buffer = node_grads.get(target)
            if buffer is None:
                buffer = node_grads[target] = [None] * len(target.output_meta)
            previous = buffer[output_index]
            buffer[output_index] = grad if previous is None else _accumulate(previous, grad)


def _fill_unused_outputs(node, grads):
    """Zeros for the outputs of a multi-output node that nothing used, so its backward gets a full set."""
    used = next(grad for grad in grads if grad is not None)
    for index, grad in enumerate(grads):
        if grad is None:
            shape, dtype = node.output_meta[index]
            grads[index] = Tensor._make(used.device.xp.zeros(shape, dtype=dtype), False, None, 0, None)


def _nodes_leading_to(order, inputs, captured):
    """The nodes whose backward must run for tg.grad: those with a path to one of the inputs."""
    leaf_ids = {id(t) for t in inputs if t.grad_fn is None}
    needed = set()
    for node in reversed(order):  # inputs side first, so each node's input nodes are decided before it
        for edge in node.next_edges:
            if edge is None:
                continue
            target, index = edge
            reaches_leaf_input = index < 0 and id(target) in leaf_ids
            reaches_other_input = index >= 0 and ((target, index) in captured or target in needed)
            if reaches_leaf_input or reaches_other_input:
                needed.add(node)
                break
    return needed


def _add_to_leaf_grads(leaf_grads, create_graph, root_gradients):
    # A gradient array reaching a leaf may be shared: the caller's own `gradient`, one array passed to two leaves
    # (a + b), or a read-only broadcast view (the gradient of a sum). Each .grad must own its memory, so that
    # in-place changes to it (clipping, zeroing) stay local; such arrays are copied, fresh ones kept as they are.
    handed_out = {id(g.data) for g in root_gradients}
    for leaf, grad in leaf_grads.values():
        shared = id(grad.data) in handed_out or grad.data.base is not None
        if create_graph:
            if shared:
                grad = grad.clone()  # a differentiable copy: the gradient stays in the graph
        elif shared:
            grad = Tensor._make(grad.data.copy(), False, None, 0, None)
        elif grad.requires_grad:
            grad = grad.detach()
        handed_out.add(id(grad.data))
        if leaf.grad is None:
            leaf.grad = grad
        elif create_graph:
            leaf.grad = leaf.grad + grad
        else:
            with no_grad():
                leaf.grad = leaf.grad + grad


def _collect_input_grads(inputs, captured, leaf_grads, allow_unused, create_graph):
    results = []
    for position, tensor in enumerate(inputs):
        if tensor.grad_fn is None:
            entry = leaf_grads.get(id(tensor))
            grad = None if entry is None else entry[1]
        else:
            grad = captured.get((tensor.grad_fn, tensor.output_nr))
        if grad is None and not allow_unused:
            raise RuntimeError(f"grad: input {position} (shape {tuple(tensor.shape)}) was not used to compute the "
                               f"outputs, so it has no gradient. Pass allow_unused=True to get None for it.")
        if grad is not None and not create_graph:
            grad = grad.detach()
        results.append(grad)
    return tuple(results)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned rather than added to ``.grad``.

        (gx,) = tg.grad(y, [x])                          # dy/dx for a single-element y
        (gx,) = tg.grad(y, [x], create_graph=True)       # gx is differentiable: a gradient penalty can use it

    outputs: a Tensor or a sequence of Tensors; grad_outputs: the matching dL/d(output) (None means 1 for a
    single-element output). With create_graph=True the graph of this backward is recorded, so the result can be
    differentiated again; the graph is then kept (retain_graph defaults to create_graph).
    Returns a tuple with one gradient per input (None for an unused input when allow_unused=True).
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single_input = isinstance(inputs, Tensor)
    inputs = [inputs] if single_input else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for position, tensor in enumerate(inputs):
        if not isinstance(tensor, Tensor) or not tensor.requires_grad:
            raise RuntimeError(f"grad: input {position} does not require grad; differentiate only with respect to "
                               f"tensors created with requires_grad=True or computed from them")
    return run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs=inputs,
                        allow_unused=allow_unused)


# ---------------------------------------------------------------------------------------------------------------
# unbroadcast: the one helper the engine uses to sum a gradient back to its input's shape
# ---------------------------------------------------------------------------------------------------------------


def sum_to(gradient, shape, op_name="sum_to"):
    """Sum ``gradient`` over the axes that broadcasting added or stretched, so it gets ``shape``.

    If forward broadcast an input x of shape (3, 1) against (4, 3, 5), the output and its gradient have shape
    (4, 3, 5), and dL/dx is that gradient summed over axis 0 and axis 2, kept as (3, 1). Differentiable: its
    backward is broadcast_to.
    """
    shape = tuple(shape)
    if gradient.data.shape == shape:
        return gradient
    from .ops import SumTo
    try:
        return SumTo.apply(gradient, shape)
    except ValueError:
        raise RuntimeError(f"{op_name}: its backward returned a gradient of shape {tuple(gradient.shape)}, which "
                           f"cannot be summed to the input's shape {shape}") from None


# ---------------------------------------------------------------------------------------------------------------
# looking at the graph
# ---------------------------------------------------------------------------------------------------------------


def graph(tensor, name="output"):
    """The computation graph that produced ``tensor``, as Graphviz DOT text.

    Boxes are ops (what backward will call), ellipses are leaf tensors that require grad; each is labelled with
    its shape and dtype. Arrows point the way data flows forward; backward walks them in reverse. Render with
    ``dot -Tpng`` or the graphviz Python package if installed; the text itself needs nothing.
    """
    lines = ["digraph tinygan {", '  rankdir="LR";', '  node [fontname="monospace", fontsize=10];']
    ids = {}

    def node_id(key):
        if key not in ids:
            ids[key] = f"n{len(ids)}"
        return ids[key]

    def describe(shape, dtype):
        return f"{tuple(shape)} {dtype}"

    out_id = node_id(("tensor", id(tensor)))
    lines.append(f'  {out_id} [label="{name}\\n{describe(tensor.shape, tensor.dtype)}", shape=ellipse, '
                 f'style=filled, fillcolor="#dbe9f6"];')
    if tensor.grad_fn is None:
        lines.append("}")
        return "\n".join(lines) + "\n"
    root = tensor.grad_fn
    lines.append(f"  {node_id(root)} -> {out_id};")
    for node in _topological_order([root]):
        this = node_id(node)
        shape, dtype = node.output_meta[0]
        lines.append(f'  {this} [label="{node.function.__name__}\\n{describe(shape, dtype)}", shape=box];')
        for edge in node.next_edges:
            if edge is None:
                continue
            target, index = edge
            if index < 0:
                leaf_id = node_id(("tensor", id(target)))
                lines.append(f'  {leaf_id} [label="leaf\\n{describe(target.shape, target.dtype)}", '
                             f'shape=ellipse, style=filled, fillcolor="#e8f4d9"];')
                lines.append(f"  {leaf_id} -> {this};")
            else:
                lines.append(f"  {node_id(target)} -> {this};")
    lines.append("}")
    return "\n".join(lines) + "\n"
