"""tg.compile (tinygan/fast/compiler.py, tinygan/backend/recording.py) against the eager code it stands in for.

A compiled function runs eagerly once, is recorded at its 2nd and 3rd calls, and from the 4th call on replays the
recording. Everything here checks one of two promises: a replay gives the eager numbers bit for bit (weights,
optimizer state, gradients, history rows, returned values), and a function whose replay could go stale is refused
with a clear error (or recorded anew), never replayed with old numbers. Each test also checks that replays did
happen, so that none passes by running everything eagerly.
"""

import ast
import contextlib
import copy
import gc

import numpy as np
import pytest

import tinygan as tg
from tinygan import train
from tinygan.backend.recording import HostReadError, RecordingError
from tinygan.fast import compiler
from tinygan.train import Trainer

EAGER_CALLS = compiler.WARM_UP_CALLS + compiler.RECORDINGS   # calls of one argument key before replays start


# ---------------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------------

def assert_same(got, want, where="state"):
    """got and want hold the same values bit for bit: tensors by dtype, shape and bytes, floats by their bits,
    dicts, lists and tuples item by item."""
    if isinstance(want, tg.Tensor):
        assert isinstance(got, tg.Tensor), where
        a, b = got.numpy(), want.numpy()
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert a.tobytes() == b.tobytes(), f"{where}: largest difference {np.max(np.abs(a - b))}"
    elif isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), where
        for key in want:
            assert_same(got[key], want[key], f"{where}[{key!r}]")
    elif isinstance(want, (list, tuple)):
        assert type(got) is type(want) and len(got) == len(want), where
        for index, (a, b) in enumerate(zip(got, want)):
            assert_same(a, b, f"{where}[{index}]")
    elif isinstance(want, float):
        assert isinstance(got, float) and np.float64(got).tobytes() == np.float64(want).tobytes(), \
            f"{where}: {got!r} != {want!r}"
    else:
        assert type(got) is type(want) and got == want, f"{where}: {got!r} != {want!r}"


def small(name="gmm2d", **changes):
    """A preset with tiny networks and batches: a step takes a millisecond or two."""
    base = dict(g_hidden=(8, 8), d_hidden=(8, 8), batch_size=16, steps=24, eval_every=12, eval_samples=100,
                log_every=6)
    base.update(changes)
    return train.preset(name, **base)


def expected_replays(config, steps, start=0):
    """How many of the steps start+1 .. steps the trainer's compiled step answers by a replay: each argument key
    (which D updates add the penalty) is replayed from its (EAGER_CALLS + 1)-th call, and a change of the learning
    rates forgets every recording."""
    schedule = (None if config.lr_drop_at is None
                else train.LearningRateDrop(round(config.lr_drop_at * config.steps), config.lr_drop_factor))
    calls, factor, replays = {}, None, 0
    for step in range(start + 1, steps + 1):
        new_factor = 1.0 if schedule is None else schedule(step)
        if new_factor != factor:
            calls, factor = {}, new_factor
        key = tuple(config.penalty is not None and d_step % config.penalty_every == 0
                    for d_step in range((step - 1) * config.k + 1, step * config.k + 1))
        calls[key] = calls.get(key, 0) + 1
        replays += calls[key] > EAGER_CALLS
    return replays


def compiled_and_eager(config, steps=None):
    """The same run trained by a compiled trainer and an eager one; both trainers are returned."""
    compiled = Trainer.from_config(config, compile=True)
    eager = Trainer.from_config(config, compile=False)
    compiled.train(steps)
    eager.train(steps)
    return compiled, eager


def assert_same_run(compiled, eager):
    """Weights (G, D, G_ema), both optimizers' state, the step and every history row, bit for bit."""
    assert_same(compiled.state_dict(), eager.state_dict(), "trainer")


# ---------------------------------------------------------------------------------------------------------------
# the trainer: compile=True gives the numbers of compile=False
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(train.PRESETS))
def test_every_preset_recipe_replays_the_eager_run_bit_for_bit(name):
    config = small(name)
    compiled, eager = compiled_and_eager(config)
    assert_same_run(compiled, eager)
    assert compiled._step_function.calls_replayed == expected_replays(config, config.steps) > 0


@pytest.mark.parametrize("changes", [
    dict(penalty="r1", penalty_every=3, lr_drop_at=None),                         # lazy R1: two recordings
    dict(penalty="r1", penalty_every=1, penalty_weight=2.0, ema=None),            # R1 every step
    dict(loss="wasserstein", penalty="gp", penalty_every=1, penalty_weight=1.0),  # WGAN-GP: t is an argument
    dict(loss="wasserstein", penalty="gp", penalty_every=2, penalty_weight=1.0, k=2),
    dict(penalty="r2", penalty_weight=0.5),
    dict(loss="ragan", penalty=None),                                             # the real logits, no graph
    dict(ema=0.9, lr_drop_at=None),                                               # the EMA's warm-up decay
    dict(k=3, penalty_every=2),
    dict(loss="wasserstein", penalty=None, clip_value=0.05, optimizer="rmsprop", k=2, ema=None),
    dict(lr_drop_at=0.5, lr_drop_factor=0.1, steps=30),                           # the drop forgets the recording
    dict(optimizer="rmsprop"),
    dict(optimizer="sgd", lr_d=0.01, lr_g=0.01),
    dict(dtype="float64"),
], ids=["lazy-r1", "r1", "gp", "lazy-gp-k2", "r2", "ragan", "ema", "k3", "clip-rmsprop", "lr-drop", "rmsprop",
        "sgd", "float64"])
def test_training_options_replay_the_eager_run_bit_for_bit(changes):
    config = small("gmm2d", **changes)
    compiled, eager = compiled_and_eager(config)
    assert_same_run(compiled, eager)
    assert compiled._step_function.calls_replayed == expected_replays(config, config.steps) > 0


def test_the_lazy_penalty_step_is_replayed_too():
    """With R1 on every 4th step the penalized step has a recording of its own, replayed from its 4th call."""
    config = small("gmm2d", penalty="r1", penalty_every=4, lr_drop_at=None, steps=28, eval_every=0)
    compiled, eager = compiled_and_eager(config)
    assert_same_run(compiled, eager)
    assert compiled._step_function.calls_replayed == (21 - EAGER_CALLS) + (7 - EAGER_CALLS)


def test_a_compiled_run_resumed_from_its_checkpoint_is_the_uninterrupted_run(tmp_path):
    config = small("ring", steps=30, lr_drop_at=0.5)     # the resume is before the drop, the drop after it
    path = str(tmp_path / "run.safetensors")
    first = Trainer.from_config(config, checkpoint_path=path, compile=True)
    first.train(12)
    assert first._step_function.calls_replayed > 0
    resumed = Trainer.from_checkpoint(path)
    assert resumed.compile      # from_config compiles on the CPU by default
    resumed.train()
    assert resumed._step_function.calls_replayed == expected_replays(config, config.steps, start=12) > 0
    uninterrupted, eager = compiled_and_eager(config)
    assert_same_run(resumed, uninterrupted)
    assert_same_run(resumed, eager)


def test_loading_a_state_into_a_trainer_that_has_replayed_forgets_its_recording():
    config = small("gmm2d", lr_drop_at=None, steps=20)
    source = Trainer.from_config(config, compile=True)
    source.train(10)
    target = Trainer.from_config(config, compile=True)
    target.train(6)              # other weights and moments, and recordings that use their arrays
    assert target._step_function.calls_replayed > 0
    target.load_state_dict(source.state_dict())
    target.train(20)
    source.train(20)
    assert_same_run(target, source)
    eager = Trainer.from_config(config, compile=False)
    eager.train(20)
    assert_same(target.state_dict()["G"], eager.state_dict()["G"])


def test_the_trainers_step_source_is_readable_python_naming_its_ops():
    config = small("gmm2d", lr_drop_at=None, steps=5, eval_every=0)
    trainer = Trainer.from_config(config, compile=True)
    captured = {}
    compiled, step = trainer._step_function, trainer._step_function.function

    def spy(*args):          # the arguments of a recorded call: program() finds the recording by them
        captured["args"] = args
        return step(*args)
    compiled.function = spy
    trainer.train(5)
    assert compiled.calls_replayed == 5 - EAGER_CALLS
    program = compiled.program(*captured["args"])
    source = program.source
    ast.parse(source)                                # valid Python
    assert source.startswith("def replay(")
    for op in ("matmul", "add", "multiply", "maximum", "sqrt", "copyto"):  # forward, backward, Adam
        assert op in source, op
    assert len(source.splitlines()) >= len(program) > 100


# ---------------------------------------------------------------------------------------------------------------
# tg.compile on a user's function
# ---------------------------------------------------------------------------------------------------------------

class Regression:
    """A tiny MLP, its Adam (capturable) and one training step on (x, y); two with the same seed are equal."""

    def __init__(self, seed=0, capturable=True, dtype=tg.float32):
        self.model = tg.nn.MLP(3, [8, 8], 2, generator=tg.Generator(seed=seed), dtype=dtype)
        self.opt = tg.optim.Adam(self.model.parameters(), lr=1e-2, betas=(0.5, 0.9), capturable=capturable)

    def step(self, x, y):
        self.opt.zero_grad()
        loss = ((self.model(x) - y) ** 2).mean()
        loss.backward()
        self.opt.step()
        return loss.detach(), self.model(x).detach()

    def state(self):
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(),
                "grads": [p.grad for p in self.model.parameters()]}


def batches(n, batch=5, seed=1, dtype=tg.float32):
    generator = tg.Generator(seed=seed)
    return [(tg.randn(batch, 3, generator=generator, dtype=dtype), tg.randn(batch, 2, generator=generator, dtype=dtype))
            for _ in range(n)]


def test_a_compiled_mlp_step_with_capturable_adam_equals_the_eager_step_bit_for_bit():
    compiled_side, eager_side = Regression(), Regression()
    step = tg.compile(compiled_side.step)
    for call, (x, y) in enumerate(batches(10)):
        got, want = step(x, y), eager_side.step(x, y)
        assert_same(got, want, f"results of call {call + 1}")
        assert_same(compiled_side.state(), eager_side.state(), f"state after call {call + 1}")
    assert step.calls_replayed == 10 - EAGER_CALLS
    assert step.program(x, y) is not None and len(step.program(x, y)) > 0


def test_a_compiled_float64_step_equals_the_eager_step():
    compiled_side, eager_side = Regression(dtype=tg.float64), Regression(dtype=tg.float64)
    step = tg.compile(compiled_side.step)
    for x, y in batches(6, dtype=tg.float64):
        assert_same(step(x, y), eager_side.step(x, y))
    assert_same(compiled_side.state(), eager_side.state())
    assert step.calls_replayed == 6 - EAGER_CALLS


def test_replayed_results_are_fresh_tensors():
    compiled_side, eager_side = Regression(), Regression()
    step = tg.compile(compiled_side.step)
    data = batches(8)
    results = []
    for x, y in data:
        loss, prediction = step(x, y)
        eager_loss, _ = eager_side.step(x, y)
        assert_same(loss, eager_loss)
        results.append((loss, loss.numpy().copy()))
        prediction.fill_(123.0)      # writing into a result must not reach the recording
        loss.fill_(-7.0)
    assert step.calls_replayed == 8 - EAGER_CALLS
    assert_same(compiled_side.state(), eager_side.state())
    # every returned tensor has its own memory: later replays did not overwrite earlier results
    assert all(float(loss.item()) == -7.0 for loss, _ in results)
    assert len({id(tg.backend.recording.memory_owner(loss.array)) for loss, _ in results}) == len(results)


def test_each_input_shape_and_each_non_tensor_argument_gets_its_own_recording():
    compiled_side, eager_side = Regression(), Regression()
    step = tg.compile(lambda x, y, scale: compiled_side.step(x * scale, y))
    big, small_batches = batches(6, batch=8, seed=2), batches(6, batch=3, seed=3)
    for (xb, yb), (xs, ys) in zip(big, small_batches):
        for x, y, scale in ((xb, yb, 1.0), (xs, ys, 1.0), (xs, ys, 0.5)):
            assert_same(step(x, y, scale), eager_side.step(x * scale, y))
    assert_same(compiled_side.state(), eager_side.state())
    programs = [step.program(xb, yb, 1.0), step.program(xs, ys, 1.0), step.program(xs, ys, 0.5)]
    assert all(program is not None for program in programs)
    assert len({id(program) for program in programs}) == 3
    assert step.calls_replayed == 3 * (6 - EAGER_CALLS)


def test_reset_forgets_the_recordings_and_the_numbers_stay_right():
    compiled_side, eager_side = Regression(), Regression()
    step = tg.compile(compiled_side.step)
    data = batches(12)
    for x, y in data[:6]:
        assert_same(step(x, y), eager_side.step(x, y))
    assert step.calls_replayed == 3
    step.reset()
    assert step.program(*data[0]) is None
    for x, y in data[6:]:
        assert_same(step(x, y), eager_side.step(x, y))
    assert step.calls_replayed == 3 + 3
    assert_same(compiled_side.state(), eager_side.state())


def test_a_parameter_loaded_in_place_keeps_the_replay_and_its_numbers():
    """Module.load_state_dict copies into the parameters' arrays: the recording stays valid."""
    compiled_side, eager_side, other = Regression(), Regression(), Regression(seed=9)
    step = tg.compile(compiled_side.step)
    data = batches(10)
    for x, y in data[:5]:
        step(x, y), eager_side.step(x, y)
    compiled_side.model.load_state_dict(other.model.state_dict())
    eager_side.model.load_state_dict(other.model.state_dict())
    for x, y in data[5:]:
        assert_same(step(x, y), eager_side.step(x, y))
    assert_same(compiled_side.state(), eager_side.state())
    assert step.calls_replayed == 10 - EAGER_CALLS


@pytest.mark.parametrize("replace", ["set_", "optimizer.load_state_dict"])
def test_state_replaced_after_recording_is_recorded_anew_never_replayed_stale(replace):
    """p.set_(...) gives a parameter another array; an optimizer's load_state_dict replaces its state tensors.
    A replay would keep using the old arrays; the compiled function records anew instead."""
    compiled_side, eager_side, other = Regression(), Regression(), Regression(seed=9)
    for x, y in batches(3, seed=4):
        other.step(x, y)
    step = tg.compile(compiled_side.step)
    data = batches(12)
    for x, y in data[:6]:
        step(x, y), eager_side.step(x, y)
    assert step.calls_replayed == 6 - EAGER_CALLS
    for side in (compiled_side, eager_side):
        if replace == "set_":
            with tg.no_grad():
                first = next(iter(side.model.parameters()))
                first.set_(first * 0.5)
        else:
            side.opt.load_state_dict(other.opt.state_dict())
    for x, y in data[6:]:
        assert_same(step(x, y), eager_side.step(x, y))
        assert_same(compiled_side.state(), eager_side.state())
    assert step.calls_replayed == (6 - EAGER_CALLS) * 2     # recorded anew, then replayed again


# ---------------------------------------------------------------------------------------------------------------
# refusals: a step whose replay could be stale is refused with a clear error
# ---------------------------------------------------------------------------------------------------------------

def test_adam_without_capturable_is_refused_and_every_call_still_computes_eagerly():
    """The bias corrections are Python numbers that change every step: the two recordings differ. The refusal
    comes from the 3rd call, after it ran (recording) eagerly; later calls are refused the same way, and the state
    is always that of the eager calls made, never a replay's."""
    compiled_side, eager_side = Regression(capturable=False), Regression(capturable=False)
    step = tg.compile(compiled_side.step)
    data = batches(5)
    for call, (x, y) in enumerate(data):
        want = eager_side.step(x, y)
        if call < EAGER_CALLS - 1:
            assert_same(step(x, y), want)
        else:
            with pytest.raises(RecordingError, match="capturable=True"):
                step(x, y)
        assert_same(compiled_side.state(), eager_side.state())
    assert step.calls_replayed == 0


@contextlib.contextmanager
def frozen_heap():
    """The objects alive now (the test's tensors among them) frozen out of the garbage collector (gc.freeze) for
    the block, then given back."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def test_a_step_recorded_with_a_frozen_heap_sees_its_frozen_tensors():
    """compile finds the tensors a step uses through the garbage collector, whose gc.get_objects leaves out the
    objects frozen by gc.freeze: a frozen weight read by the step must still be found (else it is recorded as a
    constant, and a replay ignores a later change to it, a silent wrong result), and the heap stays frozen."""
    weight = tg.tensor([1.0, 2.0, 3.0])
    ones = tg.ones(3)

    def step(x):
        return (x * weight).sum()

    compiled = tg.compile(step)
    with frozen_heap():
        for _ in range(EAGER_CALLS + 1):
            assert compiled(ones).item() == 6.0
        assert compiled.calls_replayed == 1 and gc.get_freeze_count() > 0
        with tg.no_grad():
            weight.mul_(10.0)          # a change outside the step: the replay reads the weight's own memory
        assert compiled(ones).item() == 60.0 and compiled.calls_replayed == 2


def test_a_compiled_step_recorded_with_a_frozen_heap_equals_the_eager_step():
    compiled_side, eager_side = Regression(), Regression()
    step = tg.compile(compiled_side.step)
    with frozen_heap():
        for x, y in batches(EAGER_CALLS + 3):
            assert_same(step(x, y), eager_side.step(x, y))
            assert_same(compiled_side.state(), eager_side.state())
        assert step.calls_replayed == 3


def _eager_then_error(function, calls, error, match, make_args):
    compiled = tg.compile(function)
    for call in range(1, calls + 1):
        args = make_args()
        if call < calls:
            compiled(*args)
        else:
            with pytest.raises(error, match=match):
                compiled(*args)
    assert compiled.calls_replayed == 0
    return compiled


def test_a_random_draw_inside_the_step_is_refused():
    generator, data = tg.Generator(seed=3), tg.Generator(seed=4)
    _eager_then_error(lambda x: x + tg.randn(4, 3, generator=generator), EAGER_CALLS, RecordingError,
                      "random", lambda: (tg.randn(4, 3, generator=data),))


def test_a_python_counter_in_the_arithmetic_is_refused():
    counter = [0]

    def scaled(x):
        counter[0] += 1
        return x * counter[0]
    data = tg.Generator(seed=4)
    _eager_then_error(scaled, EAGER_CALLS, RecordingError, "differs between two calls",
                      lambda: (tg.randn(4, 3, generator=data),))


@pytest.mark.parametrize("result", ["python number", "tensor of a python number"])
def test_a_returned_value_that_changes_outside_the_arrays_is_refused(result):
    """A result no recorded operation wrote would be returned as recorded at every replay."""
    counter = [0]

    def counted(x):
        counter[0] += 1
        return x * 2, (counter[0] if result == "python number" else tg.tensor(float(counter[0])))
    data = tg.Generator(seed=4)
    _eager_then_error(counted, EAGER_CALLS, RecordingError, "returned a Python value",
                      lambda: (tg.randn(4, 3, generator=data),))


def test_a_returned_constant_tensor_is_replayed():
    """A result that is the same at every call (a constant) is fine."""
    data = tg.Generator(seed=4)
    compiled = tg.compile(lambda x: (x * 2, tg.tensor([1.0, 2.0])))
    for _ in range(6):
        x = tg.randn(3, generator=data)
        doubled, constant = compiled(x)
        assert_same(doubled, x * 2)
        assert_same(constant, tg.tensor([1.0, 2.0]))
    assert compiled.calls_replayed == 6 - EAGER_CALLS


@pytest.mark.parametrize("read, match", [
    (lambda x: x * x.sum().item(), r"\.item\(\)"),
    (lambda x: x * float(x.sum()), r"into Python"),
    (lambda x: x * 2 if (x.sum() > 0) else x, r"into Python"),
    (lambda x: x * int(x.argmax()), r"into Python"),
], ids=["item", "float", "if", "int-index"])
def test_a_host_read_inside_the_step_is_refused_when_recording(read, match):
    data = tg.Generator(seed=4)
    parameter = tg.nn.Parameter(tg.ones(4, 3))
    _eager_then_error(lambda x: read(x) + parameter, compiler.WARM_UP_CALLS + 1, HostReadError, match,
                      lambda: (tg.randn(4, 3, generator=data),))
    # the tensors are back on plain arrays, and nothing is left recording
    assert type(parameter.array) is np.ndarray
    assert (parameter + 1).numpy().tolist() == [[2.0] * 3] * 4


def test_a_step_that_changes_its_argument_in_place_is_refused():
    """A recording works on a private copy of each argument, so the caller's tensor would not change."""
    compiled = tg.compile(lambda x: x.mul_(2).sum())
    x = tg.ones(3)
    assert compiled(x).item() == 6.0 and x.numpy().tolist() == [2.0] * 3        # the eager warm-up call
    x = tg.ones(3)
    with pytest.raises(RecordingError, match="changed its tensor argument 0 .* in place"):
        compiled(x)
    assert compiled.calls_replayed == 0


def test_an_array_function_with_several_new_results_is_refused():
    data = tg.Generator(seed=4)

    def counts(x):
        _, count = np.unique((x > 0).array, return_counts=True)
        return x * 2, tg.Tensor._make(count)
    _eager_then_error(counts, compiler.WARM_UP_CALLS + 1, RecordingError, "several new arrays",
                      lambda: (tg.randn(4, 3, generator=data),))


def test_an_unseen_change_to_the_state_is_refused_by_the_replay_check_and_the_eager_values_kept():
    """ndarray.sort works in place without a ufunc or __array_function__: the recorder does not see it, so the
    replay of the 3rd call differs from what the call did; compiling is refused and the state keeps the eager
    call's values. Later calls run eagerly (the recordings agree; only a replay would be wrong)."""
    data = [tg.randn(4, 3, generator=tg.Generator(seed=call)) for call in range(5)]
    state, expected = tg.zeros(4, 3), np.zeros((4, 3), dtype=np.float32)

    def unseen(x):
        state.array.sort(axis=0)
        state.add_(x)
        return state * 1
    compiled = tg.compile(unseen)
    for call, x in enumerate(data):
        expected.sort(axis=0)
        expected += x.numpy()
        if call == EAGER_CALLS - 1:
            with pytest.raises(RecordingError, match="replaying the recorded step does not give"):
                compiled(x)
        else:
            assert_same(compiled(x), tg.Tensor._make(expected.copy()))
        assert state.numpy().tobytes() == expected.tobytes()
    assert compiled.calls_replayed == 0
    assert type(state.array) is np.ndarray


def test_compile_refuses_an_argument_it_cannot_key_and_a_result_it_cannot_return():
    with pytest.raises(TypeError, match="neither a tensor nor a hashable value"):
        tg.compile(lambda x, options: x)(tg.ones(2), {"a": 1})
    compiled = tg.compile(lambda x: object())
    compiled(tg.ones(2))                       # the warm-up call runs as written
    with pytest.raises(TypeError, match="returned a object"):
        compiled(tg.ones(2))


# ---------------------------------------------------------------------------------------------------------------
# capturable optimizers: the same numbers as the plain ones
# ---------------------------------------------------------------------------------------------------------------

OPTIMIZERS = [
    (tg.optim.Adam, dict(lr=1e-2, betas=(0.5, 0.9))),
    (tg.optim.Adam, dict(lr=1e-2, amsgrad=True, weight_decay=0.1, maximize=True)),
    (tg.optim.AdamW, dict(lr=1e-2)),
    (tg.optim.RMSprop, dict(lr=1e-2)),
    (tg.optim.RMSprop, dict(lr=1e-2, momentum=0.9, centered=True, weight_decay=0.01)),
    (tg.optim.Adam, dict(lr=1e-2, betas=(0.5, 0.9), fused=True)),
    (tg.optim.Adam, dict(lr=1e-2, amsgrad=True, weight_decay=0.1, maximize=True, fused=True)),
]
OPTIMIZER_IDS = ["adam", "adam-amsgrad-wd-max", "adamw", "rmsprop", "rmsprop-momentum-centered", "adam-fused",
                 "adam-fused-amsgrad-wd-max"]


def _regression_step(model, opt, x, y):
    """One optimizer step on the mean squared error of model(x) against y; returns the loss."""
    opt.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    opt.step()
    return loss.detach()


def _train_eagerly(model, opt, data):
    for x, y in data:
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()


@pytest.mark.parametrize("optimizer, options", OPTIMIZERS, ids=OPTIMIZER_IDS)
def test_a_capturable_optimizer_gives_the_plain_optimizers_numbers_and_an_int_step(optimizer, options):
    data = batches(6)
    models = [tg.nn.MLP(3, [8], 2, generator=tg.Generator(seed=0)) for _ in range(2)]
    plain = optimizer(models[0].parameters(), **options)
    capturable = optimizer(models[1].parameters(), **options, capturable=True)
    _train_eagerly(models[0], plain, data)
    _train_eagerly(models[1], capturable, data)
    assert_same(models[1].state_dict(), models[0].state_dict())
    plain_state, capturable_state = plain.state_dict(), capturable.state_dict()
    assert_same(capturable_state, plain_state)            # 'step' an int (6) in both
    assert all(type(state["step"]) is int and state["step"] == 6 for state in capturable_state["state"].values())
    step_count = next(iter(capturable.state.values()))["step"]
    assert isinstance(step_count, tg.Tensor) and step_count.dtype == tg.float64 and step_count.shape == ()


@pytest.mark.parametrize("optimizer, options", OPTIMIZERS, ids=OPTIMIZER_IDS)
def test_state_dicts_load_across_capturable_and_plain(optimizer, options):
    """A plain optimizer's state continues in a capturable one, and back, with the numbers of an uninterrupted
    plain run."""
    data = batches(9)
    reference_model = tg.nn.MLP(3, [8], 2, generator=tg.Generator(seed=0))
    reference = optimizer(reference_model.parameters(), **options)
    _train_eagerly(reference_model, reference, data)

    model = tg.nn.MLP(3, [8], 2, generator=tg.Generator(seed=0))
    opt = optimizer(model.parameters(), **options)
    _train_eagerly(model, opt, data[:3])
    for capturable, part in ((True, data[3:6]), (False, data[6:])):
        moved = optimizer(model.parameters(), **options, capturable=capturable)
        moved.load_state_dict(opt.state_dict())
        count = next(iter(moved.state.values()))["step"]
        assert isinstance(count, tg.Tensor) if capturable else type(count) is int
        _train_eagerly(model, moved, part)
        opt = moved
    assert_same(model.state_dict(), reference_model.state_dict())
    assert_same(opt.state_dict(), reference.state_dict())


def test_a_compiled_step_with_the_fused_capturable_adam_equals_the_plain_adam_run_eagerly():
    """The flat-buffer Adam (fast/fused_adam.py) recorded and replayed: the numbers of Adam's plain update, one
    parameter at a time, to the bit; its recording is a fraction of the plain one's length."""
    models = [tg.nn.MLP(3, [8, 8], 2, generator=tg.Generator(seed=0)) for _ in range(3)]
    opts = [tg.optim.Adam(model.parameters(), lr=1e-2, betas=(0.5, 0.9), capturable=True, fused=fused)
            for model, fused in zip(models, (True, False, False))]

    fused_step = tg.compile(lambda x, y: _regression_step(models[0], opts[0], x, y))
    plain_step = tg.compile(lambda x, y: _regression_step(models[2], opts[2], x, y))
    for x, y in batches(7):
        want = _regression_step(models[1], opts[1], x, y)
        assert_same(fused_step(x, y), want)
        assert_same(plain_step(x, y), want)
    assert fused_step.calls_replayed == 7 - EAGER_CALLS
    assert_same(models[0].state_dict(), models[1].state_dict())
    assert_same(opts[0].state_dict(), opts[1].state_dict())
    x, y = batches(1)[0]
    assert len(fused_step.program(x, y)) < 0.6 * len(plain_step.program(x, y))


def test_the_fused_adam_rebuilt_between_the_eager_call_and_the_recordings_still_compiles():
    """load_state_dict after call 1 (before the recordings): the flat buffers would be made inside a recording,
    where the recorder never saw them; the fused Adam updates one by one instead (recorded, the same numbers), and
    the step compiles and replays."""
    models = [tg.nn.MLP(3, [8], 2, generator=tg.Generator(seed=0)) for _ in range(2)]
    opts = [tg.optim.Adam(model.parameters(), lr=1e-2, capturable=True, fused=fused)
            for model, fused in zip(models, (True, False))]
    compiled = tg.compile(lambda x, y: _regression_step(models[0], opts[0], x, y))
    for call, (x, y) in enumerate(batches(7)):
        assert_same(compiled(x, y), _regression_step(models[1], opts[1], x, y))
        if call == 0:
            for opt in opts:
                opt.load_state_dict(opt.state_dict())
    assert compiled.calls_replayed == 7 - EAGER_CALLS
    assert_same(models[0].state_dict(), models[1].state_dict())
    assert_same(opts[0].state_dict(), opts[1].state_dict())


@pytest.mark.parametrize("optimizer, options", OPTIMIZERS, ids=OPTIMIZER_IDS)
def test_a_compiled_step_with_each_capturable_optimizer_equals_the_eager_step(optimizer, options):
    models = [tg.nn.MLP(3, [8], 2, generator=tg.Generator(seed=0)) for _ in range(2)]
    opts = [optimizer(model.parameters(), **options, capturable=True) for model in models]

    compiled = tg.compile(lambda x, y: _regression_step(models[0], opts[0], x, y))
    for x, y in batches(7):
        assert_same(compiled(x, y), _regression_step(models[1], opts[1], x, y))
    assert compiled.calls_replayed == 7 - EAGER_CALLS
    assert_same(models[0].state_dict(), models[1].state_dict())
    assert_same(opts[0].state_dict(), opts[1].state_dict())


def test_deep_copies_of_a_compiled_trainers_models_are_independent():
    """copy.deepcopy of a module after replays (as the trainer's snapshots do) holds plain, separate arrays."""
    side = Regression()
    step = tg.compile(side.step)
    for x, y in batches(6):
        step(x, y)
    clone = copy.deepcopy(side.model)
    before = [p.numpy().copy() for p in clone.parameters()]
    for x, y in batches(2, seed=7):
        step(x, y)
    assert all((p.numpy() == b).all() for p, b in zip(clone.parameters(), before))
    assert all(type(p.array) is np.ndarray for p in side.model.parameters())


def test_a_tensor_given_twice_is_one_input_and_the_caller_keeps_its_own_array():
    """step(x, x) and step(x, y) are recorded apart (which arguments are the same tensor is part of the key); the
    caller's tensors keep their own arrays and values (a tensor given twice once came back holding the compiled
    step's private input buffer, which the next replays overwrote)."""
    def step(a, b):
        return (a * 2.0 + b).sum(), (a - b).sum()

    compiled = tg.compile(step)
    pool = [tg.tensor(np.arange(6.0).reshape(2, 3) + k, dtype=tg.float32) for k in range(4)]
    arrays = [t.array for t in pool]
    copies = [t.numpy().copy() for t in pool]
    for call in range(12):
        a = pool[call % 4]
        b = a if call % 3 else pool[(call + 1) % 4]
        got = [r.item() for r in compiled(a, b)]
        assert got == [r.item() for r in step(a, b)], call
    assert compiled.calls_replayed > 0
    for tensor, array, values in zip(pool, arrays, copies):
        assert tensor.array is array
        np.testing.assert_array_equal(tensor.numpy(), values)
