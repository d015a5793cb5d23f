"""Reverse-mode automatic differentiation: what a tensor remembers, Function, the graph, backward and grad.

The whole idea. A tensor holds an array (``data``) and, when an op made it while recording, the graph node of that
op call (``grad_fn``). Every differentiable op is a subclass of ``Function`` with two static methods:

    forward(ctx, *arrays)  -> array(s)      computes the result on raw backend arrays (numpy or cupy)
    backward(ctx, *grads)  -> grads          given dL/d(output) as Tensors, returns dL/d(input) for each input,
                                             written with differentiable tinygan ops

``MyOp.apply(*args)`` runs forward and, when grad mode is on and an input requires grad, gives the output a
``Context``: the node of the graph. A node remembers where each input came from (the node that made it, or the
leaf tensor itself), the input shapes, and the tensors forward saved for backward.

``backward`` visits the nodes from the output to the leaves in one topological order, calls each node's backward
once with the sum of the gradients that reached it, sums an input gradient back to the input's shape when forward
broadcast it (the one place unbroadcasting happens), and adds what reaches a leaf to its ``.grad``.

Because backward is written in tinygan ops, running it with grad mode on (``create_graph=True``) records a graph of
the backward pass; differentiating that gives second derivatives: gradient penalties, gradgradcheck and
Hessian-vector products need nothing special. Without ``create_graph`` backward runs under ``no_grad``.

What keeps the engine honest (version counters, freed graphs, devices, what a Function returns) is checked in
``autograd_checks.py``; this file calls it and stays about the idea.
"""

from . import autograd_checks as checks
from . import backend
from .grad_mode import is_grad_enabled, set_grad_enabled


class TensorBase:
    """What the engine knows of a tensor. ``tg.Tensor`` (tensor.py) derives from it and adds the arithmetic.

        data           a numpy (device "cpu") or cupy (device "cuda") array
        requires_grad  whether gradients should flow to it
        grad           after backward, dL/d(this tensor) as a Tensor (leaves only)
        grad_fn        the graph node (a Context) of the op that made it; None for a leaf
        output_nr      which output of that op it is
        _version       how often it was changed in place (a counter shared with its views and detached copies)

    The engine makes new tensors with ``like._make(array, ...)``, the constructor tensor.py's Tensor defines: this
    module cannot import tensor.py, which builds on it.
    """

    __slots__ = ("data", "_requires_grad", "grad", "grad_fn", "output_nr", "_version_counter", "__weakref__")

    @staticmethod
    def _make(data, requires_grad=False, grad_fn=None, output_nr=0, version_counter=None):
        raise NotImplementedError("tensor.py's Tensor defines _make")

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        checks.requires_grad_can_change(self, value)
        self._requires_grad = bool(value)

    @property
    def is_leaf(self):
        """True for tensors not made by a recorded op (created by the user, or not requiring grad)."""
        return self.grad_fn is None

    @property
    def _version(self):
        """How often this tensor's data was changed in place (PyTorch's ``t._version``)."""
        return self._version_counter[0]

    def _bump_version(self):
        """Count an in-place change: a saved tensor whose count moved on makes backward raise."""
        self._version_counter[0] += 1
        return self

    def detach(self):
        """The same data, cut from the graph (shares memory and the version counter with self)."""
        return self._make(self.array, False, None, 0, self._version_counter)

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Compute d(self)/d(leaf) for every leaf that requires grad and add it to the leaf's ``.grad``.

        gradient: dL/d(self), needed unless self has one element (then 1).
        retain_graph: keep the graph for another backward (defaults to create_graph).
        create_graph: record the backward pass so the gradients can be differentiated again. The leaves' .grad
            then hold graphs that refer back to the leaves (a reference cycle, freed by Python's garbage
            collector): prefer tg.grad(..., create_graph=True), which returns the gradients instead.
        """
        run_backward([self], [gradient], retain_graph, create_graph)


# ---------------------------------------------------------------------------------------------------------------
# the graph node and Function
# ---------------------------------------------------------------------------------------------------------------

class Context:
    """A node of the graph: what one call of a Function needs to run its backward.

    A Function's forward receives it as ``ctx`` and may store anything on it (``ctx.axis = axis``); arrays it
    will need in backward go through ``ctx.save_for_backward``.

        function          the Function subclass
        next_edges        one per forward argument: None (not a tensor, or needs no grad), (node, output index)
                          for a tensor made by an op, (leaf tensor, -1) for a leaf
        input_shapes      the shape of each tensor argument (None for others), for unbroadcasting
        needs_input_grad  a bool per argument, as in PyTorch, so forward and backward can skip work
        output_meta       (shape, dtype) of each output, to make zero gradients for unused outputs
    """

    # What a node holds until it is recorded (most op calls are not, inside no_grad): shared class defaults.
    next_edges = input_shapes = output_meta = saved = _to_save = ()
    freed = False

    def __init__(self, function, args, record):
        self.function = function
        self.record = record
        if not record:   # nothing will run backward through this call
            self.needs_input_grad = (False,) * len(args)
            return
        edges, shapes, needs = [], [], []
        for arg in args:
            is_tensor = isinstance(arg, TensorBase)
            shapes.append(arg.array.shape if is_tensor else None)
            needs.append(is_tensor and arg._requires_grad)
            if not needs[-1]:
                edges.append(None)
            elif arg.grad_fn is None:
                edges.append((arg, -1))                     # a leaf: its gradient goes to its .grad
            else:
                edges.append((arg.grad_fn, arg.output_nr))  # made by an op: its gradient goes to that node
        self.next_edges, self.input_shapes, self.needs_input_grad = tuple(edges), tuple(shapes), tuple(needs)

    def save_for_backward(self, *arrays):
        """Keep arrays for backward. Call it in forward with input or output arrays (or None).

        An array that is one of forward's inputs or its output comes back in backward as that Tensor, so
        gradients of gradients flow through it. Any other array comes back as a constant (no gradient): save
        only inputs and outputs if your backward must itself be differentiable, and recompute the rest there.
        """
        if self.record:
            self._to_save = arrays   # matched to inputs and outputs by apply, once forward has returned

    @property
    def saved_tensors(self):
        """The saved arrays as Tensors (each checked: the graph is not freed, nothing was changed in place)."""
        checks.graph_not_freed(self)
        tensors = []
        for kind, value, counter, version in self.saved:
            if counter is not None and counter[0] != version:
                checks.raise_changed_in_place(self, kind, value, counter, version)
            if kind == "output":
                # Rebuilt from its data and this node, which is exactly what identifies it for the gradient;
                # holding the output Tensor itself would make a reference cycle.
                array, index, make = value
                value = make(array, True, self, index, counter)
            tensors.append(value)
        return tuple(tensors)

    def release(self):
        """Drop what backward needed so the arrays can be freed; a later backward through this node raises."""
        self.saved = ()
        self.freed = True

    def name(self):
        return f"{self.function.__name__}Backward"

    def __repr__(self):
        return f"<{self.name()}>"


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
    indexing): when it does, the two share a version counter, so an in-place change through either is caught.
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
        # forward gets each tensor's array in place of the tensor, the other arguments as they are
        tensors, arrays, requires_grad = [], [], False
        for arg in args:
            if not isinstance(arg, TensorBase):
                arrays.append(arg)
                continue
            array = arg.array
            for earlier in tensors:   # another device (an error), or x and x.detach() (one array, two tensors)
                if type(earlier.array) is not type(array) or (earlier.array is array and earlier is not arg):
                    array = checks.second_tensor_array(cls, tensors, arg)
                    break
            tensors.append(arg)
            arrays.append(array)
            requires_grad = requires_grad or arg._requires_grad
        if not tensors:
            checks.no_tensor_argument(cls, args)
        record = requires_grad and is_grad_enabled()     # the graph is recorded for this call
        ctx = Context(cls, args, record)

        result = cls.forward(ctx, *arrays)

        raw_outputs = result if isinstance(result, tuple) else (result,)
        out_arrays = checks.forward_outputs(cls, raw_outputs)
        counter = checks.view_version_counter(args, out_arrays[0]) if cls.is_view else None
        outputs = []
        for index, array in enumerate(out_arrays):
            outputs.append(tensors[0]._make(array, record, ctx if record else None, index, counter))
        if record:
            ctx.output_meta = tuple([(array.shape, array.dtype) for array in out_arrays])
            ctx.saved = tuple([_saved_entry(array, args, arrays, raw_outputs, outputs) for array in ctx._to_save])
        return tuple(outputs) if isinstance(result, tuple) else outputs[0]


def _saved_entry(array, args, arrays, raw_outputs, outputs):
    """What a node keeps for one saved array: (kind, value, version counter, version when saved).

    An input comes back as that input tensor and an output as that output (so second derivatives flow through
    them); anything else as a constant. Arrays are matched by identity; outputs against what forward returned,
    since numpy may return a scalar that apply wrapped as a 0-d array.
    """
    if array is None:
        return ("constant", None, None, 0)
    for position, passed in enumerate(arrays):
        if passed is array and isinstance(args[position], TensorBase):
            tensor = args[position]
            return ("input", tensor, tensor._version_counter, tensor._version_counter[0])
    for index, raw in enumerate(raw_outputs):
        if raw is array:
            output = outputs[index]
            return ("output", (output.array, index, output._make), output._version_counter,
                    output._version_counter[0])
    return ("constant", outputs[0]._make(backend.as_array(array)), None, 0)


# ---------------------------------------------------------------------------------------------------------------
# the engine: backward and grad
# ---------------------------------------------------------------------------------------------------------------

def run_backward(outputs, gradients, retain_graph, create_graph, inputs=None, allow_unused=False):
    """Send ``gradients`` (dL/d output) back through the graph.

    Without ``inputs`` (Tensor.backward) what reaches a leaf is added to its ``.grad``. With ``inputs``
    (tg.grad) nothing is added anywhere: the gradient of each input is returned, and only the nodes between the
    outputs and those inputs run.
    """
    retain_graph = create_graph if retain_graph is None else retain_graph
    node_grads = {}      # node -> [the gradient of each of its outputs, summed over the paths that reach it]
    leaf_grads = {}      # id(leaf) -> [leaf, its gradient]
    for output, gradient in zip(outputs, gradients):
        checks.output_requires_grad(output)
        edge = (output, -1) if output.grad_fn is None else (output.grad_fn, output.output_nr)
        _send(edge, checks.root_gradient(output, gradient, TensorBase), node_grads, leaf_grads, create_graph)
    order = topological_order([output.grad_fn for output in outputs if output.grad_fn is not None])
    wanted = None if inputs is None else nodes_leading_to(order, inputs)
    captured = {(t.grad_fn, t.output_nr): None for t in inputs or () if t.grad_fn is not None}

    with set_grad_enabled(create_graph):
        for node in order:
            grads = node_grads.pop(node, None)
            if grads is None:
                continue
            if captured:                                   # tg.grad with respect to a node's output
                for index, grad_of_output in enumerate(grads):
                    if (node, index) in captured:
                        captured[(node, index)] = grad_of_output
            if wanted is not None and node not in wanted:
                continue
            if node.freed:
                checks.raise_freed_graph(node)
            if len(grads) > 1:
                grads = _with_zeros(node, grads)
            input_grads = checks.backward_results(node, node.function.backward(node, *grads), TensorBase)
            for edge, grad, shape in zip(node.next_edges, input_grads, node.input_shapes):
                if edge is not None and grad is not None:
                    if grad.array.shape != shape:
                        grad = grad.sum_to_size(shape)   # forward broadcast this input: sum the gradient back
                    _send(edge, grad, node_grads, leaf_grads, create_graph)
            if not retain_graph:
                node.release()
        if inputs is None:
            _add_to_leaf_grads(leaf_grads, create_graph, gradients)
            return None
    return _input_grads(inputs, captured, leaf_grads, allow_unused, create_graph)


def _send(edge, grad, node_grads, leaf_grads, create_graph):
    """Add ``grad`` to what is waiting for the node output or leaf at the end of ``edge``. The sum is recorded (an
    Add node) when backward builds a graph; otherwise it is just the sum of the arrays."""
    target, index = edge
    if index < 0:                                   # a leaf: [leaf, its gradient]
        waiting, index = leaf_grads.get(id(target)), 1
        if waiting is None:
            waiting = leaf_grads[id(target)] = [target, None]
    else:                                           # a node: the gradient of each of its outputs
        waiting = node_grads.get(target)
        if waiting is None:
            waiting = node_grads[target] = [None] * len(target.output_meta)
    if waiting[index] is None:
        waiting[index] = grad
    elif create_graph:
        waiting[index] = waiting[index] + grad
    else:
        waiting[index] = grad._make(backend.as_array(waiting[index].array + grad.array))


def _with_zeros(node, grads):
    """The gradients of a node's outputs, zeros for the outputs nothing used (backward gets a full set)."""
    used = next(grad for grad in grads if grad is not None)
    return [grad if grad is not None else used._make(used.device.xp.zeros(shape, dtype=dtype))
            for grad, (shape, dtype) in zip(grads, node.output_meta)]


def topological_order(roots):
    """Every node reachable from the roots, each before the nodes that made its inputs (iterative DFS, so a
    chain of any length works)."""
    order, visited = [], set()
    stack = [(node, False) for node in roots]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))
            for edge in node.next_edges:
                if edge is not None and edge[1] >= 0 and edge[0] not in visited:
                    stack.append((edge[0], False))
    order.reverse()
    return order


def nodes_leading_to(order, inputs):
    """The nodes whose backward must run for tg.grad: those with a path to one of the inputs."""
    leaf_inputs = {id(t) for t in inputs if t.grad_fn is None}
    node_inputs = {(t.grad_fn, t.output_nr) for t in inputs if t.grad_fn is not None}
    needed = set()
    for node in reversed(order):  # inputs' side first: a node's input nodes are decided before it
        for edge in node.next_edges:
            if edge is None:
                continue
            if edge[1] < 0:
                reaches = id(edge[0]) in leaf_inputs
            else:
                reaches = edge in node_inputs or edge[0] in needed
            if reaches:
                needed.add(node)
                break
    return needed


def _add_to_leaf_grads(leaf_grads, create_graph, root_gradients):
    """Add each leaf's gradient to its ``.grad`` (an Add node only under create_graph)."""
    handed_out = {id(g.array) for g in root_gradients if isinstance(g, TensorBase)}
    for leaf, grad in leaf_grads.values():
        grad = checks.owning_its_memory(grad, handed_out, create_graph)
        leaf.grad = grad if leaf.grad is None else leaf.grad + grad


def _input_grads(inputs, captured, leaf_grads, allow_unused, create_graph):
    """tg.grad's result: the gradient of each input (detached unless create_graph), None where unused."""
    results = []
    for position, tensor in enumerate(inputs):
        if tensor.grad_fn is None:
            grad = leaf_grads.get(id(tensor), [None, None])[1]
        else:
            grad = captured.get((tensor.grad_fn, tensor.output_nr))
        checks.input_was_used(position, tensor, grad, allow_unused)
        results.append(grad if grad is None or create_graph else grad.detach())
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
    outputs = [outputs] if isinstance(outputs, TensorBase) else list(outputs)
    inputs = [inputs] if isinstance(inputs, TensorBase) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, TensorBase):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    checks.grad_arguments(outputs, inputs, grad_outputs, TensorBase)
    return run_backward(outputs, list(grad_outputs), retain_graph, create_graph, inputs, allow_unused)
