"""Status stage: what the clock sent -> bounded statistics, the one-line status and the summary.

Takes :class:`bridge.frames.SentFrame` (and dropped frames) from the clock into
:class:`SendStats`: running counters (sent, late, dropped) and the newest ``window`` frames only,
so that a stream of any length keeps bounded state and the status line costs the same at any
time. Emits the status line, redrawn every ``interval_s`` on standard error when it is a
terminal (rich), and the summary logged at the end::

    ● -23 dBFS │ happy ×1.0 I 0.31 │ mouth 92 ms │ 60.0 fps │ late 0 drop 0 │ faults 2 │ "…the smooth planks"

Input level (RMS of the newest audio), emotion, intensity scale (``❄`` when frozen) and applied
intensity, mouth latency (median of the last second), frames per second sent (last second), late
and dropped frames, faults counted (input, control, network), the last words committed.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice

import numpy as np

from .frames import SentFrame
from .state import LiveState

log = logging.getLogger(__name__)

LATE_MS = 4.0
"""ms after its deadline from which a sent frame counts as late."""
WINDOW = 36000
"""Sent frames kept for the summary's latency percentiles (10 min at 60 fps)."""
RECENT = 61
"""Sent frames the status line looks at (one second at 60 fps)."""


class SendStats:
    """Statistics of the frames a stream sent: exact running counts, the newest frames kept.

    Args:
        window: sent frames kept (None: all, for a benchmark of known length).
    """

    def __init__(self, window: int | None = WINDOW):
        self._lock = threading.Lock()  # the clock appends while the status thread reads
        self.frames: deque[SentFrame] = deque(maxlen=window)
        """The newest sent frames, oldest first."""
        self.sent = 0
        self.late = 0
        """Frames sent more than :data:`LATE_MS` after their deadline."""
        self.dropped = 0
        """Frames not sent (too far behind their deadline)."""

    def record(self, frame: SentFrame) -> None:
        with self._lock:
            self.frames.append(frame)
        self.sent += 1
        self.late += frame.sent - frame.deadline > LATE_MS / 1000

    def drop(self) -> None:
        self.dropped += 1

    def recent(self, n: int) -> list[SentFrame]:
        """The newest ``n`` sent frames (at most), oldest first."""
        with self._lock:
            return list(islice(reversed(self.frames), n))[::-1]

    def sent_times(self) -> np.ndarray:
        """float64 ``(len(frames),)`` monotonic s at which the kept frames were sent."""
        return np.array([f.sent for f in self.frames])

    def latency_ms(self) -> np.ndarray:
        """float64 mouth latency (ms) of the kept frames: sent minus audio entry."""
        return np.array([1000 * (f.sent - f.entry) for f in self.frames])

    def late_ms(self) -> np.ndarray:
        """float64 ms after its deadline that each kept frame was sent."""
        return np.array([1000 * (f.sent - f.deadline) for f in self.frames])


@dataclass(frozen=True)
class StatusInputs:
    """What the status line reads: the stats, the control state, the input level (dBFS), the
    newest applied intensity, and the faults by source name and kind."""

    stats: SendStats
    state: LiveState
    level_db: Callable[[], float]
    intensity: Callable[[], float]
    problems: Callable[[], dict[str, dict[str, int]]]


def render(inputs: StatusInputs) -> str:
    """The status line now (plain text); costs the same at any point of the stream."""
    state = inputs.state
    recent = inputs.stats.recent(RECENT)
    sent = np.array([f.sent for f in recent])
    fps = (len(sent) - 1) / (sent[-1] - sent[0]) if len(sent) > 1 and sent[-1] > sent[0] else 0.0
    lat = np.median([1000 * (f.sent - f.entry) for f in recent]) if recent else float("nan")
    faults = sum(sum(c.values()) for c in inputs.problems().values())
    scale = f"×{state.snapshot()['intensity_scale']:.1f}" + (" ❄" if state.frozen else "")
    words = state.transcript[-40:]
    return (f"● {inputs.level_db():4.0f} dBFS │ {state.emotion} {scale} I "
            f"{inputs.intensity():.2f} │ mouth {lat:3.0f} ms │ {fps:4.1f} fps │ "
            f"late {inputs.stats.late} drop {inputs.stats.dropped} │ faults {faults} │ "
            f"\"{words}\"")


class StatusLine:
    """Redraws :func:`render` every ``interval_s`` s on a terminal (rich ``Live``)."""

    def __init__(self, inputs: StatusInputs, interval_s: float = 0.25):
        self.inputs, self.interval_s = inputs, interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not sys.stderr.isatty():
            return
        self._thread = threading.Thread(target=self._draw, name="status", daemon=True)
        self._thread.start()

    def _draw(self) -> None:
        from rich.console import Console
        from rich.live import Live
        from rich.text import Text

        console = Console(stderr=True)
        with Live(Text(""), console=console, transient=True, auto_refresh=False) as live:
            while not self._stop.wait(self.interval_s):
                line = render(self.inputs)
                live.update(Text(line[:console.width - 1], no_wrap=True), refresh=True)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def summary(self, fast: bool = False) -> None:
        """Log what the stream did: frames, latency (the kept frames) and lateness (real time),
        faults by kind."""
        stats = self.inputs.stats
        if fast:
            log.info("sent %d frames as fast as they were made", stats.sent)
        elif stats.sent:
            lat = stats.latency_ms()
            log.info("sent %d frames; mouth latency p50 %.0f ms, p95 %.0f ms; %d late (> 4 ms), "
                     "%d dropped", stats.sent, np.percentile(lat, 50), np.percentile(lat, 95),
                     stats.late, stats.dropped)
        for name, counts in self.inputs.problems().items():
            for kind, n in counts.items():
                log.warning("%s: %s: %d", name, kind, n)
