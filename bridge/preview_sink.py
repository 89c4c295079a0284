"""The preview sink of ``medtalk stream --preview [HOST:]PORT``: the stream's frames to the live
preview page (:mod:`bridge.preview`), the page's buttons to the control port.

Frames are thinned to ``fps`` (30 by default, ``[stream] preview_fps``) and handed to the
server without blocking (latest frame wins). Each message carries the frame, its time, the
stream's emotion, intensity and transcript tail, the 174 values and the 2-D face
(:mod:`medtalk_core.face2d`).

The page sends the OSC control port's messages as JSON,
``{"type": "control", "address": "/medtalk/emotion", "args": ["happy"]}``; each is encoded as
the OSC message it names and handed to :meth:`bridge.controls.ControlServer.handle`, the
control port's own handler, so both take the same messages with the same checks. A stream
without a control port (``--no-control``) ignores them (logged once, counted).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
from pythonosc.osc_message_builder import OscMessageBuilder

from medtalk_core import rig

from . import protocol
from .frames import LiveFrame
from .preview import PreviewServer, frame_message, hello

if TYPE_CHECKING:
    from .controls import ControlServer

_INT32 = (-(2**31), 2**31 - 1)


def osc_datagram(address: str, args: list) -> bytes:
    """The OSC message ``address args...`` (strings, 32-bit ints, floats as float32).

    Raises:
        ValueError: an address that does not start with ``/``, an argument that is not a
            string, an int in the int32 range or a float.
    """
    if not isinstance(address, str) or not address.startswith("/"):
        raise ValueError(f"OSC address {address!r} does not start with /")
    if not isinstance(args, list):
        raise ValueError("control args must be a list")
    builder = OscMessageBuilder(address)
    for arg in args:
        if isinstance(arg, str):
            builder.add_arg(arg, OscMessageBuilder.ARG_TYPE_STRING)
        elif isinstance(arg, int) and not isinstance(arg, bool) and _INT32[0] <= arg <= _INT32[1]:
            builder.add_arg(arg, OscMessageBuilder.ARG_TYPE_INT)
        elif isinstance(arg, float):
            builder.add_arg(arg, OscMessageBuilder.ARG_TYPE_FLOAT)
        else:
            raise ValueError(f"control argument {arg!r} is not a string, int32 or float")
    return builder.build().dgram


def _live_message(frame: protocol.Frame) -> str:
    state = frame.state if isinstance(frame, LiveFrame) else {}
    extra = {k: state[k] for k in ("intensity_scale", "frozen", "blinks") if k in state}
    return frame_message(frame.index, frame.t, frame.values, frame.emotion, frame.intensity,
                         state.get("transcript", ""), extra)


class PreviewSink:
    """A :class:`bridge.sinks.Sink` serving the live preview page.

    Args:
        address: ``[HOST:]PORT`` of the page (``[stream] preview``).
        control: the stream's control port (its :meth:`~bridge.controls.ControlServer.handle`
            takes the page's control messages), or None.
        fps: frames per second sent to the page at most.
    Raises:
        MedtalkError: a malformed address (a port in use is logged and counted, the stream goes
            on without a page).
    """

    def __init__(self, address: str, control: ControlServer | None = None, fps: int = 30):
        self._control = control
        self.server = PreviewServer(address, hello("live", control=control is not None),
                                    _live_message, on_message=self._message)
        self.name = self.server.name
        self._log = self.server.problems
        self.problems = self._log.counts
        self.ready_at = time.monotonic()
        self._step = 1.0 / max(1, min(fps, rig.FPS))
        self._next_t = -np.inf

    @property
    def url(self) -> str:
        return self.server.url

    def send_frame(self, frame: LiveFrame) -> None:
        """Offer ``frame`` to the page (a copy of its values), if ``1/fps`` s of audio has
        passed since the last frame offered; never blocks."""
        if frame.t + 1e-6 < self._next_t:
            return
        self._next_t = frame.t + self._step
        values = np.array(frame.values, np.float32, copy=True)
        self.server.offer(LiveFrame(frame.index, frame.t, frame.t0, values, frame.emotion,
                                    frame.intensity, dict(frame.state)))

    def send_names(self) -> None:
        """Nothing: the page gets the names in its first message."""

    def send_state(self, frame: LiveFrame) -> None:
        """Nothing: every frame message carries the state."""

    def _message(self, message: dict) -> None:
        """A page's control message -> the control port's handler (see the module docstring)."""
        if message.get("type") != "control":
            self._log.note("unknown page message type (ignored)", str(message.get("type"))[:40])
            return None
        datagram = osc_datagram(message.get("address"), message.get("args", []))
        if self._control is None:
            self._log.note("a control message, but the stream has no control port "
                           "(--no-control)")
        elif self._control.state is None:
            self._log.note("a control message before the stream started")
        else:
            self._control.handle(datagram)
        return None

    def close(self) -> None:
        self.server.close()
