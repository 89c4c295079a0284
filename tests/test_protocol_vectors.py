"""Golden packets of the wire protocol, shared with the Unreal plugin's C++ decoder.

``tests/protocol_vectors/`` holds packets written by ``bridge/protocol.py`` (valid ones, and
faulty ones made from them) and ``expected.txt``, what a receiver must decode from each: the
fields of a valid packet, or the reason (a ``medtalk::Status`` name of
``unreal_plugin/.../MEDTalkPacket.h``) for which it rejects a faulty one. This test regenerates
every file and compares it byte for byte with the committed one, so a change of the Python
encoder fails here; ``unreal_plugin/tests/run.sh`` decodes the same files with the C++ code, so a
change of the C++ decoder fails there. After an intended protocol change, regenerate with::

    python tests/test_protocol_vectors.py --write
"""

from __future__ import annotations

import json
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from vector_files import write_vectors

from bridge import protocol as P
from medtalk_core import rig

VECTORS = Path(__file__).resolve().parent / "protocol_vectors"
EXPECTED = "expected.txt"

HEADER = """\
# MEDTalk Live wire protocol vectors (docs/protocol.md). Written by
# tests/test_protocol_vectors.py --write from bridge/protocol.py; read by
# unreal_plugin/tests/vector_tests.cpp. Do not edit by hand.
#
# One block per vector: "vector NAME" ... "end". kind: osc_frame, osc_names, zmq_frame or
# zmq_names (the decoder to call); part: the files of the datagram or of the ZeroMQ message
# parts, in order; status: Ok or the reason the receiver must reject it. For Ok, the decoded
# fields follow; numbers are IEEE 754 bit patterns in hex (time, t0: float64; intensity and the
# 174 values: float32), so both sides compare exact bits. Text fields run to the end of the line.
"""


@dataclass
class Vector:
    """One golden packet: ``parts`` (1 for OSC), what a receiver decodes, and, for a faulty
    packet that ``bridge/protocol.py``'s own decoders accept, why (``python_accepts``)."""

    name: str
    kind: str
    parts: list[bytes]
    status: str = "Ok"
    fields: list[tuple[str, str]] = field(default_factory=list)
    python_accepts: str = ""

    def files(self) -> list[str]:
        if len(self.parts) == 1:
            return [f"{self.name}.bin"]
        return [f"{self.name}.{i}.bin" for i in range(len(self.parts))]


def f64_hex(x: float) -> str:
    return struct.pack(">d", x).hex()


def f32_hex(values) -> str:
    return " ".join(f"{b:08x}" for b in np.asarray(values, np.float32).reshape(-1).view(np.uint32))


def example_values() -> np.ndarray:
    """The worked example of docs/protocol.md: all 0 but three controls."""
    v = rig.NEUTRAL.copy()
    v[0], v[1], v[rig.INDEX["CTRL_C_jaw-translateY"]] = -0.25, 0.125, 0.5
    return v


def random_values(seed: int) -> np.ndarray:
    """Values spread over each control's range, with a few finite bit patterns that a decoder
    could mishandle: -0, the smallest subnormal, the range ends, the float below 1."""
    rng = np.random.default_rng(seed)
    v = rng.uniform(rig.RANGES[:, 0], rig.RANGES[:, 1]).astype(np.float32)
    v[:5] = [-0.0, np.float32(1e-45), 1.0, -1.0, np.nextafter(np.float32(1), np.float32(0))]
    return v


def frame_fields(subject: str, index: int, t: float, values) -> list[tuple[str, str]]:
    return [("subject", subject), ("index", str(index)), ("time", f64_hex(t)),
            ("values", f32_hex(values))]


def osc_frame(name: str, subject: str, index: int, t: float, values) -> Vector:
    return Vector(name, "osc_frame", [P.encode_osc_frame(subject, index, t, values)],
                  fields=frame_fields(subject, index, t, values))


def osc_names(name: str, subject: str, names) -> Vector:
    return Vector(name, "osc_names", [P.encode_osc_names(subject, names)],
                  fields=[("subject", subject)] + [("name", n) for n in names])


def zmq_frame(name: str, frame: P.Frame, subject: str) -> Vector:
    parts = P.encode_zmq_frame(frame, subject)
    header = json.loads(parts[1])
    return Vector(name, "zmq_frame", parts, fields=frame_fields(
        subject, frame.index, frame.t, frame.values) + [
        ("t0", f64_hex(frame.t0)), ("emotion", frame.emotion),
        ("intensity", f32_hex([header["intensity"]]))])


def custom_names() -> list[str]:
    """174 names of every padding length, 1 to 255 characters."""
    names = [f"n{k:03d}_" + "x" * (k % 5) for k in range(rig.NUM_CONTROLS)]
    names[0], names[1], names[-1] = "a", "AbC", "z" * P.NAME_MAX
    return names


def good_vectors() -> list[Vector]:
    values = random_values(20240601)
    return [
        osc_frame("osc_frame_example", "MEDTalk", 1, 1 / 60, example_values()),
        osc_frame("osc_frame_random", "MEDTalk", 123456, 123456 / 60, values),
        osc_frame("osc_frame_subject_1", "M", 0, 0.0, rig.NEUTRAL),
        osc_frame("osc_frame_subject_4", "abcd", 2**31 - 1, (2**31 - 1) / 60, -values),
        osc_frame("osc_frame_subject_63", "".join(map(chr, range(33, 96))), 59, 59 / 60,
                  values[::-1].copy()),
        osc_names("osc_names_MEDTalk", "MEDTalk", rig.CONTROL_NAMES),
        osc_names("osc_names_custom", "Face 01", custom_names()),
        zmq_frame("zmq_frame_example", P.Frame(1, 1 / 60, 1700000000.25, example_values(),
                                                "happy", 0.3), "MEDTalk"),
        zmq_frame("zmq_frame_random", P.Frame(123456, 123456 / 60, 1795306499.8084912, values,
                                               "surprise", 0.123456789), "Face 01"),
        Vector("zmq_names", "zmq_names", P.encode_zmq_names(),
               fields=[("name", n) for n in rig.CONTROL_NAMES]),
    ]


def with_header(parts: list[bytes], **changes) -> list[bytes]:
    """The ZeroMQ frame ``parts`` with header fields changed (None: removed)."""
    header = json.loads(parts[1])
    header.update(changes)
    header = {k: v for k, v in header.items() if v is not None}
    return [parts[0], json.dumps(header, separators=(",", ":")).encode(), parts[2]]


def bad_vectors() -> list[Vector]:
    frame = P.encode_osc_frame("MEDTalk", 1, 1 / 60, example_values())
    names = P.encode_osc_names("MEDTalk")
    nan = example_values()
    nan[10] = np.nan
    example = P.Frame(1, 1 / 60, 1700000000.25, example_values(), "happy", 0.3)
    zmq = P.encode_zmq_frame(example, "MEDTalk")
    inf = example_values()
    inf[0] = np.inf
    header = zmq[1].decode()

    def osc(name, packet, status, kind="osc_frame"):
        return Vector(name, kind, [packet], status)

    def zm(name, parts, status, why="", kind="zmq_frame"):
        return Vector(name, kind, parts, status, python_accepts=why)

    return [
        osc("bad_osc_frame_short", frame[:100], "Truncated"),
        osc("bad_osc_frame_truncated", frame[:-1], "WrongSize"),
        osc("bad_osc_frame_extra", frame + bytes(4), "WrongSize"),
        osc("bad_osc_frame_oversized", frame + bytes(100), "Oversized"),
        osc("bad_osc_frame_address", b"/medtalk/frams" + frame[14:], "WrongAddress"),
        osc("bad_osc_frame_type_tag", frame[:20] + b"i" + frame[21:], "WrongTypeTags"),
        osc("bad_osc_frame_padding", frame[:203] + b"x" + frame[204:], "BadPadding"),
        osc("bad_osc_frame_no_subject", frame[:196] + bytes(8) + frame[204:], "BadSubject"),
        osc("bad_osc_frame_control_char", frame[:199] + b"\x01" + frame[200:], "BadSubject"),
        osc("bad_osc_frame_misaligned", frame[:204] + bytes(1) + frame[204:], "WrongSize"),
        osc("bad_osc_frame_nan_value", P.encode_osc_frame("MEDTalk", 1, 1 / 60, nan),
            "NonFiniteValue"),
        osc("bad_osc_frame_inf_time", P.encode_osc_frame("MEDTalk", 1, np.inf, example_values()),
            "NonFiniteTime"),
        osc("bad_osc_frame_negative_index",
            P.encode_osc_frame("MEDTalk", -1, 1 / 60, example_values()), "NegativeIndex"),
        osc("bad_osc_names_truncated", names[:-4], "Truncated", "osc_names"),
        osc("bad_osc_names_extra", names + bytes(4), "TrailingBytes", "osc_names"),
        osc("bad_osc_names_control_char", names[:209] + b"\x01" + names[210:], "BadString",
            "osc_names"),
        osc("bad_osc_names_frame", frame, "WrongAddress", "osc_names"),
        zm("bad_zmq_frame_parts", zmq[:2], "WrongPartCount"),
        zm("bad_zmq_frame_topic", [b"names", *zmq[1:]], "WrongTopic"),
        zm("bad_zmq_frame_json", [zmq[0], b"{not json", zmq[2]], "BadJson"),
        zm("bad_zmq_frame_list", [zmq[0], b"[1,2]", zmq[2]], "BadJson"),
        zm("bad_zmq_frame_short_values", [*zmq[:2], zmq[2][:-4]], "BadValuesSize"),
        zm("bad_zmq_frame_inf_value", [*zmq[:2], inf.astype("<f4").tobytes()],
           "NonFiniteValue"),
        zm("bad_zmq_frame_bool_frame", with_header(zmq, frame=True), "WrongFieldType"),
        zm("bad_zmq_frame_string_t", with_header(zmq, t="0"), "WrongFieldType"),
        zm("bad_zmq_frame_missing_t0", with_header(zmq, t0=None), "MissingField"),
        zm("bad_zmq_frame_nan_t", P.encode_zmq_frame(
            P.Frame(1, np.nan, 1700000000.25, example_values(), "happy", 0.3), "MEDTalk"),
           "BadJson"),
        zm("bad_zmq_frame_negative_frame", with_header(zmq, frame=-1), "NegativeIndex"),
        zm("bad_zmq_frame_duplicate", [zmq[0], header[:-1].encode() + b',"frame":2}', zmq[2]],
           "DuplicateField", "Python's json module keeps the last of duplicate keys"),
        zm("bad_zmq_frame_non_ascii", [zmq[0], header.replace("MEDTalk", "Gesicht-\u00e4")
                                       .encode("utf-8"), zmq[2]],
           "BadJson", "the header is valid UTF-8 JSON; the protocol says ASCII only"),
        zm("bad_zmq_names_count", [b"names", json.dumps(list(rig.CONTROL_NAMES[:-1]),
                                                        separators=(",", ":")).encode()],
           "BadNames", kind="zmq_names"),
        zm("bad_zmq_names_topic", [b"frame", P.encode_zmq_names()[1]], "WrongTopic",
           kind="zmq_names"),
        zm("bad_zmq_names_parts", [b"names"], "WrongPartCount", kind="zmq_names"),
    ]


def all_vectors() -> list[Vector]:
    return good_vectors() + bad_vectors()


def expected_text(vectors: list[Vector]) -> str:
    lines = [HEADER]
    for v in vectors:
        lines.append(f"vector {v.name}\nkind {v.kind}\n")
        lines += [f"part {name}\n" for name in v.files()]
        lines.append(f"status {v.status}\n")
        lines += [f"{key} {value}\n" for key, value in v.fields]
        lines.append("end\n")
    return "".join(lines)


def generated_files() -> dict[str, bytes]:
    """Every file of tests/protocol_vectors/ as this module writes it."""
    vectors = all_vectors()
    files = {name: part for v in vectors for name, part in zip(v.files(), v.parts)}
    files[EXPECTED] = expected_text(vectors).encode("ascii")
    return files


def decode(v: Vector):
    """``v`` decoded by bridge/protocol.py's decoder for its kind."""
    if v.kind == "osc_frame":
        return P.decode_osc_frame(v.parts[0])
    if v.kind == "osc_names":
        return P.decode_osc_names(v.parts[0])
    if v.kind == "zmq_frame":
        return P.decode_zmq_frame(v.parts)
    return P.decode_zmq_names(v.parts)


def test_committed_vectors_are_what_the_encoder_writes():
    files = generated_files()
    committed = ({p.name for p in VECTORS.iterdir() if p.is_file()}  # livelinkface/: its own test
                 if VECTORS.is_dir() else set())
    assert committed == set(files), "regenerate: python tests/test_protocol_vectors.py --write"
    for name, data in files.items():
        assert (VECTORS / name).read_bytes() == data, f"{name} differs from the encoder's output"


def test_vector_sizes_follow_the_spec():
    sizes = {v.name: [len(p) for p in v.parts] for v in all_vectors()}
    assert sizes["osc_frame_example"] == [912]
    assert sizes["osc_frame_subject_1"] == [908]
    assert sizes["osc_frame_subject_4"] == [912]  # a 4-character subject gets 4 NULs
    assert sizes["osc_frame_subject_63"] == [968]
    assert sizes["osc_names_MEDTalk"] == [6224]
    assert sizes["zmq_frame_example"][2] == sizes["zmq_frame_random"][2] == 696
    assert sizes["zmq_names"] == [5, 6072]


@pytest.mark.parametrize("vector", good_vectors(), ids=lambda v: v.name)
def test_python_decoders_read_the_expected_fields(vector):
    decoded = decode(vector)
    fields = dict(vector.fields)
    if vector.kind == "osc_frame":
        assert (decoded.subject, str(decoded.index), f64_hex(decoded.t)) == (
            fields["subject"], fields["index"], fields["time"])
        assert f32_hex(decoded.values) == fields["values"]
    elif vector.kind == "zmq_frame":
        header, values = decoded
        assert (header["subject"], str(header["frame"]), f64_hex(header["t"]),
                f64_hex(header["t0"]), header["emotion"], f32_hex([header["intensity"]])) == (
            fields["subject"], fields["index"], fields["time"], fields["t0"],
            fields["emotion"], fields["intensity"])
        assert f32_hex(values) == fields["values"]
    else:
        names = [value for key, value in vector.fields if key == "name"]
        assert (decoded[1] if vector.kind == "osc_names" else decoded) == names
        if vector.kind == "osc_names":
            assert decoded[0] == fields["subject"]


@pytest.mark.parametrize("vector", bad_vectors(), ids=lambda v: v.name)
def test_python_decoders_reject_the_faulty_vectors(vector):
    if vector.python_accepts:
        decode(vector)  # a known leniency of bridge/protocol.py, stated in the vector
        return
    with pytest.raises(P.ProtocolError):
        decode(vector)


def write() -> None:
    """Replace tests/protocol_vectors/ with freshly generated files."""
    write_vectors(VECTORS, generated_files())


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_protocol_vectors.py --write")
    write()
