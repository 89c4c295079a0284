"""Live control of a stream: the control state, terminal hotkeys and the OSC control port.

Hotkeys (a terminal on standard input): ``1``-``7`` pick an emotion in
:data:`medtalk_core.rig.EMOTIONS` order, ``0`` returns to the label given at start, ``+`` and
``-`` scale the intensity by ``intensity_step`` (scale in [0, 2]), space freezes or releases the
emotion intensity, ``b`` blinks, ``q`` quits.

OSC control port (UDP, default ``127.0.0.1:9101``), one message per datagram or bundles:
    * ``/medtalk/emotion s``: an emotion label.
    * ``/medtalk/text s``: a text description of the expression (P_text, stage 4).
    * ``/medtalk/image s``: the path of a reference face image on the stream's machine (P_image).
    * ``/medtalk/intensity f``: the intensity scale, in [0, 2] (``i`` accepted too).
    * ``/medtalk/blink i``: 0 = procedural blinks and saccades off, 1 = on, 2 = blink now.

Changes blend over ``blend_s`` (emotion: FIM's label-space embedding moves linearly from where it
is to the new label's, description's or image's; scale: linearly), counted in rig frames so that
a frame's state is exact. A malformed or unknown message, or a description or image the model
cannot serve, is dropped, logged once per kind and counted.

The stream publishes its state (``/medtalk/state``, :func:`bridge.protocol.encode_osc_state`,
see docs/protocol.md, and every ZeroMQ frame header): subject, emotion, intensity, transcript
tail, intensity scale, frozen, blinks, frame.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import sys
import threading
from dataclasses import dataclass

import numpy as np
import torch
from pythonosc.osc_message import OscMessage, ParseError

from medtalk_core import rig
from medtalk_core.errors import MedtalkError
from medtalk_core.steering import EmotionSpec
from medtalk_core.streaming import FrameControl

from .protocol import OSC_ARGUMENT_TAGS, ProtocolError, osc_type_tags, split_osc_packet
from .sinks import ProblemLog

log = logging.getLogger(__name__)

GUIDANCE_ADDRESSES = {"/medtalk/text": "text", "/medtalk/image": "image"}
CONTROL_ADDRESSES = ("/medtalk/emotion", "/medtalk/intensity", "/medtalk/blink",
                     *GUIDANCE_ADDRESSES)
MAX_SCALE = 2.0


@dataclass
class _Blend:
    """A value moving linearly from ``start`` to ``end`` over ``frames`` from frame ``first``
    (None: from the next frame asked for)."""

    start: np.ndarray
    end: np.ndarray
    frames: int
    first: int | None = None

    def at(self, i: int) -> np.ndarray:
        if self.first is None:
            self.first = i
        a = 1.0 if self.frames <= 0 else min(1.0, max(0.0, (i - self.first) / self.frames))
        return (1.0 - a) * self.start + a * self.end


class LiveState:
    """The operator's controls and the stream's state; thread-safe.

    Args:
        labels: float ``(7, H)`` FIM's label embeddings (``model.fim.label_embedding.weight``).
        emotion: the start label, or an :class:`EmotionSpec` (label, description or image).
        blend_frames: rig frames over which a change blends.
        intensity_step: scale step of ``+`` / ``-``.
        steer: ``steer(spec) -> float (H,)``, the label-space embedding of a description or an
            image (:meth:`medtalk_core.steering.Steering.embedding`); None: labels only.
    Raises:
        ValueError: unknown start label; MedtalkError: a start description or image that cannot
        be served (see ``steer``).
    """

    def __init__(self, labels: np.ndarray, emotion: str | EmotionSpec, blend_frames: int,
                 intensity_step: float = 0.1, steer=None):
        self.labels = np.asarray(labels, np.float32)
        self.steer = steer
        self.start = emotion if isinstance(emotion, EmotionSpec) else EmotionSpec("label", emotion)
        start = self._vector(self.start)
        self.emotion = self.start.describe()
        self.blend_frames, self.step = blend_frames, intensity_step
        self._lock = threading.Lock()
        self._label = _Blend(start, start, 0)
        self._scale = _Blend(np.float64(1.0), np.float64(1.0), 0)
        self.scale_target = 1.0
        self.frozen = False
        self.blinks = True
        self.blink_requests = 0
        self.quit = threading.Event()
        self.transcript = ""
        self.changed = threading.Event()
        """Set on every change (the state sender sends /medtalk/state at once)."""
        self._last_frame = 0

    def _vector(self, spec: EmotionSpec) -> np.ndarray:
        if spec.kind == "label":
            return self.labels[rig.emotion_id(spec.value)]
        if self.steer is None:
            raise ValueError(f"{spec.kind} guidance is not available in this stream")
        return np.asarray(self.steer(spec), np.float32)

    # -- changes (hotkeys, OSC, API)
    def set_emotion(self, label: str) -> None:
        """Blend to ``label``. Raises ValueError for an unknown label."""
        self.set_spec(EmotionSpec("label", label))

    def set_spec(self, spec: EmotionSpec) -> None:
        """Blend to a label, description or image. Raises ValueError (unknown label, no
        guidance) or MedtalkError (a description or image the model cannot serve)."""
        target = self._vector(spec)
        with self._lock:
            now = self._label.at(self._last_frame)
            self._label = _Blend(now, target, self.blend_frames)
            self.emotion = spec.describe()
        self.changed.set()

    def set_scale(self, scale: float) -> None:
        """Blend the intensity scale to ``scale``, clipped to [0, 2]."""
        scale = float(min(MAX_SCALE, max(0.0, scale)))
        with self._lock:
            now = self._scale.at(self._last_frame)
            self._scale = _Blend(now, np.float64(scale), self.blend_frames)
            self.scale_target = scale
        self.changed.set()

    def toggle_freeze(self) -> None:
        with self._lock:
            self.frozen = not self.frozen
        self.changed.set()

    def set_blinks(self, mode: int) -> None:
        """0: procedural eyes off, 1: on, 2: blink now. Raises ValueError for another value."""
        if mode not in (0, 1, 2):
            raise ValueError(f"blink mode {mode} is not 0, 1 or 2")
        with self._lock:
            if mode == 2:
                self.blink_requests += 1
            else:
                self.blinks = bool(mode)
        self.changed.set()

    def key(self, ch: str) -> None:
        """Apply one hotkey (see the module docstring); other keys are ignored."""
        if ch in "1234567" and ch:
            self.set_emotion(rig.EMOTIONS[int(ch) - 1])
        elif ch == "0":
            self.set_spec(self.start)
        elif ch in ("+", "="):
            self.set_scale(self.scale_target + self.step)
        elif ch in ("-", "_"):
            self.set_scale(self.scale_target - self.step)
        elif ch == " ":
            self.toggle_freeze()
        elif ch == "b":
            self.set_blinks(2)
        elif ch in ("q", "Q"):
            self.quit.set()

    # -- per frame (the lips worker)
    def frame_control(self, i: int) -> FrameControl:
        """The control of rig frame ``i`` (frames are asked for in order)."""
        with self._lock:
            self._last_frame = i
            label = torch.from_numpy(self._label.at(i).astype(np.float32))
            return FrameControl(label, float(self._scale.at(i)), self.frozen)

    def take_blink_request(self) -> bool:
        with self._lock:
            if self.blink_requests:
                self.blink_requests -= 1
                return True
            return False

    def snapshot(self) -> dict:
        """The state sent with frames: emotion, intensity_scale, frozen, blinks, transcript."""
        with self._lock:
            return {"emotion": self.emotion,
                    "intensity_scale": round(float(self._scale.at(self._last_frame)), 4),
                    "frozen": self.frozen, "blinks": self.blinks, "transcript": self.transcript}


class ControlServer:
    """The OSC control port: a UDP socket read by a thread, messages applied to a LiveState.

    Args:
        address: ``HOST:PORT`` to bind (port 0: any free port, see :attr:`port`).
        state: the LiveState to change.
    Raises:
        MedtalkError: bad address, or a port that cannot be bound.
    """

    def __init__(self, address: str, state: LiveState):
        host, sep, port = address.rpartition(":")
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if not sep or not host or not port.isdigit() or int(port) > 65535:
            raise MedtalkError(f"bad control address {address!r}: expected HOST:PORT, port 0-65535")
        self.state = state
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
        self._thread = threading.Thread(target=self._serve, name="osc-control", daemon=True)
        self._thread.start()

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
            elif address == "/medtalk/intensity" and isinstance(one, (int, float)) \
                    and not isinstance(one, bool) and 0.0 <= one <= MAX_SCALE:
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
        self._thread.join()
        self._sock.close()


class Hotkeys:
    """Reads single keys from a terminal on standard input (cbreak mode, restored on close)."""

    def __init__(self, state: LiveState):
        self.state = state
        self._fd = sys.stdin.fileno()
        import termios
        import tty

        self._saved = termios.tcgetattr(self._fd)
        tty.setcbreak(self._fd)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="hotkeys", daemon=True)
        self._thread.start()

    @staticmethod
    def available() -> bool:
        """True if standard input is a terminal."""
        try:
            return os.isatty(sys.stdin.fileno())
        except (OSError, ValueError):
            return False

    def _read(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._fd], [], [], 0.1)
            if ready:
                ch = os.read(self._fd, 1).decode("latin-1")
                if not ch:
                    break
                self.state.key(ch)

    def close(self) -> None:
        import termios

        self._stop.set()
        self._thread.join()
        termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
