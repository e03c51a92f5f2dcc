"""Direct tests of the wire protocol (checks/engine/isolation/protocol.py).

- Round trip: every value made of plain data comes back equal and of the same exact types, through
  write_message and read_message on a byte stream.
- Foreign: what may not cross (subclasses, object arrays, non-str keys, arbitrary objects) arrives
  as a description, never as itself.
- Malformed messages: whatever the bytes, reading raises ProtocolError, or EOFError when the stream
  ends mid-frame, and never anything else.
- Replies (checks/engine/isolation/replies.py): every field of every reply the worker sends is checked into typed
  values; a forged one raises MalformedReply, naming the call of a batch it is for.
- The worker's record of entries (checks/engine/isolation/worker.py): each answer says which other contract
  functions the call ran, for a file and a package; a step written again inline, or held in a
  closure, is not recorded; the wrapper changes no result, exception or caller chain.
"""

from __future__ import annotations

import collections
import io
import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from checks.engine.isolation.protocol import (
    MAX_MESSAGE_BYTES,
    MAX_NESTING,
    PLAIN_DTYPES,
    Foreign,
    Handle,
    ProtocolError,
    read_message,
    write_message,
)
from checks.engine.isolation.replies import Answer, Hello, MalformedReply, parse_batch, parse_call, parse_hello, parse_map

LENGTH = struct.Struct("<Q")
DTYPES = sorted(PLAIN_DTYPES)


def round_trip(value):
    stream = io.BytesIO()
    write_message(stream, value)
    stream.seek(0)
    return read_message(stream)


# --------------------------------------------------------------------------- round trip


def plain_arrays() -> st.SearchStrategy[np.ndarray]:
    """Arrays of every plain dtype, 0-d and empty included, some not C-contiguous."""
    arrays = st.sampled_from(DTYPES).flatmap(
        lambda code: hnp.arrays(np.dtype(code), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)))
    strided = arrays.filter(lambda a: a.ndim > 0).map(lambda a: a[..., ::2])
    return st.one_of(arrays, arrays.map(lambda a: a.T), strided)


def numpy_scalars() -> st.SearchStrategy[np.generic]:
    return st.sampled_from(DTYPES).flatmap(
        lambda code: hnp.from_dtype(np.dtype(code)).map(np.dtype(code).type))


LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(),
    plain_arrays(), numpy_scalars(), st.builds(Handle, st.integers()),
)
VALUES = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(tuple),
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=5), children, max_size=4),
    ),
    max_leaves=12,
)


def same_number(a: complex, b: complex) -> bool:
    """Equal, with nan equal to nan and -0.0 different from 0.0."""
    def same(x: float, y: float) -> bool:
        return (math.isnan(x) and math.isnan(y)) or (x == y and math.copysign(1, x) == math.copysign(1, y))
    return same(a.real, b.real) and same(a.imag, b.imag)


def assert_same(got, sent) -> None:
    """``got`` equals ``sent`` and has exactly its types, all the way down."""
    assert type(got) is type(sent), (got, sent)
    if type(sent) is np.ndarray:
        assert got.dtype == sent.dtype and got.shape == sent.shape
        assert got.tobytes() == sent.tobytes()  # bit for bit: nan payloads, -0.0
        assert got.flags.writeable and got.flags.owndata and got.flags.c_contiguous
    elif type(sent) in (tuple, list):
        assert len(got) == len(sent)
        for g, s in zip(got, sent):
            assert_same(g, s)
    elif type(sent) is dict:
        assert list(got) == list(sent)  # and in the same order
        for key in sent:
            assert_same(got[key], sent[key])
    elif isinstance(sent, (float, np.inexact)):
        assert same_number(complex(got), complex(sent)), (got, sent)
    else:
        assert got == sent


@given(VALUES)
def test_plain_values_round_trip_with_their_exact_types(value):
    assert_same(round_trip(value), value)


@pytest.mark.parametrize("value", [
    math.nan, math.inf, -math.inf, -0.0, 2**64, -(2**2048 - 1), "", "\ud800 \N{SNOWMAN}",
    np.float64(math.nan), np.float16(-math.inf), np.complex64(complex(math.nan, -0.0)),
    np.uint64(2**64 - 1), np.int8(-128), np.True_,
    np.zeros(()), np.zeros((0, 3), np.int16), np.arange(6.0).reshape(2, 3).T,
    {"nd": "a dict whose keys look like tags", "tuple": ()}, Handle(0),
], ids=repr)
def test_edge_values_round_trip(value):
    assert_same(round_trip(value), value)


def test_long_longs_arrive_as_int64():
    # np.longlong is a distinct type of the same dtype as np.int64 ("<i8" on Linux).
    got = round_trip(np.longlong(5))
    assert type(got) is np.int64 and got == 5


def nested(depth: int, leaf: object) -> object:
    for _ in range(depth):
        leaf = [leaf]
    return leaf


def test_values_nested_up_to_the_limit_round_trip():
    deepest = nested(MAX_NESTING - 2, {"h": (1.5,)})  # MAX_NESTING containers, one in the other
    assert_same(round_trip(deepest), deepest)


def test_messages_follow_each_other_on_one_stream():
    stream = io.BytesIO()
    for message in ({"first": np.ones(2)}, [2], None):
        write_message(stream, message)
    stream.seek(0)
    assert_same(read_message(stream), {"first": np.ones(2)})
    assert_same(read_message(stream), [2])
    assert read_message(stream) is None
    with pytest.raises(EOFError):
        read_message(stream)


def test_the_reply_reader_keeps_what_follows_a_frame_for_the_next_and_gives_up_at_its_deadline():
    """The grader's reader of worker replies reads whatever the pipe holds: bytes past one frame wait in its
    buffer for the next read, as they would in the pipe; a frame that never completes times out; a pipe
    closed mid-frame is an end of file."""
    import os

    from checks.engine.isolation.pipes import ReplyReader

    read_end, write_end = os.pipe()
    frames = io.BytesIO()
    for message in ({"first": np.arange(3.0)}, ["second"]):
        write_message(frames, message)
    whole = frames.getvalue()
    os.write(write_end, whole + whole[:5])  # two frames and the start of a third, in one write
    reader = ReplyReader(read_end)
    assert_same(read_message(reader.wait_until(5)), {"first": np.arange(3.0)})
    assert_same(read_message(reader.wait_until(5)), ["second"])
    with pytest.raises(TimeoutError):
        read_message(reader.wait_until(0.2))
    os.close(write_end)
    with pytest.raises(EOFError):
        read_message(reader.wait_until(5))  # the 5 bytes of the third frame, then the end
    os.close(read_end)


# --------------------------------------------------------------------------- Foreign


class EvilArray(np.ndarray):
    def __eq__(self, other):
        return True


class LyingFloat(float):
    def __eq__(self, other):
        return True


class ScalarSubclass(np.float64):
    pass


@pytest.mark.parametrize(("value", "description"), [
    (np.zeros(3).view(EvilArray), "an ndarray subclass EvilArray"),
    (np.ma.masked_array([1.0]), "an ndarray subclass MaskedArray"),
    (np.array([1, None], dtype=object), "an ndarray of dtype object"),
    (np.zeros(2, dtype=[("a", "<f8")]), "an ndarray of dtype [('a', '<f8')]"),
    (np.zeros(2, dtype=">f8"), "an ndarray of dtype >f8"),
    (np.array(["a"]), "an ndarray of dtype <U1"),
    (np.zeros(1, dtype=np.longdouble), "an ndarray of dtype float128"),
    ({1: np.zeros(1)}, "a dict with a key of type int (keys must be str)"),
    ({"a": 1, ("b",): 2}, "a dict with a key of type tuple (keys must be str)"),
    (object(), "an object of type builtins.object"),
    (LyingFloat(1.0), "an object of type test_protocol.LyingFloat"),
    (ScalarSubclass(1.0), "an object of type test_protocol.ScalarSubclass"),
    (np.longdouble(1.0), "an object of type numpy.longdouble"),
    (np.str_("a"), "an object of type numpy.str_"),
    (collections.OrderedDict(a=1), "an object of type collections.OrderedDict"),
    (collections.namedtuple("Pair", "a b")(1, 2), "an object of type test_protocol.Pair"),
    (1 + 2j, "an object of type builtins.complex"),
    (b"bytes", "an object of type builtins.bytes"),
    (2**2048, "an int of 2049 bits"),
], ids=lambda x: x if isinstance(x, str) else type(x).__name__)
def test_what_may_not_cross_arrives_as_a_description(value, description):
    assert round_trip(value) == Foreign(description)
    assert round_trip((1.0, {"x": value})) == (1.0, {"x": Foreign(description)})


def test_values_nested_beyond_the_limit_arrive_as_a_description():
    got = round_trip(nested(MAX_NESTING + 1, 1))
    for _ in range(MAX_NESTING):
        assert type(got) is list and len(got) == 1
        got = got[0]
    assert got == Foreign(f"a list nested more than {MAX_NESTING} levels deep")


# --------------------------------------------------------------------------- malformed frames


def frame(header: bytes, blobs: tuple[bytes, ...] = (), count: int | None = None) -> io.BytesIO:
    """The bytes of one frame, with ``count`` blobs announced (default: as many as given)."""
    parts = [LENGTH.pack(len(header)), header, LENGTH.pack(len(blobs) if count is None else count)]
    parts += [LENGTH.pack(len(blob)) + blob for blob in blobs]
    return io.BytesIO(b"".join(parts))


def encoded(data: object, *blobs: bytes) -> io.BytesIO:
    """A frame whose header is ``data`` as JSON."""
    return frame(json.dumps(data).encode(), blobs)


class RecordingStream(io.BytesIO):
    """A byte stream that remembers the largest read asked of it."""

    largest_read = 0

    def read(self, size=-1):
        self.largest_read = max(self.largest_read, size)
        return super().read(size)


def test_a_frame_cut_anywhere_is_an_end_of_file():
    stream = io.BytesIO()
    write_message(stream, {"h": np.arange(3.0), "cache": Handle(1)})
    whole = stream.getvalue()
    for cut in range(len(whole)):
        with pytest.raises(EOFError):
            read_message(io.BytesIO(whole[:cut]))


def test_the_limit_counts_every_byte_of_the_frame():
    stream = io.BytesIO()
    write_message(stream, [np.arange(4.0), "x"])
    whole = stream.getvalue()
    assert_same(read_message(io.BytesIO(whole), limit=len(whole)), [np.arange(4.0), "x"])
    with pytest.raises(ProtocolError, match="message larger than"):
        read_message(io.BytesIO(whole), limit=len(whole) - 1)


@pytest.mark.parametrize("announced", [
    pytest.param(LENGTH.pack(MAX_MESSAGE_BYTES + 1), id="header"),
    pytest.param(LENGTH.pack(2**64 - 1), id="header of 2**64 - 1 bytes"),
    pytest.param(LENGTH.pack(2) + b"[]" + LENGTH.pack(1) + LENGTH.pack(MAX_MESSAGE_BYTES), id="blob"),
    pytest.param(LENGTH.pack(2) + b"[]" + LENGTH.pack(MAX_MESSAGE_BYTES // 8), id="blob count"),
])
def test_a_frame_announcing_too_many_bytes_is_refused_before_reading_them(announced):
    stream = RecordingStream(announced + b"\0" * 64)
    with pytest.raises(ProtocolError, match="message larger than 256 MiB"):
        read_message(stream)
    assert stream.largest_read <= 8  # nothing allocated for the announced size


@pytest.mark.parametrize("header", [
    b"", b"{", b"nul", b"{'single': 'quotes'}", b"\xff\xfe\xfa", b"[1, 2", b'"\\ud8"',
    b"1" * 5000,  # an int longer than json's int-to-str limit
    b"[" * 100_000 + b"]" * 100_000,  # beyond the JSON parser's recursion limit
], ids=lambda h: repr(h[:20]))
def test_a_header_that_is_not_json_is_a_protocol_error(header):
    with pytest.raises(ProtocolError, match="the header is not JSON"):
        read_message(frame(header))


F8 = np.arange(2.0).tobytes()  # the 16 bytes of a float64 array of shape (2,)


@pytest.mark.parametrize(("data", "blobs"), [
    # not a tagged dict where one is due
    pytest.param([1, 2], (), id="top-level list"),
    pytest.param({"tuple": [[1, 2]]}, (), id="raw list in a tuple"),
    pytest.param({"list": [{"a": 1}]}, (), id="raw dict in a list"),
    pytest.param({"tuple": "ab"}, (), id="tuple of a string"),
    pytest.param({"list": {"dict": []}}, (), id="list of a dict"),
    pytest.param({"dict": "ab"}, (), id="dict of a string"),
    pytest.param({"dict": [["a"]]}, (), id="dict pair of one"),
    pytest.param({"dict": [[1, 2]]}, (), id="dict with an int key"),
    pytest.param({"dict": [["a", 1], ["a", 2]]}, (), id="dict with a repeated key"),
    pytest.param({"handle": "1"}, (), id="handle of a string"),
    pytest.param({"handle": True}, (), id="handle of a bool"),
    pytest.param({"foreign": 5}, (), id="foreign of an int"),
    pytest.param(nested(MAX_NESTING + 1, 1), (), id="nested beyond the limit"),
    # unknown tags, or the wrong set of keys
    pytest.param({}, (), id="empty"),
    pytest.param({"frob": 1}, (), id="unknown tag"),
    pytest.param({"tuple": [], "list": []}, (), id="two tags"),
    pytest.param({"nd": 0, "dtype": "<f8"}, (F8,), id="array without shape"),
    pytest.param({"nd": 0, "dtype": "<f8", "shape": [2], "x": 1}, (F8,), id="array with an extra key"),
    pytest.param({"scalar": "float64"}, (), id="scalar without value"),
    # refused dtypes
    *(pytest.param({"nd": 0, "dtype": code, "shape": [2]}, (F8,), id=f"dtype {code!r}")
      for code in ("|O", "|V8", "<M8[s]", ">f8", "<f16", "float64", 5, ["<f8"], None)),
    *(pytest.param({"scalar": name, "value": 1.0}, (), id=f"scalar dtype {name!r}")
      for name in ("object", "float128", "<f8", "", ["float64"], None)),
    # scalar values encode could not have written
    *(pytest.param({"scalar": name, "value": value}, (), id=f"{name} scalar of {value!r}")
      for name, value in [("int8", 128), ("uint8", -1), ("uint64", 2**64), ("int64", 1.0), ("int64", True),
                          ("bool", 1), ("float64", 1), ("float64", "1.0"), ("float64", None), ("float16", 1e300),
                          ("float32", 0.1), ("complex128", 1.0), ("complex128", [1.0]), ("complex64", [1, 2])]),
    # blob indices out of range
    *(pytest.param({"nd": index, "dtype": "<f8", "shape": [2]}, blobs, id=f"blob {index!r} of {len(blobs)}")
      for index, blobs in [(1, (F8,)), (-1, (F8,)), (0, ()), (True, (F8,)), ("0", (F8,)), (0.0, (F8,))]),
    # shapes that do not match the blob
    *(pytest.param({"nd": 0, "dtype": dtype, "shape": shape}, (blob,), id=f"shape {shape!r} of {len(blob)} bytes")
      for dtype, shape, blob in [("<f8", [3], F8), ("<f8", [], F8), ("<f8", [1], F8[:7]), ("<f8", [-2], F8),
                                 ("<f8", [-1, -2], F8), ("<f8", [2.0], F8), ("<f8", "2", F8), ("<f8", [True, 2], F8),
                                 ("<f8", 2, F8), ("<f8", [10**30, 0], b""), ("<f8", [0] + [1] * 64, b""),
                                 ("|b1", [1], b"\x02")]),
])
def test_a_malformed_message_is_a_protocol_error(data, blobs):
    with pytest.raises(ProtocolError):
        read_message(encoded(data, *blobs))


# Arbitrary JSON built from the protocol's own vocabulary, so that most of it looks almost right.
JSON_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 2**65), st.floats(), st.sampled_from(DTYPES + ["float64", "bool"]),
    st.text(max_size=3),
)
TAGS = st.sampled_from(["nd", "dtype", "shape", "tuple", "list", "dict", "scalar", "value", "handle", "foreign"])
JSON = st.recursive(
    JSON_LEAVES,
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(TAGS | st.text(max_size=2), children,
                                                                              max_size=3)),
    max_leaves=10,
)


@given(data=JSON, blobs=st.lists(st.binary(max_size=24), max_size=3))
def test_any_json_either_decodes_or_is_a_protocol_error(data, blobs):
    try:
        read_message(encoded(data, *blobs))
    except ProtocolError:
        pass


@given(header=st.binary(max_size=64), tail=st.binary(max_size=64))
def test_any_bytes_either_decode_or_are_a_protocol_error_or_end_of_file(header, tail):
    for stream in (frame(header), io.BytesIO(header + tail)):
        try:
            read_message(stream)
        except (ProtocolError, EOFError):
            pass


def test_a_batch_runs_forward_backward_and_perturbed_forwards_in_one_round_trip_and_notes_each_call():
    """Submission.batch: each call validated as alone, the cache passed by CacheOf, every call in the trace."""
    from pathlib import Path

    import reference
    from checks.engine.isolation.batch_calls import CacheOf
    from checks.engine.isolation.contract import Submission
    from checks.engine.isolation.trace import CacheRef, replay

    from checks.strategies import Dims, rnn_problem_from_seed

    p = rnn_problem_from_seed(Dims(N=2, T=3, D=2, H=2), seed=5)
    args = (p.x, p.h0, p.Wx, p.Wh, p.b)
    sub = Submission(Path(__file__).resolve().parent.parent / "reference")
    try:
        before = sub.stats.calls
        with sub.recording() as trace:
            (h, _), grads, (h_plus, _) = sub.batch([("rnn_forward", args), ("rnn_backward", (p.dh, CacheOf(0))),
                                                    ("rnn_forward", (p.x + 1e-3, *args[1:]))])
        assert sub.stats.calls == before + 1
    finally:
        sub.close()
    expected_h, cache = reference.rnn_forward(*args)
    np.testing.assert_allclose(h, expected_h)
    for got, expected in zip(grads, reference.rnn_backward(p.dh, cache)):
        np.testing.assert_allclose(got, expected)
    np.testing.assert_allclose(h_plus, reference.rnn_forward(p.x + 1e-3, *args[1:])[0])
    assert [c.function for c in trace.calls] == ["rnn_forward", "rnn_backward", "rnn_forward"]
    assert trace.calls[1].args[1] == CacheRef(0, 1)
    assert all(error is None for _, _, error in replay(trace, lambda name: getattr(reference, name)))


def test_forward_and_backward_is_one_round_trip_validated_and_traced_as_two_calls():
    """Submission.forward_and_backward: the forward's (h, cache) and the backward of that cache."""
    from pathlib import Path

    import reference
    from checks.engine.isolation.contract import Submission
    from checks.engine.isolation.contract_returns import Cache
    from checks.engine.isolation.trace import CacheRef
    from checks.strategies import Dims, rnn_problem_from_seed

    p = rnn_problem_from_seed(Dims(N=2, T=3, D=2, H=2), seed=6)
    args = (p.x, p.h0, p.Wx, p.Wh, p.b)
    sub = Submission(Path(__file__).resolve().parent.parent / "reference")
    try:
        before = sub.stats.calls
        with sub.recording() as trace:
            (h, cache), grads = sub.forward_and_backward("rnn_forward", args, "rnn_backward", p.dh)
        assert sub.stats.calls == before + 1
    finally:
        sub.close()
    expected_h, expected_cache = reference.rnn_forward(*args)
    np.testing.assert_allclose(h, expected_h)
    assert isinstance(cache, Cache) and cache.sizes["T"] == 3
    for got, expected in zip(grads, reference.rnn_backward(p.dh, expected_cache), strict=True):
        np.testing.assert_allclose(got, expected)
    assert [(c.function, c.args[1]) for c in trace.calls][1] == ("rnn_backward", CacheRef(0, 1))


def test_a_batch_call_after_an_invalid_result_is_not_in_the_example(tmp_path):
    """Called alone, the backward of a forward whose h has the wrong shape would never run: the
    batch raises the forward's own ContractViolation, and the trace (the student's example) ends there."""
    from checks.engine.isolation.contract import Submission
    from checks.engine.isolation.validation import ContractViolation
    from checks.strategies import Dims, rnn_problem_from_seed

    path = tmp_path / "extra_step.py"
    path.write_text("import numpy as np\n"
                    "def rnn_forward(x, h0, Wx, Wh, b):\n"
                    "    return np.zeros((x.shape[0], x.shape[1] + 1, h0.shape[1])), 'cache'\n"
                    "def rnn_backward(dh, cache):\n"
                    "    return 'never looked at'\n")
    p = rnn_problem_from_seed(Dims(N=1, T=2, D=1, H=1), seed=1)
    sub = Submission(path)
    try:
        with sub.recording() as trace, pytest.raises(ContractViolation, match="h returned by rnn_forward has shape"):
            sub.forward_and_backward("rnn_forward", (p.x, p.h0, p.Wx, p.Wh, p.b), "rnn_backward", p.dh)
    finally:
        sub.close()
    assert [call.function for call in trace.calls] == ["rnn_forward"]


# -- replies: each field checked into typed values (checks/engine/isolation/replies.py) --------------------

VALUE = (np.zeros((1, 2)), Handle(3))


def test_well_formed_replies_become_typed_values():
    assert parse_hello({"functions": ["rnn_forward"], "import_error": None, "missing_module": None}) == \
        Hello(frozenset({"rnn_forward"}), None, None)
    assert parse_call({"value": VALUE}).value is VALUE
    assert parse_call({"raised": "rnn_forward raised ValueError: no"}) == Answer(raised="rnn_forward raised ValueError: no")
    assert parse_call({"not_implemented": "rnn_forward"}) == Answer(not_implemented=True)
    assert parse_call({"value": 1.0, "arguments_after": [None, 2.0]}, arguments=2) == \
        Answer(value=1.0, arguments_after=(None, 2.0))
    assert parse_map({"values": [1.0, 2.0]}, 2) == Answer(value=[1.0, 2.0])
    assert parse_map({"raised": "boom"}, 2) == Answer(raised="boom")
    answers = parse_batch({"answers": [{"value": 1.0}, {"raised": "boom"}]}, [None, None, None])
    assert answers == [Answer(value=1.0), Answer(raised="boom")]
    # A key no reply has is ignored: nothing downstream ever sees it.
    assert parse_call({"value": 1.0, "forged": object()}) == Answer(value=1.0)


def test_the_functions_a_call_entered_become_a_sorted_tuple_and_absent_is_none():
    both = ["rnn_step_forward", "rnn_forward"]
    assert parse_call({"value": 1.0, "entered": both}).entered == ("rnn_forward", "rnn_step_forward")
    assert parse_call({"value": 1.0}).entered == () and parse_call({"value": 1.0, "entered": []}).entered == ()
    assert parse_call({"raised": "boom", "entered": ["rnn_step_backward"]}) == \
        Answer(raised="boom", entered=("rnn_step_backward",))
    assert parse_call({"value": 1.0, "arguments_after": [None], "entered": ["rnn_forward"]}, 1).entered == ("rnn_forward",)
    assert parse_map({"values": [1.0, 2.0], "entered": ["rnn_step_forward"]}, 2).entered == ("rnn_step_forward",)
    answers = parse_batch({"answers": [{"value": 1.0, "entered": ["rnn_step_forward"]}, {"value": 2.0}]}, [None, None])
    assert [answer.entered for answer in answers] == [("rnn_step_forward",), ()]


@pytest.mark.parametrize("reply, says", [
    ({"functions": 42}, "'functions' must be a list of names"),
    ({"functions": ["f", 1]}, "'functions' must be a list of names"),
    ({"functions": [], "import_error": {"forged": True}}, "'import_error' must be text"),
    ({"functions": [], "missing_module": 3}, "'missing_module' must be text"),
])
def test_a_malformed_hello_is_refused(reply, says):
    with pytest.raises(MalformedReply, match=says):
        parse_hello(reply)


@pytest.mark.parametrize("reply, arguments, says", [
    ({"raised": 42}, None, "'raised' must be text, got 42"),
    ({"raised": None}, None, "'raised' must be text"),
    ({"not_implemented": ["rnn_forward"]}, None, "'not_implemented' must be text"),
    ({}, None, "exactly one of value, raised, not_implemented"),
    ({"value": 1.0, "raised": "also"}, None, "exactly one of"),
    ({"value": 1.0, "not_implemented": "f"}, None, "exactly one of"),
    ({"value": 1.0, "arguments_after": 7}, None, "'arguments_after' was not asked for"),
    ({"value": 1.0, "arguments_after": 7}, 2, "'arguments_after' must list the call's 2 arguments, got 7"),
    ({"value": 1.0, "arguments_after": [1.0]}, 2, "must list the call's 2 arguments"),
    ({"value": 1.0}, 2, "must list the call's 2 arguments, got None"),
    ([1, 2], None, "an answer must be a dict"),
    ({"value": 1.0, "entered": "rnn_forward"}, None, "'entered' must list distinct contract functions"),
    ({"value": 1.0, "entered": None}, None, "'entered' must list distinct contract functions, got None"),
    ({"value": 1.0, "entered": [7]}, None, "'entered' must list distinct contract functions, got \\[7\\]"),
    ({"value": 1.0, "entered": ["os.system"]}, None, "'entered' must list distinct contract functions"),
    ({"value": 1.0, "entered": ["rnn_forward", "rnn_forward"]}, None, "'entered' must list distinct"),
    ({"value": 1.0, "entered": ["rnn_forward"] * 10**6}, None, "'entered' must list distinct"),
    ({"raised": "boom", "entered": {"rnn_forward": 1}}, None, "'entered' must list distinct"),
    ({"not_implemented": "f", "entered": [None]}, None, "'entered' must list distinct"),
])
def test_a_malformed_call_answer_is_refused(reply, arguments, says):
    with pytest.raises(MalformedReply, match=says):
        parse_call(reply, arguments)


@pytest.mark.parametrize("reply, says", [
    ({"values": 3}, "'values' must list the 2 calls' values"),
    ({"values": [1.0]}, "'values' must list the 2 calls' values"),
    ({"value": 1.0}, "a map's reply must hold 'values'"),
    ({"raised": 7}, "'raised' must be text"),
    ({"values": [1.0, 2.0], "entered": 3}, "'entered' must list distinct contract functions, got 3"),
])
def test_a_malformed_map_answer_is_refused(reply, says):
    with pytest.raises(MalformedReply, match=says):
        parse_map(reply, 2)


@pytest.mark.parametrize("reply, call, says", [
    ({"answers": 5}, None, "'answers' must hold 1 to 3 answers"),
    ({"answers": []}, None, "'answers' must hold 1 to 3 answers"),
    ({"answers": [{"value": 1}] * 4}, None, "'answers' must hold 1 to 3 answers"),
    ({"answers": [{"value": 1}, {"raised": 42}]}, 1, "'raised' must be text"),
    ({"answers": [{"value": 1}, {"value": 1}, {"value": 1, "arguments_after": 7}]}, 2, "'arguments_after' must list"),
    ({"answers": [{"raised": "boom"}, {"value": 1}]}, 1, "went on after a call that did not return"),
    ({"answers": ["not a dict"]}, 0, "an answer must be a dict"),
    ({"answers": [{"value": 1}, {"value": 1, "entered": ["birnn"]}]}, 1, "'entered' must list distinct"),
])
def test_a_malformed_batch_answer_names_the_call_it_is_for(reply, call, says):
    with pytest.raises(MalformedReply, match=says) as refused:
        parse_batch(reply, [None, None, 2])
    assert refused.value.call == call


# -- the worker's record of the contract functions each call entered (checks/engine/isolation/worker.py) -----

STEPS = '''import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)
'''

CALLING = STEPS + '''

def rnn_forward(x, h0, Wx, Wh, b):
    h, cache, prev_h = [], [], h0
    for t in range(x.shape[1]):
        prev_h, step_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h.append(prev_h)
        cache.append(step_cache)
    return np.stack(h, axis=1), cache


def rnn_backward(dh, cache):
    dx, dprev_h, grads = [], np.zeros_like(dh[:, 0, :]), None
    for t in reversed(range(dh.shape[1])):
        dx_t, dprev_h, *step = rnn_step_backward(dh[:, t, :] + dprev_h, cache[t])
        dx.insert(0, dx_t)
        grads = step if grads is None else [g + s for g, s in zip(grads, step)]
    return (np.stack(dx, axis=1), dprev_h, *grads)
'''

# The same functions with each step written again inline: they enter no other contract function.
INLINE = CALLING.replace("rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)",
                         "(lambda n: (n, (x[:, t, :], prev_h, Wx, Wh, n)))(np.tanh(x[:, t, :] @ Wx + prev_h @ Wh + b))")
INLINE = INLINE.replace("rnn_step_backward(dh[:, t, :] + dprev_h, cache[t])", "inline_step(dh[:, t, :] + dprev_h, cache[t])")
INLINE += '''

def inline_step(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)
'''

# rnn_backward holds the step as a default argument: the call is real, but not recorded (nothing is said).
HELD = CALLING.replace("def rnn_backward(dh, cache):", "def rnn_backward(dh, cache, held=rnn_step_backward):")
HELD = HELD.replace("rnn_step_backward(dh[:, t, :] + dprev_h, cache[t])", "held(dh[:, t, :] + dprev_h, cache[t])")


def written(tmp_path, source: str, form: str):
    """``source`` as a single file, or as a package whose ``__init__`` does ``from .layers import *``."""
    if form == "file":
        path = tmp_path / "rnn_layers.py"
        path.write_text(source)
        return path
    package = tmp_path / "rnn_package"
    package.mkdir()
    (package / "__init__.py").write_text("from .layers import *  # noqa: F403\n")
    (package / "layers.py").write_text(source)
    return package


def entered_by_forward_and_backward(path) -> list[tuple[str, tuple[str, ...]]]:
    """Each call of a forward and backward of a small example, with what the worker says it entered."""
    from checks.engine.isolation.contract import Submission
    from checks.strategies import Dims, rnn_problem_from_seed

    p = rnn_problem_from_seed(Dims(N=2, T=3, D=2, H=3), seed=4)
    sub = Submission(path)
    try:
        with sub.recording() as trace:
            (h, _), grads = sub.forward_and_backward("rnn_forward", (p.x, p.h0, p.Wx, p.Wh, p.b), "rnn_backward", p.dh)
            sub.outputs_of_many("rnn_forward", [(p.x, p.h0, p.Wx, p.Wh, p.b)] * 2)
            sub.rnn_step_forward(p.x[:, 0, :], p.h0, p.Wx, p.Wh, p.b)
    finally:
        sub.close()
    import reference  # the wrapper changes no value
    expected_h, cache = reference.rnn_forward(p.x, p.h0, p.Wx, p.Wh, p.b)
    np.testing.assert_allclose(h, expected_h)
    for got, expected in zip(grads, reference.rnn_backward(p.dh, cache), strict=True):
        np.testing.assert_allclose(got, expected)
    return [(call.function, call.entered) for call in trace.calls]


@pytest.mark.parametrize("form", ["file", "package"])
def test_each_call_reports_the_other_contract_functions_it_entered(tmp_path, form):
    assert entered_by_forward_and_backward(written(tmp_path, CALLING, form)) == [
        ("rnn_forward", ("rnn_step_forward",)), ("rnn_backward", ("rnn_step_backward",)),
        ("rnn_forward", ("rnn_step_forward",)), ("rnn_forward", ("rnn_step_forward",)),  # the map's two calls
        ("rnn_step_forward", ()),  # a function called on its own enters nothing else
    ]


@pytest.mark.parametrize(("source", "form"), [(INLINE, "file"), (INLINE, "package"), (HELD, "file")],
                         ids=["inline-file", "inline-package", "held-as-default-argument"])
def test_a_step_written_again_inline_or_held_otherwise_reports_no_entry(tmp_path, source, form):
    entered = dict(entered_by_forward_and_backward(written(tmp_path, source, form)))
    assert entered["rnn_backward"] == ()
    assert entered["rnn_forward"] == (("rnn_step_forward",) if source is HELD else ())


def test_the_recording_wrapper_leaves_the_error_and_its_caller_chain_as_they_were(tmp_path):
    """The error's text, caller chain included, is exactly what it is without the wrapper (whose frame is
    the grader's own); the raised answer also says which functions the call entered."""
    from checks.engine.isolation.contract import Submission, SubmissionRaised
    from checks.strategies import Dims, rnn_problem_from_seed

    source = CALLING.replace("    da = dnext_h * (1 - next_h**2)\n", "    da = dnext_h @ next_h  # (N, H) @ (N, H)\n")
    lines = source.splitlines()
    backward = 1 + lines.index("        dx_t, dprev_h, *step = rnn_step_backward(dh[:, t, :] + dprev_h, cache[t])")
    step = 1 + lines.index("    da = dnext_h @ next_h  # (N, H) @ (N, H)")
    p = rnn_problem_from_seed(Dims(N=2, T=2, D=2, H=3), seed=2)
    sub = Submission(written(tmp_path, source, "file"))
    try:
        with sub.recording() as trace, pytest.raises(SubmissionRaised) as raised:
            sub.forward_and_backward("rnn_forward", (p.x, p.h0, p.Wx, p.Wh, p.b), "rnn_backward", p.dh)
    finally:
        sub.close()
    assert str(raised.value).startswith("rnn_backward raised ValueError: matmul: ")
    assert str(raised.value).endswith(f"(rnn_backward line {backward} → rnn_step_backward line {step}: "
                                      "da = dnext_h @ next_h  # (N, H) @ (N, H))")
    assert "worker" not in str(raised.value) and "recorded" not in str(raised.value)
    assert trace.calls[-1].entered == ("rnn_step_backward",)


def test_recording_keeps_each_functions_result_exceptions_and_metadata_and_replaces_only_that_function():
    import types

    from checks.engine.isolation import worker

    module = types.ModuleType("recorded_submission")
    extra = ("\nalias = rnn_step_forward\nFAILURE = KeyError('the very same')\n"
             "def rnn_classifier_loss(*args):\n    raise FAILURE\n")
    exec(compile(CALLING + extra, "<test>", "exec"), vars(module))
    original, forward = module.rnn_step_backward, module.rnn_step_forward
    worker.record_entries(module)
    assert module.rnn_step_backward is not original and module.rnn_step_backward.__wrapped__ is original
    assert module.rnn_step_backward.__name__ == "rnn_step_backward" and module.rnn_step_backward.__doc__ is None
    assert module.alias is forward  # another name for it is left alone: calls through it are not recorded
    with pytest.raises(KeyError) as raised:
        module.rnn_classifier_loss()
    assert raised.value is module.FAILURE  # the student's own exception, passed on as it is
    answer = worker.answer_request(module, {"op": "call", "fn": "rnn_backward", "args": [np.ones((1, 1, 1)), [
        (np.ones((1, 1)), np.zeros((1, 1)), np.ones((1, 1)), np.ones((1, 1)), np.zeros((1, 1)))]],
        "cache_at": None}, {}, Path("."))
    np.testing.assert_allclose(answer["value"][0], [[[1.0]]])
    assert answer["entered"] == ["rnn_step_backward"]
    assert "entered" not in worker.answer_request(module, {"op": "call", "fn": "rnn_step_forward", "args": [
        np.ones((1, 1)), np.ones((1, 1)), np.ones((1, 1)), np.ones((1, 1)), np.ones(1)], "cache_at": 1}, {}, Path("."))


def test_a_forged_entered_field_fails_the_call_as_a_malformed_reply(tmp_path):
    """A submission that rewrites the worker's replies (it runs as __main__ in the submission's process): an
    'entered' of the wrong shape is a fault of the call, charged to the submission like a crash."""
    from checks.engine.isolation.contract import Submission
    from checks.engine.isolation.boundary import WorkerFault
    from checks.strategies import Dims, rnn_problem_from_seed

    forger = ("import sys\nWORKER = sys.modules['__main__']\nREAL = getattr(WORKER, 'write_message', None)\n"
              "def forged(stream, message):\n"
              "    if 'value' in message:\n        message['entered'] = ['rnn_forward', 7]\n"
              "    return REAL(stream, message)\n"
              "if REAL is not None:\n    WORKER.write_message = forged\n")
    p = rnn_problem_from_seed(Dims(N=1, T=1, D=1, H=1), seed=1)
    sub = Submission(written(tmp_path, forger + STEPS, "file"))
    try:
        with pytest.raises(WorkerFault, match=r"malformed reply while running rnn_step_forward.*'entered' must list"):
            sub.rnn_step_forward(p.x[:, 0, :], p.h0, p.Wx, p.Wh, p.b)
    finally:
        sub.close()


def test_recording_replaces_a_name_only_where_it_is_the_very_function_and_adds_none():
    """A package's ``__init__`` defines its own rnn_forward; ``layers`` keeps an older one, which its
    birnn_forward still calls: that one must stay as it is, and no name appears where there was none."""
    import types

    from checks.engine.isolation import worker

    layers = types.ModuleType("layers")
    exec(compile(STEPS + "\ndef rnn_forward(*args):\n    return 'the draft'\n"
                 "\ndef birnn_forward(*args):\n    return rnn_forward(*args)\n", "<layers>", "exec"), vars(layers))
    package = types.ModuleType("package")
    vars(package).update(rnn_step_forward=layers.rnn_step_forward, birnn_forward=layers.birnn_forward)
    exec(compile("def rnn_forward(*args):\n    return 'the final one'\n", "<init>", "exec"), vars(package))
    draft = layers.rnn_forward
    worker.record_entries(package)
    assert layers.rnn_forward is draft and package.birnn_forward() == "the draft"
    assert layers.rnn_step_forward.__wrapped__ is package.rnn_step_forward.__wrapped__  # the same, in both
    assert "rnn_backward" not in vars(layers) and "rnn_step_backward" not in vars(package)
