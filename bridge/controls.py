"""Control stage: the OSC control port of a live stream -> the control state.

Takes UDP datagrams (one OSC message each, or bundles of any nesting, walked with bounds by
:func:`bridge.protocol.split_osc_packet`); emits nothing but changes of
:class:`bridge.state.LiveState`. Messages (default port ``127.0.0.1:9101``):

    * ``/medtalk/emotion s``: an emotion label.
    * ``/medtalk/text s``: a text description of the expression (P_text, stage 4).
    * ``/medtalk/image s``: the path of a reference face image on the stream's machine (P_image).
    * ``/medtalk/intensity f``: the intensity scale, a finite number in [0, 2] (``i`` accepted too).
    * ``/medtalk/blink i``: 0 = procedural blinks and saccades off, 1 = on, 2 = blink now.

A malformed or unknown message, a value out of range (NaN and infinities too), or a description or
image the model cannot serve, is dropped, logged once per kind and counted.

The port is bound when the server is made (a second stream on the same port fails there, before
it loads anything) and served once the stream's state exists (:meth:`ControlServer.start`).
The stream publishes its state (``/medtalk/state``, :func:`bridge.protocol.encode_osc_state`,
see docs/protocol.md, and every ZeroMQ frame header): subject, emotion, intensity, transcript
tail, intensity scale, frozen, blinks, frame.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
from typing import TYPE_CHECKING

from pythonosc.osc_message import OscMessage, ParseError

from medtalk_core.errors import MedtalkError
from medtalk_core.infer import MAX_INTENSITY as MAX_SCALE
from medtalk_core.steering import EmotionSpec

from .protocol import OSC_ARGUMENT_TAGS, ProtocolError, osc_type_tags, split_osc_packet
from .sinks import ProblemLog

if TYPE_CHECKING:
    from .state import LiveState

log = logging.getLogger(__name__)

GUIDANCE_ADDRESSES = {"/medtalk/text": "text", "/medtalk/image": "image"}
CONTROL_ADDRESSES = ("/medtalk/emotion", "/medtalk/intensity", "/medtalk/blink",
                     *GUIDANCE_ADDRESSES)

def _scale(value) -> bool:
    """Whether an OSC argument is an intensity scale: a finite number in [0, 2]."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and 0.0 <= value <= MAX_SCALE)


class ControlServer:
    """The OSC control port: a UDP socket read by a thread, messages applied to a LiveState.

    Args:
        address: ``HOST:PORT`` to bind now (port 0: any free port, see :attr:`port`).
    Raises:
        MedtalkError: bad address, or a port that cannot be bound (in use by another stream).
    """

    def __init__(self, address: str):
        host, sep, port = address.rpartition(":")
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if not sep or not host or not port.isdigit() or int(port) > 65535:
            raise MedtalkError(f"bad control address {address!r}: expected HOST:PORT, port 0-65535")
        self.state: LiveState | None = None
        self.problems = ProblemLog(f"control udp://{address}", "message ignored")
        try:
            self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                                       socket.SOCK_DGRAM)
            self._sock.bind((host, int(port)))
        except OSError as e:
            raise MedtalkError(f"control port {address!r}: cannot bind: {e.strerror or e}") from None
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, state: LiveState) -> ControlServer:
        """Apply the messages to ``state`` from now on (those that queued meanwhile first);
        returns the server."""
        self.state = state
        self._thread = threading.Thread(target=self._serve, name="osc-control", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            self.handle(data)

    def handle(self, data: bytes) -> None:
        """Apply one datagram (a message or a bundle of any nesting, walked with bounds by
        :func:`bridge.protocol.split_osc_packet`); count what cannot be applied."""
        try:
            packets = split_osc_packet(data)
        except ProtocolError:
            self.problems.note("malformed OSC bundle")
            return
        for packet in packets:
            try:
                tags = osc_type_tags(packet)
                if not set(tags[1:]) <= OSC_ARGUMENT_TAGS:
                    self.problems.note("unsupported OSC argument type")
                    continue
                msg = OscMessage(packet)
            except (ProtocolError, ParseError, ValueError, IndexError, TypeError, OverflowError):
                self.problems.note("malformed control packet (not OSC)")
                continue
            self._apply(msg.address, list(msg.params))

    def _apply(self, address: str, args: list) -> None:
        one = args[0] if len(args) == 1 else None
        try:
            if address == "/medtalk/emotion" and isinstance(one, str):
                self.state.set_emotion(one)
            elif address == "/medtalk/intensity" and _scale(one):
                self.state.set_scale(float(one))
            elif address == "/medtalk/blink" and isinstance(one, int) and not isinstance(one, bool):
                self.state.set_blinks(one)
            elif address in GUIDANCE_ADDRESSES and isinstance(one, str) and one.strip():
                self.state.set_spec(EmotionSpec(GUIDANCE_ADDRESSES[address], one))
            elif address in CONTROL_ADDRESSES:
                self.problems.note(f"bad arguments for {address}")
            else:
                self.problems.note("unknown control address")
        except ValueError:
            self.problems.note(f"bad value for {address}")
        except MedtalkError as e:
            self.problems.note(f"{address} not applied", str(e))

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sock.close()
