"""The live engine: wires the stages of ``bridge/`` into one stream, audio in through a callback,
rig frames out on the one 60 fps clock.

Stages (modules) and the frames they pass (:mod:`bridge.frames`)::

    source (sources) --blocks--> ingest --16 kHz ring--> lips --StreamOutput--> eyes --LiveFrame-->
    FrameTable --> clock (pacer) --LiveFrame--> sender (guard) --> sinks, recorder
                                                 clock --SentFrame--> status
    16 kHz ring --> transcript (own process) --WordBatch--> lips;   control port, hotkeys --> state

Threads and processes::

    audio callback:   copies each block into the ingest's raw ring, never blocks
    lips worker:      ingest.pump -> lips.step -> eyes -> frame table
    transcript feeder: every asr_step_s of audio -> the transcript process (bridge/asr_process.py,
                      niced; bounded queues, never blocks) -> committed words -> lips
    main thread:      clock.run: frame i leaves at mono0 + D + i / 60

The transcript process is started first, and the clock only once its models are loaded; it is
stopped when the stream ends. If it dies the stream goes on without new words (logged, counted).

``D`` (``delay_s``) is the stream's lookahead (:func:`medtalk_core.streaming.ahead_s`: the
encoder window's future audio, the interpolation onto rig frames and the model's lookahead) plus
``compute_margin_s`` (``[live] frame_delay_s`` if set). Mouth latency of frame ``i`` = its send
time minus the time its audio (sample ``i / 60 * 16000``) entered the process.

With ``fast`` (``--fast``) the same stages run in one thread as fast as possible (the
transcript in this process; its words reach the lips as soon as the step that committed them ran) and frames are
sent as they are made. Faults never stop the stream; each kind is logged once and counted
(:meth:`Engine.problems`).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path

from medtalk_core.config import Config
from medtalk_core.errors import CheckpointError

from .blinks import EyeSettings, Eyes
from .clock import FrameTable, LiveClock
from .eyes import EyesStage
from .ingest import GAP_STEP_S, SAMPLE_RATE, Ingest, InputFormat
from .lips import Lips
from .live_model import LiveModel
from .asr_process import TranscriptProcess, TranscriptSpec
from .pacer import Pacer, Sender
from .sinks import ProblemLog
from .state import LiveState
from .status import SendStats, StatusInputs
from .stream_models import STREAM_CHECKPOINT
from .transcript import Transcript

log = logging.getLogger(__name__)
logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # no line per transcription

SWITCH_INTERVAL_S = 0.0005
"""s between GIL hand-overs while streaming (Python's default 5 ms would show as jitter)."""
FEED_POLL_S = 0.05
"""s the transcript feeder waits for words between its looks at the audio."""


def load_live_model(checkpoint: str | Path | None, cfg: Config) -> LiveModel:
    """:meth:`LiveModel.load` of ``checkpoint`` (None: ``[live] checkpoint`` or the shipped stream
    model). Raises CheckpointError (missing or mismatched), ModelNotFoundError (a front-end)."""
    path = Path(checkpoint or cfg.live.checkpoint or STREAM_CHECKPOINT)
    if not path.is_file() and not checkpoint and not cfg.live.checkpoint:
        raise CheckpointError(
            f"stream model not found: {path} (make it with medtalk train --plan stream "
            "--init medtalk_core/weights/default.safetensors, or give --checkpoint)")
    return LiveModel.load(path, cfg.features, cfg.live.word_context)


class Engine:
    """One live stream from a source to a sender.

    Args:
        live: the loaded :class:`LiveModel`.
        source: a :class:`bridge.sources.FileSource` or :class:`bridge.sources.MicSource`.
        state: the control state (hotkeys and OSC control change it).
        sender: :class:`bridge.pacer.Sender` over the sinks (and the recorder); the caller
            closes it.
        cfg: the whole configuration (``[live]``, ``[rig]``).
        faults: where input faults are counted (shared with a microphone source).
        stats: where sent frames are counted (default: :class:`SendStats` with its window).
    """

    def __init__(self, live: LiveModel, source, state: LiveState, sender: Sender, cfg: Config,
                 faults: ProblemLog | None = None, stats: SendStats | None = None):
        from medtalk_core.streaming import ahead_s

        lc, fps = cfg.live, cfg.rig.fps
        self.source, self.state, self.sender = source, state, sender
        self.faults = faults or ProblemLog("input", "the stream goes on")
        fmt = InputFormat(source.sample_rate, source.channels, source.is_file)
        self.ingest = Ingest(fmt, lc.ring_s, lc.gap_s, self.faults)
        self.lips = Lips(live.model, live.encoder, state.frame_control, fps, lc.word_fade_s,
                         lc.word_horizon_s, live.meta.get("ablate"))
        self.transcript = Transcript(live.transcriber, live.text, live.word_context,
                                     lc.asr_buffer_s, lc.asr_beam_size, lc.vad_threshold,
                                     lc.transcript_tail)
        eyes = EyeSettings(lc.blinks, tuple(lc.blink_interval_s), lc.saccades,
                           tuple(lc.saccade_interval_s), lc.saccade_amplitude, lc.seed)
        self.eyes = EyesStage(Eyes(eyes, fps), state, fps)
        f = live.meta.get("features", {})
        self.ahead_s = ahead_s(f.get("hop_s", live.encoder.hop / SAMPLE_RATE),
                               f.get("lookahead_s", live.encoder.lookahead / SAMPLE_RATE),
                               self.lips.lag, fps)
        self.delay_s = lc.frame_delay_s or self.ahead_s + lc.compute_margin_s
        self.stats = stats or SendStats()
        self.table = FrameTable()
        self.pacer = Pacer(fps, self.delay_s)
        self.clock = LiveClock(self.pacer, self.table, sender, self.stats, self.ingest, state,
                               lc.state_interval_s)
        self.asr_step = int(lc.asr_step_s * SAMPLE_RATE)
        self.asr_problems = ProblemLog("transcript", "the stream goes on")
        self.asr = None if source.fast else TranscriptProcess(
            TranscriptSpec(live.features, live.word_context, lc.asr_buffer_s, lc.asr_beam_size,
                           lc.vad_threshold, lc.transcript_tail),
            lc.asr_queue, lc.asr_buffer_s, self.asr_problems)
        self.asr_timeout_s = lc.asr_start_timeout_s
        self.word_lags: list[float] = []
        """s from each committed word's centre (its audio entering) to it reaching the lips."""
        self._stop = threading.Event()

    @property
    def busy(self) -> dict[str, float]:
        """s each worker spent working (its real-time factor times the audio time): wall s of the
        lips; of the transcript wall s in fast mode, the transcript process's CPU s live."""
        asr = self.transcript.busy_s if self.asr is None else self.asr.cpu_s
        return {"lips": self.lips.busy_s, "asr": asr}

    def problems(self, *more: ProblemLog) -> dict[str, dict[str, int]]:
        """Faults counted so far: ``{name: {kind: count}}`` of the sinks, the sender, the input
        and ``more`` (e.g. the control port's)."""
        logs = (self.faults, self.asr_problems, *more)
        return {**self.sender.problems, **{p.name: dict(p.counts) for p in logs}}

    def status_inputs(self, control=None) -> StatusInputs:
        """What the status line of this stream reads (``control``: its ControlServer, if any)."""
        more = (control.problems,) if control else ()
        return StatusInputs(self.stats, self.state, lambda: self.ingest.level_db,
                            lambda: self.eyes.intensity, lambda: self.problems(*more))

    def _lips_step(self, final: bool = False) -> None:
        """Run the lips on the audio that arrived; hand the frames to the clock."""
        for out in self.lips.step(self.ingest.ring, final):
            self.table.put(self.eyes.frames(out))
        if final:
            self.table.end(self.lips.frames_made)

    def _transcript_step(self, final: bool = False) -> None:
        """Fast mode: transcribe the audio that arrived; hand committed words to the lips."""
        words = self.transcript.step(self.ingest.ring, final)
        if words is not None:
            self._offer(words, self.transcript.tail)

    def _offer(self, words, tail: str) -> None:
        now = time.monotonic()
        self.word_lags += [now - self.ingest.mono0 - float(c) for c in words.centres]
        self.lips.offer(words)
        self.state.set_transcript(tail)

    def _lips_loop(self) -> None:
        try:
            while not self._stop.is_set() and self.table.total is None:
                self.ingest.wait(GAP_STEP_S)
                self.ingest.pump()
                self._lips_step(final=self.source.ended.is_set())  # ended: all blocks written
        except Exception:  # a bug must not leave the clock waiting forever
            log.exception("lips worker failed")
            self.table.end(self.lips.frames_made)

    def _feed_loop(self) -> None:
        """Live: the audio to the transcript process every ``asr_step`` samples, its words to the
        lips (the process does the work; this thread only copies)."""
        ring, position, final = self.ingest.ring, 0, False
        try:
            while not self._stop.is_set():
                for c in self.asr.poll(FEED_POLL_S):
                    self._offer(c.batch, c.tail)
                if not final and (ring.written - position >= self.asr_step
                                  or self.source.ended.is_set()):
                    final, n = self.source.ended.is_set(), ring.written
                    self.asr.feed(ring.read_mono(position, n), final)
                    position = n
        except Exception:
            log.exception("transcript feeder failed; the stream goes on without a transcript")

    def run(self) -> SendStats:
        """Stream until the source ends or ``state.quit`` is set; returns the frame statistics."""
        from threadpoolctl import threadpool_limits

        # numpy's OpenBLAS (the log-mel's matrix product) would otherwise keep a thread per core
        # spinning between the 50 small products a second: a whole core burnt
        with threadpool_limits(1):
            if self.source.fast:
                self._run_fast()
            else:
                self._run_live()
        return self.stats

    def _start(self, mono0: float) -> None:
        self.ingest.start(mono0)
        self.eyes.t0 = self.pacer.start(mono0)

    def _run_live(self) -> None:
        self.asr.start()  # loads its models while the lips warm up
        try:
            self._run_started()
        finally:
            self.asr.stop()

    def _run_started(self) -> None:
        self.lips.warm_up(self.state.frame_control(0).label)
        self.asr.wait_ready(self.asr_timeout_s)
        self.sender.wait_ready()
        self.sender.send_names()
        switch = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL_S)  # the clock's thread gets the GIL in time
        self.source.start(self.ingest.callback)
        self._start(self.source.mono0)
        workers = [threading.Thread(target=self._lips_loop, name="lips", daemon=True),
                   threading.Thread(target=self._feed_loop, name="transcript", daemon=True)]
        for w in workers:
            w.start()
        try:
            self.clock.run()
        finally:
            self._stop.set()
            self.source.stop()
            for w in workers:
                w.join(timeout=5)
            sys.setswitchinterval(switch)

    def _run_fast(self) -> None:
        self.source.start(self.ingest.callback)
        self._start(time.monotonic())
        self.sender.send_names()
        sent = 0
        while not self.state.quit.is_set():
            more = self.source.next_block()
            self.ingest.pump()
            if self.transcript.pending(self.ingest.ring) >= self.asr_step or not more:
                self._transcript_step(final=not more)
            self._lips_step(final=not more)
            sent = self.clock.run_fast(sent)
            if not more:
                break

    def stop(self) -> None:
        """Ask the stream to end (from a signal handler or another thread)."""
        self.state.quit.set()
