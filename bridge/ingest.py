"""Source and ingest stage: audio blocks from the callback -> the 16 kHz mono ring.

Takes the blocks a :mod:`bridge.sources` source delivers through :meth:`Ingest.callback`
(float32 ``(n, channels)`` at the source's rate, sounddevice's signature); emits 16 kHz mono
samples into :attr:`Ingest.ring`, which the lips and transcript stages read by absolute sample
index. On the way: mix-down, resampling (soxr), input level, and the faults of live input
(overruns, clipping, gaps), each logged once and counted.

Time: ``mono0`` is the ``time.monotonic()`` at which audio time 0 entered the process. For a file
it is the start of playback. For a microphone it follows block arrivals (the least ``arrival -
audio time`` over the last 2 s, by at most 1 ms per block), so that device clock drift does not
pile up; input that stops (device lost, stall) is filled with silence so that audio time keeps
up with wall time. :meth:`Ingest.entry_time` is when a sample entered (for mouth latency).
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from .sinks import ProblemLog

SAMPLE_RATE = 16000
MAX_ENTRIES = 20000
"""Block arrival times kept for the latency of microphone frames (about 3 min of 10 ms blocks)."""
GAP_STEP_S = 0.02
"""s: how often the lips worker looks for missing input, and the silence it adds per look
once a gap has begun."""
CLIP_LEVEL = 0.999
"""|sample| at or above which input counts as clipped."""
DRIFT_WINDOW_S = 2.0
"""s of block arrivals over which a microphone's clock offset is tracked."""
DRIFT_STEP_S = 0.001
"""s by which ``mono0`` may move per block."""


class Ring:
    """A ring buffer of float32 samples ``(capacity, channels)``: one writer, any readers.

    ``written`` counts every sample ever written; a reader asks for absolute sample indices.
    """

    def __init__(self, capacity: int, channels: int = 1):
        self.data = np.zeros((capacity, channels), np.float32)
        self.capacity = capacity
        self.written = 0

    def write(self, x: np.ndarray) -> None:
        x = np.asarray(x, np.float32).reshape(-1, self.data.shape[1])[-self.capacity:]
        n, start = len(x), self.written % self.capacity
        first = min(n, self.capacity - start)
        self.data[start:start + first] = x[:first]
        self.data[:n - first] = x[first:]
        self.written += n  # published after the copy (one writer)

    def read(self, start: int, end: int) -> np.ndarray:
        """Samples ``[start, end)`` as float32 ``(end - start, channels)``; zeros where nothing
        was written (before 0, after ``written``) or where it was overwritten."""
        out = np.zeros((end - start, self.data.shape[1]), np.float32)
        lo, hi = max(start, 0, self.written - self.capacity), min(end, self.written)
        if hi > lo:
            idx = np.arange(lo, hi) % self.capacity
            out[lo - start:hi - start] = self.data[idx]
        return out

    def read_mono(self, start: int, end: int) -> np.ndarray:
        """Channel 0 of :meth:`read`: float32 ``(end - start,)``."""
        return self.read(start, end)[:, 0]


@dataclass(frozen=True)
class InputFormat:
    """What a source delivers: ``sample_rate`` Hz, ``channels``, ``is_file`` (keeps its own time:
    no clock following, no gap filling)."""

    sample_rate: int
    channels: int
    is_file: bool


class Ingest:
    """The audio callback's ring, mixed down and resampled into the 16 kHz ring.

    Args:
        fmt: the source's :class:`InputFormat`.
        ring_s: s of audio each ring holds.
        gap_s: s of missing live input after which silence is inserted.
        faults: where input faults are counted.
    """

    def __init__(self, fmt: InputFormat, ring_s: float, gap_s: float, faults: ProblemLog):
        self.fmt, self.gap_s, self.faults = fmt, gap_s, faults
        self.raw = Ring(int(ring_s * fmt.sample_rate), fmt.channels)
        self.ring = Ring(int(ring_s * SAMPLE_RATE))
        """The 16 kHz mono samples (the stage's output)."""
        self.mono0 = math.nan
        self.level_db = -120.0
        """dBFS of the newest audio (RMS)."""
        self._audio = threading.Event()
        self._arrivals: deque = deque()
        self._entries_end: list[int] = []
        self._entries_t: list[float] = []
        self._offsets: deque = deque()
        self._raw_read = self._gap_total = self._overruns = 0
        self._in_gap = False
        self._resampler = None
        if fmt.sample_rate != SAMPLE_RATE:
            import soxr

            self._resampler = soxr.ResampleStream(fmt.sample_rate, SAMPLE_RATE, 1,
                                                  dtype="float32", quality="HQ")

    def start(self, mono0: float) -> None:
        """Audio time 0 entered at ``mono0`` (``time.monotonic()`` s, the source's start)."""
        self.mono0 = mono0

    def callback(self, indata, frames, time_info, status) -> None:
        """The audio callback (sounddevice's signature): copies the block, never blocks.
        ``status.input_overflow``: PortAudio lost input (:class:`bridge.sources.BlockStatus` for
        a file)."""
        if status.input_overflow:
            self._overruns += 1
        self.raw.write(indata)
        self._arrivals.append((self.raw.written, time.monotonic()))
        self._audio.set()

    def wait(self, timeout: float) -> None:
        """Sleep until a block arrives or ``timeout`` s have passed."""
        self._audio.wait(timeout)
        self._audio.clear()

    def pump(self) -> None:
        """Raw blocks -> 16 kHz mono ring (mix down, resample), with input statistics; follow a
        microphone's clock and fill its gaps."""
        for _ in range(self._overruns):
            self.faults.note("input overrun (samples lost)")
        self._overruns = 0
        n = self.raw.written
        if n > self._raw_read:
            self._in_gap = False
            x = self.raw.read(self._raw_read, n).mean(axis=1)
            self._raw_read = n
            if self._resampler is not None:
                x = self._resampler.resample_chunk(x)
            self._measure(x)
            self.ring.write(x)
        ratio = SAMPLE_RATE / self.fmt.sample_rate
        while self._arrivals and self._arrivals[0][0] <= self._raw_read:
            end, t = self._arrivals.popleft()
            end16 = round(end * ratio) + self._gap_total
            self._entries_end.append(end16)
            self._entries_t.append(t)
            self._track_clock(end16, t)
        if len(self._entries_end) > MAX_ENTRIES:  # only recent blocks are looked up
            del self._entries_end[:MAX_ENTRIES // 2], self._entries_t[:MAX_ENTRIES // 2]
        self._fill_gap()

    def _measure(self, x: np.ndarray) -> None:
        if np.any(np.abs(x) >= CLIP_LEVEL):
            self.faults.note("input clipping")
        if len(x):
            rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
            self.level_db = 20 * math.log10(max(rms, 1e-6))

    def _track_clock(self, end16: int, t: float) -> None:
        if self.fmt.is_file:
            return
        self._offsets.append((t, t - end16 / SAMPLE_RATE))
        while self._offsets[0][0] < t - DRIFT_WINDOW_S:
            self._offsets.popleft()
        target = min(o for _, o in self._offsets)
        self.mono0 += max(-DRIFT_STEP_S, min(DRIFT_STEP_S, target - self.mono0))

    def _fill_gap(self) -> None:
        """Live input that stopped (device lost, stall): insert silence so the clock goes on."""
        if self.fmt.is_file:
            return
        behind = (time.monotonic() - self.mono0) * SAMPLE_RATE - self.ring.written
        if behind > (GAP_STEP_S if self._in_gap else self.gap_s) * SAMPLE_RATE:
            if not self._in_gap:
                self.faults.note("input gap (no audio arriving): silence inserted")
            self._in_gap = True  # until audio arrives again: keep the audio time going
            self.ring.write(np.zeros(int(behind), np.float32))
            self._gap_total += int(behind)
            self._entries_end.append(self.ring.written)
            self._entries_t.append(time.monotonic())

    def entry_time(self, sample: int) -> float:
        """Monotonic time (s) at which 16 kHz sample ``sample`` entered the process."""
        if self.fmt.is_file:  # a file: its start + its time
            return self.mono0 + sample / SAMPLE_RATE
        k = bisect.bisect_right(self._entries_end, sample)
        return self._entries_t[min(k, len(self._entries_t) - 1)] if self._entries_t else self.mono0
