"""Network sinks: where frames go (OSC over UDP, ZeroMQ PUB, Live Link Face and VMC over UDP), per
``docs/protocol.md``.

Every sink has the same small interface, used by :class:`bridge.pacer.Sender`::

    sink.name                 # "osc udp://127.0.0.1:9100", for logs and the status line
    sink.problems             # Counter: kind of problem -> occurrences
    sink.ready_at             # time.monotonic() from which sent frames can reach listeners
    sink.send_frame(frame)    # one bridge.protocol.Frame (a live stream's bridge.frames.LiveFrame)
    sink.send_names()         # the 174 control names
    sink.send_state(frame)    # the stream state of a LiveFrame (OSC: /medtalk/state)
    sink.close()

Opening a sink checks the address and raises :class:`~medtalk_core.errors.MedtalkError` (one
line) if it cannot be used: a malformed or unresolvable address, a ZeroMQ endpoint that cannot be
bound. Once open, a sink never raises for a network problem: a missing listener, a full send
buffer or any other send failure drops that packet, is logged once per kind of problem and
counted in ``problems``.
"""

from __future__ import annotations

import errno
import json
import logging
import socket
import time
from collections import Counter
from typing import Protocol, Sequence

import zmq

from medtalk_core import rig
from medtalk_core.arkit_map import ArkitMapping
from medtalk_core.errors import MedtalkError
from medtalk_core.live_link_face import frame_values

from . import livelinkface, protocol, vmc
from .frames import LiveFrame

log = logging.getLogger(__name__)


class Sink(Protocol):
    """What :class:`bridge.pacer.Sender` needs of a sink."""

    name: str
    problems: Counter
    ready_at: float

    def send_frame(self, frame: protocol.Frame) -> None: ...

    def send_names(self) -> None: ...

    def send_state(self, frame: LiveFrame) -> None: ...

    def close(self) -> None: ...


class ProblemLog:
    """Counts problems by kind and logs each kind once (a warning), then only counts it."""

    def __init__(self, name: str, consequence: str = "packet dropped"):
        self.name, self.consequence = name, consequence
        self.counts: Counter = Counter()

    def note(self, kind: str, detail: str = "") -> None:
        """Count one problem of ``kind``; the first of a kind is logged, with ``detail`` (the
        occurrence's own words, e.g. the error message) if given."""
        self.counts[kind] += 1
        if self.counts[kind] == 1:
            log.warning("%s: %s%s (%s; further occurrences are only counted)",
                        self.name, kind, f": {detail}" if detail else "", self.consequence)


def parse_host_port(text: str) -> tuple[str, int]:
    """``"HOST:PORT"`` (``"[::1]:9100"`` for IPv6) as ``(host, port)``.

    Raises:
        MedtalkError: no colon, an empty host, or a port that is not an integer in 1..65535.
    """
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise MedtalkError(f"bad OSC address {text!r}: expected HOST:PORT, port 1-65535")
    return host, int(port)


def parse_udp_address(text: str, what: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``"[HOST:]PORT"`` as ``(host, port)``; a bare port is on ``default_host``.

    Raises:
        MedtalkError: naming ``what`` (e.g. ``--livelinkface``): an empty host or a port that is
            not an integer in 1..65535.
    """
    if text.isdigit():
        text = f"{default_host}:{text}"
    try:
        return parse_host_port(text)
    except MedtalkError:
        raise MedtalkError(f"bad {what} address {text!r}: expected [HOST:]PORT, "
                           "port 1-65535") from None


def _udp_socket(host: str, port: int, address: str, what: str) -> socket.socket:
    """A UDP socket connected to ``host:port`` (a missing listener is then reported as
    "connection refused" on a later send) and non-blocking (a send never stalls the clock).

    Raises:
        MedtalkError: ``host`` cannot be resolved or connected to.
    """
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    except socket.gaierror as e:
        raise MedtalkError(f"{what} address {address!r}: cannot resolve {host!r}: "
                           f"{e.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.connect(addr)
    except OSError as e:
        sock.close()
        raise MedtalkError(f"{what} address {address!r}: {e.strerror or e}") from None
    sock.setblocking(False)
    return sock


def _describe(e: OSError) -> str:
    if isinstance(e, ConnectionRefusedError):
        return "no listener (connection refused)"
    if isinstance(e, BlockingIOError) or e.errno == errno.ENOBUFS:
        return "send buffer full"
    return f"send failed: {errno.errorcode.get(e.errno, e.errno)} {e.strerror or e}"


class OscSink:
    """Sends ``/medtalk/frame`` and ``/medtalk/names`` datagrams to one UDP address.

    The socket is connected (so the kernel reports a missing listener as "connection refused"
    on a later send, which is counted) and non-blocking (a send never stalls the frame clock).
    """

    def __init__(self, address: str, subject: str, names: Sequence[str] = rig.CONTROL_NAMES):
        """Open the socket for ``address`` (``HOST:PORT``).

        Raises:
            MedtalkError: bad or unresolvable address, bad subject.
        """
        host, port = parse_host_port(address)
        self.name = f"osc udp://{address}"
        try:
            self._frames = protocol.OscFrameEncoder(subject)
        except ValueError as e:
            raise MedtalkError(str(e)) from None
        self._names = protocol.encode_osc_names(subject, names)
        self.subject = subject
        self._sock = _udp_socket(host, port, address, "OSC")
        self.ready_at = time.monotonic()
        self._log = ProblemLog(self.name)
        self.problems = self._log.counts

    def send_frame(self, frame: protocol.Frame) -> None:
        self._send(self._frames.encode(frame.index, frame.t, frame.values))

    def send_names(self) -> None:
        self._send(self._names)

    def send_state(self, frame: LiveFrame) -> None:
        """Send ``/medtalk/state`` (:func:`bridge.protocol.encode_osc_state`) of ``frame``."""
        self._send(protocol.encode_osc_state(self.subject, frame.state, frame.intensity,
                                             frame.index))

    def _send(self, packet: bytes) -> None:
        try:
            self._sock.send(packet)
        except OSError as e:
            self._log.note(_describe(e))

    def close(self) -> None:
        self._sock.close()


class ZmqSink:
    """A ZeroMQ PUB socket that binds ``endpoint`` and publishes frames and names.

    PUB binds, subscribers connect. ZeroMQ's "slow joiner": a subscriber receives nothing until
    its connection and subscription have reached the publisher, so the stream waits
    ``warmup_s`` after the bind before its first frame (:attr:`ready_at`). A subscriber that
    connects later misses the frames sent before it joined, as with any PUB socket. A send never
    blocks: beyond a subscriber's high-water mark ZeroMQ drops its messages (silently, by the
    PUB socket's design); other send errors are counted.
    """

    def __init__(self, endpoint: str, subject: str, names: Sequence[str] = rig.CONTROL_NAMES,
                 warmup_s: float = 0.3, linger_s: float = 1.0):
        """Bind the PUB socket.

        Args:
            endpoint: e.g. ``tcp://127.0.0.1:5570``.
            subject: the subject name sent in every header.
            names: the 174 control names.
            warmup_s: s to wait after the bind before the first frame.
            linger_s: s that :meth:`close` keeps trying to deliver queued messages.

        Raises:
            MedtalkError: bad subject, or an endpoint that cannot be bound (malformed, in use).
        """
        self.name = f"zmq {endpoint}"
        try:
            self.subject = protocol.check_subject(subject)
        except ValueError as e:
            raise MedtalkError(str(e)) from None
        self._names = protocol.encode_zmq_names(names)
        self._sock = zmq.Context.instance().socket(zmq.PUB)
        self._sock.setsockopt(zmq.LINGER, int(linger_s * 1000))
        try:
            self._sock.bind(endpoint)
        except zmq.ZMQError as e:
            self._sock.close(linger=0)
            raise MedtalkError(f"ZeroMQ endpoint {endpoint!r}: cannot bind: {e}") from None
        self.ready_at = time.monotonic() + warmup_s
        """``time.monotonic()`` after which subscribers that were waiting have joined."""
        self._log = ProblemLog(self.name)
        self.problems = self._log.counts

    def send_frame(self, frame: protocol.Frame) -> None:
        parts = protocol.encode_zmq_frame(frame, self.subject)
        if isinstance(frame, LiveFrame) and frame.state:  # a live stream's state in the header
            header = json.loads(parts[1])
            header.update({k: v for k, v in frame.state.items() if k not in header})
            parts[1] = json.dumps(header, separators=(",", ":")).encode()
        self._send(parts)

    def send_names(self) -> None:
        self._send(self._names)

    def send_state(self, frame: LiveFrame) -> None:
        """Nothing: every frame's header carries the state."""

    def _send(self, parts: list[bytes]) -> None:
        try:
            self._sock.send_multipart(parts, flags=zmq.NOBLOCK)
        except zmq.ZMQError as e:
            self._log.note(f"send failed: {e}")

    def close(self) -> None:
        self._sock.close()


class _ArkitUdpSink:
    """A UDP sink of ARKit values: each frame becomes the datagrams ``self._datagrams(frame)``
    (set by the subclass: the 52 blendshapes by ``mapping``, :mod:`medtalk_core.arkit_map`,
    encoded), sent in order; no names, no state."""

    def __init__(self, address: str, what: str, mapping: ArkitMapping, name: str):
        host, port = parse_udp_address(address, what)
        self.name, self.mapping = f"{name} udp://{host}:{port}", mapping
        self._sock = _udp_socket(host, port, address, what)
        self.ready_at = time.monotonic()
        self._log = ProblemLog(self.name)
        self.problems = self._log.counts

    def send_frame(self, frame: protocol.Frame) -> None:
        for packet in self._datagrams(frame):
            try:
                self._sock.send(packet)
            except OSError as e:
                self._log.note(_describe(e))

    def send_names(self) -> None:
        """Nothing: receivers know the ARKit names."""

    def send_state(self, frame: LiveFrame) -> None:
        """Nothing: the emotion is in the values (VMC presets)."""

    def close(self) -> None:
        self._sock.close()


class LiveLinkFaceSink(_ArkitUdpSink):
    """Sends each frame as one Live Link Face packet (:mod:`bridge.livelinkface`) to a UDP
    address, which Unreal's Live Link Face source reads with no plugin.

    Raises:
        MedtalkError: bad or unresolvable address, bad device id or subject.
    """

    def __init__(self, address: str, subject: str, device_id: str, mapping: ArkitMapping):
        try:
            self._encoder = livelinkface.PacketEncoder(device_id, subject)
        except ValueError as e:
            raise MedtalkError(str(e)) from None
        super().__init__(address, "--livelinkface", mapping, "livelinkface")

    def _datagrams(self, frame: protocol.Frame) -> list[bytes]:
        values = frame_values(self.mapping, frame.values)
        return [self._encoder.encode(frame.index, values)]


class VmcSink(_ArkitUdpSink):
    """Sends each frame as VMC ``/VMC/Ext/Blend/Val`` bundles and ``Apply`` (:mod:`bridge.vmc`)
    to a UDP address (VSeeFace, Warudo, VNyan).

    Raises:
        MedtalkError: bad or unresolvable address, ``vrm`` not 0 or 1.
    """

    def __init__(self, address: str, mapping: ArkitMapping, vrm: int = 0):
        try:
            self._encoder = vmc.BundleEncoder(vrm)
        except ValueError as e:
            raise MedtalkError(str(e)) from None
        super().__init__(address, "--vmc", mapping, "vmc")

    def _datagrams(self, frame: protocol.Frame) -> list[bytes]:
        shapes = self.mapping.to_arkit(frame.values)
        return self._encoder.encode(shapes, frame.emotion, frame.intensity)
