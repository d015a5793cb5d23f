"""Checkpoints (tinygan/serialization.py): save/load round trips, the safetensors layout read by an independent
reader, crash-safe writes, and the rejection of truncated, corrupted, pickled and foreign files.

The state dicts here are drawn by hypothesis: tensors 0-d to 3-d (zero-size included) of every tinygan dtype,
numbers (NaN, infinities and -0.0 included), strings, None, nested in lists, tuples and dicts whose keys are
strings (with "/" and "#" to collide with the tensor naming scheme) or ints.
"""

import errno
import json
import math
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygan as tg
from tinygan import backend, serialization
from tinygan.serialization import LoadedDict, CheckpointError, load, save

REPO_ROOT = Path(__file__).resolve().parent.parent


def examples():
    """The active hypothesis profile, with the function-scoped ``device`` and ``tmp_path`` fixtures allowed: the
    examples of one test share them, and each example overwrites the same checkpoint file."""
    profile = settings.default
    return settings(suppress_health_check=[*profile.suppress_health_check, HealthCheck.function_scoped_fixture])


# ---------------------------------------------------------------------------------------------------------------
# strategies and helpers
# ---------------------------------------------------------------------------------------------------------------

DTYPES = [np.float32, np.float64, np.int32, np.int64, np.bool_]


@st.composite
def arrays(draw):
    """A numpy array of a tinygan dtype, 0-d to 3-d, each axis 0 to 3 long (so zero-size arrays too); floats
    include NaN, infinities and -0.0."""
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
    return draw(hnp.arrays(dtype, shape))


numbers_and_text = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4)
keys = (st.text(alphabet="ab/#", max_size=3) | st.sampled_from(["__metadata__", "tensor", "layers.0.weight"])
        | st.text(max_size=3) | st.integers(-2, 2))
states = st.recursive(
    arrays() | numbers_and_text,
    lambda children: (st.lists(children, max_size=3) | st.lists(children, max_size=3).map(tuple)
                      | st.dictionaries(keys, children, max_size=3)),
    max_leaves=8)


def to_tensors(value, device):
    """``value`` with every numpy array made a tg tensor on ``device``."""
    if isinstance(value, np.ndarray):
        return tg.tensor(value, device=device)
    if isinstance(value, (list, tuple)):
        return type(value)(to_tensors(item, device) for item in value)
    if isinstance(value, dict):
        return {key: to_tensors(item, device) for key, item in value.items()}
    return value


def assert_same(loaded, expected, device="cpu", where="state"):
    """Exact equality: same container types, same keys (int stays int), numbers equal bit for bit (NaN, -0.0),
    tensors with the same dtype, shape, device and bytes. ``expected`` may hold numpy arrays for tensors."""
    if isinstance(expected, (np.ndarray, tg.Tensor)):
        array = expected if isinstance(expected, np.ndarray) else expected.numpy()
        assert isinstance(loaded, tg.Tensor), where
        assert (loaded.dtype, loaded.shape, loaded.device) == (array.dtype, array.shape, device), where
        assert loaded.numpy().tobytes() == array.tobytes(), where
        assert not loaded.requires_grad and loaded.is_leaf, where
        return
    if isinstance(expected, dict):  # loaded dicts are LoadedDicts: dicts that remember their source
        assert type(loaded) is LoadedDict, f"{where}: {type(loaded)} is not a LoadedDict"
    else:
        assert type(loaded) is type(expected), f"{where}: {type(loaded)} != {type(expected)}"
    if isinstance(expected, dict):
        assert list(loaded) == list(expected), where
        for key in expected:
            assert_same(loaded[key], expected[key], device, f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(loaded) == len(expected), where
        for index, (got, want) in enumerate(zip(loaded, expected)):
            assert_same(got, want, device, f"{where}[{index}]")
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(loaded), where
    elif isinstance(expected, float):
        assert loaded == expected and math.copysign(1, loaded) == math.copysign(1, expected), where
    else:
        assert loaded == expected, where


def read_raw(path):
    """An independent safetensors reader (what a PyTorch or JAX user could write in five lines): the header as
    a dict, and the data bytes."""
    raw = Path(path).read_bytes()
    length = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8:8 + length]), raw[8 + length:]


def pack(header, data=b""):
    """The bytes of a safetensors file with this header (a dict, or JSON text) and data."""
    text = header if isinstance(header, str) else json.dumps(header)
    encoded = text.encode("utf-8")
    return len(encoded).to_bytes(8, "little") + encoded + data


def small_state():
    """A model-and-optimizer checkpoint in miniature."""
    return {"model": {"layers.0.weight": tg.tensor([[1.0, -2.0], [0.5, 3.0]]),
                      "layers.0.bias": tg.tensor([0.25, -0.0], dtype=tg.float64)},
            "optimizer": {"state": {0: {"step": 3, "exp_avg": tg.tensor([1, 2], dtype=tg.int32)}},
                          "param_groups": [{"lr": 1e-4, "betas": (0.5, 0.999), "params": [0, 1],
                                            "amsgrad": False, "weight_decay": None}]},
            "mask": tg.tensor([True, False]),
            "epoch": 7, "name": "wgan-gp"}


@pytest.fixture
def checkpoint(tmp_path):
    """A small checkpoint on disk and the state it holds."""
    path = tmp_path / "ckpt.safetensors"
    state = small_state()
    save(state, path)
    return path, state


# ---------------------------------------------------------------------------------------------------------------
# round trips
# ---------------------------------------------------------------------------------------------------------------

@examples()
@given(state=states)
def test_round_trip_of_drawn_states(state, device, tmp_path):
    path = tmp_path / "state.safetensors"
    save(to_tensors(state, device), path)
    assert_same(load(path, device=device), state, device)


@examples()
@given(array=arrays())
def test_a_single_tensor_round_trips_with_its_values_dtype_and_shape(array, device, tmp_path):
    path = tmp_path / "tensor.safetensors"
    save(tg.tensor(array, device=device), path)
    assert_same(load(path, device=device), array, device)


def test_optimizer_state_keeps_int_keys_tuples_none_and_bools(checkpoint):
    path, state = checkpoint
    loaded = load(path)
    assert_same(loaded, state)
    assert list(loaded["optimizer"]["state"]) == [0]
    assert loaded["optimizer"]["param_groups"][0]["betas"] == (0.5, 0.999)


@pytest.mark.parametrize("value", [None, 0, "", [], {}, ()])
def test_a_bare_value_round_trips(tmp_path, value):
    save(value, tmp_path / "bare.safetensors")
    assert_same(load(tmp_path / "bare.safetensors"), value)


def test_int_and_str_keys_that_print_the_same_stay_apart(tmp_path):
    state = {0: tg.ones(1), "0": tg.zeros(1), "a/b": tg.ones(2), "a": {"b": tg.zeros(2)}, "a/b#1": 5}
    save(state, tmp_path / "keys.safetensors")
    assert_same(load(tmp_path / "keys.safetensors"), state)


def test_subclasses_and_float_subclasses_are_saved_as_their_base_type(tmp_path):
    from collections import OrderedDict, namedtuple
    Betas = namedtuple("Betas", "beta1 beta2")
    save(OrderedDict(betas=Betas(0.5, 0.9), lr=np.float64(0.25)), tmp_path / "sub.safetensors")
    assert_same(load(tmp_path / "sub.safetensors"), {"betas": (0.5, 0.9), "lr": 0.25})


def test_load_puts_tensors_on_the_asked_device_or_the_default_one(checkpoint, device):
    path, state = checkpoint
    assert_same(load(path, device=device), state, device)
    previous = tg.get_default_device()
    tg.set_default_device(device)
    try:
        assert load(path)["mask"].device == device
    finally:
        tg.set_default_device(previous)


def test_tensors_on_any_device_are_saved_and_loaded_elsewhere(device, tmp_path):
    weight = tg.randn(3, 2, generator=tg.Generator(0, device=device), requires_grad=True)
    save({"w": weight * 2}, tmp_path / "w.safetensors")  # a non-leaf that requires grad: only values are saved
    loaded = load(tmp_path / "w.safetensors", device="cpu")["w"]
    np.testing.assert_array_equal(loaded.numpy(), (weight * 2).detach().numpy())
    assert not loaded.requires_grad


def test_loaded_tensors_are_writable_and_share_no_memory(checkpoint):
    path, _ = checkpoint
    loaded = load(path)
    weight, bias = loaded["model"]["layers.0.weight"], loaded["model"]["layers.0.bias"]
    assert not np.shares_memory(weight.numpy(), bias.numpy())
    weight.add_(1.0)
    assert weight.numpy()[0, 0] == 2.0


def test_overwriting_leaves_one_file_and_no_temporary(checkpoint):
    path, _ = checkpoint
    save({"epoch": 8}, path)
    assert load(path) == {"epoch": 8}
    assert os.listdir(path.parent) == [path.name]


def test_a_non_contiguous_tensor_is_written_row_major(tmp_path, device):
    matrix = tg.arange(6, device=device).reshape(2, 3).T  # a transposed view: column-major in memory
    save({"m": matrix}, tmp_path / "t.safetensors")
    header, data = read_raw(tmp_path / "t.safetensors")
    assert np.frombuffer(data, "<i8").reshape(header["m"]["shape"]).tolist() == [[0, 3], [1, 4], [2, 5]]
    assert_same(load(tmp_path / "t.safetensors", device=device)["m"], matrix.numpy(), device)


# ---------------------------------------------------------------------------------------------------------------
# the file is plain safetensors
# ---------------------------------------------------------------------------------------------------------------

def test_an_independent_reader_gets_every_tensor_by_its_readable_name(checkpoint):
    path, state = checkpoint
    header, data = read_raw(path)
    metadata = header.pop("__metadata__")
    assert metadata["tinygan.format_version"] == "1" and metadata["tinygan.version"] == tg.__version__
    expected = {"model/layers.0.weight": state["model"]["layers.0.weight"],
                "model/layers.0.bias": state["model"]["layers.0.bias"],
                "optimizer/state/0/exp_avg": state["optimizer"]["state"][0]["exp_avg"],
                "mask": state["mask"]}
    assert sorted(header) == sorted(expected)
    codes = {"F32": "<f4", "F64": "<f8", "I32": "<i4", "I64": "<i8", "BOOL": "?"}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        values = np.frombuffer(data[begin:end], dtype=codes[info["dtype"]]).reshape(info["shape"])
        np.testing.assert_array_equal(values, expected[name].numpy())
        assert begin % values.itemsize == 0  # aligned, so a reader can map the data in place
    assert (len(path.read_bytes()) - len(data)) % 8 == 0  # the header is padded: data starts at a multiple of 8


def test_the_safetensors_package_reads_our_files(checkpoint):
    safetensors_numpy = pytest.importorskip("safetensors.numpy", reason="the safetensors package is not "
                                            "installed (optional: it only cross-checks our writer)")
    path, state = checkpoint
    arrays_read = safetensors_numpy.load_file(str(path))
    np.testing.assert_array_equal(arrays_read["model/layers.0.weight"], state["model"]["layers.0.weight"].numpy())
    assert arrays_read["optimizer/state/0/exp_avg"].dtype == np.int32


def test_a_file_written_by_the_safetensors_package_loads_as_a_flat_dict(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy", reason="the safetensors package is not "
                                            "installed (optional: it only cross-checks our reader)")
    tensors = {"encoder.weight": np.arange(6, dtype=np.float32).reshape(2, 3), "steps": np.array(4, np.int64),
               "empty": np.zeros((0, 2), np.float64)}
    safetensors_numpy.save_file(tensors, str(tmp_path / "foreign.safetensors"), metadata={"format": "pt"})
    loaded = load(tmp_path / "foreign.safetensors")
    assert sorted(loaded) == sorted(tensors)
    for name, array in tensors.items():
        assert_same(loaded[name], array)


def test_a_foreign_file_without_metadata_loads_as_a_flat_dict_in_header_order(tmp_path):
    data = np.array([1.5, 2.5], "<f8").tobytes() + np.array([7], "<i4").tobytes() + b"\x01"
    header = {"b": {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]},
              "a": {"dtype": "I32", "shape": [1], "data_offsets": [16, 20]},
              "flag": {"dtype": "BOOL", "shape": [], "data_offsets": [20, 21]}}
    (tmp_path / "foreign.safetensors").write_bytes(pack(header, data))
    loaded = load(tmp_path / "foreign.safetensors")
    assert list(loaded) == ["b", "a", "flag"]
    assert_same(loaded, {"b": np.array([1.5, 2.5]), "a": np.array([7], np.int32), "flag": np.array(True)})


def test_a_foreign_file_with_a_dtype_tinygan_lacks_names_the_tensor(tmp_path):
    header = {"half": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}}
    (tmp_path / "half.safetensors").write_bytes(pack(header, b"\0" * 4))
    with pytest.raises(CheckpointError, match="'half'.*F16") as caught:
        load(tmp_path / "half.safetensors")
    assert caught.value.key == "half"


# ---------------------------------------------------------------------------------------------------------------
# what save refuses
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("state, where, error", [
    ({"model": {"w": np.ones(2)}}, r"state\['model'\]\['w'\] is a ndarray.*tg.tensor", TypeError),
    ({"groups": [{"params": {1, 2}}]}, r"state\['groups'\]\[0\]\['params'\] is a set", TypeError),
    ({"step": np.int64(3)}, r"state\['step'\] is a int64", TypeError),
    ({"fn": print}, r"state\['fn'\]", TypeError),
    ({"state": {1.5: 2}}, r"state\['state'\] has a key 1.5 of type float", TypeError),
    ({True: 2}, r"state has a key True of type bool", TypeError),
    ({"name": "\ud800"}, r"state\['name'\] holds the string", ValueError),
])
def test_save_refuses_what_it_cannot_store_and_names_where(state, where, error, tmp_path):
    with pytest.raises(error, match=where):
        save(state, tmp_path / "bad.safetensors")
    assert os.listdir(tmp_path) == []


def test_save_refuses_a_container_that_contains_itself(tmp_path):
    loop = [1]
    loop.append({"again": loop})
    with pytest.raises(ValueError, match=r"state\[1\]\['again'\] contains itself"):
        save(loop, tmp_path / "loop.safetensors")
    shared = [1, 2]
    save({"a": shared, "b": shared}, tmp_path / "shared.safetensors")  # shared, not circular: fine
    assert load(tmp_path / "shared.safetensors") == {"a": [1, 2], "b": [1, 2]}


# ---------------------------------------------------------------------------------------------------------------
# crash safety
# ---------------------------------------------------------------------------------------------------------------

class FailingFile:
    """A file that takes ``room`` bytes and then raises ``error`` in the middle of a write (a full disk, a
    KeyboardInterrupt)."""

    def __init__(self, file, room, error):
        self.file, self.room, self.error = file, room, error

    def write(self, chunk):
        if len(chunk) > self.room:
            self.file.write(chunk[:self.room])
            self.file.flush()
            raise self.error
        self.room -= len(chunk)
        return self.file.write(chunk)

    def __getattr__(self, name):
        return getattr(self.file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.file.close()


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()],
                         ids=["disk-full", "interrupt"])
def test_a_failure_mid_write_keeps_the_previous_checkpoint(checkpoint, monkeypatch, error):
    path, state = checkpoint
    real_fdopen = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda *args, **kw: FailingFile(real_fdopen(*args, **kw), 100, error))
    with pytest.raises(type(error)):
        save({"model": {"layers.0.weight": tg.zeros(50, 50)}}, path)
    monkeypatch.undo()
    assert_same(load(path), state)
    assert os.listdir(path.parent) == [path.name]  # the partial temporary file is gone


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_a_failure_before_the_rename_keeps_the_previous_checkpoint(checkpoint, monkeypatch, step):
    path, state = checkpoint

    def fail(*args):
        raise OSError(errno.EIO, f"simulated {step} failure")

    monkeypatch.setattr(os, step, fail)
    with pytest.raises(OSError, match="simulated"):
        save({"epoch": 8}, path)
    monkeypatch.undo()
    assert_same(load(path), state)
    assert os.listdir(path.parent) == [path.name]


def test_a_failed_first_save_leaves_no_file(tmp_path, monkeypatch):
    real_fdopen = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda *args, **kw: FailingFile(real_fdopen(*args, **kw), 10, OSError()))
    with pytest.raises(OSError):
        save({"w": tg.ones(10)}, tmp_path / "new.safetensors")
    assert os.listdir(tmp_path) == []


def test_a_process_killed_mid_write_leaves_the_previous_checkpoint_loadable(checkpoint):
    """The real guarantee: no cleanup runs when a process dies (os._exit), and still the old file is whole."""
    path, state = checkpoint
    code = (
        "import os, sys, tinygan as tg\n"
        "from tinygan.serialization import save\n"
        "real_fdopen = os.fdopen\n"
        "class Dying:\n"
        "    def __init__(self, file): self.file = file\n"
        "    def __enter__(self): return self\n"
        "    def __exit__(self, *exc): pass\n"
        "    def write(self, chunk):\n"
        "        self.file.write(chunk[:len(chunk) // 2]); self.file.flush(); os._exit(3)\n"
        "os.fdopen = lambda *args, **kw: Dying(real_fdopen(*args, **kw))\n"
        "save({'w': tg.ones(1000)}, sys.argv[1])\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-c", code, str(path)], env=env, capture_output=True, timeout=60)
    assert result.returncode == 3, result.stderr.decode()
    assert_same(load(path), state)
    leftovers = [name for name in os.listdir(path.parent) if name != path.name]
    assert len(leftovers) == 1 and leftovers[0].startswith(f".{path.name}.tmp-")  # as save's docstring says


# ---------------------------------------------------------------------------------------------------------------
# truncated, corrupted and foreign files
# ---------------------------------------------------------------------------------------------------------------

def test_every_truncation_of_a_checkpoint_raises_checkpoint_error(checkpoint):
    path, _ = checkpoint
    raw = path.read_bytes()
    cut = path.with_name("cut.safetensors")
    for length in range(len(raw)):
        cut.write_bytes(raw[:length])
        with pytest.raises(CheckpointError) as caught:
            load(cut)
        assert str(cut) in str(caught.value) and caught.value.path == str(cut)


@pytest.mark.parametrize("mask", [0x01, 0x20, 0x80, 0xFF])
def test_every_flipped_byte_is_detected(checkpoint, mask):
    """Each byte of the file, flipped: the length, the JSON, the metadata strings (through the checksum), the
    data (through the checksum) and the padding."""
    path, _ = checkpoint
    raw = bytearray(path.read_bytes())
    corrupt = path.with_name("corrupt.safetensors")
    for position in range(len(raw)):
        raw[position] ^= mask
        corrupt.write_bytes(raw)
        raw[position] ^= mask
        with pytest.raises(CheckpointError):
            load(corrupt)
            pytest.fail(f"a flip of byte {position} with {mask:#x} went unnoticed")


def test_nothing_is_built_from_a_file_that_fails_a_check(checkpoint, monkeypatch):
    path, _ = checkpoint
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 1  # the last data byte: only the checksum, checked after the header, can notice it
    path.write_bytes(raw)
    built = []
    monkeypatch.setattr(backend, "array_from_bytes", lambda *args: built.append(args))
    with pytest.raises(CheckpointError, match="checksum"):
        load(path)
    assert built == []


def test_a_pickle_is_refused_without_being_unpickled(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps({"weight": Exploit()}, protocol=pickle.HIGHEST_PROTOCOL))
    with pytest.raises(CheckpointError, match="pickle") as caught:
        load(path)
    assert not marker.exists()
    assert str(path) in str(caught.value)


def test_npz_and_npy_files_are_refused(tmp_path):
    np.savez(tmp_path / "weights.npz", w=np.ones(3), obj=np.array([{"a": 1}], dtype=object))
    with pytest.raises(CheckpointError, match="zip archive"):
        load(tmp_path / "weights.npz")
    np.save(tmp_path / "weights.npy", np.ones(3))
    with pytest.raises(CheckpointError, match="npy"):
        load(tmp_path / "weights.npy")


@pytest.mark.parametrize("content", [b"", b"\x07", np.random.default_rng(0).bytes(4096),
                                     b"\x04\x00\x00\x00\x00\x00\x00\x00{}", (8).to_bytes(8, "little") + b"[1,2,3] "],
                         ids=["empty", "one-byte", "random", "short-header", "not-an-object"])
def test_other_files_are_refused(tmp_path, content):
    path = tmp_path / "file.bin"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="file.bin"):
        load(path)


def test_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nothing.safetensors")


# Each case changes a valid checkpoint's header (a dict: "__metadata__" and the tensors "w", "b") or data, and says
# which key the error must name (None: the file as a whole) and a piece of its message.
W = "model/w"


def _set(entry, field, value):
    def change(header, data):
        header[entry][field] = value
        return pack(header, data)
    return change


def _set_metadata(key, value):
    def change(header, data):
        if value is None:
            del header["__metadata__"][key]
        else:
            header["__metadata__"][key] = value
        return pack(header, data)
    return change


def _edit_structure(old, new):
    def change(header, data):
        metadata = header["__metadata__"]
        metadata["tinygan.structure"] = metadata["tinygan.structure"].replace(old, new)
        return pack(header, data)
    return change


def _shift_everything(header, data):
    for name, info in header.items():
        if name != "__metadata__":
            info["data_offsets"] = [offset + 8 for offset in info["data_offsets"]]
    return pack(header, b"\0" * 8 + data)


def _add_unused_tensor(header, data):
    header["extra"] = {"dtype": "F32", "shape": [0], "data_offsets": [len(data), len(data)]}
    return pack(header, data)


def _repeat_a_key(header, data):
    text = json.dumps(header)
    return pack(text[:-1] + ', "b": ' + json.dumps(header["b"]) + "}", data)


BAD_HEADERS = {
    "unknown-dtype": (_set(W, "dtype", "BF16"), W, "BF16"),
    "negative-shape": (_set(W, "shape", [-2, -2]), W, "non-negative"),
    "shape-not-a-list": (_set(W, "shape", "2x2"), W, "shape"),
    "offsets-reversed": (_set(W, "data_offsets", [16, 0]), W, "begin <= end"),
    "offsets-past-the-end": (_set(W, "data_offsets", [0, 10 ** 30]), W, "past the end"),
    "size-mismatch": (_set(W, "shape", [2, 3]), W, "needs 24"),
    "overlap": (_set(W, "data_offsets", [0, 16]), W, "overlaps"),
    "gap": (_shift_everything, "b", "gap"),
    "trailing-bytes": (lambda header, data: pack(header, data + b"\0"), None, "trailing"),
    "missing-field": (lambda header, data: pack({**header, "b": {"dtype": "I64"}}, data), "b", "data_offsets"),
    "extra-field": (_set(W, "strides", [2, 1]), W, "dtype, shape and data_offsets"),
    "metadata-not-strings": (_set_metadata("tinygan.version", 1), "__metadata__", "strings"),
    "repeated-key": (_repeat_a_key, None, "more than once"),
    "nan-in-header": (lambda header, data: pack(json.dumps(header).replace("[2, 2]", "[NaN, 2]"), data),
                      None, "NaN"),
    "header-is-a-list": (lambda header, data: pack("[]", data), None, "not an object"),
    "header-not-utf8": (lambda header, data: (4).to_bytes(8, "little") + b"\xff\xfe{}" + data, None, "UTF-8"),
    "huge-header-length": (lambda header, data: (2 ** 63).to_bytes(8, "little") + b"{}", None, "header length"),
    "unknown-format-version": (_set_metadata("tinygan.format_version", "2"), "tinygan.format_version", "'2'"),
    "no-structure": (_set_metadata("tinygan.structure", None), "tinygan.structure", "missing"),
    "no-checksum": (_set_metadata("tinygan.sha256", None), "tinygan.sha256", "missing"),
    "structure-not-json": (_set_metadata("tinygan.structure", "{"), "tinygan.structure", "invalid"),
    "missing-tensor": (_edit_structure('"tensor":"b"', '"tensor":"c"'), "tinygan.structure", "'c'"),
    "tensor-used-twice": (_edit_structure('"tensor":"b"', f'"tensor":"{W}"'), "tinygan.structure", "twice"),
    "unknown-node": (_edit_structure('{"float":"nan"}', '{"set":[]}'), "tinygan.structure", "not a valid node"),
    "unused-tensor": (_add_unused_tensor, "extra", "does not use it"),
    "changed-number": (_edit_structure('"step",3', '"step",4'), "tinygan.sha256", "checksum"),
    "changed-data": (lambda header, data: pack(header, data[:-1] + b"\x07"), "tinygan.sha256", "checksum"),
}


@pytest.mark.parametrize("case", BAD_HEADERS, ids=list(BAD_HEADERS))
def test_a_damaged_checkpoint_names_the_file_and_the_key(tmp_path, case):
    change, key, problem = BAD_HEADERS[case]
    path = tmp_path / "ckpt.safetensors"
    save({"model": {"w": tg.ones(2, 2)}, "b": tg.tensor([1, 2]), "step": 3, "x": float("nan")}, path)
    header, data = read_raw(path)
    path.write_bytes(change(header, data))
    with pytest.raises(CheckpointError) as caught:
        load(path)
    error = caught.value
    assert isinstance(error, ValueError)
    assert (error.path, error.key) == (str(path), key)
    message = str(error)
    assert str(path) in message and problem in message, message
    if key is not None:
        assert f"key {key!r}" in message, message


# A hostile header, each about the size named: json.loads would build every object of it before a check could
# refuse it (2.5 GB of Python lists for the 100 MB of empty lists), and the old repeated-key check took time
# quadratic in the number of keys (54 s for 60,000).
ENTRY = '"w":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}'
HOSTILE_HEADERS = {
    "a-million-keys": lambda: "{" + ",".join(f'"k{i}":0' for i in range(10 ** 6)) + "}",
    "a-million-repeats-of-an-entry": lambda: "{" + ",".join([ENTRY] * 10 ** 6) + "}",
    "100-MB-of-empty-lists": lambda: "[" + "[]," * (33 * 10 ** 6) + "[]]",
    "100-MB-of-empty-lists-as-a-value": lambda: '{"w":[' + "[]," * (33 * 10 ** 6) + "[]]}",
    "100-MB-of-empty-lists-as-a-shape": lambda: '{"w":{"dtype":"F32","shape":[' + "[]," * (33 * 10 ** 6) + "[]]}}",
    "100-MB-of-zeros-as-a-shape": lambda: '{"w":{"dtype":"F32","shape":[' + "0," * (50 * 10 ** 6) + "0]}}",
}

LOAD_AND_MEASURE = """
import sys, tracemalloc
from tinygan.serialization import CheckpointError, load
tracemalloc.start()
try:
    load(sys.argv[1])
except CheckpointError as error:
    print(tracemalloc.get_traced_memory()[1], str(error)[:300])
"""


@pytest.mark.parametrize("case", HOSTILE_HEADERS, ids=list(HOSTILE_HEADERS))
def test_a_hostile_header_is_refused_in_linear_time_and_bounded_memory(tmp_path, case):
    """Refused with a CheckpointError, with Python allocating less than the file's size along the way (the header
    is read one entry at a time, so the first fault stops it), in a child process given a minute: the old
    quadratic check of repeated keys would take hours for a million keys."""
    path = tmp_path / "hostile.safetensors"
    path.write_bytes(pack(HOSTILE_HEADERS[case]()))
    size = path.stat().st_size
    result = subprocess.run([sys.executable, "-c", LOAD_AND_MEASURE, str(path)], capture_output=True, text=True,
                            timeout=60, cwd=REPO_ROOT)
    assert result.returncode == 0 and result.stdout, result.stderr
    peak, message = result.stdout.split(" ", 1)
    # the bytes read and the text decoded from them: twice the header, and nothing built from it beyond that
    assert int(peak) < 2.5 * size, (int(peak) / size, message)
    assert "cannot load checkpoint" in message


def test_a_key_repeated_after_200000_others_is_found_in_linear_time(tmp_path):
    """Metadata of 200,000 strings whose last key repeats the first: a valid header up to its last entry, so it
    is read in full (the old check compared every key with every other: minutes for this many)."""
    path = tmp_path / "repeated.safetensors"
    path.write_bytes(pack('{"__metadata__":{' + ",".join(f'"k{i}":"v"' for i in range(200_000)) + ',"k0":"v"}}'))
    load_it = "import sys; from tinygan import load\ntry:\n    load(sys.argv[1])\nexcept ValueError as e:\n    print(e)"
    result = subprocess.run([sys.executable, "-c", load_it, str(path)], capture_output=True, text=True, timeout=60,
                            cwd=REPO_ROOT)
    assert result.returncode == 0 and "'k0' more than once" in result.stdout, result.stderr


@pytest.mark.parametrize("kind", ["list", "tuple", "dict"])
def test_save_and_load_accept_the_same_nesting(tmp_path, kind, monkeypatch):
    """Containers nest up to serialization.MAX_NESTING deep on both sides: save writes what load reads back, and
    refuses (before touching the file) what load would refuse. (The old save wrote a list 496 deep that load could
    not read, and raised RecursionError itself at 335 nested dicts.)"""
    def nested(depth):
        value = tg.ones(1)
        for _ in range(depth):
            value = {"a": value} if kind == "dict" else [value] if kind == "list" else (value,)
        return value

    limit = serialization.MAX_NESTING
    path = tmp_path / "deep.safetensors"
    save(nested(limit), path)
    assert_same(load(path), nested(limit))
    with pytest.raises(ValueError, match=f"nested at most {limit} deep"):
        save(nested(limit + 1), tmp_path / "deeper.safetensors")
    assert not (tmp_path / "deeper.safetensors").exists()

    # a file nested deeper (written by a tinygan with a higher limit, or by hand) is refused on load
    monkeypatch.setattr(serialization, "MAX_NESTING", limit + 50)
    save(nested(limit + 1), path)
    monkeypatch.setattr(serialization, "MAX_NESTING", limit)
    with pytest.raises(CheckpointError, match=f"at most {limit} deep"):
        load(path)


def test_a_structure_nested_thousands_deep_is_a_checkpoint_error(tmp_path):
    """A valid file (checksum and all) whose structure nests 5,000 lists: CheckpointError, not RecursionError."""
    structure = '{"list":[' * 5000 + "1" + "]}" * 5000
    metadata = {serialization.FORMAT_KEY: serialization.FORMAT_VERSION, serialization.VERSION_KEY: "0",
                serialization.STRUCTURE_KEY: structure}
    metadata[serialization.CHECKSUM_KEY] = serialization._checksum(metadata, {}, {})
    path = tmp_path / "deep.safetensors"
    path.write_bytes(b"".join(serialization._file_chunks(metadata, {})))
    with pytest.raises(CheckpointError, match="structure"):
        load(path)


@pytest.mark.parametrize("shape, data, problem", [
    ([2 ** 64, 0], b"", "larger than any array"),
    ([2 ** 63, 0], b"", "larger than any array"),
    ([2 ** 40, 2 ** 40, 0], b"", "larger than any array"),
    ([1] * 70, b"\0" * 4, "70 dimensions"),
])
def test_shapes_no_array_can_have_are_checkpoint_errors(tmp_path, shape, data, problem):
    """Shapes whose byte count is right (0 bytes, or 4 for seventy sizes of 1) but which numpy refuses with its own
    ValueError: refused by load's checks, naming the tensor."""
    path = tmp_path / "foreign.safetensors"
    path.write_bytes(pack({"w": {"dtype": "F32", "shape": shape, "data_offsets": [0, len(data)]}}, data))
    with pytest.raises(CheckpointError, match=problem) as caught:
        load(path)
    assert caught.value.key == "w"


def test_the_format_version_is_checked_before_anything_else_in_the_metadata(tmp_path):
    path = tmp_path / "future.safetensors"
    save({"w": tg.ones(1)}, path)
    header, data = read_raw(path)
    header["__metadata__"] = {"tinygan.format_version": "99", "tinygan.version": "9.0"}
    path.write_bytes(pack(header, data))
    with pytest.raises(CheckpointError, match="version '99'.*tinygan 9.0"):
        load(path)


def test_serialization_imports_no_numpy():
    """The backend is the only module that imports numpy (or cupy)."""
    source = Path(serialization.__file__).read_text()
    assert "import numpy" not in source and "import cupy" not in source


def test_loaded_dicts_name_their_file_and_key_path(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"model": {"w": tg.ones(2)}, "runs": [{"lr": 0.1}]}, path)
    state = load(path)
    assert state.source == f"{path}, state"
    assert state["model"].source == f"{path}, state['model']"
    assert state["runs"][0].source == f"{path}, state['runs'][0]"


def test_a_model_that_does_not_fit_the_checkpoint_names_the_file_and_the_key(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"G": tg.nn.Linear(2, 3).state_dict()}, path)
    wider = tg.nn.Linear(2, 4)
    before = wider.weight.numpy().copy()
    with pytest.raises(ValueError, match=r"ckpt\.safetensors, state\['G'\]: 'weight' has shape \(3, 2\)"):
        wider.load_state_dict(load(path)["G"])
    np.testing.assert_array_equal(wider.weight.numpy(), before)  # nothing was loaded
    with pytest.raises(KeyError, match=r"ckpt\.safetensors, state\['G'\].*unexpected keys \['bias'\]"):
        tg.nn.Linear(2, 3, bias=False).load_state_dict(load(path)["G"])
