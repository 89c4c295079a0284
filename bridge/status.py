"""The one-line live status of a stream (rich), and the summary printed at its end.

    ● -23 dBFS │ happy ×1.0 I 0.31 │ mouth 92 ms │ 60.0 fps │ late 0 drop 0 │ faults 2 │ "…the smooth planks"

Input level (RMS of the newest audio), emotion, intensity scale (``❄`` when frozen) and applied
intensity, mouth latency (median of the last second), frames per second sent, late and dropped
frames, faults counted (input, control, network), the last words committed. Drawn on standard
error when it is a terminal (else only the summary is logged).
"""

from __future__ import annotations

import logging
import sys
import threading

import numpy as np

log = logging.getLogger(__name__)


def _faults(engine, control) -> int:
    n = sum(engine.faults.counts.values())
    n += sum(sum(c.values()) for c in engine.sender.problems.values())
    return n + (sum(control.problems.counts.values()) if control else 0)


def render(engine, control=None) -> str:
    """The status line of ``engine`` now (plain text)."""
    st, state = engine.stats, engine.state
    sent = np.array(st.sent[-61:])
    fps = (len(sent) - 1) / (sent[-1] - sent[0]) if len(sent) > 1 and sent[-1] > sent[0] else 0.0
    lat = np.median(1000 * (sent - np.array(st.entry[-61:]))) if len(sent) else float("nan")
    late = int(np.count_nonzero(st.late_ms() > 4.0)) if st.sent else 0
    scale = f"×{state.snapshot()['intensity_scale']:.1f}" + (" ❄" if state.frozen else "")
    words = state.transcript[-40:]
    return (f"● {engine.level_db:4.0f} dBFS │ {state.emotion} {scale} I {engine.intensity:.2f} │ "
            f"mouth {lat:3.0f} ms │ {fps:4.1f} fps │ late {late} drop {st.dropped} │ "
            f"faults {_faults(engine, control)} │ \"{words}\"")


class StatusLine:
    """Redraws :func:`render` every ``interval_s`` on a terminal (rich ``Live``)."""

    def __init__(self, engine, control=None, interval_s: float = 0.25):
        self.engine, self.control, self.interval_s = engine, control, interval_s
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
                line = render(self.engine, self.control)
                live.update(Text(line[:console.width - 1], no_wrap=True), refresh=True)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def summary(self, stats, fast: bool = False) -> None:
        """Log what the stream did: frames, latency and lateness (real time), faults by kind."""
        if fast:
            log.info("sent %d frames as fast as they were made", len(stats.sent))
        elif stats.sent:
            lat, late = stats.latency_ms(), stats.late_ms()
            log.info("sent %d frames; mouth latency p50 %.0f ms, p95 %.0f ms; %d late (> 4 ms), "
                     "%d dropped", len(stats.sent), np.percentile(lat, 50),
                     np.percentile(lat, 95), int(np.count_nonzero(late > 4.0)), stats.dropped)
        problems = dict(self.engine.sender.problems)
        problems[self.engine.faults.name] = dict(self.engine.faults.counts)
        if self.control:
            problems[self.control.problems.name] = dict(self.control.problems.counts)
        for name, counts in problems.items():
            for kind, n in counts.items():
                log.warning("%s: %s: %d", name, kind, n)
