"""tg.compile: run a training step once as a recording of its NumPy calls, then replay that recording.

    def train_step(real, z):                      # any function of tensors: forward, backward, double backward,
        ...                                       # optimizer steps, a weight average; returns tensors
        return loss_d, loss_g

    step = tg.compile(train_step)
    for real, z in batches:
        loss_d, loss_g = step(real, z)            # the same numbers as train_step(real, z), bit for bit

What happens, call by call, for each shape of the arguments:
    1st call   train_step runs as written (a warm-up: optimizers create their state, ...)
    2nd, 3rd   train_step runs as written while every NumPy call it makes is recorded
               (tinygan/backend/recording.py: each tensor's array is swapped for a RecordingArray meanwhile)
    then       the two recordings must be the same program with the same constants; the 3rd call's recording,
               replayed from the state before that call, must give what the call itself computed, bit for bit;
               otherwise compiling is refused with an error that says which operation and why
    4th call on: the recording is replayed as one straight-line Python function of NumPy calls that write into
               the arrays of the recording; no Tensor, graph node or check is made

A replay is the step's array program and nothing else, so it is only right for a step that does the same thing at
every call. What the recording cannot follow, and how each is caught:
    - a value read into Python inside the step (float(loss), if x > 0): refused while recording (HostReadError);
      return such values from the step instead;
    - a Python number or an array made outside tinygan's ops that changes between calls (a learning-rate
      schedule, Adam's bias corrections with a Python step count, a random draw): the two recordings differ, and
      compiling is refused; pass it as an argument (a tensor), use optimizers with ``capturable=True``, and draw
      random numbers outside the step; the same for a returned Python value (or a tensor made from one) that
      changes: a replay would return the recorded one;
    - an array that the step replaces rather than updates in place, when it lives across calls: the two
      recordings differ in which array they read; refused;
    - a tensor argument changed in place (a replay changes its private copy of it): refused while recording;
    - anything else the recorder did not see: the replay check against the eager call fails; refused;
    - state replaced between calls, after the recording (p.set_(...), Module.to, an optimizer's
      load_state_dict): each replay first checks that the tensors whose memory it uses still exist and hold the
      same arrays, and records the step anew otherwise.
A refusal is an error raised by the call that found it, after that call ran the step eagerly (its updates are
made); later calls are never replayed: they run eagerly, recording again (slowly), and raise again where the
recordings still differ. Non-tensor arguments (numbers, strings, flags) choose the recording: each
new value is compiled on its own, like a new shape, and so is each pattern of the same tensor given in two places
(step(x, x) and step(x, y) are recorded apart; a tensor given twice is one input). After changing anything the
step reads from Python (a learning rate set by hand), call ``reset()``.

The recorder finds the tensors a step may use through the garbage collector (gc.get_objects), which does not list
objects frozen by gc.freeze; with a frozen heap it unfreezes it to list them and freezes it again, which freezes
what was made since as well (the collector cannot freeze part of the heap).

The arrays a step makes and nothing keeps after it (its intermediate results) share buffers in the replay, as a
compiler's memory plan does (backend/recording.py's ``share_buffers``); ``compile(fn, share_buffers=False)``
keeps each one, to look at after a replay.

After a replay, tensors that the step updates in place (parameters, optimizer state, gradients) hold the new
values, as after an eager call; the returned tensors are fresh copies. Version counters do not move during a
replay. NumPy (device "cpu") only: on the GPU the equivalent is a CUDA graph, which tinygan does not have yet.
"""

import gc
import warnings
import weakref

from .. import backend
from ..autograd import TensorBase
from ..backend.recording import (RESULT, Program, Recorder, RecordingArray, RecordingError, arrays_in, copy_into,
                                 memory_owner, plain, same_bytes, share_buffers)
from ..tensor import Tensor

WARM_UP_CALLS = 1      # eager calls before the first recording
RECORDINGS = 2         # recordings compared before the program is used


def compile(function, share_buffers=True):
    """``function`` compiled: the same results, replayed from a recording of its NumPy calls (see the module
    docstring for what it needs of the function). share_buffers: let the step's temporaries share memory in the
    replay (backend/recording.py's ``share_buffers``); False keeps every intermediate array, to look at."""
    return CompiledFunction(function, share_buffers)


class CompiledFunction:
    """A function of tensors that records itself and replays the recording; one recording per argument key.

    calls_replayed counts the calls answered by a replay; ``program(*args)`` is the Program used for arguments
    like ``args`` (its ``source`` shows the replayed NumPy calls); ``reset()`` forgets every recording.
    """

    def __init__(self, function, share_buffers=True):
        self.function = function
        self.share_buffers = share_buffers
        self._captures = {}
        self.calls_replayed = 0

    def reset(self):
        self._captures = {}

    def program(self, *args, **kwargs):
        capture = self._captures.get(_key(args, kwargs))
        return None if capture is None else capture.program

    def __call__(self, *args, **kwargs):
        key = _key(args, kwargs)
        capture = self._captures.get(key)
        if capture is None or (capture.program is not None and not capture.is_current()):
            # a new key; or the step's state was replaced since the recording: record it anew
            capture = self._captures[key] = _Capture(self.share_buffers)
        if capture.program is not None:
            self.calls_replayed += 1
            return capture.replay(args, kwargs)
        capture.calls += 1
        if capture.calls <= WARM_UP_CALLS:
            return self.function(*args, **kwargs)
        return capture.record(self.function, args, kwargs)


class _Capture:
    """The recordings of one argument key, and its program once they agree."""

    def __init__(self, share_buffers):
        self.share_buffers = share_buffers
        self.calls = 0
        self.previous = None      # the signature of the last recording
        self.previous_results = None   # what its results were made of (see _results_signature)
        self.program = None
        self.outputs = None       # the structure of the results, with the arrays to copy them from
        self.guards = []          # [(weak reference to a state tensor the program uses, the array it held)]

    def record(self, function, args, kwargs):
        recorder = Recorder()
        inputs = _input_tensors(args, kwargs)
        last = self.calls == WARM_UP_CALLS + RECORDINGS
        swapped, originals = _swap_in(recorder, inputs)
        before = _copies(recorder.memory) if last else None
        recorder.start()
        try:
            result = function(*args, **kwargs)
        finally:
            recorder.stop()
            _swap_out(swapped, originals, len(inputs))
        for index, ((_, private), original) in enumerate(zip(swapped, originals[:len(inputs)])):
            if not same_bytes(plain(private), original):   # a replay would change its private copy only
                raise RecordingError(
                    f"compile: the step changed its tensor argument {index} (shape {original.shape}) in place; a "
                    f"compiled step gets a copy of each argument at every call, so the caller's tensor would keep "
                    f"its old values. Return the new values instead, or keep the tensor outside the arguments")
        outputs = _output_structure(result, recorder)
        signature = _signature(recorder, swapped[len(inputs):])
        results = _results_signature(outputs, recorder)
        if self.previous is not None:
            _check_same(self.previous, signature)
            _check_same_results(self.previous_results, results)
        self.previous, self.previous_results = signature, results
        if last:
            temporaries = _temporaries(recorder, outputs)
            instructions = share_buffers(recorder.instructions, temporaries) if self.share_buffers else \
                recorder.instructions
            program = Program(instructions, [array for _, array in swapped[:len(inputs)]])
            _check_replay(program, recorder, before, [array for _, array in swapped[:len(inputs)]], temporaries)
            self.program, self.outputs = program, outputs
            used = _memory_used(recorder.instructions)
            self.guards = [(weakref.ref(tensor), tensor.array) for tensor, array in swapped[len(inputs):]
                           if id(memory_owner(array)) in used]
            return _rebuild(outputs)   # copies, as from a replay: the next replays refill the recorded arrays
        return result

    def is_current(self):
        """False once a tensor whose memory the program uses holds another array (set_, Module.to) or is gone (an
        optimizer's load_state_dict replaces its state tensors): the step would now use other memory."""
        for reference, array in self.guards:
            tensor = reference()
            if tensor is None or tensor.array is not array:
                return False
        return True

    def replay(self, args, kwargs):
        self.program(*[tensor.array for tensor in _input_tensors(args, kwargs)])
        return _rebuild(self.outputs)


# ---------------------------------------------------------------------------------------------------------------
# arguments and results
# ---------------------------------------------------------------------------------------------------------------

def _key(args, kwargs):
    """Tensors by shape, dtype and device, and which arguments are the same tensor; anything else by value (it
    chooses the recording)."""
    seen = {}    # id(tensor) -> its number among the distinct tensors

    def part(value):
        if isinstance(value, TensorBase):   # the array's type stands for its device (numpy or cupy)
            if id(value) in seen:
                return ("the same tensor as", seen[id(value)])
            seen[id(value)] = len(seen)
            return ("tensor", value.array.shape, value.array.dtype, type(value.array))
        if isinstance(value, (list, tuple)):
            return (type(value).__name__,) + tuple(part(item) for item in value)
        try:
            hash(value)
        except TypeError:
            raise TypeError(f"compile: an argument of type {type(value).__name__} is neither a tensor nor a "
                            f"hashable value (numbers, strings, flags choose the recording)") from None
        return ("value", value)
    return tuple(part(arg) for arg in args) + tuple((name, part(kwargs[name])) for name in sorted(kwargs))


def _input_tensors(args, kwargs):
    """The distinct tensors among the arguments, in order (a tensor given twice is one input: one private copy)."""
    found, seen = [], set()

    def visit(value):
        if isinstance(value, TensorBase):
            if id(value) not in seen:
                seen.add(id(value))
                found.append(value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                visit(item)
    for value in list(args) + [kwargs[name] for name in sorted(kwargs)]:
        visit(value)
    return found


def _output_structure(result, recorder):
    """The results as a structure whose tensors are replaced by the arrays a replay refills."""
    if isinstance(result, TensorBase):
        array = result.array
        if not recorder.is_memory(array):
            array = backend.as_array(array).copy()   # a constant: the same at every call
        return ("tensor", plain(array), result.requires_grad)
    if isinstance(result, (list, tuple)):
        return (type(result), [_output_structure(item, recorder) for item in result])
    if isinstance(result, dict):
        return (dict, {name: _output_structure(item, recorder) for name, item in result.items()})
    if result is None or isinstance(result, (bool, int, float, str)):
        return ("value", result)
    raise TypeError(f"compile: the step returned a {type(result).__name__}; a compiled step returns tensors, "
                    f"numbers, strings, None, or lists, tuples and dicts of them")


def _rebuild(structure):
    kind, value = structure[0], structure[1]
    if kind == "tensor":
        return Tensor._make(value.copy())       # a copy: the next replay refills the recorded array
    if kind == "value":
        return value
    if kind is dict:
        return {name: _rebuild(item) for name, item in value.items()}
    return kind(_rebuild(item) for item in value)


# ---------------------------------------------------------------------------------------------------------------
# swapping every tensor's array for a RecordingArray while a step records
# ---------------------------------------------------------------------------------------------------------------

def _all_tensors():
    """Every tensor alive (the garbage collector tracks them all): the state a step may read or update.

    gc.get_objects leaves out the objects frozen by gc.freeze, and a frozen tensor left out would be recorded as a
    constant (a replay would miss its later changes): a frozen heap is unfrozen to list them, then frozen again."""
    frozen = gc.get_freeze_count() > 0
    if frozen:
        gc.unfreeze()
    try:
        with warnings.catch_warnings():   # isinstance on some libraries' lazy module objects warns (torch's)
            warnings.simplefilter("ignore")
            return [item for item in gc.get_objects() if isinstance(item, TensorBase)]
    finally:
        if frozen:
            gc.freeze()


def _swap_in(recorder, inputs):
    """Give the inputs private arrays (a replay copies the next inputs into them) and every other tensor a
    RecordingArray view of its own array. Returns [(tensor, recorded array)], the inputs first, and the arrays
    they held before, in the same order."""
    swapped, originals = [], []
    for index, tensor in enumerate(inputs):
        if not isinstance(tensor.array, backend.HOST_ARRAY):
            raise RecordingError("compile: the step's tensors are on the GPU; tg.compile records NumPy (device "
                                 "'cpu') only")
        originals.append(tensor.array)
        private = backend.as_array(tensor.array).copy()
        tensor.array = recorder.add_memory(private, f"input {index}")
        swapped.append((tensor, tensor.array))
    input_ids = {id(tensor) for tensor in inputs}
    for tensor in _all_tensors():
        if id(tensor) not in input_ids and isinstance(tensor.array, backend.HOST_ARRAY):
            originals.append(tensor.array)
            tensor.array = recorder.add_memory(tensor.array, "state")
            swapped.append((tensor, tensor.array))
    return swapped, originals


def _swap_out(swapped, originals, input_count):
    """Every tensor back on a plain ndarray (the same memory): the inputs back on their own arrays, the state on
    the very arrays it held (the replay's guards check them by identity) unless the step gave it another."""
    for index, ((tensor, recorded), original) in enumerate(zip(swapped, originals)):
        if index < input_count or tensor.array is recorded:
            tensor.array = original
    for tensor in _all_tensors():
        if isinstance(tensor.array, RecordingArray):
            tensor.array = plain(tensor.array)


def _memory_used(instructions):
    """The ids of the memory owners that the instructions read or write."""
    return _memory_used_in([(instruction.args, instruction.kwargs, tuple(instruction.outputs))
                            for instruction in instructions])


def _memory_used_in(value):
    """The ids of the memory owners of the arrays in ``value`` (lists, tuples and dicts looked into)."""
    return {id(memory_owner(array)) for array in arrays_in(value)}


# ---------------------------------------------------------------------------------------------------------------
# comparing two recordings, and checking a replay against the eager call
# ---------------------------------------------------------------------------------------------------------------

def _signature(recorder, state):
    """What must be the same in two recordings of one step: each instruction's function, and for each argument
    the memory it refers to (numbered in order of appearance; state by identity), its shape, strides and offset,
    or a constant's bytes, or a literal's value."""
    state_ids = {id(memory_owner(array)) for tensor, array in state}
    owners = {}
    constants = {id(copy) for copy, _ in recorder.constants}

    def describe(value):
        if hasattr(value, "__array_interface__") and hasattr(value, "strides"):
            if id(value) in constants:
                return ("constant", str(value.dtype), value.shape, value.tobytes())
            owner = memory_owner(value)
            number = owners.setdefault(id(owner), len(owners))
            offset = value.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
            identity = id(owner) if id(owner) in state_ids else None
            return ("memory", number, identity, offset, value.shape, value.strides, str(value.dtype))
        if isinstance(value, (list, tuple)):
            return (type(value).__name__,) + tuple(describe(item) for item in value)
        if isinstance(value, dict):
            return ("dict",) + tuple((name, describe(item)) for name, item in value.items())
        if isinstance(value, float) and value != value:
            return ("nan",)
        return ("literal", type(value).__name__, value)

    steps = []
    for instruction in recorder.instructions:
        steps.append((instruction.kind, instruction.call, describe(instruction.args),
                      describe(instruction.kwargs), describe(tuple(instruction.outputs)), instruction))
    return steps


def _check_same(first, second):
    if len(first) != len(second):
        raise RecordingError(
            f"compile: the step made {len(first)} array operations at one call and {len(second)} at the next; a "
            f"compiled step must do the same at every call (Python control flow that changes between calls "
            f"should become an argument: each value gets a recording of its own)")
    for index, (a, b) in enumerate(zip(first, second)):
        if a[:5] == b[:5]:
            continue
        instruction = b[5]
        what = "operation" if a[:2] != b[:2] else _first_difference(a[2:5], b[2:5])
        raise RecordingError(
            f"compile: operation {index} ({instruction.name()} at {instruction.place}) differs between two calls "
            f"of the step: {what}. Something the step computes outside tinygan's ops changes from call to call "
            f"(a Python number such as a learning rate or Adam's bias correction, a random draw, an array "
            f"replaced instead of updated in place); a replay would freeze it. Pass it as a tensor argument, "
            f"draw random numbers outside the step, and use optimizers with capturable=True")


def _results_signature(structure, recorder):
    """What must be the same in the results of two recordings: the parts a replay returns as recorded rather
    than recomputes (a Python value, a tensor no recorded operation wrote), by value."""
    kind, value = structure[0], structure[1]
    if kind == "tensor":
        return ("tensor", None if recorder.is_memory(value) else (str(value.dtype), value.shape, value.tobytes()))
    if kind == "value":
        return ("value", repr(value))
    items = value.items() if kind is dict else enumerate(value)
    return (kind.__name__,) + tuple((name, _results_signature(item, recorder)) for name, item in items)


def _check_same_results(first, second):
    if first != second:
        raise RecordingError(
            "compile: the step returned a Python value, or a tensor made without a recorded array operation (from "
            "a Python number, say), that differs between two calls; a replay would return the recorded value "
            "every time. Return tensors computed from the step's tensors, or compute such values outside the step")


def _first_difference(a, b):
    """Words for the first place where two argument descriptions (from _signature) differ."""
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        kind = a[0] if a and isinstance(a[0], str) and a[0] == b[0] else None
        if kind == "constant":
            return f"an array constant of shape {a[2]} has other values"
        if kind == "literal":
            return f"the number {a[2]!r} became {b[2]!r}"
        if kind == "memory" and a[2] != b[2]:
            return (f"it reads another array of shape {a[4]} (state replaced rather than updated in place, or a "
                    f".grad accumulating on a tensor that changes between calls?)")
        for x, y in zip(a, b):
            if x != y:
                return _first_difference(x, y)
    return f"{a!r:.80} became {b!r:.80}"


def _copies(memory):
    return {key: (owner, owner.copy()) for key, (owner, _) in memory.items()}


def _temporaries(recorder, outputs):
    """The ids of the memory owners the step made and nothing reads after it: results of its instructions that
    no tensor holds once the step has returned and that the step does not return. (Called after the tensors are
    back on plain arrays.)"""
    kept = {id(memory_owner(tensor.array)) for tensor in _all_tensors() if isinstance(tensor.array, backend.HOST_ARRAY)}
    kept |= _memory_used_in(outputs)
    return {key for key, (_, label) in recorder.memory.items() if label == RESULT and key not in kept}


def _check_replay(program, recorder, before, inputs, temporaries):
    """Replay the program from the state before the call it recorded and compare every array it keeps (all but
    the temporaries, whose bytes the program may share) with what the eager call left there; on a difference put
    the eager values back and refuse."""
    after = {key: value for key, value in _copies(recorder.memory).items() if key not in temporaries}
    for owner, copy in before.values():
        copy_into(owner, copy)
    program(*inputs)
    for key, (owner, expected) in after.items():
        if not same_bytes(owner, expected):
            for restored, value in after.values():
                copy_into(restored, value)
            label = recorder.memory[key][1]
            raise RecordingError(
                f"compile: replaying the recorded step does not give what the step computed ({label}, shape "
                f"{owner.shape}, differs); the step changes an array in a way the recorder does not see (an "
                f"array held outside a tensor, updated by NumPy calls on plain arrays?). Run it uncompiled")
