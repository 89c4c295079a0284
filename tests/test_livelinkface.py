"""Live Link Face packets (bridge/livelinkface.py) against golden files.

``tests/protocol_vectors/livelinkface/`` holds datagrams written by the encoder (``*.bin``), and
faulty ones made from them, that Unreal's receiver must drop. This test regenerates every file
and compares it byte for byte with the committed one, and reads each one with
:func:`unreal_read`, a step-by-step copy of what Unreal's Live Link Face receiver does with a
datagram (network byte order reader: size over the minimum, version, device id, subject, frame
time, count == 61, the floats). After an intended change, regenerate with::

    python tests/test_livelinkface.py --write
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from vector_files import write_vectors

from bridge import livelinkface as L
from medtalk_core import rig
from medtalk_core.arkit_map import DEFAULT
from medtalk_core.live_link_face import EYE_ANGLE_RAD, LLF_NAMES, frame_values

VECTORS = Path(__file__).resolve().parent / "protocol_vectors" / "livelinkface"
UNREAL_MIN = 1 + 16 + 1 + 4 * 61 + 2 + 2
"""Unreal's MIN_BLEND_SHAPE_PACKET_SIZE: version, FQualifiedFrameTime, count, 61 floats and
two empty TCHAR strings; a datagram must be longer."""


def example_frame() -> np.ndarray:
    frame = np.zeros(rig.NUM_CONTROLS, np.float32)
    for name, value in {"CTRL_C_jaw-translateY": 0.5, "CTRL_L_eye_blink-translateY": 1.0,
                        "CTRL_R_eye_blink-translateY": -0.25, "CTRL_L_mouth_cornerPull-translateY":
                        0.75, "CTRL_L_eye-translateX": 0.5, "CTRL_R_eye-translateY": -1.0}.items():
        frame[rig.INDEX[name]] = value
    return frame


def good() -> dict[str, tuple[bytes, dict]]:
    """Valid datagrams and what a receiver reads from them."""
    out = {}
    values = frame_values(DEFAULT, example_frame())
    out["example"] = (L.PacketEncoder("MEDTalk Live", "MEDTalk").encode(7, values),
                      {"device": "MEDTalk Live", "subject": "MEDTalk", "frame": 7, "values": values})
    rnd = np.random.default_rng(0).random(61).astype(np.float32)
    out["random_long_names"] = (L.PacketEncoder("d" * 255, "Gesicht-é" + "s" * 245).encode(
        2**31 - 1, rnd), {"device": "d" * 255, "subject": "Gesicht-é" + "s" * 245,
                          "frame": 2**31 - 1, "values": rnd})
    out["one_letter_names"] = (L.PacketEncoder("i", "s").encode(0, np.zeros(61)),
                               {"device": "i", "subject": "s", "frame": 0, "values": np.zeros(61)})
    return out


def bad() -> dict[str, bytes]:
    """Datagrams Unreal's receiver drops, made from the example."""
    ex = good()["example"][0]
    count_at = 1 + 4 + 12 + 4 + 7 + 16
    return {
        "bad_version_5": bytes([5]) + ex[1:],
        "bad_count_52": ex[:count_at] + bytes([52]) + ex[count_at + 1:count_at + 1 + 4 * 52],
        "bad_truncated": ex[:-4] + b"\0\0\0",
        "bad_too_short": L.PacketEncoder("i", "s").encode(0, np.zeros(61))[:UNREAL_MIN],
        "bad_subject_length": ex[:17] + struct.pack(">i", 10_000) + ex[21:],
    }


def generated_files() -> dict[str, bytes]:
    return {**{f"{k}.bin": v for k, (v, _) in good().items()},
            **{f"{k}.bin": v for k, v in bad().items()}}


def unreal_read(packet: bytes):
    """What Unreal's receiver makes of a datagram: None if it drops it, else
    (device, subject, frame, subframe, rate, 61 values)."""
    if len(packet) <= UNREAL_MIN:
        return None
    at = 0

    def take(fmt: str):
        nonlocal at
        size = struct.calcsize(fmt)
        if at + size > len(packet):
            raise OverflowError
        got = struct.unpack_from(fmt, packet, at)
        at += size
        return got

    def string() -> str:
        nonlocal at
        (n,) = take(">i")
        if n < 0 or at + n > len(packet):
            raise OverflowError
        at += n
        return packet[at - n:at].decode("utf-8")

    try:
        (version,) = take(">B")
        if version != 6:
            return None
        device, subject = string(), string()
        frame, subframe, num, den, count = take(">ifiiB")
        if count != 61:
            return None
        values = np.array(take(">61f"), np.float32)
    except OverflowError:
        return None
    return device, subject, frame, subframe, (num, den), values


def test_committed_vectors_are_what_the_encoder_writes():
    files = generated_files()
    assert {p.name for p in VECTORS.iterdir()} == set(files), \
        "regenerate: python tests/test_livelinkface.py --write"
    for name, data in files.items():
        assert (VECTORS / name).read_bytes() == data, f"{name} differs from the encoder's output"


@pytest.mark.parametrize("name", sorted(good()))
def test_unreal_reads_the_golden_packets(name):
    packet = (VECTORS / f"{name}.bin").read_bytes()
    want = good()[name][1]
    dev, sub = want["device"].encode(), want["subject"].encode()
    assert len(packet) == 270 + len(dev) + len(sub)
    assert packet[0] == 6 and packet[-245] == 61
    device, subject, frame, subframe, rate, values = unreal_read(packet)
    assert (device, subject, frame, subframe, rate) == (want["device"], want["subject"],
                                                          want["frame"], 0.0, (60, 1))
    np.testing.assert_array_equal(values, np.float32(want["values"]))
    decoded = L.decode(packet)
    assert (decoded.device_id, decoded.subject, decoded.frame) == (device, subject, frame)
    np.testing.assert_array_equal(decoded.values, values)


def test_the_example_packet_carries_the_mapped_face():
    shapes = L.decode((VECTORS / "example.bin").read_bytes()).shapes
    assert list(shapes) == list(LLF_NAMES) and len(shapes) == 61
    assert list(shapes)[:3] == ["EyeBlinkLeft", "EyeLookDownLeft", "EyeLookInLeft"]
    assert list(shapes)[51:] == ["TongueOut", "HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw",
                                 "LeftEyePitch", "LeftEyeRoll", "RightEyeYaw", "RightEyePitch",
                                 "RightEyeRoll"]
    assert shapes["JawOpen"] == 0.5 and shapes["EyeBlinkLeft"] == 1.0
    assert shapes["EyeWideRight"] == 0.25 and shapes["MouthSmileLeft"] == 0.75
    assert shapes["EyeLookOutLeft"] == 0.5 and shapes["EyeLookDownRight"] == 1.0
    assert shapes["LeftEyeYaw"] == pytest.approx(0.5 * EYE_ANGLE_RAD)
    assert shapes["RightEyePitch"] == pytest.approx(-EYE_ANGLE_RAD)
    assert shapes["HeadYaw"] == shapes["HeadPitch"] == shapes["HeadRoll"] == 0


@pytest.mark.parametrize("name", sorted(bad()))
def test_unreal_drops_the_faulty_packets_and_so_does_decode(name):
    packet = (VECTORS / f"{name}.bin").read_bytes()
    assert unreal_read(packet) is None
    with pytest.raises(L.LiveLinkFaceError):
        L.decode(packet)


def test_encoder_refuses_bad_names_and_non_finite_values():
    with pytest.raises(ValueError, match="subject must be 1-255 bytes"):
        L.PacketEncoder("dev", "")
    with pytest.raises(ValueError, match="device id must be 1-255 bytes"):
        L.PacketEncoder("é" * 128, "s")
    enc = L.PacketEncoder("dev", "s")
    with pytest.raises(ValueError, match="61 finite numbers"):
        enc.encode(0, np.full(61, np.nan))
    with pytest.raises(ValueError, match="61 finite numbers"):
        enc.encode(0, np.zeros(52))


def test_frame_values_are_finite_and_shapes_in_unit_range_for_any_frame():
    rng = np.random.default_rng(3)
    for _ in range(50):
        frame = rng.uniform(-4, 4, rig.NUM_CONTROLS).astype(np.float32)
        frame[rng.integers(0, rig.NUM_CONTROLS, 10)] = np.nan
        v = frame_values(DEFAULT, frame)
        assert v.shape == (61,) and np.isfinite(v).all()
        assert (v[:52] >= 0).all() and (v[:52] <= 1).all()
        assert (np.abs(v[52:]) <= EYE_ANGLE_RAD).all()


def write() -> None:
    """Replace tests/protocol_vectors/livelinkface/ with freshly generated files."""
    write_vectors(VECTORS, generated_files())


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_livelinkface.py --write")
    write()
