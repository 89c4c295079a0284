"""The wire protocol of the frame stream: OSC 1.0 over UDP and ZeroMQ PUB (``docs/protocol.md``).

One rig frame (174 face-board values in rig order, :data:`medtalk_core.rig.CONTROL_NAMES`) goes
out once per 60 fps frame on each transport; the control names go out at the start and once a
second.

OSC 1.0 (big-endian; every string NUL-terminated and padded with NULs to a multiple of 4 bytes):
    ``/medtalk/frame ,sid``+``f``*174: subject (string), frame index (int32), frame time (float64,
    seconds since audio time 0 = ``index / fps``), 174 values (float32). For a subject whose
    UTF-8 length is ``n``, the packet is ``904 + 4 * (n // 4 + 1)`` bytes (912 for ``MEDTalk``):

    ======  =====  =================================================
    offset  bytes  field
    ======  =====  =================================================
    0       16     ``/medtalk/frame`` + 2 NUL
    16      180    ``,sid`` + 174 ``f`` + 2 NUL
    196     S      subject + 1..4 NUL, ``S = 4 * (n // 4 + 1)``
    196+S   4      frame index, int32
    200+S   8      frame time, float64, s
    208+S   696    174 values, float32, rig order
    ======  =====  =================================================

    ``/medtalk/names ,s``+``s``*174: subject, then the 174 control names.

    ``/medtalk/state ,ssfsfiii``: the live stream's state (:func:`encode_osc_state`).

ZeroMQ (PUB, multipart):
    * ``[b"frame", header, values]``: header is compact UTF-8 JSON (ASCII only) with at least
      ``subject`` (str), ``frame`` (int), ``t`` (float, s of audio time), ``t0`` (float, Unix
      time in s at which audio time 0 entered the process), ``emotion`` (str) and ``intensity``
      (float); values are 696 bytes, 174 little-endian float32.
    * ``[b"names", JSON list of the 174 names]``.

Encoders are the sender's hot path (one ``bytes`` per packet, no per-frame Python lists). The
decoders validate strictly and exist for tests and tools; they raise :class:`ProtocolError`.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.parsing import osc_types

from medtalk_core import rig

FRAME_ADDRESS = "/medtalk/frame"
NAMES_ADDRESS = "/medtalk/names"
STATE_ADDRESS = "/medtalk/state"
FRAME_TYPE_TAGS = ",sid" + "f" * rig.NUM_CONTROLS
NAMES_TYPE_TAGS = ",s" + "s" * rig.NUM_CONTROLS

ZMQ_FRAME_TOPIC = b"frame"
ZMQ_NAMES_TOPIC = b"names"
ZMQ_HEADER_FIELDS = {
    "subject": str, "frame": int, "t": float, "t0": float, "emotion": str, "intensity": float,
}
"""Fields every ZeroMQ frame header carries, with their JSON types (receivers ignore others)."""

SUBJECT_MAX = 63
"""Longest subject name in bytes; the padded subject is then at most 64 bytes."""

NAME_MAX = 255
"""Longest control name a receiver accepts in ``/medtalk/names`` (rig names have 21-42)."""

VALUES_BYTES = 4 * rig.NUM_CONTROLS
"""696: bytes of the 174 float32 values on either transport."""

_BE_VALUES = np.dtype(">f4")
_LE_VALUES = np.dtype("<f4")
_INDEX_TIME = struct.Struct(">id")


class ProtocolError(ValueError):
    """A packet that does not follow ``docs/protocol.md``; the message names the first fault."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One rig frame and the stream state sent with it.

    Attributes:
        index: frame number since audio time 0, ``0 <= index <= 2**31 - 1``.
        t: s, audio time of the frame, ``index / fps``.
        t0: s, Unix time at which audio time 0 entered the process.
        values: float32 ``(174,)`` face-board values in rig order, finite.
        emotion: emotion label (:data:`medtalk_core.rig.EMOTIONS`).
        intensity: frame-wise emotion intensity.
    """

    index: int
    t: float
    t0: float
    values: np.ndarray
    emotion: str
    intensity: float


def check_subject(subject: str) -> str:
    """Return ``subject`` if it is 1 to :data:`SUBJECT_MAX` printable ASCII characters.

    Raises:
        ValueError: naming what is wrong with it.
    """
    if not 1 <= len(subject) <= SUBJECT_MAX or not all(" " <= c <= "~" for c in subject):
        raise ValueError(
            f"subject {subject!r} must be 1 to {SUBJECT_MAX} printable ASCII characters"
        )
    return subject


def osc_frame_size(subject: str) -> int:
    """Bytes of a ``/medtalk/frame`` packet for ``subject``."""
    return 16 + 180 + len(osc_types.write_string(subject)) + 12 + VALUES_BYTES


class OscFrameEncoder:
    """Encodes ``/medtalk/frame`` packets for one subject.

    The address, type tag string and subject never change within a stream, so they are built
    once (with python-osc) and each frame only packs the index, time and values into a
    preallocated buffer.
    """

    def __init__(self, subject: str):
        prefix = (
            osc_types.write_string(FRAME_ADDRESS)
            + osc_types.write_string(FRAME_TYPE_TAGS)
            + osc_types.write_string(check_subject(subject))
        )
        self._offset = len(prefix)
        self._buf = bytearray(prefix + bytes(12 + VALUES_BYTES))
        self._values = np.frombuffer(
            self._buf, _BE_VALUES, rig.NUM_CONTROLS, self._offset + _INDEX_TIME.size
        )

    def encode(self, index: int, t: float, values: np.ndarray) -> bytes:
        """The packet for frame ``index`` at ``t`` s with ``values`` float ``(174,)``.

        Raises:
            ValueError: ``values`` is not 174 wide.
            struct.error: ``index`` is outside int32.
        """
        _INDEX_TIME.pack_into(self._buf, self._offset, index, t)
        self._values[:] = values
        return bytes(self._buf)


def encode_osc_frame(subject: str, index: int, t: float, values: np.ndarray) -> bytes:
    """One ``/medtalk/frame`` packet (see :class:`OscFrameEncoder` for a stream of them)."""
    return OscFrameEncoder(subject).encode(index, t, values)


def encode_osc_names(subject: str, names: Sequence[str] = rig.CONTROL_NAMES) -> bytes:
    """The ``/medtalk/names`` packet: subject and the 174 control names.

    Raises:
        ValueError: a bad subject, or not 174 names.
    """
    if len(names) != rig.NUM_CONTROLS:
        raise ValueError(f"{len(names)} names, expected {rig.NUM_CONTROLS}")
    return b"".join(
        osc_types.write_string(s)
        for s in (NAMES_ADDRESS, NAMES_TYPE_TAGS, check_subject(subject), *names)
    )


def encode_osc_state(subject: str, state: dict, intensity: float, frame: int) -> bytes:
    """``/medtalk/state ,ssfsfiii``: subject, emotion, intensity (applied), transcript tail,
    intensity scale, frozen (0/1), blinks (0/1), frame index (docs/protocol.md), encoded by
    python-osc. ``state``: :meth:`bridge.state.LiveState.snapshot`."""
    b = OscMessageBuilder(STATE_ADDRESS)
    for kind, value in (("s", subject), ("s", state["emotion"]), ("f", float(intensity)),
                        ("s", state["transcript"]), ("f", state["intensity_scale"]),
                        ("i", int(state["frozen"])), ("i", int(state["blinks"])),
                        ("i", int(frame))):
        b.add_arg(value, kind)
    return b.build().dgram


def encode_zmq_frame(frame: Frame, subject: str) -> list[bytes]:
    """The ZeroMQ multipart message ``[b"frame", header JSON, 174 little-endian float32]``."""
    header = {
        "subject": subject,
        "frame": int(frame.index),
        "t": float(frame.t),
        "t0": float(frame.t0),
        "emotion": frame.emotion,
        "intensity": float(str(np.float32(frame.intensity))),  # shortest float32 repr
    }
    values = np.asarray(frame.values, _LE_VALUES)
    if values.shape != (rig.NUM_CONTROLS,):
        raise ValueError(f"values have shape {values.shape}, expected ({rig.NUM_CONTROLS},)")
    return [ZMQ_FRAME_TOPIC, json.dumps(header, separators=(",", ":")).encode(), values.tobytes()]


def encode_zmq_names(names: Sequence[str] = rig.CONTROL_NAMES) -> list[bytes]:
    """The ZeroMQ multipart message ``[b"names", JSON list of the 174 names]``."""
    if len(names) != rig.NUM_CONTROLS:
        raise ValueError(f"{len(names)} names, expected {rig.NUM_CONTROLS}")
    return [ZMQ_NAMES_TOPIC, json.dumps(list(names), separators=(",", ":")).encode()]


@dataclass(frozen=True, slots=True)
class OscFrame:
    """A decoded ``/medtalk/frame``: values float32 ``(174,)``, ``t`` in s."""

    subject: str
    index: int
    t: float
    values: np.ndarray


_FRAME_HEAD = osc_types.write_string(FRAME_ADDRESS) + osc_types.write_string(FRAME_TYPE_TAGS)
_NAMES_HEAD = osc_types.write_string(NAMES_ADDRESS) + osc_types.write_string(NAMES_TYPE_TAGS)


def _read_string(packet: bytes, offset: int, max_len: int) -> tuple[str, int]:
    """The printable-ASCII OSC string at ``offset`` (at most ``max_len`` characters) and the
    offset after its padding."""
    end = packet.find(b"\0", offset, offset + max_len + 1)
    if end <= offset:
        raise ProtocolError(f"no string of 1 to {max_len} characters at byte {offset}")
    after = offset + 4 * ((end - offset) // 4 + 1)
    if after > len(packet) or packet[end:after].strip(b"\0"):
        raise ProtocolError(f"string at byte {offset}: padding is truncated or not NUL")
    text = packet[offset:end].decode("latin-1")
    if not all(" " <= c <= "~" for c in text):
        raise ProtocolError(f"string at byte {offset} is not printable ASCII")
    return text, after


def decode_osc_frame(packet: bytes) -> OscFrame:
    """Decode and validate a ``/medtalk/frame`` packet, as a receiver should (docs/protocol.md).

    Raises:
        ProtocolError: wrong address or type tags, bad subject or padding, a size other than
            :func:`osc_frame_size`, a negative index, a non-finite time or value.
    """
    packet = bytes(packet)
    if not packet.startswith(_FRAME_HEAD):
        raise ProtocolError("not a /medtalk/frame message: address or type tags differ")
    subject, offset = _read_string(packet, len(_FRAME_HEAD), SUBJECT_MAX)
    if len(packet) != offset + _INDEX_TIME.size + VALUES_BYTES:
        raise ProtocolError(f"{len(packet)} bytes, expected {osc_frame_size(subject)}")
    index, t = _INDEX_TIME.unpack_from(packet, offset)
    values = np.frombuffer(packet, _BE_VALUES, rig.NUM_CONTROLS, offset + _INDEX_TIME.size)
    if index < 0 or not np.isfinite(t) or not np.isfinite(values).all():
        raise ProtocolError(f"frame {index}: negative index or non-finite time or values")
    return OscFrame(subject, index, t, values.astype(np.float32))


def decode_osc_names(packet: bytes) -> tuple[str, list[str]]:
    """Decode and validate a ``/medtalk/names`` packet into ``(subject, 174 names)``.

    Raises:
        ProtocolError: wrong address or type tags, a bad string or padding, trailing bytes.
    """
    packet = bytes(packet)
    if not packet.startswith(_NAMES_HEAD):
        raise ProtocolError("not a /medtalk/names message: address or type tags differ")
    subject, offset = _read_string(packet, len(_NAMES_HEAD), SUBJECT_MAX)
    names = []
    for _ in range(rig.NUM_CONTROLS):
        name, offset = _read_string(packet, offset, NAME_MAX)
        names.append(name)
    if offset != len(packet):
        raise ProtocolError(f"{len(packet) - offset} bytes after the 174th name")
    return subject, names


def _no_constant(name: str):
    """``json.loads`` hook: NaN and Infinity are not JSON numbers (RFC 8259)."""
    raise ProtocolError(f"header holds {name}, not a JSON number")


def decode_zmq_frame(parts: Sequence[bytes]) -> tuple[dict, np.ndarray]:
    """Decode and validate ``[b"frame", header, values]`` into ``(header, float32 (174,))``.

    Raises:
        ProtocolError: wrong part count, topic, header JSON or field types, a negative or
            non-int32 frame index, a non-finite header number (NaN or Infinity are not JSON),
            values length, non-finite values.
    """
    if len(parts) != 3 or bytes(parts[0]) != ZMQ_FRAME_TOPIC:
        raise ProtocolError(f"expected [b'frame', header, values], got {len(parts)} parts")
    try:
        header = json.loads(bytes(parts[1]).decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProtocolError(f"header is not UTF-8 JSON: {e}") from None
    if not isinstance(header, dict):
        raise ProtocolError("header is not a JSON object")
    for key, kind in ZMQ_HEADER_FIELDS.items():
        ok = (int, float) if kind is float else kind
        if not isinstance(header.get(key), ok) or isinstance(header.get(key), bool):
            raise ProtocolError(f"header field {key!r} missing or not {kind.__name__}")
        if kind is float and not np.isfinite(header[key]):
            raise ProtocolError(f"header field {key!r} is not finite")
    if header["frame"] < 0 or header["frame"] > 2**31 - 1:
        raise ProtocolError(f"header field 'frame' is {header['frame']}, not an int32 >= 0")
    if len(parts[2]) != VALUES_BYTES:
        raise ProtocolError(f"values are {len(parts[2])} bytes, expected {VALUES_BYTES}")
    values = np.frombuffer(bytes(parts[2]), _LE_VALUES).astype(np.float32)
    if not np.isfinite(values).all():
        raise ProtocolError(f"frame {header['frame']}: non-finite values")
    return header, values


def decode_zmq_names(parts: Sequence[bytes]) -> list[str]:
    """Decode and validate ``[b"names", JSON list]`` into the 174 names.

    Raises:
        ProtocolError: wrong part count, topic, or not a JSON list of 174 strings.
    """
    if len(parts) != 2 or bytes(parts[0]) != ZMQ_NAMES_TOPIC:
        raise ProtocolError(f"expected [b'names', list], got {len(parts)} parts")
    try:
        names = json.loads(bytes(parts[1]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProtocolError(f"names are not UTF-8 JSON: {e}") from None
    if (not isinstance(names, list) or len(names) != rig.NUM_CONTROLS
            or not all(isinstance(n, str) for n in names)):
        raise ProtocolError(f"names are not a JSON list of {rig.NUM_CONTROLS} strings")
    return names


BUNDLE_TAG = b"#bundle\0"
BUNDLE_MAX_DEPTH = 8
"""Bundles nested deeper than this are refused (OSC 1.0 sets no limit; a control port needs none)."""
OSC_ARGUMENT_TAGS = frozenset("ifdsbhrmtTFN[]")
"""OSC type tags whose arguments can be read (OSC 1.0 and the 1.1 extensions python-osc parses)."""


def split_osc_packet(packet: bytes, max_depth: int = BUNDLE_MAX_DEPTH) -> list[bytes]:
    """The OSC messages of a datagram: the datagram itself, or every message of a bundle and of
    the bundles nested in it, in order (OSC 1.0, "OSC Bundles": ``#bundle\\0``, an 8-byte time
    tag, then elements of an int32 big-endian size and that many bytes).

    Every size is checked before it is used: positive, a multiple of 4 and within the bundle, so
    a packet of any shape is walked in at most ``len(packet) / 4`` steps.

    Raises:
        ProtocolError: a malformed bundle, or one nested deeper than ``max_depth``.
    """
    out: list[bytes] = []
    stack = [(packet, 0)]
    while stack:
        data, depth = stack.pop()
        if not data.startswith(BUNDLE_TAG):
            out.append(data)
            continue
        if depth >= max_depth:
            raise ProtocolError(f"OSC bundle nested deeper than {max_depth}")
        elements, pos = [], len(BUNDLE_TAG) + 8
        if len(data) < pos:
            raise ProtocolError("OSC bundle shorter than its header")
        while pos < len(data):
            if len(data) - pos < 4:
                raise ProtocolError("OSC bundle element size truncated")
            (size,) = struct.unpack_from(">i", data, pos)
            pos += 4
            if size <= 0 or size % 4 or size > len(data) - pos:
                raise ProtocolError(f"OSC bundle element of bad size {size}")
            elements.append(data[pos:pos + size])
            pos += size
        stack.extend((e, depth + 1) for e in reversed(elements))
    return out


def osc_type_tags(message: bytes) -> str:
    """The type-tag string of one OSC message (``",sif"``), or "" when it has none.

    Raises:
        ProtocolError: the address or type tags are not OSC strings.
    """
    try:
        _, pos = osc_types.get_string(message, 0)
        if pos >= len(message):
            return ""
        tags, _ = osc_types.get_string(message, pos)
    except osc_types.ParseError as e:
        raise ProtocolError(f"not an OSC message: {e}") from None
    return tags
