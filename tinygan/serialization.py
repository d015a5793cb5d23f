"""Checkpoints: ``save(state, path)`` and ``load(path, device=None)``, in the safetensors format.

    tg.save({"model": G.state_dict(), "optimizer": opt.state_dict(), "epoch": 7}, "run/ckpt.safetensors")
    state = tg.load("run/ckpt.safetensors", device="cuda")

Why safetensors: loading it cannot run code (unlike pickle, which ``torch.save`` uses), and it is the field's
standard, so PyTorch, JAX or plain NumPy read our weights. We write and read the layout ourselves (numpy is
tinygan's only dependency):

    bytes 0..8         N, the header length: an unsigned 64-bit little-endian integer
    bytes 8..8+N       the header: UTF-8 JSON, padded with spaces so the data starts at a multiple of 8
                           {"__metadata__": {str: str, ...},
                            "<tensor name>": {"dtype": "F32" | "F64" | "I32" | "I64" | "BOOL",
                                              "shape": [d0, d1, ...],
                                              "data_offsets": [begin, end]}, ...}
    bytes 8+N..        the data: each tensor's values, row-major and little-endian, at [begin, end) counted
                       from the start of the data. Tensors are packed without gaps, larger items first, so
                       every tensor starts at a multiple of its item size (a reader can map it in place).

What tinygan adds, all in ``__metadata__`` (strings, as the format requires):

    "tinygan.format_version"  "1": the version of the entries below, checked on load
    "tinygan.version"         the tinygan that wrote the file (informative)
    "tinygan.structure"       JSON describing the saved object; every node is one of
                                  null, true/false, an integer, a finite float, a string   that Python value
                                  {"float": "nan" | "inf" | "-inf"}                          a non-finite float
                                  {"tensor": "<tensor name>"}                                a tensor of the file
                                  {"list": [node, ...]}, {"tuple": [node, ...]}
                                  {"dict": [[key, node], ...]}   key a string or an integer, in insertion order
    "tinygan.sha256"          a checksum of what the file holds (see ``_checksum``), so a flipped bit in the
                              header or the data is reported instead of loaded

Tensor names are labels for readers of the raw file: the dict keys and list positions on the way to the tensor,
joined with "/" ({"model": {"layers.0.weight": w}} gives "model/layers.0.weight"; a top-level state_dict keeps
PyTorch's own names). The structure is the authority: a key that itself contains "/" ({"a/b": x} next to
{"a": {"b": y}}) still round-trips, since a name already taken gets "#1", "#2", ... appended. A tensor that
appears twice in ``state`` is stored twice and loads as two tensors.

``load`` checks the whole file before it builds a single tensor (header length, JSON, every dtype, shape and
offset, the tensors tiling the data exactly, the structure, the checksum) and raises ``CheckpointError`` naming
the file and, where there is one, the offending key. A safetensors file written by another program (no
"tinygan.format_version") loads as a flat dict {tensor name: Tensor}, in the order its header lists them, as long
as every dtype is one tinygan has. (A file with any "tinygan." metadata entry is ours and must have them all.)
"""

import hashlib
import json
import math
import os
import re
import uuid
from json.decoder import scanstring
from typing import NamedTuple

from . import backend
from .tensor import Tensor
from .version import __version__

FORMAT_VERSION = "1"
FORMAT_KEY = "tinygan.format_version"
VERSION_KEY = "tinygan.version"
STRUCTURE_KEY = "tinygan.structure"
CHECKSUM_KEY = "tinygan.sha256"

MAX_HEADER_BYTES = 100_000_000  # the limit of the reference safetensors reader: a header is never this large
MAX_NESTING = 100               # containers inside containers, on both sides (see save)

_DTYPE_CODES = {backend.float32: "F32", backend.float64: "F64", backend.int32: "I32", backend.int64: "I64",
                backend.bool_: "BOOL"}
_DTYPES = {code: dtype for dtype, code in _DTYPE_CODES.items()}


class CheckpointError(ValueError):
    """A file that ``load`` will not read: truncated, corrupted, or not a safetensors checkpoint.

    ``path`` is the file and ``key`` the tensor name or metadata entry at fault (None for the file as a whole).
    """

    path = None
    key = None


def _error(path, problem, key=None):
    """A CheckpointError whose message names the file and, if given, the key."""
    at_key = "" if key is None else f", key {key!r}"
    error = CheckpointError(f"cannot load checkpoint {path!r}{at_key}: {problem}")
    error.path, error.key = path, key
    return error


# ---------------------------------------------------------------------------------------------------------------
# save
# ---------------------------------------------------------------------------------------------------------------

def save(state, path):
    """Write ``state`` to ``path`` as a safetensors file, atomically.

    ``state`` is a tg Tensor (any device; its values are copied to the host), an int, float, bool, str or None,
    or a list, tuple or dict (str or int keys) of those, nested up to MAX_NESTING (100) containers deep: the
    limit ``load`` reads back, so whatever ``save`` writes loads. Anything else raises a TypeError naming where it
    sits in ``state`` (a container inside itself, nesting deeper than the limit, or a string that is not valid
    Unicode, a ValueError), before any file is touched. Subclasses (an OrderedDict, a namedtuple) are saved as
    their base type.

    The file is written to a temporary file next to ``path``, flushed to disk, and renamed over ``path`` in one
    step, so a crash while saving leaves the previous checkpoint at ``path`` intact. (A process killed mid-write
    may leave its temporary file ``.<name>.tmp-*`` behind; it is never read.)
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: the folder {folder!r} does not exist; create it first "
                                f"(os.makedirs({folder!r}, exist_ok=True)) or save to a folder that does")
    tensors = {}  # tensor name -> (dtype code, shape, bytes)
    structure = _encode(state, [], tensors, set())
    metadata = {FORMAT_KEY: FORMAT_VERSION, VERSION_KEY: __version__,
                STRUCTURE_KEY: _dump_json(structure)}
    infos = {name: (code, shape) for name, (code, shape, _) in tensors.items()}
    metadata[CHECKSUM_KEY] = _checksum(metadata, infos, {name: data for name, (_, _, data) in tensors.items()})
    _write_atomically(path, _file_chunks(metadata, tensors))


def _encode(value, keys, tensors, open_containers):
    """The structure node for ``value`` (see the module docstring); tensors found on the way go into ``tensors``.

    ``keys`` is the path from the top of the state to ``value``; ``open_containers`` holds the ids of the
    containers being encoded, to refuse a container that contains itself.
    """
    if isinstance(value, Tensor):
        name = _tensor_name(keys, tensors)
        tensors[name] = (_DTYPE_CODES[value.dtype], list(value.shape), backend.array_to_bytes(value.array))
        return {"tensor": name}
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else {"float": repr(float(value))}
    if isinstance(value, str):
        _check_text(value, keys)
        return str(value)
    if not isinstance(value, (list, tuple, dict)):
        raise TypeError(f"save: {_where(keys)} is a {type(value).__name__}; a checkpoint holds tg Tensors, "
                        f"int, float, bool, str, None, and lists, tuples and dicts of those"
                        f"{' (make it a tensor with tg.tensor(...))' if backend.is_array(value) else ''}")
    if id(value) in open_containers:
        raise ValueError(f"save: {_where(keys)} contains itself; a checkpoint cannot hold a circular reference")
    if len(keys) >= MAX_NESTING:
        raise ValueError(f"save: {_where(keys)} is a container {len(keys) + 1} deep; a checkpoint holds containers "
                         f"nested at most {MAX_NESTING} deep (the depth load reads back)")
    open_containers.add(id(value))
    if isinstance(value, dict):
        for key in value:
            _check_key(key, keys)
        node = {"dict": [[key, _encode(item, keys + [key], tensors, open_containers)]
                         for key, item in value.items()]}
    else:
        kind = "tuple" if isinstance(value, tuple) else "list"
        node = {kind: [_encode(item, keys + [index], tensors, open_containers) for index, item in enumerate(value)]}
    open_containers.discard(id(value))
    return node


def _check_key(key, keys):
    """Dict keys are str, or int (optimizer state dicts use parameter indices); the JSON keeps which one."""
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise TypeError(f"save: {_where(keys)} has a key {key!r} of type {type(key).__name__}; checkpoint dict "
                        f"keys must be str or int")
    if isinstance(key, str):
        _check_text(key, keys)


def _check_text(text, keys):
    """Strings go into the UTF-8 header, so a lone surrogate ("\\ud800") cannot be saved."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"save: {_where(keys)} holds the string {text!r}, which is not valid Unicode "
                         f"(it cannot be written as UTF-8)") from None


def _tensor_name(keys, taken):
    """The keys on the way to a tensor joined with "/" ("tensor" at the top), made unique with "#1", "#2"..."""
    base = "/".join(str(key) for key in keys) or "tensor"
    name, count = base, 0
    while name in taken or name == "__metadata__":
        count += 1
        name = f"{base}#{count}"
    return name


def _where(keys):
    """A path in the state as Python would index it: state['model']['layers.0.weight']."""
    return "state" + "".join(f"[{key!r}]" for key in keys)


def _file_chunks(metadata, tensors):
    """The file as a list of byte strings: length, header, then the tensors' data.

    Tensors go largest item size first, then by name (the order the reference implementation uses): as the
    header is padded to a multiple of 8, every tensor then starts at a multiple of its item size.
    """
    order = sorted(tensors, key=lambda name: (-_DTYPES[tensors[name][0]].itemsize, name))
    header, offset = {"__metadata__": metadata}, 0
    for name in order:
        code, shape, data = tensors[name]
        header[name] = {"dtype": code, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    header_bytes = _dump_json(header).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)
    return [len(header_bytes).to_bytes(8, "little"), header_bytes] + [tensors[name][2] for name in order]


def _dump_json(value):
    """Compact JSON, UTF-8 text as it is (not \\u-escaped), and no NaN or Infinity (they are not JSON)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def write_text_atomically(path, text):
    """Write the string ``text`` (UTF-8) to ``path`` atomically: readers see the old file or all of the new one."""
    _write_atomically(path, [text.encode("utf-8")])


def write_bytes_atomically(path, data):
    """Write ``data`` (bytes) to ``path`` atomically."""
    _write_atomically(path, [data])


def _write_atomically(path, chunks):
    """Write ``chunks`` to ``path`` so that ``path`` holds either its old content or all of the new one.

    The steps, and why: write a temporary file in the same directory (a rename is atomic only within one file
    system); flush and fsync it (so its bytes are on disk before the rename can be); os.replace it over ``path``
    (atomic); fsync the directory (so the rename itself survives a power cut). On any error, including
    KeyboardInterrupt, the temporary file is removed and ``path`` is untouched.
    """
    directory = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(directory, f".{os.path.basename(path)}.tmp-{uuid.uuid4().hex[:12]}")
    # O_EXCL: never write through a file that someone else created under that name. Mode 0o666 minus the umask,
    # the permissions a plain open() gives.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(descriptor, "wb") as file:
            for chunk in chunks:
                file.write(chunk)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        _remove_quietly(temporary)
        raise
    _fsync_directory(directory)


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _fsync_directory(directory):
    """Make a rename in ``directory`` durable. Not every platform can open a directory (Windows cannot): skip."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# ---------------------------------------------------------------------------------------------------------------
# load
# ---------------------------------------------------------------------------------------------------------------

class _Entry(NamedTuple):
    """One tensor of the header: its dtype code, shape and byte range in the data."""
    dtype: str
    shape: list
    begin: int
    end: int


class _TensorRef(NamedTuple):
    """A tensor leaf of a decoded structure, before the tensors are built."""
    name: str


def load(path, device=None):
    """Read a checkpoint written by ``save`` (or any safetensors file) and return what was saved.

    Tensors come back on ``device`` (default: the default device) with their saved dtype and shape, as new
    leaves with requires_grad=False; ints stay ints (dict keys too), tuples stay tuples. A safetensors file
    without tinygan's metadata gives a flat dict {tensor name: Tensor}.

    The whole file is checked before any tensor is built; a file that fails a check raises CheckpointError (a
    ValueError) naming the file and the key. A missing file raises the usual OSError. The header is read one
    entry at a time and refused at its first fault (see ``_header_members``), so a hostile header costs time and
    memory in proportion to what comes before the fault; tinygan's structure entry (a JSON string in the metadata)
    is parsed whole, in time and memory proportional to its length, like the state it describes.
    """
    device = backend.as_device(device)  # a missing GPU is reported before the file is read
    path = os.fspath(path)
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        metadata, entries = _read_header(file, size, path)
        data_size = size - file.tell()
        _check_tiling(entries, data_size, path)
        # Any "tinygan." entry makes it our file, so a damaged format_version key is an error, not a foreign file.
        ours = any(key.startswith("tinygan.") for key in metadata)
        structure = _check_structure(metadata, entries, path) if ours else None
        data = file.read(data_size)
    if len(data) != data_size:
        raise _error(path, f"the file shrank while it was read ({len(data)} of {data_size} data bytes)")
    views = {name: memoryview(data)[entry.begin:entry.end] for name, entry in entries.items()}
    if not ours:  # a foreign safetensors file: its tensors as a flat dict
        structure = {name: _TensorRef(name) for name in entries}
    elif metadata[CHECKSUM_KEY] != _checksum(metadata, entries, views):
        raise _error(path, "the checksum does not match the content: the file was changed or corrupted after "
                           "it was written", CHECKSUM_KEY)
    tensors = {name: Tensor._make(backend.array_from_bytes(views[name], _DTYPES[entry.dtype], entry.shape, device))
               for name, entry in entries.items()}
    return _fill(structure, tensors, path)


def _read_header(file, size, path):
    """Read the 8-byte length and the JSON header after it, checking each entry as it is read; return the
    metadata (a dict of strings) and the tensor entries ({name: _Entry}, in header order)."""
    prefix = file.read(8)
    if len(prefix) < 8:
        raise _error(path, f"the file is {size} bytes long, too short for a safetensors header (8 bytes of "
                           f"length, then the JSON header){_looks_like(prefix)}")
    length = int.from_bytes(prefix, "little")
    if length > MAX_HEADER_BYTES:
        raise _error(path, f"the first 8 bytes give a header length of {length} bytes, more than the "
                           f"{MAX_HEADER_BYTES} a safetensors header may have: the file is corrupted or not a "
                           f"safetensors file{_looks_like(prefix)}")
    if 8 + length > size:
        raise _error(path, f"the first 8 bytes give a header length of {length} bytes, but the file is {size} "
                           f"bytes long: it is truncated or not a safetensors file{_looks_like(prefix)}")
    data_size = size - 8 - length
    try:
        text = file.read(length).decode("utf-8")
    except UnicodeDecodeError as error:
        raise _error(path, f"the header is not valid UTF-8 ({error}): the file is corrupted or not a "
                           f"safetensors file{_looks_like(prefix)}") from None
    metadata, entries = None, {}
    try:
        for name, fields in _header_members(text):
            if name in entries or (name == "__metadata__" and metadata is not None):
                raise _error(path, f"the key {name!r} appears more than once in the header")
            if name == "__metadata__":
                metadata = _check_metadata(fields, path)
            else:
                entries[name] = _check_entry(name, fields, data_size, path)
    except CheckpointError:
        raise
    except ValueError as error:
        raise _error(path, f"the header is not valid safetensors JSON: {error}; the file is corrupted or not a "
                           f"safetensors file{_looks_like(prefix)}") from None
    return metadata or {}, entries


def _looks_like(prefix):
    """A hint at what a file that is not safetensors may be, from its first bytes."""
    if prefix[:1] == b"\x80":
        return ("; it looks like a pickle (pickle.dump, or torch.save in its old format), which tinygan never "
                "opens, since unpickling can run any code")
    if prefix[:4] == b"PK\x03\x04":
        return "; it looks like a zip archive (a numpy .npz, or a torch.save file), which tinygan does not open"
    if prefix[:6] == b"\x93NUMPY":
        return "; it looks like a numpy .npy file"
    return ""


# The header, read as the small grammar it is. Every safetensors header has this shape:
#
#     header = { name: { field: string | number | [numbers], ... }, ... }
#
# a tensor entry {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]} per tensor, and "__metadata__", an
# object of strings. Reading it as that grammar, one member at a time, instead of json.loads on the whole text,
# refuses a hostile header (a million keys, megabytes of nested lists) at its first wrong token, in time and
# memory proportional to what came before it: json.loads would first build every object (a 100 MB header of
# "[[],[],...]" takes 2.5 GB of Python lists) and checking repeated keys needs the whole object. Strings are read
# by json's own scanner, numbers and lists of numbers by json.loads.

_SPACE = re.compile(r"[ \t\n\r]*")
_FLAT_LIST = re.compile(r'\[[^\[\]{}"]{0,10000}\]')   # 64 sizes of 20 digits need 1,400 characters
_SCALAR = re.compile(r'[^\s,\[\]{}":]{1,100}')         # a number, true, false or null (json.loads checks which)


def _header_members(text):
    """Yield (name, fields) for each member of the header ``text`` in order: ``fields`` a dict of the member's
    object (strings, numbers, lists of numbers). Raises ValueError saying what was expected where."""
    scanner = _Scanner(text)
    if scanner.peek() != "{":
        scanner.fail("'{': the header is not an object")
    for name in scanner.keys():
        yield name, scanner.flat_object(name)
    if scanner.peek():
        scanner.fail("the end of the header")


class _Scanner:
    """A position in JSON text and the few steps the header's grammar needs (see ``_header_members``)."""

    def __init__(self, text):
        self.text, self.position = text, 0

    def peek(self):
        """The next character that is not white space ("" at the end), without taking it."""
        self.position = _SPACE.match(self.text, self.position).end()
        return self.text[self.position:self.position + 1]

    def take(self, character):
        if self.peek() != character:
            self.fail(repr(character))
        self.position += 1

    def fail(self, expected):
        found = repr(self.text[self.position:self.position + 30]) if self.position < len(self.text) else "the end"
        raise ValueError(f"expected {expected} at character {self.position}, found {found}")

    def keys(self):
        """Yield each key of the object that starts here, leaving the position at the key's value: the caller
        reads the value before it asks for the next key."""
        self.take("{")
        if self.peek() == "}":
            self.position += 1
            return
        while True:
            if self.peek() != '"':
                self.fail("a string key")
            key, self.position = scanstring(self.text, self.position + 1, True)
            self.take(":")
            yield key
            if self.peek() != ",":
                self.take("}")
                return
            self.position += 1

    def flat_object(self, name):
        """An object of strings, numbers and lists of numbers, as a dict; a key given twice is refused."""
        if self.peek() != "{":
            self.fail(f"an object for {name!r}")
        fields = {}
        for key in self.keys():
            if key in fields:
                raise ValueError(f"{name!r} has the key {key!r} more than once")
            fields[key] = self.flat_value()
        return fields

    def flat_value(self):
        if self.peek() == '"':
            value, self.position = scanstring(self.text, self.position + 1, True)
            return value
        match = (_FLAT_LIST if self.peek() == "[" else _SCALAR).match(self.text, self.position)
        if match is None:
            self.fail("a string, a number or a list of numbers (at most 10,000 characters)")
        self.position = match.end()
        return json.loads(match.group(), parse_constant=_no_constant)


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def _parse_json(text):
    """json.loads, refusing a repeated key (json would silently keep the last one) and NaN/Infinity (not JSON;
    other readers reject them)."""
    return json.loads(text, object_pairs_hook=_dict_without_repeats, parse_constant=_no_constant)


def _dict_without_repeats(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} appears more than once")
        result[key] = value
    return result


def _check_metadata(metadata, path):
    """``__metadata__`` must map strings to strings."""
    if not all(isinstance(value, str) for value in metadata.values()):
        raise _error(path, "__metadata__ must be a JSON object of strings", "__metadata__")
    return metadata


def _check_tiling(entries, data_size, path):
    """The tensors of the header together tile the data exactly: no gaps, no overlaps, nothing after them."""
    position = 0  # where the next tensor must begin
    for name, entry in sorted(entries.items(), key=lambda item: (item[1].begin, item[1].end)):
        if entry.begin != position:
            problem = "overlaps the tensor before it" if entry.begin < position else "leaves a gap before it"
            raise _error(path, f"data_offsets {[entry.begin, entry.end]} {problem} (expected it to begin at "
                               f"{position}): the file is corrupted", name)
        position = entry.end
    if position != data_size:
        raise _error(path, f"the tensors hold {position} bytes but the file has {data_size} bytes after the "
                           f"header: it has trailing bytes or is corrupted")


def _check_entry(name, info, data_size, path):
    """Check one tensor entry: known dtype, a shape of at most backend.MAX_DIMS sizes that an array can have,
    offsets inside the data that hold exactly prod(shape) * itemsize bytes."""
    if sorted(info) != ["data_offsets", "dtype", "shape"]:
        raise _error(path, f"a tensor entry must be an object with dtype, shape and data_offsets, got "
                           f"{json.dumps(info)[:200]}", name)
    code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if code not in _DTYPES:
        raise _error(path, f"dtype {code!r} is not one tinygan has ({', '.join(_DTYPES)})", name)
    if not isinstance(shape, list) or not all(_is_count(size) for size in shape):
        raise _error(path, f"shape must be a list of non-negative integers, got {shape!r}", name)
    if len(shape) > backend.MAX_DIMS:
        raise _error(path, f"shape has {len(shape)} dimensions, more than the {backend.MAX_DIMS} an array may have",
                     name)
    # An array's byte count (leaving out sizes 0) must fit in a signed 64-bit index, even when it is empty.
    if math.prod(size for size in shape if size) * _DTYPES[code].itemsize > backend.MAX_ARRAY_BYTES:
        raise _error(path, f"shape {shape} of {code} is larger than any array can be", name)
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(offset) for offset in offsets)
            and offsets[0] <= offsets[1]):
        raise _error(path, f"data_offsets must be [begin, end] with 0 <= begin <= end, got {offsets!r}", name)
    begin, end = offsets
    if end > data_size:
        raise _error(path, f"data_offsets {offsets} run past the end of the data ({data_size} bytes): the file "
                           f"is truncated", name)
    needed = math.prod(shape) * _DTYPES[code].itemsize
    if end - begin != needed:
        raise _error(path, f"data_offsets {offsets} hold {end - begin} bytes, but shape {shape} of {code} needs "
                           f"{needed}", name)
    return _Entry(code, shape, begin, end)


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_structure(metadata, entries, path):
    """For a tinygan file: check the format version and the other entries, decode the structure, and check it
    uses every tensor of the file exactly once. Returns the structure with _TensorRef leaves."""
    if FORMAT_KEY not in metadata:
        raise _error(path, "this tinygan metadata entry is missing", FORMAT_KEY)
    if metadata[FORMAT_KEY] != FORMAT_VERSION:
        raise _error(path, f"checkpoint format version {metadata[FORMAT_KEY]!r} is not one this tinygan reads "
                           f"({FORMAT_VERSION!r}); it was written by tinygan {metadata.get(VERSION_KEY, '?')}",
                     FORMAT_KEY)
    for key in (STRUCTURE_KEY, CHECKSUM_KEY):
        if key not in metadata:
            raise _error(path, "this tinygan metadata entry is missing", key)
    used = set()
    try:
        structure = _decode(_parse_json(metadata[STRUCTURE_KEY]), [], used, entries)
    except (ValueError, RecursionError) as error:
        raise _error(path, f"the structure is invalid: {error}", STRUCTURE_KEY) from None
    for name in entries:
        if name not in used:
            raise _error(path, "the file holds this tensor but the structure does not use it", name)
    return structure


def _decode(node, keys, used, entries):
    """The Python value for a structure node, with _TensorRef leaves; a ValueError says what is wrong where."""
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, dict) and len(node) == 1:
        ((kind, content),) = node.items()
        if kind == "tensor" and isinstance(content, str):
            if content not in entries:
                raise ValueError(f"{_where(keys)} refers to tensor {content!r}, which is not in the file")
            if content in used:
                raise ValueError(f"{_where(keys)} refers to tensor {content!r}, which is used twice")
            used.add(content)
            return _TensorRef(content)
        if kind == "float" and content in ("nan", "inf", "-inf"):
            return float(content)
        if kind in ("list", "tuple", "dict") and len(keys) >= MAX_NESTING:
            raise ValueError(f"{_where(keys)} is a container {len(keys) + 1} deep; a checkpoint nests containers at "
                             f"most {MAX_NESTING} deep")
        if kind in ("list", "tuple") and isinstance(content, list):
            items = [_decode(item, keys + [index], used, entries) for index, item in enumerate(content)]
            return items if kind == "list" else tuple(items)
        if kind == "dict" and isinstance(content, list):
            return _decode_dict(content, keys, used, entries)
    raise ValueError(f"{_where(keys)} is not a valid node: {json.dumps(node)[:200]}")


def _decode_dict(pairs, keys, used, entries):
    result = {}
    for pair in pairs:
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], (str, int))
                and not isinstance(pair[0], bool)):
            raise ValueError(f"{_where(keys)} has an entry that is not a [str or int key, value] pair")
        key, node = pair
        if key in result:
            raise ValueError(f"{_where(keys)} has the key {key!r} twice")
        result[key] = _decode(node, keys + [key], used, entries)
    return result


class LoadedDict(dict):
    """A dict read from a checkpoint. ``source`` says where it came from (the file and the key path, e.g.
    "run/ckpt.safetensors, state['G']"), so Module.load_state_dict can name them in its errors."""

    source = None


def _fill(value, tensors, path, keys=()):
    """The decoded structure with each _TensorRef replaced by its tensor, dicts as LoadedDicts."""
    if isinstance(value, _TensorRef):
        return tensors[value.name]
    if isinstance(value, list):
        return [_fill(item, tensors, path, keys + (index,)) for index, item in enumerate(value)]
    if isinstance(value, tuple):
        return tuple(_fill(item, tensors, path, keys + (index,)) for index, item in enumerate(value))
    if isinstance(value, dict):
        result = LoadedDict((key, _fill(item, tensors, path, keys + (key,))) for key, item in value.items())
        result.source = f"{path}, {_where(list(keys))}"
        return result
    return value


def _checksum(metadata, infos, data):
    """sha256 (hex) of what a checkpoint holds: its metadata without the checksum, each tensor's name, dtype and
    shape, and each tensor's bytes in name order.

    The layout (offsets, key order, padding) is left out: it is checked separately, and a tool that re-lays out
    the file without changing anything keeps the checksum valid. ``infos`` maps names to (dtype code, shape, ...)
    and ``data`` names to bytes; since the shapes fix each tensor's byte count, concatenating the bytes is
    unambiguous.
    """
    described = {"metadata": {key: value for key, value in metadata.items() if key != CHECKSUM_KEY},
                 "tensors": {name: [info[0], list(info[1])] for name, info in infos.items()}}
    digest = hashlib.sha256(json.dumps(described, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    for name in sorted(data):
        digest.update(data[name])
    return digest.hexdigest()
