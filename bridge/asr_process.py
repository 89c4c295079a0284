"""Transcript process: the live transcript (:class:`bridge.transcript.Transcript`: faster-whisper,
LocalAgreement-2, the MiniLM features of committed words) in a process of its own, so that
neither its CPU time nor the GIL it holds can stall the frame clock.

    engine (feeder thread) --audio chunks (bounded queue)--> transcript process
    engine (feeder thread) <--committed words (bounded queue)-- transcript process

The process is started with multiprocessing's ``spawn`` context (a fresh interpreter: no copy of
the parent's threads or locks), loads its models and warms them up, then says it is ready.
A process that fell behind transcribes all the audio queued in one pass. The parent never
blocks on it: a full audio queue keeps the chunk and sends it joined with the
next one (counted, "audio coalesced"); more than ``max_pending_s`` of unsent audio drops the
oldest (counted, "audio dropped"). The process runs at a lower priority (niceness
``ASR_NICENESS``), ignores Ctrl-C (the parent stops it), and exits when the parent asks, when its
parent is gone, or on an error (reported once to the parent, which goes on without words).
"""

from __future__ import annotations

from dataclasses import dataclass
import logging
import multiprocessing as mp
import multiprocessing.util
import os
import queue
import signal
import time

import numpy as np

from medtalk_core.config import FeaturesConfig

from .frames import WordBatch
from .sinks import ProblemLog

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
ASR_NICENESS = 10
"""Niceness of the transcript process, below the lips and the frame clock."""
PARENT_CHECK_S = 0.5
"""s between the process's checks that its parent is still there."""
STOP_WAIT_S = 0.2
"""s the parent waits for the process to exit when asked before it terminates it (it holds no
state worth a wait: a stream's end is not held up by a transcription under way)."""
KILL_WAIT_S = 2.0
"""s the parent waits for a terminated process before it kills it."""


@dataclass(frozen=True)
class TranscriptSpec:
    """What the transcript process builds: the ``features`` front-ends (``[features]`` as the
    stream model was trained, :func:`medtalk_core.frontend.trained_features`), ``word_context``
    words per prefix feature run, and :class:`bridge.transcript.Transcript`'s ``buffer_s``,
    ``beam_size``, ``vad_threshold``, ``tail_chars``."""

    features: FeaturesConfig
    word_context: int
    buffer_s: float
    beam_size: int
    vad_threshold: float
    tail_chars: int


@dataclass(frozen=True)
class Committed:
    """Words the process committed: ``batch`` for the lips, ``tail`` the transcript's end (text),
    ``cpu_s`` the process's CPU time so far."""

    batch: WordBatch
    tail: str
    cpu_s: float


def _main(spec: TranscriptSpec, audio: mp.Queue, out: mp.Queue) -> None:
    """The process's target: :func:`_serve`, then its last message flushed to the parent and a
    quick exit (no interpreter teardown of torch and CTranslate2: the stream's end is not held
    up)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _name_process()
    try:
        os.nice(ASR_NICENESS)
    except OSError:
        pass
    _die_with_parent()
    parent = os.getppid()
    _serve(spec, audio, out, parent)
    if os.getppid() == parent:
        out.close()
        out.join_thread()
    mp.util._exit_function()  # what a process's own end runs: its semaphores unregistered
    os._exit(0)


PROCESS_NAME = "medtalk-asr"
"""The transcript process's name in ``top``, ``ps -L`` and ``/proc/PID/comm``."""


def _name_process() -> None:
    try:
        with open("/proc/self/comm", "w") as f:
            f.write(PROCESS_NAME)
    except OSError:  # not Linux: the name is cosmetic
        pass


def _serve(spec: TranscriptSpec, audio: mp.Queue, out: mp.Queue, parent: int) -> None:
    """Load, warm up, say ready, then transcribe each ``(chunk, final)`` until None, a
    ``final`` chunk, or the exit of the process ``parent``."""
    try:
        transcript = _load(spec)
        _send(out, ("ready", time.process_time()), parent)
        while True:
            try:
                item = audio.get(timeout=PARENT_CHECK_S)
            except queue.Empty:
                if os.getppid() != parent:
                    return
                continue
            if item is None:
                return
            chunk, final = _drain(audio, item)
            if chunk is None:
                return
            batch = transcript.step_audio(chunk, final)
            if batch is not None:
                _send(out, ("words", Committed(batch, transcript.tail, time.process_time())),
                      parent)
            if final:
                return
    except Exception as e:  # reported to the parent, which goes on without words
        _send(out, ("error", f"{type(e).__name__}: {e}"), parent)
    finally:
        _send(out, ("cpu", time.process_time()), parent)


def _drain(audio: mp.Queue, item: tuple) -> tuple:
    """``item`` joined with the chunks queued behind it (a process that fell behind catches up
    with one pass, not one per chunk): ``(chunk, final)``, chunk None if asked to stop."""
    chunks, final = [item[0]], item[1]
    while not final:
        try:
            more = audio.get_nowait()
        except queue.Empty:
            break
        if more is None:
            return None, True
        chunks.append(more[0])
        final = more[1]
    return np.concatenate(chunks), final


def _send(out: mp.Queue, message: tuple, parent: int) -> None:
    """Put ``message`` on the full-able ``out`` queue, giving up once the parent is gone."""
    while os.getppid() == parent:
        try:
            out.put(message, timeout=PARENT_CHECK_S)
            return
        except queue.Full:
            pass


def _die_with_parent() -> None:
    """Linux: the kernel kills this process when its parent exits (even by SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _load(spec: TranscriptSpec):
    import torch
    from threadpoolctl import threadpool_limits

    from medtalk_core.asr import Transcriber
    from medtalk_core.backbones import text_encoder

    from .transcript import Transcript

    torch.set_num_threads(1)
    threadpool_limits(1)
    f = spec.features
    transcript = Transcript(Transcriber.from_config(f), text_encoder(f), spec.word_context,
                            spec.buffer_s, spec.beam_size, spec.vad_threshold, spec.tail_chars)
    transcript.warm_up()
    return transcript


class TranscriptProcess:
    """The parent's side of the transcript process.

    Args:
        spec: what the process builds.
        queue_size: audio chunks (and results) at most in flight each way.
        max_pending_s: s of audio at most kept while the audio queue is full.
        problems: where faults are counted ("audio coalesced", "audio dropped",
            "transcript process died", "transcript failed", "transcript not ready").
    """

    def __init__(self, spec: TranscriptSpec, queue_size: int, max_pending_s: float,
                 problems: ProblemLog):
        ctx = mp.get_context("spawn")
        self._audio, self._out = ctx.Queue(queue_size), ctx.Queue(queue_size)
        for q in (self._audio, self._out):
            q.cancel_join_thread()  # exiting never waits for a process that stopped reading
        self.process = ctx.Process(target=_main, args=(spec, self._audio, self._out),
                                   name="medtalk-transcript", daemon=True)
        self.problems, self.max_pending = problems, int(max_pending_s * SAMPLE_RATE)
        self.cpu_s = 0.0
        """CPU s the process has used (as it last reported)."""
        self.ready = False
        self._pending: list[np.ndarray] = []
        self._stopping = False

    def start(self) -> None:
        """Start the process (it loads its models; :meth:`wait_ready` waits for them)."""
        self.process.start()

    def wait_ready(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the models to load; False (logged, counted): no
        transcript for this stream."""
        deadline = time.monotonic() + timeout_s
        while not self.ready and self.process.is_alive() and time.monotonic() < deadline:
            self.poll(wait_s=0.1)
        if not self.ready:
            self.problems.note("transcript not ready", f"after {timeout_s:.0f} s")
            self.stop()
        return self.ready

    def feed(self, chunk: np.ndarray, final: bool = False) -> None:
        """Send float32 ``(n,)`` 16 kHz samples (those after the last ones sent); never blocks."""
        if self._stopping:
            return
        self._pending.append(np.asarray(chunk, np.float32))
        audio = np.concatenate(self._pending)
        if len(audio) > self.max_pending:
            self.problems.note("audio dropped", "the transcript process is behind")
            audio = audio[-self.max_pending:]
        try:
            self._audio.put_nowait((audio, final))
            self._pending = []
        except queue.Full:
            self.problems.note("audio coalesced", "the transcript process is behind")
            self._pending = [audio]

    def poll(self, wait_s: float = 0.0) -> list[Committed]:
        """The words committed since the last call (waits up to ``wait_s`` for the first
        message); notes a dead process once."""
        got = []
        try:
            while True:
                kind, value = self._out.get(timeout=wait_s) if wait_s else self._out.get_nowait()
                wait_s = 0.0
                if kind == "words":
                    got.append(value)
                    self.cpu_s = value.cpu_s
                elif kind == "ready":
                    self.ready, self.cpu_s = True, value
                elif kind == "cpu":
                    self.cpu_s = value
                else:
                    self.problems.note("transcript failed", value)
        except queue.Empty:
            pass
        if not self._stopping and self.process.pid is not None and not self.process.is_alive():
            self.problems.note("transcript process died",
                               f"exit code {self.process.exitcode}; the words stop")
            self._stopping = True
        return got

    def stop(self) -> None:
        """Ask the process to exit; terminate it if it does not within ``STOP_WAIT_S`` (kill it
        if that does not work within ``KILL_WAIT_S``). Returns once it has ended (reaped)."""
        self._stopping = True
        if self.process.pid is None:  # never started
            return
        if self.process.is_alive():
            try:
                self._audio.put_nowait(None)
            except queue.Full:
                self.process.terminate()
            self.process.join(STOP_WAIT_S)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(KILL_WAIT_S)
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        if self.process.exitcode == 0:  # a killed process may have left half a message
            self.poll()
