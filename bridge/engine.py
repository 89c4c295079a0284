"""The live engine: audio in through a callback, rig frames out on a steady 60 fps clock.

Threads and what they share::

    audio callback ──copy──> raw ring ──(lips worker: mix down, resample)──> 16 kHz ring
    lips worker:      16 kHz ring -> Whisper-encoder windows (FeatureStream) -> StreamingModel
                      (ACM, FIM, D with the committed words it has) -> eyes -> frame table
    intensity worker: 16 kHz ring -> streaming ASR (LocalAgreement-2, VAD) -> prefix word
                      features -> word queue (read by the lips worker; never waited for)
    main thread:      frame i leaves at mono0 + D + i / 60 (sinks, recorder), state, status

``mono0`` is the monotonic time at which audio time 0 entered the process (for a file, the start
of playback; for a microphone, tracked from block arrivals, so device clock drift is followed).
``D`` (``frame_delay_s``) is the stream's lookahead (:func:`medtalk_core.streaming.ahead_s`: the
encoder window's future audio, the interpolation onto rig frames and the model's lookahead) plus
``compute_margin_s``. Mouth latency of frame ``i`` = its send time minus the time its audio
(sample ``i / 60 * 16000``) entered the process: the callback time of its block (for a file,
``mono0 + i / 60``). A frame that is not ready at its deadline is sent when it is (counted late);
one more than ``drop_after_s`` behind is dropped so that the stream catches up (counted).

With ``fast`` (``--fast``) the same callback, lips and intensity steps run in one thread as fast
as possible (the transcript's words reach the lips path as soon as the step that committed them
ran) and frames are sent as they are made.

Faults never stop the stream; each kind is logged once and counted (:attr:`Engine.faults`):
input overrun, clipping, input gaps (silence inserted), a device lost (the source reopens it),
malformed control messages (the control server), network problems (the sinks).
"""

from __future__ import annotations

import bisect
import logging
import math
import os
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medtalk_core import rig
from medtalk_core.config import Config
from medtalk_core.errors import CheckpointError

from .blinks import Eyes
from .controls import LiveState
from .protocol import Frame, encode_osc_state
from .sinks import ProblemLog
from .stream_models import STREAM_CHECKPOINT

log = logging.getLogger(__name__)
logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # no line per transcription

SAMPLE_RATE = 16000
DROP_AFTER_S = 0.25
"""s behind its deadline after which a frame is dropped instead of sent."""
MAX_ENTRIES = 20000
"""Block arrival times kept for the latency of microphone frames (about 3 min of 10 ms blocks)."""
GAP_STEP_S = 0.02
"""s: how often the lips worker looks for missing input, and the silence it adds per look
once a gap has begun."""
SWITCH_INTERVAL_S = 0.0005
"""s between GIL hand-overs while streaming (Python's default 5 ms would show as jitter)."""
ASR_NICENESS = 10
"""Niceness of the transcript worker's thread (Linux: per thread), below the lips and sender."""
CLIP_LEVEL = 0.999
"""|sample| at or above which input counts as clipped."""


@dataclass(frozen=True, slots=True)
class LiveFrame(Frame):
    """A frame with the stream's state (sent in the ZeroMQ header, see docs/protocol.md)."""

    state: dict = field(default_factory=dict)


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
        return self.read(start, end)[:, 0]


@dataclass
class LiveModel:
    """What the engine runs: the model, its front-ends and the live word settings."""

    model: object
    meta: dict
    encoder: object
    text: object
    transcriber: object
    word_context: int

    @classmethod
    def load(cls, checkpoint: str | Path | None, cfg: Config) -> LiveModel:
        """Load a checkpoint (None: ``[live] checkpoint`` or the shipped stream model).

        Raises:
            CheckpointError: missing or mismatched checkpoint.
            ModelNotFoundError: a front-end model is missing.
        """
        import torch

        from medtalk_core.asr import Transcriber
        from medtalk_core.backbones import text_encoder
        from medtalk_core.checkpoint import load_model
        from medtalk_core.features import WhisperEncoder
        from medtalk_core.frontend import trained_features

        path = Path(checkpoint or cfg.live.checkpoint or STREAM_CHECKPOINT)
        if not path.is_file() and not checkpoint and not cfg.live.checkpoint:
            raise CheckpointError(
                f"stream model not found: {path} (make it with medtalk train --plan stream "
                "--init medtalk_core/weights/default.safetensors, or give --checkpoint)")
        torch.set_num_threads(1)
        model, meta = load_model(path)
        f = trained_features(cfg.features, meta)
        if f.content_backend != "whisper" or f.emotion_backend != "whisper":
            raise CheckpointError(f"{path}: the live engine runs the Whisper encoder; this model "
                                  f"reads {f.content_backend}/{f.emotion_backend} features")
        encoder = WhisperEncoder(f.whisper_encoder_model or None, f.window_s, f.hop_s,
                                 f.lookahead_s, f.threads)
        text = text_encoder(f)
        transcriber = Transcriber.from_config(f)
        context = meta.get("stream", {}).get("word_context", cfg.live.word_context)
        return cls(model, meta, encoder, text, transcriber, int(context))


@dataclass
class FrameStats:
    """Per sent frame: index, send time, deadline and entry time of its audio (monotonic s)."""

    index: list = field(default_factory=list)
    sent: list = field(default_factory=list)
    deadline: list = field(default_factory=list)
    entry: list = field(default_factory=list)
    dropped: int = 0

    def latency_ms(self) -> np.ndarray:
        return 1000 * (np.array(self.sent) - np.array(self.entry))

    def late_ms(self) -> np.ndarray:
        return 1000 * (np.array(self.sent) - np.array(self.deadline))


class Engine:
    """One live stream from a source to a sender.

    Args:
        live: the loaded :class:`LiveModel`.
        source: a :class:`bridge.sources.FileSource` or :class:`bridge.sources.MicSource`.
        state: the control state (hotkeys and OSC control change it).
        sender: :class:`bridge.pacer.Sender` over the sinks (and the recorder).
        cfg: the whole configuration (``[live]``, ``[stream]``, ``[rig]``).
        subject: Live Link subject, for ``/medtalk/state``.
        faults: where input faults are counted (shared with a microphone source).
    """

    def __init__(self, live: LiveModel, source, state: LiveState, sender, cfg: Config,
                 subject: str = "MEDTalk", faults: ProblemLog | None = None):
        from medtalk_core.streaming import FeatureStream, StreamingModel, ahead_s

        from .transcribe import StreamingTranscriber

        lc = cfg.live
        self.live, self.source, self.state, self.sender = live, source, state, sender
        self.cfg, self.subject, self.fps = lc, subject, cfg.rig.fps
        self.faults = faults or ProblemLog("input", "the stream goes on")
        self.raw = Ring(int(lc.ring_s * source.sample_rate), source.channels)
        self.ring = Ring(int(lc.ring_s * SAMPLE_RATE))
        self._arrivals: deque = deque()
        self._entries_end: list[int] = []
        self._entries_t: list[float] = []
        self._raw_read = 0
        self._gap_total = 0
        self._in_gap = False
        self._offsets: deque = deque()
        self._overruns = 0
        self._resampler = None
        if source.sample_rate != SAMPLE_RATE:
            import soxr

            self._resampler = soxr.ResampleStream(source.sample_rate, SAMPLE_RATE, 1,
                                                  dtype="float32", quality="HQ")
        self.features = FeatureStream(live.encoder, self.fps)
        self.runner = StreamingModel(live.model, state.frame_control, lc.word_fade_s,
                                     lc.word_horizon_s, live.meta.get("ablate"))
        self.stt = StreamingTranscriber(live.transcriber, lc.asr_buffer_s,
                                        lc.asr_beam_size, lc.vad_threshold)
        self.eyes = Eyes(lc, self.fps)
        f = live.meta.get("features", {})
        self.ahead_s = ahead_s(f.get("hop_s", live.encoder.hop / SAMPLE_RATE),
                               f.get("lookahead_s", live.encoder.lookahead / SAMPLE_RATE),
                               self.runner.lag, self.fps)
        self.delay_s = lc.frame_delay_s or self.ahead_s + lc.compute_margin_s
        self.mono0 = math.nan
        self.t0 = math.nan
        """Unix time of audio time 0 (the frames' ``t0``)."""
        self.frames: dict[int, LiveFrame] = {}
        self.total_frames: int | None = None
        self._ready = threading.Condition()
        self._audio = threading.Event()
        self._words: deque = deque()
        self._asr_pos = 0
        self._committed: list = []
        self.stats = FrameStats()
        self.level_db = -120.0
        self.intensity = 0.0
        self.busy = {"lips": 0.0, "asr": 0.0}
        """s (wall) each worker spent working: its real-time factor times the audio time."""
        self._stop = threading.Event()

    def warm_up(self) -> None:
        """Run each model once on silence before the clock starts (first runs are slow)."""
        from medtalk_core.streaming import FrameControl, StreamingModel

        enc = self.live.encoder
        enc.encode_window(np.zeros(enc.window, np.float32))
        label = self.state.frame_control(0).label
        spare = StreamingModel(self.live.model, lambda i: FrameControl(label),
                               ablate=self.live.meta.get("ablate"))
        spare.push(np.zeros((8, enc.dim), np.float32))
        self.live.text.encode_words(["hello"])
        noise = np.random.default_rng(0).normal(0, 0.01, SAMPLE_RATE).astype(np.float32)
        list(self.live.transcriber.model.transcribe(noise, language=self.stt.language,
                                                    beam_size=1, without_timestamps=True)[0])

    # ------------------------------------------------------------ audio in
    def callback(self, indata, frames, time_info, status) -> None:
        """The audio callback (sounddevice's signature): copies the block, never blocks."""
        if getattr(status, "input_overflow", False):
            self._overruns += 1
        self.raw.write(indata)
        self._arrivals.append((self.raw.written, time.monotonic()))
        self._audio.set()

    def _pump(self) -> None:
        """Raw blocks -> 16 kHz mono ring (mix down, resample), with input statistics."""
        if self._overruns:
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
            if np.any(np.abs(x) >= CLIP_LEVEL):
                self.faults.note("input clipping")
            if len(x):
                rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
                self.level_db = 20 * math.log10(max(rms, 1e-6))
            self.ring.write(x)
        ratio = SAMPLE_RATE / self.source.sample_rate
        while self._arrivals and self._arrivals[0][0] <= self._raw_read:
            end, t = self._arrivals.popleft()
            end16 = round(end * ratio) + self._gap_total
            self._entries_end.append(end16)
            self._entries_t.append(t)
            self._track_clock(end16, t)
        if len(self._entries_end) > MAX_ENTRIES:  # only recent blocks are looked up
            del self._entries_end[:MAX_ENTRIES // 2], self._entries_t[:MAX_ENTRIES // 2]
        self._fill_gap()

    def _track_clock(self, end16: int, t: float) -> None:
        """Microphone: follow ``mono0`` (arrival time minus audio time, the least over the last
        2 s), by at most 1 ms per block, so that device clock drift does not pile up."""
        if getattr(self.source, "total", None) is not None:
            return
        self._offsets.append((t, t - end16 / SAMPLE_RATE))
        while self._offsets[0][0] < t - 2.0:
            self._offsets.popleft()
        target = min(o for _, o in self._offsets)
        self.mono0 += max(-0.001, min(0.001, target - self.mono0))

    def _fill_gap(self) -> None:
        """Live input that stopped (device lost, stall): insert silence so the clock goes on."""
        if self.source.fast or getattr(self.source, "total", None) is not None:
            return
        behind = (time.monotonic() - self.mono0) * SAMPLE_RATE - self.ring.written
        if behind > (GAP_STEP_S if self._in_gap else self.cfg.gap_s) * SAMPLE_RATE:
            if not self._in_gap:
                self.faults.note("input gap (no audio arriving): silence inserted")
            self._in_gap = True  # until audio arrives again: keep the audio time going
            self.ring.write(np.zeros(int(behind), np.float32))
            self._gap_total += int(behind)
            self._entries_end.append(self.ring.written)
            self._entries_t.append(time.monotonic())

    def entry_time(self, sample: int) -> float:
        """Monotonic time at which 16 kHz sample ``sample`` entered the process."""
        if getattr(self.source, "total", None) is not None:  # a file: t0 + its time
            return self.mono0 + sample / SAMPLE_RATE
        k = bisect.bisect_right(self._entries_end, sample)
        return self._entries_t[min(k, len(self._entries_t) - 1)] if self._entries_t else self.mono0

    # ------------------------------------------------------------ lips path
    def lips_step(self, final: bool = False) -> None:
        """Encode the audio that arrived, run the model on the new frames, publish them."""
        t = time.perf_counter()
        self._pump()
        while self._words:
            self.runner.add_words(*self._words.popleft())
        total = self.ring.written if final else None
        rows = self.features.advance(self.ring.read_mono, self.ring.written, total)
        out = self.runner.push(rows)
        self._publish(out.first, out.rig, out.intensity)
        if final:
            out = self.runner.finish()
            self._publish(out.first, out.rig, out.intensity)
            with self._ready:
                self.total_frames = self.runner._out_next
                self._ready.notify_all()
        self.busy["lips"] += time.perf_counter() - t

    def _publish(self, first: int, frames: np.ndarray, intensity: np.ndarray) -> None:
        if not len(frames):
            return
        snap = self.state.snapshot()
        made = {}
        for j, (values, inten) in enumerate(zip(frames, intensity)):
            i = first + j
            if self.state.take_blink_request():
                self.eyes.blink_now(i)
            values = rig.clip_to_range(self.eyes.apply(values, i, snap["blinks"]))
            made[i] = LiveFrame(i, i / self.fps, self.t0, values, snap["emotion"], float(inten),
                                snap)
        self.intensity = float(intensity[-1])
        with self._ready:
            self.frames.update(made)
            self._ready.notify_all()

    def _lips_loop(self) -> None:
        try:
            while not self._stop.is_set():
                self._audio.wait(GAP_STEP_S)
                self._audio.clear()
                self.lips_step(final=self.source.ended.is_set())  # ended: all blocks written
                if self.total_frames is not None:
                    return
        except Exception:  # a bug must not leave the sender waiting forever
            log.exception("lips worker failed")
            with self._ready:
                self.total_frames = self.runner._out_next
                self._ready.notify_all()

    # ------------------------------------------------------------ intensity path
    def intensity_step(self, final: bool = False) -> None:
        """Transcribe the audio that arrived since the last step; queue committed words."""
        t = time.perf_counter()
        n = self.ring.written
        chunk = self.ring.read_mono(self._asr_pos, n)
        self._asr_pos = n
        words = self.stt.step(chunk).words
        if final:
            words += self.stt.finish()
        if words:
            self._commit(words)
        self.busy["asr"] += time.perf_counter() - t

    def _commit(self, words: list) -> None:
        from medtalk_core.streaming import prefix_word_features

        texts = [w.text for w in self._committed + words]
        ctx = self.live.word_context
        feats = prefix_word_features(self.live.text, texts, ctx, first=len(self._committed))
        centres = np.array([(w.start + w.end) / 2 for w in words], np.float32)
        self._committed = (self._committed + words)[-ctx:]
        self._words.append((feats, centres))
        tail = " ".join(w.text for w in self.stt.committed)
        self.state.transcript = tail[-self.cfg.transcript_tail:]
        self.state.changed.set()

    def _intensity_loop(self) -> None:
        step = int(self.cfg.asr_step_s * SAMPLE_RATE)
        try:  # the transcript can wait; the lips and the frame clock cannot
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), ASR_NICENESS)
        except (AttributeError, OSError):
            pass
        try:
            while not self._stop.is_set():
                ended = self.source.ended.is_set()
                if self.ring.written - self._asr_pos >= step or ended:
                    self.intensity_step(final=ended)
                    if ended:
                        return
                else:
                    self._stop.wait(0.05)
        except Exception:
            log.exception("intensity worker failed; the stream goes on without a transcript")

    # ------------------------------------------------------------ running
    def run(self) -> FrameStats:
        """Stream until the source ends or ``state.quit`` is set; returns the frame statistics.
        The caller closes the sender."""
        from threadpoolctl import threadpool_limits

        # numpy's OpenBLAS (the log-mel's matrix product) would otherwise keep a thread per core
        # spinning between the 50 small products a second: a whole core burnt
        with threadpool_limits(1):
            return self._run()

    def _run(self) -> FrameStats:
        if self.source.fast:
            return self._run_fast()
        self.warm_up()
        self.sender.wait_ready()
        self.sender.send_names()
        switch = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL_S)  # the sender thread gets the GIL in time
        self.source.start(self.callback)
        self.mono0 = self.source.mono0
        self.t0 = time.time() - (time.monotonic() - self.mono0)
        workers = [threading.Thread(target=self._lips_loop, name="lips", daemon=True),
                   threading.Thread(target=self._intensity_loop, name="intensity", daemon=True)]
        for w in workers:
            w.start()
        try:
            self._send_loop()
        finally:
            self._stop.set()
            self.source.stop()
            for w in workers:
                w.join(timeout=5)
            sys.setswitchinterval(switch)
        return self.stats

    def _run_fast(self) -> FrameStats:
        self.source.start(self.callback)
        self.mono0, self.t0 = time.monotonic(), time.time()
        step = int(self.cfg.asr_step_s * SAMPLE_RATE)
        self.sender.send_names()
        sent = 0
        while not self.state.quit.is_set():
            more = self.source.next_block()
            self._pump()
            if self.ring.written - self._asr_pos >= step or not more:
                self.intensity_step(final=not more)
            self.lips_step(final=not more)
            while sent in self.frames:
                self._send(self.frames.pop(sent), time.monotonic())
                sent += 1
            if not more:
                break
        return self.stats

    def _send_loop(self) -> None:
        i = 0
        last_state = -math.inf
        while not self.state.quit.is_set():
            deadline = self.mono0 + self.delay_s + i / self.fps
            delay = deadline - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            with self._ready:
                while i not in self.frames and not self._done(i) and not self.state.quit.is_set():
                    self._ready.wait(0.05)
                frame = self.frames.pop(i, None)
            if frame is None:
                return
            now = time.monotonic()
            if now - deadline > DROP_AFTER_S:
                self.stats.dropped += 1
            else:
                self._send(frame, now, deadline)
            if now - last_state >= self.cfg.state_interval_s or self.state.changed.is_set():
                self.state.changed.clear()
                self._send_state(frame)
                last_state = now
            i += 1

    def _done(self, i: int) -> bool:
        return self.total_frames is not None and i >= self.total_frames

    def _send(self, frame: LiveFrame, now: float, deadline: float | None = None) -> None:
        self.sender.send(frame)
        s = self.stats
        s.index.append(frame.index)
        s.sent.append(now)
        s.deadline.append(now if deadline is None else deadline)
        s.entry.append(self.entry_time(frame.index * SAMPLE_RATE // self.fps))

    def _send_state(self, frame: LiveFrame) -> None:
        packet = encode_osc_state(self.subject, frame.state, frame.intensity, frame.index)
        for sink in self.sender.sinks:
            if hasattr(sink, "send_packet"):
                sink.send_packet(packet)

    def stop(self) -> None:
        """Ask the stream to end (from a signal handler or another thread)."""
        self.state.quit.set()
