"""Clock and sender stage: made frames -> the sinks, frame ``i`` at ``t0 + D + i / 60``.

Takes :class:`bridge.frames.LiveFrame` from the :class:`FrameTable` the eyes stage fills; sends
each to the :class:`bridge.pacer.Sender` when the :class:`bridge.pacer.Pacer` (the one frame
clock, ``delay_s`` = D) says it is due, and the stream state (``/medtalk/state``) every
``state_interval_s`` and at once on a change; emits a :class:`bridge.frames.SentFrame` per sent
frame into :class:`bridge.status.SendStats`. A frame not ready at its deadline is sent when it is
(counted late); one more than ``drop_after_s`` behind is dropped so that the stream catches up
(counted). A microphone's clock drift moves the pacer's origin (:meth:`bridge.ingest.Ingest`'s
``mono0``).
"""

from __future__ import annotations

import math
import threading
import time

from .frames import LiveFrame, SentFrame
from .ingest import SAMPLE_RATE, Ingest
from .pacer import Pacer, Sender
from .state import LiveState
from .status import SendStats

DROP_AFTER_S = 0.25
"""s behind its deadline after which a frame is dropped instead of sent."""


class FrameTable:
    """Frames made and not yet sent, by index; the hand-over from the lips thread to the clock."""

    def __init__(self):
        self._frames: dict[int, LiveFrame] = {}
        self._ready = threading.Condition()
        self.total: int | None = None
        """The stream's frame count once the lips stage has made its last frame."""

    def put(self, frames: list[LiveFrame]) -> None:
        with self._ready:
            self._frames.update((f.index, f) for f in frames)
            self._ready.notify_all()

    def end(self, total: int) -> None:
        """No frame from ``total`` on will come."""
        with self._ready:
            self.total = total
            self._ready.notify_all()

    def take(self, index: int, quit: threading.Event) -> LiveFrame | None:
        """Frame ``index`` once it is made; None if it never will be (the end, or ``quit``)."""
        with self._ready:
            while index not in self._frames and not self._ended(index) and not quit.is_set():
                self._ready.wait(0.05)
            return self._frames.pop(index, None)

    def pop(self, index: int) -> LiveFrame | None:
        """Frame ``index`` if it is made now (fast mode), else None."""
        with self._ready:
            return self._frames.pop(index, None)

    def _ended(self, index: int) -> bool:
        return self.total is not None and index >= self.total


class LiveClock:
    """Sends the frames of a :class:`FrameTable` on the pacer's clock.

    Args:
        pacer: the started frame clock.
        table: where the frames come from.
        sender: where they go.
        stats: where sent and dropped frames are counted.
        ingest: the audio's entry times (mouth latency) and ``mono0`` (followed by the pacer).
        state: the control state (``changed``: state now; ``quit``: stop).
        state_interval_s: s between ``/medtalk/state`` messages.
        drop_after_s: s behind its deadline after which a frame is dropped.
    """

    def __init__(self, pacer: Pacer, table: FrameTable, sender: Sender, stats: SendStats,
                 ingest: Ingest, state: LiveState, state_interval_s: float,
                 drop_after_s: float = DROP_AFTER_S):
        self.pacer, self.table, self.sender, self.stats = pacer, table, sender, stats
        self.ingest, self.state = ingest, state
        self.state_interval_s, self.drop_after_s = state_interval_s, drop_after_s
        self._last_state = -math.inf

    def run(self) -> None:
        """Send every frame until the table ends or ``state.quit`` is set."""
        i = 0
        while not self.state.quit.is_set():
            self.pacer.follow(self.ingest.mono0)
            self.pacer.wait(i)
            frame = self.table.take(i, self.state.quit)
            if frame is None:
                return
            now, deadline = time.monotonic(), self.pacer.due(i)
            if now - deadline > self.drop_after_s:
                self.stats.drop()
            else:
                self.send(frame, now, deadline)
            self._maybe_state(now)
            i += 1

    def run_fast(self, index: int) -> int:
        """Fast mode: send the frames from ``index`` on that are made; returns the next index."""
        while (frame := self.table.pop(index)) is not None:
            now = time.monotonic()
            self.send(frame, now, now)
            index += 1
        return index

    def send(self, frame: LiveFrame, now: float, deadline: float) -> None:
        self.sender.send(frame)
        entry = self.ingest.entry_time(frame.index * SAMPLE_RATE // self.pacer.fps)
        self.stats.record(SentFrame(frame.index, now, deadline, entry))

    def _maybe_state(self, now: float) -> None:
        if now - self._last_state >= self.state_interval_s or self.state.changed.is_set():
            self.state.changed.clear()
            self.sender.send_state()
            self._last_state = now
