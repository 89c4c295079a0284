"""Audio inputs of the live engine: a microphone (sounddevice / PortAudio) and a file played as if
it were one. Both deliver blocks through the same callback, with sounddevice's signature::

    callback(indata, frames, time_info, status)   # indata float32 (frames, channels)

The callback (:meth:`bridge.ingest.Ingest.callback`) only copies the block into a ring buffer.
Both sources say what they are (``is_file``: a file keeps its own time, a microphone's clock is
followed and its gaps filled) and whether they run as fast as possible (``fast``).

* :class:`FileSource` feeds a 16 kHz clip in blocks of ``blocksize`` samples: at real-time pace
  (block ``b`` is delivered at ``t0 + (b + 1) * blocksize / 16000``, when a microphone would
  have captured it) or, with ``fast``, as fast as the engine takes them.
* :class:`MicSource` opens a sounddevice input stream. A device that cannot do 16 kHz is opened
  at its default rate (the engine resamples); a device that disappears is reopened every
  ``retry_s`` until it is back or the stream is stopped (the engine fills the gap with silence).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from medtalk_core.errors import MedtalkError

log = logging.getLogger(__name__)

Callback = Callable[[np.ndarray, int, object, object], None]


@dataclass
class BlockTime:
    """The ``time_info`` a :class:`FileSource` passes (PortAudio's has the same attribute)."""

    inputBufferAdcTime: float


@dataclass
class BlockStatus:
    """The ``status`` a :class:`FileSource` passes: never an overflow."""

    input_overflow: bool = False


class FileSource:
    """A 16 kHz mono clip delivered block by block through the engine's callback.

    Args:
        audio: float32 ``(N,)`` samples at 16 kHz.
        blocksize: samples per block.
        fast: deliver blocks without waiting (the engine asks for them, see :meth:`next_block`).
    """

    sample_rate = 16000
    channels = 1
    is_file = True

    def __init__(self, audio: np.ndarray, blocksize: int = 160, fast: bool = False):
        self.audio = np.ascontiguousarray(audio, np.float32).reshape(-1, 1)
        self.blocksize, self.fast = blocksize, fast
        self.name = "file"
        self.ended = threading.Event()
        self.mono0 = float("nan")
        """``time.monotonic()`` of audio time 0 (real-time mode)."""
        self._pos = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._callback: Callback | None = None

    @property
    def total(self) -> int:
        return len(self.audio)

    def start(self, callback: Callback) -> None:
        """Start delivering (real time: from a thread, audio time 0 is now)."""
        self._callback = callback
        if not self.fast:
            self.mono0 = time.monotonic()
            self._thread = threading.Thread(target=self._play, name="file-source", daemon=True)
            self._thread.start()

    def next_block(self) -> bool:
        """Fast mode: deliver the next block now; False once the clip has ended."""
        if self._pos >= self.total:
            self.ended.set()
            return False
        self._deliver(time.monotonic())
        return True

    def _deliver(self, when: float) -> None:
        block = self.audio[self._pos:self._pos + self.blocksize]
        self._pos += len(block)
        self._callback(block, len(block), BlockTime(when), BlockStatus())

    def _play(self) -> None:
        while self._pos < self.total and not self._stop.is_set():
            due = self.mono0 + (self._pos + self.blocksize) / self.sample_rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._deliver(due)
        self.ended.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def _sounddevice():
    try:
        import sounddevice
    except OSError as e:  # the PortAudio library is missing
        raise MedtalkError(f"audio input unavailable: {e} (Debian: apt-get install libportaudio2)"
                           ) from None
    return sounddevice


def input_devices() -> list[dict]:
    """The input devices PortAudio knows: dicts with index, name, channels, rate (Hz), hostapi,
    default (bool).

    Raises:
        MedtalkError: PortAudio is not installed.
    """
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
        default_in = sd.default.device[0]
        apis = sd.query_hostapis()
    except sd.PortAudioError as e:
        raise MedtalkError(f"cannot list audio devices: {e}") from None
    return [{"index": d["index"], "name": d["name"], "channels": d["max_input_channels"],
             "rate": d["default_samplerate"], "hostapi": apis[d["hostapi"]]["name"],
             "default": d["index"] == default_in}
            for d in devices if d["max_input_channels"] > 0]


def resolve_device(spec: str | None) -> int | None:
    """A device given by index or by part of its name -> its index (None: the default input).

    Raises:
        MedtalkError: no input device at all, or none matching ``spec``.
    """
    devices = input_devices()
    if not devices:
        raise MedtalkError("no audio input device found (medtalk devices lists them)")
    if spec is None or spec == "":
        return None
    if spec.isdigit():
        if any(d["index"] == int(spec) for d in devices):
            return int(spec)
        raise MedtalkError(f"no input device with index {spec} (medtalk devices lists them)")
    hits = [d for d in devices if spec.lower() in d["name"].lower()]
    if not hits:
        raise MedtalkError(f"no input device named like {spec!r} (medtalk devices lists them)")
    return hits[0]["index"]


class MicSource:
    """A microphone through sounddevice, reopened whenever it disappears.

    Args:
        device: PortAudio device index, None for the default input.
        blocksize: frames per callback at 16 kHz (scaled to the device rate if it differs).
        retry_s: s between attempts to reopen a lost device.
        problems: ``note(kind)`` for faults (``bridge.sinks.ProblemLog``).
    """

    channels = 1
    is_file = False

    def __init__(self, device: int | None, blocksize: int, retry_s: float, problems):
        self.sd = _sounddevice()
        self.device, self.retry_s, self.problems = device, retry_s, problems
        info = self.sd.query_devices(device, "input")
        self.name = info["name"]
        self.sample_rate = self._rate(info)
        self.blocksize = round(blocksize * self.sample_rate / 16000)
        self.fast = False
        self.ended = threading.Event()
        self.mono0 = float("nan")
        self._stop = threading.Event()
        self._callback: Callback | None = None
        self._stream = None
        self._watch: threading.Thread | None = None

    def _rate(self, info: dict) -> int:
        try:
            self.sd.check_input_settings(self.device, channels=1, samplerate=16000,
                                         dtype="float32")
            return 16000
        except (self.sd.PortAudioError, ValueError):
            rate = int(info["default_samplerate"])
            log.warning("%s: no 16 kHz input; recording at %d Hz and resampling", self.name, rate)
            return rate

    def _open(self) -> None:
        self._stream = self.sd.InputStream(
            device=self.device, channels=1, samplerate=self.sample_rate, dtype="float32",
            blocksize=self.blocksize, latency="low", callback=self._callback)
        self._stream.start()

    def start(self, callback: Callback) -> None:
        """Open the device and start the callback; a watcher thread reopens it if it is lost.

        Raises:
            MedtalkError: the device cannot be opened at start.
        """
        self._callback = callback
        try:
            self._open()
        except self.sd.PortAudioError as e:
            raise MedtalkError(f"cannot open input device {self.name!r}: {e}") from None
        self.mono0 = time.monotonic()
        self._watch = threading.Thread(target=self._keep_open, name="mic-watch", daemon=True)
        self._watch.start()

    def _keep_open(self) -> None:
        while not self._stop.wait(0.2):
            if self._stream is not None and self._stream.active:
                continue
            self.problems.note("input device lost; retrying until it is back")
            try:
                if self._stream is not None:
                    self._stream.close(ignore_errors=True)
                self._stream = None
                self.sd._terminate()  # PortAudio lists devices only when (re)initialised
                self.sd._initialize()
                self._open()
                log.info("input device %r is back", self.name)
            except (self.sd.PortAudioError, OSError, ValueError):
                self._stop.wait(self.retry_s)

    def stop(self) -> None:
        self._stop.set()
        if self._watch is not None:
            self._watch.join()
        if self._stream is not None:
            self._stream.close(ignore_errors=True)
        self.ended.set()
