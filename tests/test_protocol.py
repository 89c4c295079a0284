"""The wire protocol (bridge/protocol.py) against docs/protocol.md, byte by byte.

The OSC layout is re-implemented here with ``struct`` from the specification, independently of
the encoder, and python-osc's own builder and parser are checked against the encoder too.
"""

import json
import random
import struct
from pathlib import Path

import numpy as np
import pytest
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from bridge import protocol as P
from medtalk_core import rig

DOC = Path(__file__).resolve().parents[1] / "docs" / "protocol.md"


def osc_string(text: str) -> bytes:
    """OSC 1.0 string: ASCII bytes, then 1 to 4 NULs up to a multiple of 4."""
    raw = text.encode("ascii")
    return raw + b"\0" * (4 - len(raw) % 4)


def spec_frame(subject: str, index: int, t: float, values) -> bytes:
    """``/medtalk/frame`` as docs/protocol.md lays it out."""
    return (b"/medtalk/frame\0\0" + b",sid" + b"f" * 174 + b"\0\0" + osc_string(subject)
            + struct.pack(">i", index) + struct.pack(">d", t)
            + struct.pack(">174f", *[float(v) for v in values]))


def hexdump(data: bytes, start: int = 0, length: int | None = None) -> str:
    """The dump format of docs/protocol.md: offset, 16 bytes in groups of 4, ASCII."""
    data = data[start:None if length is None else start + length]
    lines = []
    for o in range(0, len(data), 16):
        chunk = data[o:o + 16]
        hexes = " ".join(chunk[i:i + 4].hex() for i in range(0, len(chunk), 4))
        text = "".join(chr(c) if 32 <= c < 127 else "." for c in chunk)
        lines.append(f"{start + o:04x}  {hexes:<35}  {text}")
    return "\n".join(lines)


def example_values() -> np.ndarray:
    """The values of the worked example in docs/protocol.md."""
    v = rig.NEUTRAL.copy()
    v[0], v[1], v[rig.INDEX["CTRL_C_jaw-translateY"]] = -0.25, 0.125, 0.5
    return v


@pytest.fixture
def values():
    return np.random.default_rng(0).uniform(-1, 1, rig.NUM_CONTROLS).astype(np.float32)


@pytest.mark.parametrize("subject", ["M", "abc", "abcd", "MEDTalk", "Face 01", "x" * 63])
def test_osc_frame_bytes_follow_the_spec(subject, values):
    packet = P.encode_osc_frame(subject, 7, 7 / 60, values)
    assert packet == spec_frame(subject, 7, 7 / 60, values)
    padded = 4 * (len(subject) // 4 + 1)
    assert len(packet) == 904 + padded == P.osc_frame_size(subject)
    assert packet[196 + len(subject):196 + padded] == b"\0" * (padded - len(subject))
    assert struct.unpack_from(">i", packet, 196 + padded) == (7,)
    assert struct.unpack_from(">d", packet, 200 + padded) == (7 / 60,)


def test_osc_frame_size_for_default_subject():
    assert P.osc_frame_size("MEDTalk") == 912


def test_osc_frame_equals_python_osc_builder_and_parses_back(values):
    builder = OscMessageBuilder(P.FRAME_ADDRESS)
    builder.add_arg("MEDTalk", "s")
    builder.add_arg(123, "i")
    builder.add_arg(123 / 60, "d")
    for v in values:
        builder.add_arg(float(v), "f")
    packet = P.encode_osc_frame("MEDTalk", 123, 123 / 60, values)
    assert packet == builder.build().dgram
    message = OscMessage(packet)
    assert message.address == "/medtalk/frame"
    assert message.params[:3] == ["MEDTalk", 123, 123 / 60]
    np.testing.assert_array_equal(np.float32(message.params[3:]), values)


def test_encoder_reuses_its_buffer_without_leaking_between_frames(values):
    encoder = P.OscFrameEncoder("MEDTalk")
    first = encoder.encode(0, 0.0, values)
    second = encoder.encode(1, 1 / 60, -values)
    assert first == spec_frame("MEDTalk", 0, 0.0, values)
    assert second == spec_frame("MEDTalk", 1, 1 / 60, -values)


def test_osc_frame_round_trip(values):
    frame = P.decode_osc_frame(P.encode_osc_frame("MEDTalk", 2**31 - 1, 1e6, values))
    assert (frame.subject, frame.index, frame.t) == ("MEDTalk", 2**31 - 1, 1e6)
    assert frame.values.dtype == np.float32
    np.testing.assert_array_equal(frame.values, values)


def test_osc_names_bytes_follow_the_spec():
    packet = P.encode_osc_names("MEDTalk")
    expected = (b"/medtalk/names\0\0" + b",s" + b"s" * 174 + b"\0" * 4 + osc_string("MEDTalk")
                + b"".join(osc_string(n) for n in rig.CONTROL_NAMES))
    assert packet == expected
    assert len(packet) == 6224
    message = OscMessage(packet)
    assert message.params == ["MEDTalk", *rig.CONTROL_NAMES]
    assert P.decode_osc_names(packet) == ("MEDTalk", list(rig.CONTROL_NAMES))


@pytest.mark.parametrize("subject", ["", "x" * 64, "Gesicht-ä", "tab\there", "nul\0"])
def test_bad_subjects_are_refused(subject, values):
    with pytest.raises(ValueError, match="subject"):
        P.OscFrameEncoder(subject)
    with pytest.raises(ValueError, match="subject"):
        P.encode_osc_names(subject)


def test_encoder_refuses_wrong_width_and_index(values):
    encoder = P.OscFrameEncoder("MEDTalk")
    with pytest.raises(ValueError):
        encoder.encode(0, 0.0, values[:173])
    with pytest.raises(struct.error):
        encoder.encode(2**31, 0.0, values)


def faulty_frames(values) -> dict[str, bytes]:
    good = P.encode_osc_frame("MEDTalk", 3, 0.05, values)
    nan = values.copy()
    nan[10] = np.nan
    return {
        "truncated": good[:-1],
        "one byte more": good + b"\0",
        "four bytes more": good + b"\0" * 4,
        "wrong address": b"/medtalk/frams" + good[14:],
        "wrong type tag": good[:20] + b"i" + good[21:],
        "non-NUL padding": good[:203] + b"x" + good[204:],
        "no subject": good[:196] + b"\0" * 4 + good[204:],
        "NaN value": P.encode_osc_frame("MEDTalk", 3, 0.05, nan),
        "infinite time": P.encode_osc_frame("MEDTalk", 3, float("inf"), values),
        "negative index": P.encode_osc_frame("MEDTalk", -1, 0.05, values),
        "names packet": P.encode_osc_names("MEDTalk"),
        "empty": b"",
    }


@pytest.mark.parametrize("fault", list(faulty_frames(rig.NEUTRAL)))
def test_decoder_rejects_faulty_frames(fault, values):
    with pytest.raises(P.ProtocolError):
        P.decode_osc_frame(faulty_frames(values)[fault])


def test_names_decoder_rejects_faults():
    good = P.encode_osc_names("MEDTalk")
    frame = P.encode_osc_frame("M", 0, 0.0, rig.NEUTRAL)
    for packet in (good[:-4], good + b"\0\0\0\0", good[:300] + b"\x01" + good[301:],
                   good[:196] + b"\0" * 8 + good[204:], frame):
        with pytest.raises(P.ProtocolError):
            P.decode_osc_names(packet)


def test_decoders_raise_only_protocol_errors_on_random_bytes(values):
    rng = random.Random(0)
    seeds = [P.encode_osc_frame("MEDTalk", 1, 0.1, values), P.encode_osc_names("MEDTalk")]
    for trial in range(3000):
        packet = bytearray(rng.choice(seeds))
        mode = trial % 3
        if mode == 0:
            packet = packet[:rng.randrange(len(packet))]
        elif mode == 1:
            for _ in range(rng.randrange(1, 6)):
                packet[rng.randrange(len(packet))] = rng.randrange(256)
        else:
            packet = bytearray(rng.randbytes(rng.randrange(1, 1200)))
        for decode in (P.decode_osc_frame, P.decode_osc_names):
            try:
                decode(bytes(packet))
            except P.ProtocolError:
                pass


def test_zmq_frame_parts(values):
    frame = P.Frame(5, 5 / 60, 1700000000.125, values, "happy", np.float32(0.3))
    topic, header, payload = P.encode_zmq_frame(frame, "MEDTalk")
    assert topic == b"frame"
    assert header.isascii() and b" " not in header
    fields = json.loads(header)
    assert fields == {"subject": "MEDTalk", "frame": 5, "t": 5 / 60, "t0": 1700000000.125,
                      "emotion": "happy", "intensity": 0.3}
    assert [type(fields[k]) for k in P.ZMQ_HEADER_FIELDS] == [str, int, float, float, str, float]
    assert payload == struct.pack("<174f", *[float(v) for v in values])
    decoded_header, decoded_values = P.decode_zmq_frame([topic, header, payload])
    assert decoded_header == fields
    np.testing.assert_array_equal(decoded_values, values)


def test_zmq_names_parts():
    topic, body = P.encode_zmq_names()
    assert topic == b"names"
    assert json.loads(body) == list(rig.CONTROL_NAMES)
    assert P.decode_zmq_names([topic, body]) == list(rig.CONTROL_NAMES)


def test_zmq_decoders_reject_faults(values):
    good = P.encode_zmq_frame(P.Frame(0, 0.0, 1.0, values, "sad", 0.1), "MEDTalk")
    header = json.loads(good[1])
    nan = values.copy()
    nan[0] = np.inf
    faulty = [
        good[:2], [b"names", *good[1:]], [good[0], b"{not json", good[2]],
        [good[0], b"[1, 2]", good[2]], [good[0], good[1], good[2][:-4]],
        [good[0], good[1], nan.astype("<f4").tobytes()],
        [good[0], json.dumps({**header, "frame": True}).encode(), good[2]],
        [good[0], json.dumps({**header, "t": "0"}).encode(), good[2]],
        [good[0], json.dumps({k: v for k, v in header.items() if k != "t0"}).encode(), good[2]],
        [good[0], json.dumps({**header, "t": float("nan")}).encode(), good[2]],
        [good[0], json.dumps({**header, "intensity": float("inf")}).encode(), good[2]],
        [good[0], json.dumps({**header, "frame": -1}).encode(), good[2]],
        [good[0], json.dumps({**header, "frame": 2**31}).encode(), good[2]],
    ]
    for parts in faulty:
        with pytest.raises(P.ProtocolError):
            P.decode_zmq_frame(parts)
    for parts in ([b"names", b'["a"]'], [b"frame", P.encode_zmq_names()[1]], [b"names"]):
        with pytest.raises(P.ProtocolError):
            P.decode_zmq_names(parts)


def test_doc_examples_are_what_the_code_sends():
    doc = DOC.read_text()
    frame = P.encode_osc_frame("MEDTalk", 1, 1 / 60, example_values())
    assert len(frame) == 912
    assert hexdump(frame, 0, 240) in doc
    assert not frame[240:].strip(b"\0")  # values 6-173 are 0, as the doc says
    assert hexdump(P.encode_osc_names("MEDTalk"), 0xB0, 0x50) in doc
    parts = P.encode_zmq_frame(
        P.Frame(1, 1 / 60, 1700000000.25, example_values(), "happy", 0.3), "MEDTalk")
    assert parts[1].decode() in doc
    assert hexdump(parts[2], 0, 32) in doc
    assert f"({len(P.encode_zmq_names()[1])} bytes)" in doc
