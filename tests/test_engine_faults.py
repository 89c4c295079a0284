"""Input faults of a live stream (bridge/ingest.py, bridge/sources.py): a microphone that only
records at 48 kHz, overruns, clipping, and a device that disappears and comes back. PortAudio
has no device on a test machine, so a scripted stand-in for the sounddevice module plays one: it
delivers 48 kHz blocks from a thread, as PortAudio's callback does, and can be unplugged."""

from dataclasses import replace
import threading
import time

import numpy as np
import pytest
from test_engine import Capture, stream_checkpoint  # noqa: F401 (fixture)

from bridge import sources
from bridge.engine import Engine, load_live_model
from bridge.pacer import Sender
from bridge.sinks import ProblemLog
from bridge.state import LiveState
from medtalk_core.config import load_config

RATE = 48000


class PortAudioError(Exception):
    pass


class FakeDevice:
    """A 48 kHz microphone: a 200 Hz tone, clipped in its first second, one overrun flag."""

    plugged = True
    opened = 0

    class InputStream:
        def __init__(self, device, channels, samplerate, dtype, blocksize, latency, callback):
            if not FakeDevice.plugged:
                raise PortAudioError("device unavailable")
            assert samplerate == RATE and channels == 1
            self.callback, self.blocksize = callback, blocksize
            self.active = False
            self._n = 0
            FakeDevice.opened += 1

        def start(self):
            self.active = True
            threading.Thread(target=self._run, daemon=True).start()

        def _run(self):
            t0 = time.monotonic()
            while self.active and FakeDevice.plugged:
                due = t0 + (self._n + self.blocksize) / RATE
                time.sleep(max(0.0, due - time.monotonic()))
                t = (self._n + np.arange(self.blocksize)) / RATE
                block = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)[:, None]
                if self._n < RATE:
                    block *= 5.0
                status = type("S", (), {"input_overflow": self._n == 10 * self.blocksize})()
                self.callback(np.clip(block, -1, 1), self.blocksize, None, status)
                self._n += self.blocksize
            self.active = False

        def close(self, ignore_errors=True):
            self.active = False

    PortAudioError = PortAudioError

    @staticmethod
    def query_devices(device=None, kind=None):
        info = {"index": 0, "name": "Fake USB mic", "max_input_channels": 1,
                "default_samplerate": float(RATE), "hostapi": 0}
        return info if kind else [info]

    @staticmethod
    def query_hostapis():
        return [{"name": "ALSA"}]

    @staticmethod
    def check_input_settings(device, channels, samplerate, dtype):
        if samplerate != RATE:
            raise PortAudioError("Invalid sample rate")

    default = type("D", (), {"device": [0, 0]})()

    @staticmethod
    def _terminate():
        pass

    @staticmethod
    def _initialize():
        pass


def test_mic_faults_are_counted_and_the_stream_goes_on(monkeypatch, stream_checkpoint):  # noqa: F811
    monkeypatch.setattr(sources, "_sounddevice", lambda: FakeDevice)
    FakeDevice.plugged, FakeDevice.opened = True, 0
    cfg = load_config()
    cfg = replace(cfg, live=replace(cfg.live, retry_s=0.1))
    live = load_live_model(stream_checkpoint, cfg)
    state = LiveState(live.labels, "happy", 18)
    problems = ProblemLog("input", "the stream goes on")
    mic = sources.MicSource(sources.resolve_device("Fake"), 160, cfg.live.retry_s, problems)
    assert (mic.sample_rate, mic.blocksize) == (RATE, 480)  # no 16 kHz: resampled
    capture = Capture()
    engine = Engine(live, mic, state, Sender([capture]), cfg, faults=problems)

    def operate():
        deadline = time.monotonic() + 30
        while len(capture.frames) < 90 and time.monotonic() < deadline:  # 1.5 s of frames
            time.sleep(0.01)
        FakeDevice.plugged = False   # unplugged for 1 s
        time.sleep(1.0)
        FakeDevice.plugged = True
        time.sleep(1.5)
        state.quit.set()

    t = threading.Thread(target=operate)
    t.start()
    engine.run()
    t.join()
    sent = np.array([mono for mono, _ in capture.frames])
    index = [f.index for _, f in capture.frames]
    assert index == list(range(len(index))) and len(index) > 3.0 * 60
    assert np.diff(sent).max() < 0.25  # frames went on while the device was away (gap_s)
    counts = problems.counts
    assert counts["input device lost; retrying until it is back"] >= 1
    assert counts["input gap (no audio arriving): silence inserted"] >= 1
    assert counts["input clipping"] >= 1  # the first second of each opening is clipped
    assert counts["input overrun (samples lost)"] == FakeDevice.opened  # one per opening
    assert FakeDevice.opened >= 2  # reopened once it was back
    audio_s = engine.ingest.ring.written / 16000  # audio time follows wall time through the gap
    assert audio_s == pytest.approx(time.monotonic() - engine.ingest.mono0, abs=0.3)
