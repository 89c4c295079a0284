"""Live Link Face packets (version 6): what the iPhone app sends, so that Unreal's own Live Link
Face / Apple ARKit source drives a MetaHuman with no plugin (docs/protocol.md, docs/unreal.md).

One UDP datagram per frame, big-endian (Unreal's network byte order serializer)::

    u8      version = 6
    i32+N   device id, UTF-8 (int32 byte count, then the bytes, no NUL)
    i32+M   subject name, UTF-8 (likewise)
    i32     frame number      \\
    f32     subframe (0..1)    | the frame time (FQualifiedFrameTime): frame / (num / den) s
    i32     rate numerator 60  |
    i32     rate denominator 1 /
    u8      count = 61
    f32*61  the 52 blendshapes in EARFaceBlendShape order (:data:`LLF_NAMES`), then head yaw,
            pitch, roll, left-eye yaw, pitch, roll, right-eye yaw, pitch, roll
            (:func:`medtalk_core.live_link_face.frame_values` of a rig frame)

``270 + N + M`` bytes. Unreal's receiver drops a datagram that is not longer than its minimum
(266 bytes: two 2-byte empty strings), whose version is not 6, or whose count is not 61.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from medtalk_core.live_link_face import LLF_NAMES

VERSION = 6
COUNT = 61
"""Values per packet: 52 blendshapes and 9 rotations."""
RATE = (60, 1)
"""Frame rate of the frame time, numerator and denominator (60 fps)."""
NAME_MAX = 255
"""Longest device id or subject in bytes (Unreal reads at most 256 characters of each)."""
MIN_SIZE = 266
"""Unreal's minimum: a datagram must be longer than this to be read."""

_TIME = struct.Struct(">ifiiB")
_VALUES = np.dtype(">f4")


class LiveLinkFaceError(ValueError):
    """A datagram Unreal's receiver would drop; the message names the first fault."""


def check_name(text: str, what: str) -> bytes:
    """``text`` as UTF-8, 1..:data:`NAME_MAX` bytes. Raises ValueError naming ``what``."""
    data = text.encode("utf-8")
    if not 0 < len(data) <= NAME_MAX:
        raise ValueError(f"Live Link Face {what} must be 1-{NAME_MAX} bytes of UTF-8: {text!r}")
    return data


class PacketEncoder:
    """Encodes frames for one device id and subject (the names checked and encoded once).

    Raises:
        ValueError: a device id or subject that is empty or over :data:`NAME_MAX` bytes.
    """

    def __init__(self, device_id: str, subject: str):
        dev, sub = check_name(device_id, "device id"), check_name(subject, "subject")
        self._head = (struct.pack(">B", VERSION) + struct.pack(">i", len(dev)) + dev
                      + struct.pack(">i", len(sub)) + sub)

    def encode(self, frame_number: int, values: np.ndarray, subframe: float = 0.0) -> bytes:
        """The datagram of one frame: ``values`` float ``(61,)`` (:data:`LLF_NAMES`), finite.

        Raises:
            ValueError: not 61 values, or a non-finite one.
        """
        v = np.asarray(values, _VALUES)
        if v.shape != (COUNT,) or not np.isfinite(v).all():
            raise ValueError(f"Live Link Face values must be {COUNT} finite numbers")
        return (self._head + _TIME.pack(frame_number, subframe, *RATE, COUNT) + v.tobytes())


@dataclass(frozen=True)
class Packet:
    """A decoded datagram: ``values`` float32 ``(61,)`` in :data:`LLF_NAMES` order."""

    device_id: str
    subject: str
    frame: int
    subframe: float
    rate: tuple[int, int]
    values: np.ndarray

    @property
    def shapes(self) -> dict[str, float]:
        """Each of the 61 values by its Unreal name."""
        return dict(zip(LLF_NAMES, self.values.tolist()))


def _string(packet: bytes, at: int, what: str) -> tuple[str, int]:
    if at + 4 > len(packet):
        raise LiveLinkFaceError(f"truncated before the {what}'s length")
    (n,) = struct.unpack_from(">i", packet, at)
    if not 0 <= n <= NAME_MAX or at + 4 + n > len(packet):
        raise LiveLinkFaceError(f"{what} length {n} out of range")
    try:
        return packet[at + 4:at + 4 + n].decode("utf-8"), at + 4 + n
    except UnicodeDecodeError:
        raise LiveLinkFaceError(f"{what} is not UTF-8") from None


def decode(packet: bytes) -> Packet:
    """Read a datagram as Unreal's Live Link Face receiver does: size over :data:`MIN_SIZE`,
    version 6, the two names, the frame time, count 61, the 61 floats (bytes after them are
    ignored, as Unreal ignores them).

    Raises:
        LiveLinkFaceError: the first of those checks that fails.
    """
    if len(packet) <= MIN_SIZE:
        raise LiveLinkFaceError(f"{len(packet)} bytes: not over the minimum {MIN_SIZE}")
    if packet[0] != VERSION:
        raise LiveLinkFaceError(f"version {packet[0]}, expected {VERSION}")
    device, at = _string(packet, 1, "device id")
    subject, at = _string(packet, at, "subject")
    if at + _TIME.size > len(packet):
        raise LiveLinkFaceError("truncated in the frame time")
    frame, subframe, num, den, count = _TIME.unpack_from(packet, at)
    at += _TIME.size
    if count != COUNT:
        raise LiveLinkFaceError(f"blendshape count {count}, expected {COUNT}")
    if len(packet) < at + 4 * COUNT:
        raise LiveLinkFaceError(f"{len(packet)} bytes: truncated in the {COUNT} values")
    values = np.frombuffer(packet, _VALUES, COUNT, at).astype(np.float32)
    return Packet(device, subject, frame, subframe, (num, den), values)
