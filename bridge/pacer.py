"""The frame clock and the sender: frames leave on a steady 60 fps schedule relative to t0.

``t0`` is the Unix time at which audio time 0 entered the process; frame ``i`` shows audio time
``i / fps`` and is due at ``t0 + D + i / fps`` (``D``: the clock's ``delay_s``, 0 for a clip
computed up front, the frame delay of a live stream). Deadlines are absolute (on
``time.monotonic()``), so a late frame does not shift the ones after it and the stream does not
drift. The one clock of both :func:`play` and the live stream (:mod:`bridge.clock`).

The sender takes :class:`bridge.protocol.Frame` (a live stream's :class:`bridge.frames.LiveFrame`),
passes it through :class:`bridge.guard.FiniteGuard` and hands it to every sink.

Reuse by a live engine (frames made as audio arrives)::

    sender = Sender([OscSink(...), ZmqSink(...)], names_interval_s=1.0)
    sender.wait_ready()                 # ZeroMQ slow-joiner warm-up
    pacer = Pacer(60); t0 = pacer.start()
    sender.send_names()
    for each frame i:                   # as the model produces it
        pacer.wait(i)
        sender.send(Frame(i, i / 60, t0, values, emotion, intensity))
    sender.close()

For a clip computed up front, :func:`play` does exactly this.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from medtalk_core import rig

from .guard import FiniteGuard
from .protocol import Frame
from .sinks import Sink


class Pacer:
    """A steady frame clock: frame ``i`` is due ``delay_s + i / fps`` s after audio time 0.

    Args:
        fps: frames per second.
        delay_s: s from a frame's audio time to its deadline.
    """

    def __init__(self, fps: int = rig.FPS, delay_s: float = 0.0):
        self.fps, self.delay_s = fps, delay_s
        self.t0 = math.nan
        self.mono0 = math.nan
        """``time.monotonic()`` of audio time 0."""

    def start(self, mono0: float | None = None) -> float:
        """Start the clock with audio time 0 at ``mono0`` (``time.monotonic()`` s; None: now);
        returns ``t0``, the Unix time (s) of audio time 0."""
        now = time.monotonic()
        self.mono0 = now if mono0 is None else mono0
        self.t0 = time.time() - (now - self.mono0)
        return self.t0

    def follow(self, mono0: float) -> None:
        """Move audio time 0 to ``mono0`` (a microphone's clock drifts from the host's); ``t0``
        (in the frames already sent) stays."""
        self.mono0 = mono0

    def due(self, index: int) -> float:
        """``time.monotonic()`` s at which frame ``index`` is due."""
        return self.mono0 + self.delay_s + index / self.fps

    def wait(self, index: int) -> float:
        """Sleep until frame ``index`` is due; returns how late the wake-up is, in s (>= 0)."""
        due = self.due(index)
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return max(0.0, time.monotonic() - due)


class Sender:
    """Sends each frame to every sink, and the control names at the start and periodically.

    Non-finite values (a model fault) never reach the wire nor a recording: the frame is replaced
    by the last finite one (:class:`bridge.guard.FiniteGuard`), logged once per kind and counted
    under ``"sender"``.
    """

    def __init__(self, sinks: Sequence[Sink], names_interval_s: float = 1.0):
        self._sinks = list(sinks)
        self.names_interval_s = names_interval_s
        self.frames_sent = 0
        self._names_due = -math.inf
        self._guard = FiniteGuard("sender")
        self._last: Frame | None = None

    @property
    def sink_names(self) -> list[str]:
        """The sinks' names, in order (for logs)."""
        return [s.name for s in self._sinks]

    def wait_ready(self) -> None:
        """Sleep until every sink is ready (see ``Sink.ready_at``)."""
        delay = max((s.ready_at for s in self._sinks), default=0.0) - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def send_names(self) -> None:
        """Send the names to every sink now; the next names follow ``names_interval_s`` later."""
        for sink in self._sinks:
            sink.send_names()
        self._names_due = time.monotonic() + self.names_interval_s

    def send(self, frame: Frame) -> None:
        """Send ``frame`` to every sink, preceded by the names when they are due. Never raises
        for a network problem (sinks count those)."""
        if time.monotonic() >= self._names_due:
            self.send_names()
        frame = self._guard.check(frame)
        for sink in self._sinks:
            sink.send_frame(frame)
        self._last = frame
        self.frames_sent += 1

    def send_state(self) -> None:
        """Send the state of the last frame sent (``/medtalk/state`` on OSC, see
        :meth:`bridge.sinks.OscSink.send_state`); nothing before the first frame."""
        if self._last is not None:
            for sink in self._sinks:
                sink.send_state(self._last)

    @property
    def problems(self) -> dict[str, dict[str, int]]:
        """``{sink name: {kind of problem: count}}`` for every sink (and ``"sender"``) with any."""
        every = [(s.name, s.problems) for s in self._sinks] + [("sender", self._guard.problems)]
        return {name: dict(counts) for name, counts in every if counts}

    def close(self) -> None:
        for sink in self._sinks:
            sink.close()

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class PlayReport:
    """What :func:`play` did: frames sent, wall duration (s) and wake-up lateness (ms)."""

    frames: int
    t0: float
    duration_s: float
    late_p99_ms: float
    late_max_ms: float


def play(frames: np.ndarray, intensity: np.ndarray, emotion: str, sender: Sender,
         pacer: Pacer) -> PlayReport:
    """Send a computed clip at real-time pace: frame ``i`` at ``t0 + i / fps``.

    Args:
        frames: float32 ``(T, 174)`` rig values at ``pacer.fps``.
        intensity: float32 ``(T,)`` frame-wise emotion intensity.
        emotion: the emotion label sent with every frame.
        sender: open sinks; closed by the caller.
        pacer: the clock, started here (``t0`` = now, after the sinks are ready).

    Raises:
        ValueError: ``frames`` is not ``(T, 174)`` or ``intensity`` not ``(T,)``.
    """
    frames = np.asarray(frames, np.float32)
    intensity = np.asarray(intensity, np.float64)
    if (frames.ndim != 2 or frames.shape[1] != rig.NUM_CONTROLS
            or intensity.shape != frames.shape[:1]):
        raise ValueError(f"frames {frames.shape} and intensity {intensity.shape} are not "
                         f"(T, {rig.NUM_CONTROLS}) and (T,)")
    lateness = np.zeros(len(frames))
    sender.wait_ready()
    t0 = pacer.start()
    sender.send_names()
    for i, values in enumerate(frames):
        lateness[i] = pacer.wait(i)
        sender.send(Frame(i, i / pacer.fps, t0, values, emotion, float(intensity[i])))
    duration = time.time() - t0
    late_ms = 1000 * lateness if len(lateness) else np.zeros(1)
    return PlayReport(len(frames), t0, duration, float(np.percentile(late_ms, 99)),
                      float(late_ms.max()))
