"""The frame clock and the sender: frames leave on a steady 60 fps schedule relative to t0.

``t0`` is the Unix time at which audio time 0 entered the process; frame ``i`` shows audio time
``i / fps`` and is due at ``t0 + i / fps``. Deadlines are absolute (on ``time.monotonic()``), so a
late frame does not shift the ones after it and the stream does not drift.

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
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from medtalk_core import rig

from .protocol import Frame
from .sinks import ProblemLog, Sink


class Pacer:
    """A steady frame clock: frame ``i`` is due ``i / fps`` s after :meth:`start`."""

    def __init__(self, fps: int = rig.FPS):
        self.fps = fps
        self.t0 = math.nan
        self._mono0 = math.nan

    def start(self) -> float:
        """Start the clock now; returns ``t0``, the Unix time (s) of audio time 0."""
        self._mono0 = time.monotonic()
        self.t0 = time.time()
        return self.t0

    def wait(self, index: int) -> float:
        """Sleep until frame ``index`` is due; returns how late the wake-up is, in s (>= 0)."""
        due = self._mono0 + index / self.fps
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return max(0.0, time.monotonic() - due)


class Sender:
    """Sends each frame to every sink, and the control names at the start and periodically.

    Non-finite values (a model fault) never reach the wire: they are replaced by the neutral
    pose (a non-finite intensity by 0), logged once and counted under ``"sender"``.
    """

    def __init__(self, sinks: Sequence[Sink], names_interval_s: float = 1.0):
        self.sinks = list(sinks)
        self.names_interval_s = names_interval_s
        self.frames_sent = 0
        self._names_due = -math.inf
        self._log = ProblemLog("sender")

    def wait_ready(self) -> None:
        """Sleep until every sink is ready (see ``Sink.ready_at``)."""
        delay = max((s.ready_at for s in self.sinks), default=0.0) - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def send_names(self) -> None:
        """Send the names to every sink now; the next names follow ``names_interval_s`` later."""
        for sink in self.sinks:
            sink.send_names()
        self._names_due = time.monotonic() + self.names_interval_s

    def send(self, frame: Frame) -> None:
        """Send ``frame`` to every sink, preceded by the names when they are due. Never raises
        for a network problem (sinks count those)."""
        if time.monotonic() >= self._names_due:
            self.send_names()
        if not (np.isfinite(frame.values).all() and math.isfinite(frame.intensity)):
            self._log.note(f"frame {frame.index}: non-finite values replaced by neutral")
            frame = replace(
                frame,
                values=np.where(np.isfinite(frame.values), frame.values, rig.NEUTRAL),
                intensity=frame.intensity if math.isfinite(frame.intensity) else 0.0,
            )
        for sink in self.sinks:
            sink.send_frame(frame)
        self.frames_sent += 1

    @property
    def problems(self) -> dict[str, dict[str, int]]:
        """``{sink name: {kind of problem: count}}`` for every sink (and ``"sender"``) with any."""
        every = [(s.name, s.problems) for s in self.sinks] + [("sender", self._log.counts)]
        return {name: dict(counts) for name, counts in every if counts}

    def close(self) -> None:
        for sink in self.sinks:
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
