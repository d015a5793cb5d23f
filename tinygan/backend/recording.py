"""Recording what NumPy computes, and replaying it: the machinery under tg.compile (tinygan/fast/compiler.py).

A training step of a small network is a few hundred NumPy calls on small arrays; run eagerly, most of its time is
the Python around them (tensors, graph nodes, checks). If the step does the same thing every time, those calls can
be written down once and replayed without the Python: what jax.jit, tinygrad's TinyJit and CUDA graphs do.

Recording. A ``RecordingArray`` is a numpy.ndarray subclass that views an array's memory. NumPy lets such a class
take over every ufunc (+, *, exp, maximum, matmul, and the reductions sum and max) through ``__array_ufunc__`` and
every other NumPy function (where, concatenate, copyto, ...) through ``__array_function__`` as soon as one argument
is one of them (NEP 13, NEP 18); the few ndarray methods that bypass both (copy, astype, dot, argmax, indexing)
are overridden here. While a ``Recorder`` is active, each such operation runs as usual and is written down as an
``Instruction``: the function, its arguments (arrays by their memory, anything else by value) and where its result
went.

Arrays in a recording are of three kinds:
    memory     arrays the program reads and writes in place: the state that lives across calls (parameters,
               optimizer moments; declared with ``Recorder.add_memory``), the inputs, and every result an
               instruction produced. A view of memory (a slice, a reshape, a transpose, broadcast_to) needs no
               instruction: it sees the new values by construction.
    constants  arrays the step made without any recorded operation (numbers as 0-d arrays, masks of ones): kept
               by value. A constant written by a later instruction (a buffer the step fills) is reset to its
               recorded value before that instruction, so each replay starts it afresh.
    unknown    an array made from recorded memory by an operation the recorder did not see: refused.

Replay. ``Program`` turns the instructions into one straight-line Python function in which every result is
written into the array the recording made for it (``out=``), so a replay allocates nothing (about the cost of the
NumPy calls themselves) and everything that held a result during the recording, a tensor's ``.grad`` say, holds the
new values after each replay.

What the recorder cannot see are Python values: a number computed in Python (a learning rate, a bias correction,
a random draw) is baked into the recording. tg.compile records every step twice and compares the recordings to
refuse a step whose Python values change between calls.
"""

import linecache
import operator
import sys

import numpy

_active = None    # the Recorder that is recording, or None


class HostReadError(RuntimeError):
    """A recorded step read the value of an array into Python (float(x), x.item(), if x: ...)."""


class RecordingError(RuntimeError):
    """An operation on recorded arrays that a replay could not reproduce."""


def recording_now():
    """True while a step is being recorded (tg.compile's calls 2 and 3)."""
    return _active is not None


def plain(value):
    """``value`` with RecordingArrays turned into plain ndarray views of the same memory (lists, tuples and dicts
    are looked into)."""
    if isinstance(value, RecordingArray):
        return value.view(numpy.ndarray)
    if isinstance(value, (list, tuple)):
        return type(value)(plain(item) for item in value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def recording(array):
    """A RecordingArray viewing ``array``'s memory (0-d for a numpy scalar)."""
    if isinstance(array, RecordingArray):
        return array
    return numpy.asarray(array).view(RecordingArray)


def copy_into(target, source):
    numpy.copyto(target, source)


def same_bytes(a, b):
    """True if two arrays hold exactly the same bits (NaN equal to the same NaN)."""
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def memory_owner(array):
    """The array that owns the memory ``array`` views (the end of the chain of ``.base``)."""
    while isinstance(array.base, numpy.ndarray):
        array = array.base
    return array


class RecordingArray(numpy.ndarray):
    """An ndarray whose NumPy operations are written down while a Recorder is active (and run as usual)."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if _active is None:
            return getattr(ufunc, method)(*plain(inputs), **plain(kwargs))
        return _active.ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, function, types, args, kwargs):
        if _active is None:
            return function(*plain(args), **plain(kwargs))
        return _active.function(function, args, kwargs)

    # ndarray methods that neither go through a ufunc nor through __array_function__
    def copy(self, order="C"):
        return _method(self, numpy.ndarray.copy, order)

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        return _method(self, numpy.ndarray.astype, dtype, order, casting, False, copy)

    def dot(self, other):
        return _method(self, numpy.ndarray.dot, other)

    def argmax(self, *args, **kwargs):
        return _method(self, numpy.ndarray.argmax, *args, **kwargs)

    def argmin(self, *args, **kwargs):
        return _method(self, numpy.ndarray.argmin, *args, **kwargs)

    def reshape(self, *args, **kwargs):
        return _method(self, numpy.ndarray.reshape, *args, **kwargs)

    def ravel(self, order="C"):
        return _method(self, numpy.ndarray.ravel, order)

    def flatten(self, order="C"):
        return _method(self, numpy.ndarray.flatten, order)

    def __getitem__(self, key):
        if _active is None or not isinstance(key, tuple) and isinstance(key, (int, slice, type(None))):
            result = numpy.ndarray.__getitem__(self, key)
        else:
            result = _method(self, operator.getitem, key)
        # an element comes back as a 0-d view, not a Python-visible scalar, so it stays in the recording
        return result if isinstance(result, numpy.ndarray) else _zero_d_view(self, key)

    def __setitem__(self, key, value):
        if _active is None:
            numpy.ndarray.__setitem__(self.view(numpy.ndarray), plain(key), plain(value))
        else:
            _active.effect(operator.setitem, (self, key, value), {}, written=self)

    def fill(self, value):
        if _active is None:
            numpy.ndarray.fill(self, value)
        else:
            _active.effect(numpy.ndarray.fill, (self, value), {}, written=self)

    def __iter__(self):   # rows as views (elements as 0-d views), not as scalars
        return (self[index] for index in range(len(self)))

    # reading a value into Python: the recording cannot follow it
    def __float__(self):
        _host_read(self, "float()")
        return float(self.view(numpy.ndarray))

    def __int__(self):
        _host_read(self, "int()")
        return int(self.view(numpy.ndarray))

    def __index__(self):
        _host_read(self, "use as an index")
        return operator.index(self.view(numpy.ndarray))

    def __bool__(self):
        _host_read(self, "bool() (an if or while on an array)")
        return bool(self.view(numpy.ndarray))

    def item(self, *args):
        _host_read(self, ".item()")
        return self.view(numpy.ndarray).item(*args)

    def tolist(self):
        _host_read(self, ".tolist()")
        return self.view(numpy.ndarray).tolist()

    def tobytes(self, order="C"):
        _host_read(self, ".tobytes()")
        return self.view(numpy.ndarray).tobytes(order)


def _zero_d_view(array, key):
    parts = key if isinstance(key, tuple) else (key,)
    return numpy.ndarray.__getitem__(array, parts + (Ellipsis,))


def _method(self, method, *args, **kwargs):
    if _active is None:
        return method(self.view(numpy.ndarray), *plain(args), **plain(kwargs))
    return _active.function(method, (self,) + args, kwargs)


def _host_read(array, what):
    if _active is not None and _active.is_recorded(array):
        raise HostReadError(f"compile: the step reads an array's value into Python ({what}) at {where()}; a "
                            f"recorded step runs without Python, so nothing in it may depend on values: return "
                            f"the value from the step instead (for control flow, make it an argument)")


_INNER_FILES = ("tinygan/backend/", "tinygan/autograd/", "tinygan/ops/", "tinygan/tensor.py", "/numpy/")


def where():
    """'file:line (the line)' of the innermost frame outside NumPy and tinygan's engine, ops and Tensor methods
    (the optimizer's or the step's own line), for messages."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename.replace("\\", "/")
        if not any(part in name for part in _INNER_FILES):
            line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
            return f"{name}:{frame.f_lineno} ({line})"
        frame = frame.f_back
    return "an unknown place"


def origin():
    """'tinygan/ops/basic.py:120 Mul.backward': the innermost frame outside NumPy and this file, the code that
    asked for the array call (shown beside each line of a program's source)."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename.replace("\\", "/")
        if "/numpy/" not in name and not name.endswith("tinygan/backend/recording.py"):
            short = name[name.rindex("tinygan/"):] if "tinygan/" in name else name.rsplit("/", 1)[-1]
            return f"{short}:{frame.f_lineno} {getattr(frame.f_code, 'co_qualname', frame.f_code.co_name)}"
        frame = frame.f_back
    return ""


# ---------------------------------------------------------------------------------------------------------------
# instructions
# ---------------------------------------------------------------------------------------------------------------

def call_name(call):
    """A recorded call's NumPy name: 'matmul' for numpy.matmul, 'add.reduce' for numpy.add.reduce, 'astype' for
    ndarray.astype."""
    if isinstance(call, numpy.ufunc):
        return call.__name__
    owner = getattr(call, "__self__", None)
    if isinstance(owner, numpy.ufunc):
        return owner.__name__ if call.__name__ == "__call__" else f"{owner.__name__}.{call.__name__}"
    return getattr(call, "__name__", type(call).__name__)


class Instruction:
    """One recorded operation.

        kind      "ufunc": call(*args, **kwargs, out=outputs) writes its results into ``outputs``
                  "into":  outputs[0][...] = call(*args, **kwargs), for functions without out= (where, getitem)
                  "effect": call(*args, **kwargs) changes an argument in place (copyto, setitem, ufunc.at)
                  "reset": outputs[0][...] = args[0], a constant buffer set back to its recorded value
        call      the function (a ufunc method such as numpy.add or numpy.add.reduce, a NumPy function, or an
                  ndarray method)
        args      the arguments: plain ndarray views for memory, private copies for constants, other values as
                  they were
        outputs   the arrays the results are written into
        place     where in the step it was recorded ('file:line'), for messages
        origin    the code that made the call ('tinygan/ops/basic.py:120 Mul.backward'), for the source
    """

    __slots__ = ("kind", "call", "args", "kwargs", "outputs", "place", "origin")

    def __init__(self, kind, call, args, kwargs, outputs, place):
        self.kind, self.call, self.args, self.kwargs = kind, call, args, kwargs
        self.outputs, self.place = outputs, place
        self.origin = origin()

    def name(self):
        """The call's NumPy name, for messages and the program's source (see ``call_name``)."""
        return call_name(self.call)

    def run(self):
        if self.kind == "ufunc":
            self.call(*self.args, **self.kwargs, out=self.outputs)
        elif self.kind == "into":
            numpy.copyto(self.outputs[0], self.call(*self.args, **self.kwargs), casting="unsafe")
        elif self.kind == "reset":
            numpy.copyto(self.outputs[0], self.args[0])
        else:
            self.call(*self.args, **self.kwargs)


# ---------------------------------------------------------------------------------------------------------------
# the recorder
# ---------------------------------------------------------------------------------------------------------------

RESULT = "a result"
"""The label of the memory an instruction's result is made in (Recorder.memory)."""


class Recorder:
    """Writes down the NumPy operations made on RecordingArrays between ``start()`` and ``stop()``.

        recorder = Recorder()
        x = recorder.add_memory(x_array, "input 0")     # a RecordingArray viewing x_array
        recorder.start()
        y = numpy.exp(x) * 2                            # runs, and is written down (two instructions)
        recorder.stop()
        program = Program(recorder, inputs=[x], outputs=[y])

    ``memory`` maps the id of each memory owner to (owner, label); ``instructions`` is the program in order;
    ``constants`` lists (private copy, place) for every constant, in order of first use.
    """

    def __init__(self):
        self.instructions = []
        self.memory = {}          # id(owner) -> (owner, label)
        self.constants = []       # [(private copy, place)]
        self._constant_copies = {}   # id(array) -> (array, its private copy): one copy per constant array
        self.literals = []        # [(value, place)]: the Python values the instructions were given

    # -- declaring memory -----------------------------------------------------------------------------------

    def add_memory(self, array, label):
        """Declare ``array``'s memory as state the program reads and writes in place; returns a RecordingArray
        view of it."""
        owner = memory_owner(array)
        self.memory.setdefault(id(owner), (owner, label))
        return recording(array)

    def is_memory(self, array):
        return id(memory_owner(array)) in self.memory

    def is_recorded(self, array):
        return self.is_memory(array)

    def start(self):
        global _active
        if _active is not None:
            raise RecordingError("compile: a step is already being recorded (a compiled step cannot call itself "
                                 "or another compiled step while it records)")
        _active = self

    def stop(self):
        global _active
        _active = None

    # -- arguments ------------------------------------------------------------------------------------------

    def _argument(self, value, place):
        """What the program holds for one argument: memory as a plain view, a constant array as its private
        copy, anything else as it is (recorded as a literal, for the comparison of two recordings)."""
        if isinstance(value, numpy.ndarray):
            if self.is_memory(value):
                return value.view(numpy.ndarray)
            if isinstance(value, RecordingArray):
                raise RecordingError(
                    f"compile: at {place} an operation uses an array made from the step's values by something "
                    f"the recorder did not see (shape {value.shape}, {value.dtype}); only NumPy functions, ufuncs "
                    f"and the ndarray methods in tinygan/backend/recording.py are recorded")
            return self._constant(value, place)
        if isinstance(value, (list, tuple)):
            return type(value)(self._argument(item, place) for item in value)
        if isinstance(value, dict):
            return {key: self._argument(item, place) for key, item in value.items()}
        if isinstance(value, _LITERALS):
            self.literals.append((value, place))
            return value
        if callable(value):
            return value
        raise RecordingError(f"compile: at {place} an operation got a {type(value).__name__}, which a recording "
                             f"cannot hold")

    def _constant(self, array, place):
        found = self._constant_copies.get(id(array))
        if found is not None and found[0] is array:
            return found[1]
        copy = numpy.array(array, copy=True)
        self._constant_copies[id(array)] = (array, copy)   # holding array keeps its id from being reused
        self.constants.append((copy, place))
        return copy

    def _target(self, array, place):
        """An array an instruction writes into: memory as a plain view. A constant array written here for the
        first time becomes memory, set back to its recorded value before this instruction at every replay."""
        if self.is_memory(array):
            return array.view(numpy.ndarray)
        if isinstance(array, RecordingArray):
            return self._argument(array, place)   # raises: an unknown array
        snapshot = numpy.array(array, copy=True)
        owner = memory_owner(array)
        self.memory[id(owner)] = (owner, f"a buffer made in the step ({place})")
        self.constants.append((snapshot, place))
        target = array.view(numpy.ndarray)
        self.instructions.append(Instruction("reset", numpy.copyto, (snapshot,), {}, (target,), place))
        return target

    def _result(self, array):
        """A result of an instruction: its memory is the program's from now on."""
        array = numpy.asarray(array)
        owner = memory_owner(array)
        self.memory.setdefault(id(owner), (owner, RESULT))
        return array

    # -- what RecordingArray reports ------------------------------------------------------------------------

    def ufunc(self, ufunc, method, inputs, kwargs):
        place = where()
        call = getattr(ufunc, method)
        args = self._argument(tuple(inputs), place)
        kwargs = dict(kwargs)
        out = kwargs.pop("out", None)
        kwargs = self._argument(kwargs, place)
        if method == "at":
            self._target(inputs[0], place)
            args = (inputs[0].view(numpy.ndarray),) + args[1:]
            call(*args, **kwargs)
            self.instructions.append(Instruction("effect", call, args, kwargs, (), place))
            return None
        if out is not None:
            targets = tuple(self._target(array, place) for array in out)
            call(*args, **kwargs, out=targets)
            results = out
        else:
            computed = call(*args, **kwargs)
            computed = computed if isinstance(computed, tuple) else (computed,)
            targets = tuple(self._result(array) for array in computed)
            results = tuple(recording(array) for array in targets)
        self.instructions.append(Instruction("ufunc", call, args, kwargs, targets, place))
        return results if len(results) > 1 else results[0]

    def function(self, function, args, kwargs):
        """A NumPy function or an ndarray method: a view of memory needs no instruction; a new array is
        recomputed into at every replay; copyto and friends are effects on their destination."""
        place = where()
        if function in _EFFECTS:
            return self.effect(function, args, kwargs, written=args[0] if args else kwargs.get("dst"))
        if kwargs.get("out") is not None:   # numpy.clip(x, a, b, out=x) and the like: an effect on out
            self.effect(function, args, kwargs, written=kwargs["out"])
            return kwargs["out"]
        plain_args, plain_kwargs = self._argument(tuple(args), place), self._argument(dict(kwargs), place)
        result = function(*plain_args, **plain_kwargs)
        results = result if isinstance(result, tuple) else (result,)
        if not all(isinstance(item, (numpy.ndarray, numpy.generic)) for item in results):
            return result           # a shape, a dtype, a Python value derived from shapes: nothing to replay
        if all(isinstance(item, numpy.ndarray) and self.is_memory(item) for item in results):
            wrapped = tuple(recording(item) for item in results)     # a view of memory
            return wrapped if isinstance(result, tuple) else wrapped[0]
        if isinstance(result, tuple):
            raise RecordingError(f"compile: at {place} {getattr(function, '__name__', function)} returned "
                                 f"several new arrays; the recorder replays functions with one result")
        target = self._result(result)
        self.instructions.append(Instruction("into", function, plain_args, plain_kwargs, (target,), place))
        return recording(target)

    def effect(self, function, args, kwargs, written):
        place = where()
        self._target(written, place)
        plain_args, plain_kwargs = self._argument(tuple(args), place), self._argument(dict(kwargs), place)
        function(*plain_args, **plain_kwargs)
        self.instructions.append(Instruction("effect", function, plain_args, plain_kwargs, (), place))
        return None


# the Python values an instruction may be given as they are
_LITERALS = (numpy.generic, int, float, complex, bool, str, slice, type(None), type(Ellipsis), numpy.dtype, type)

# functions that change their first argument (or dst) in place and return None
_EFFECTS = {numpy.copyto, numpy.put, numpy.place, numpy.putmask, operator.setitem, numpy.ndarray.fill}


# ---------------------------------------------------------------------------------------------------------------
# the program
# ---------------------------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------------------------
# sharing buffers between temporaries (the memory plan of a program)
# ---------------------------------------------------------------------------------------------------------------

def share_buffers(instructions, temporaries):
    """The instructions rewritten so that their temporaries share buffers, as a compiler's memory plan does.

    ``temporaries``: ids of the memory owners that the step makes and nothing reads after it (not the state, the
    inputs, the results it returns, nor what a tensor still holds). Each lives from the instruction that writes it
    first to the last one that reads it; a temporary written later reuses the bytes of one of the same size whose
    life has ended. A recorded step keeps every intermediate array it ever made, megabytes for a small GAN, and
    running the replay over fewer bytes keeps them in the processor's caches. Views are made again over the new
    buffers, with their shapes, strides and offsets."""
    last_use = {}
    for index, instruction in enumerate(instructions):
        for array in arrays_in((instruction.args, instruction.kwargs, tuple(instruction.outputs))):
            key = id(memory_owner(array))
            if key in temporaries:
                last_use[key] = index
    free = {}            # nbytes -> [buffers whose temporaries are done]
    buffer_of = {}       # id(old owner) -> (old owner, its new buffer)
    views = {}           # id(old array) -> (old array, the same view of the new buffer)

    def moved(value):
        if isinstance(value, numpy.ndarray):
            key = id(memory_owner(value))
            if key not in buffer_of:
                return value
            if id(value) not in views:
                owner, buffer = buffer_of[key]
                offset = value.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
                view = numpy.ndarray(value.shape, value.dtype, buffer=buffer, offset=offset, strides=value.strides)
                views[id(value)] = (value, view)
            return views[id(value)][1]
        if isinstance(value, (list, tuple)):
            return type(value)(moved(item) for item in value)
        if isinstance(value, dict):
            return {name: moved(item) for name, item in value.items()}
        return value

    ending_at = {}       # instruction index -> the temporaries it reads for the last time
    for key, index in last_use.items():
        ending_at.setdefault(index, []).append(key)
    planned = []
    for index, instruction in enumerate(instructions):
        for array in instruction.outputs:
            owner = memory_owner(array)
            if id(owner) in temporaries and id(owner) not in buffer_of:     # the temporary's first write
                pool = free.setdefault(owner.nbytes, [])
                buffer_of[id(owner)] = (owner, pool.pop() if pool else numpy.empty(owner.nbytes, numpy.uint8))
        rewritten = Instruction(instruction.kind, instruction.call, moved(instruction.args),
                                moved(instruction.kwargs), moved(tuple(instruction.outputs)), instruction.place)
        rewritten.origin = instruction.origin
        planned.append(rewritten)
        for key in ending_at.get(index, ()):
            if key in buffer_of:
                owner, buffer = buffer_of[key]
                free[owner.nbytes].append(buffer)
    return planned


def arrays_in(value):
    """The ndarrays in ``value``, lists, tuples and dicts looked into."""
    if isinstance(value, numpy.ndarray):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from arrays_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from arrays_in(item)


_DEFAULT_KEYWORDS = {"dtype": None, "keepdims": False, "where": True}
"""Keywords that NumPy's own wrappers pass on with their default values: left out of a program's source."""


class Program:
    """A recording as one Python function: ``program(*input_arrays)`` copies the inputs into the recorded input
    arrays, replays every instruction, and returns nothing (the outputs are the recorded output arrays, refilled).

    ``source`` is that function's text, one line per instruction, for whoever wants to see what a compiled step
    does: its NumPy calls, with the arrays named a0, a1, ... and each function by its name and a number
    (multiply_5, add_reduce_31, ...)
    """

    def __init__(self, instructions, inputs):
        self.instructions = list(instructions)
        self.inputs = [array.view(numpy.ndarray) for array in inputs]
        names = {}             # id(object) -> name in the generated function
        namespace = {"copyto": numpy.copyto}
        held = []              # keeps every named object alive, so no id is reused

        def name_of(value, prefix):
            key = id(value)
            if key not in names:
                names[key] = f"{prefix}{len(names)}"
                namespace[names[key]] = value
                held.append(value)
            return names[key]

        def text(value):
            if isinstance(value, numpy.ndarray):
                return name_of(value, "a")
            if isinstance(value, tuple):
                return "(" + "".join(text(item) + ", " for item in value) + ")"
            if isinstance(value, list):
                return "[" + ", ".join(text(item) for item in value) + "]"
            if isinstance(value, dict):
                return "{" + ", ".join(f"{key!r}: {text(item)}" for key, item in value.items()) + "}"
            if isinstance(value, (bool, int, str, type(None))) and not isinstance(value, numpy.generic):
                return repr(value)
            return name_of(value, "v")

        def function_name(call):
            """The call's own name where it is free (matmul, add_reduce, stack), else with a number after it."""
            owner = getattr(call, "__self__", None)
            if isinstance(owner, numpy.ufunc):   # numpy.add.__call__ is numpy.add; each access makes a new method
                call = owner if call.__name__ == "__call__" else call
                key = (id(owner), call.__name__)
            else:
                key = id(call)
            if key not in names:
                base = "".join(c if c.isalnum() else "_" for c in call_name(call))   # add.reduce: add_reduce
                name, number = base, 1
                while name in namespace or name.startswith(("a", "v", "x")) and name[1:].isdigit():
                    number += 1
                    name = f"{base}_{number}"
                names[key] = name
                namespace[name] = call
                held.append(call)
            return names[key]

        def call_text(instruction):
            args = ", ".join(text(arg) for arg in instruction.args)
            kwargs = ", ".join(f"{key}={text(value)}" for key, value in instruction.kwargs.items()
                               if not (key in _DEFAULT_KEYWORDS and value is _DEFAULT_KEYWORDS[key]))
            return f"{function_name(instruction.call)}({', '.join(part for part in (args, kwargs) if part)}"

        lines = [f"def replay({', '.join(f'x{i}' for i in range(len(self.inputs)))}):"]
        for index, array in enumerate(self.inputs):
            lines.append(f"    copyto({name_of(array, 'a')}, x{index})")
        for instruction in self.instructions:
            outputs = instruction.outputs
            if instruction.kind == "ufunc":
                out = text(outputs[0]) if len(outputs) == 1 else text(tuple(outputs))
                lines.append(f"    {call_text(instruction)}, out={out})")
            elif instruction.kind == "into":
                lines.append(f"    copyto({text(outputs[0])}, {call_text(instruction)}), casting='unsafe')")
            elif instruction.kind == "reset":
                lines.append(f"    copyto({text(outputs[0])}, {text(instruction.args[0])})")
            else:
                lines.append(f"    {call_text(instruction)})")
            lines[-1] = f"{lines[-1]:<64}  # {instruction.origin}"
        lines.append("    return None")
        self.source = "\n".join(lines)
        code = compile(self.source, "<tinygan compiled step>", "exec")
        exec(code, namespace)
        self._replay = namespace["replay"]
        self._held = held

    def __call__(self, *input_arrays):
        self._replay(*input_arrays)

    def __len__(self):
        return len(self.instructions)
