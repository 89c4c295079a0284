"""The live engine (bridge/engine.py and its stages) driven from a file through the audio callback path:
frames at 60 fps with the stream state, live control within the blend time, the recorder after
SIGTERM, a dead listener. The model is a randomly initialised stream checkpoint: these tests
check the engine, not a trained model's quality."""

from dataclasses import replace
import json
import math
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import soundfile as sf
from pythonosc.udp_client import SimpleUDPClient
from test_stream import OscListener, drain, free_port, subscriber

from bridge import protocol
from bridge.engine import Engine, load_live_model
from bridge.pacer import Sender
from bridge.sources import FileSource
from bridge.state import LiveState
from medtalk_core import rig
from medtalk_core.config import load_config
from medtalk_core.rigio import read_rig

SPEECH = "/usr/share/codec2/raw/speech_orig_16k.wav"
FPS = rig.FPS


@pytest.fixture(scope="module")
def stream_checkpoint(tmp_path_factory):
    """A freshly initialised stream model ([live] model lookahead and feature geometry)."""
    import torch

    from medtalk_core.checkpoint import save
    from medtalk_core.model import MEDTalk

    cfg = load_config()
    torch.manual_seed(0)
    live = cfg.live
    model = MEDTalk(replace(cfg.model, lookahead_frames=live.model_lookahead_frames))
    path = tmp_path_factory.mktemp("ckpt") / "stream.safetensors"
    save(model, path, {"features": {k: getattr(live, k) for k in ("window_s", "hop_s", "lookahead_s")}})
    return str(path)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """2.5 s of real English speech (Harvard sentences, codec2-examples)."""
    x, sr = sf.read(SPEECH, dtype="float32")
    path = tmp_path_factory.mktemp("audio") / "speech.wav"
    sf.write(path, x[: int(2.5 * sr)], sr)
    return str(path), int(2.5 * sr) * FPS // sr


def stream(*args, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "medtalk.cli", "stream", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_file_through_the_engine_sends_every_frame_at_60fps_with_state(clip, stream_checkpoint):
    path, n_frames = clip
    osc = OscListener()
    states = []
    osc.server.dispatcher.map("/medtalk/state", lambda _, *a: states.append(a))
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    sub = subscriber(endpoint)
    try:
        p = stream("--file", path, "--emotion", "sad", "--osc", f"127.0.0.1:{osc.port}",
                   "--zmq", endpoint, "--checkpoint", stream_checkpoint, "--control",
                   "127.0.0.1:0")
        _, err = p.communicate(timeout=120)
    finally:
        osc.stop()
    messages = drain(sub)
    assert p.returncode == 0, err
    assert [a[1] for _, _, a in osc.frames] == list(range(n_frames))
    arrivals = np.array([mono for mono, _, _ in osc.frames])
    assert arrivals[-1] - arrivals[0] >= 0.9 * (n_frames - 1) / FPS  # paced, not all at once
    frames = [protocol.decode_zmq_frame(m) for m in messages if m[0] == b"frame"]
    assert [h["frame"] for h, _ in frames] == list(range(n_frames))
    header = frames[-1][0]
    assert header["emotion"] == "sad" and header["intensity_scale"] == 1.0
    assert header["frozen"] is False and header["blinks"] is True
    assert isinstance(header["transcript"], str)
    # no frame leaves before its audio entered (the delay itself is a benchmark figure)
    delay = [unix - (h["t0"] + h["t"]) for (h, _), (_, unix, _) in zip(frames, osc.frames)]
    assert min(delay) > 0
    assert len(states) >= 10  # ten a second
    subject, emotion, intensity, _tail, scale, frozen, blinks, index = states[-1]
    assert (subject, emotion, scale, frozen, blinks) == ("MEDTalk", "sad", 1.0, 0, 1)
    assert math.isfinite(intensity) and 0 <= index < n_frames


class Capture:
    """A sink keeping every frame it is given (the engine's sender sends it what it sends)."""

    name, ready_at = "capture", 0.0

    def __init__(self):
        self.frames, self.problems = [], {}

    def send_frame(self, frame):
        self.frames.append((time.monotonic(), frame))

    def send_names(self):
        pass

    def send_state(self, frame):
        pass

    def close(self):
        pass


def test_hotkey_and_osc_control_reach_the_frames_within_the_blend_time(clip, stream_checkpoint):
    from bridge.controls import ControlServer

    cfg = load_config()
    blend_frames = round(cfg.live.blend_s * FPS)
    live = load_live_model(stream_checkpoint, cfg)
    state = LiveState(live.labels, "neutral", blend_frames)
    control = ControlServer("127.0.0.1:0").start(state)
    capture = Capture()
    x, _ = sf.read(clip[0], dtype="float32")
    engine = Engine(live, FileSource(x), state, Sender([capture]), cfg)
    marks, ended = {}, threading.Event()

    def operate():
        while len(capture.frames) < 40 and not ended.is_set():
            time.sleep(0.005)
        marks["key"] = time.monotonic()
        state.key("7")  # surprise
        client = SimpleUDPClient("127.0.0.1", control.port)
        client.send_message("/medtalk/intensity", 0.5)
        client.send_message("/medtalk/no-such-thing", 1)
        marks["osc"] = time.monotonic()

    t = threading.Thread(target=operate)
    t.start()
    try:
        engine.run()
    finally:
        ended.set()
        t.join()
    control.close()
    frames = [(mono, f) for mono, f in capture.frames]
    assert frames[0][1].emotion == "neutral"
    first_new = next(mono for mono, f in frames if f.emotion == "surprise")
    assert marks["key"] < first_new < marks["key"] + engine.delay_s + 3 / FPS
    # within the blend time (plus the frames already computed: the frame delay) the change is
    # complete: the scale is 0.5 and the label embedding is the new one
    limit = marks["osc"] + cfg.live.blend_s + engine.delay_s + 0.05
    done = [f for mono, f in frames if mono > limit]
    assert done and all(f.state["intensity_scale"] == 0.5 for f in done)
    assert all(f.emotion == "surprise" for f in done)
    moving = [f.state["intensity_scale"] for mono, f in frames if marks["osc"] < mono <= limit]
    assert moving[0] > 0.5 and np.all(np.diff(moving) <= 1e-9)  # blends down, no jump
    assert control.problems.counts["unknown control address"] == 1


def test_recorder_is_complete_after_sigterm(tmp_path, clip, stream_checkpoint):
    path, n_frames = clip
    osc = OscListener()
    out = tmp_path / "rec.json"
    p = stream("--file", path, "--emotion", "happy", "--osc", f"127.0.0.1:{osc.port}",
               "--record", str(out), "--checkpoint", stream_checkpoint, "--no-control")
    try:
        deadline = time.monotonic() + 60
        while len(osc.frames) < 30 and time.monotonic() < deadline:
            time.sleep(0.01)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
    finally:
        osc.stop()
    assert p.returncode == 0, err
    frames = read_rig(out)
    sent = [args for _, _, args in osc.frames]
    assert 30 <= len(frames) == len(sent) < n_frames
    np.testing.assert_allclose(frames, np.float32([a[3:] for a in sent]), atol=1e-6)
    assert json.loads(out.read_text())["fps"] == FPS


def test_dead_listener_does_not_stop_the_stream(tmp_path, clip, stream_checkpoint):
    path, n_frames = clip
    out = tmp_path / "rec.txt"
    p = stream("--file", path, "--fast", "--emotion", "angry", "--osc",
               f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}", "--record", str(out),
               "--checkpoint", stream_checkpoint, "--no-control")
    _, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert len(read_rig(out)) == n_frames
    assert err.count("no listener (connection refused) (packet dropped") == 1


def test_fast_mode_records_every_frame(tmp_path, clip, stream_checkpoint):
    path, n_frames = clip
    out = tmp_path / "fast.csv"
    p = stream("--file", path, "--fast", "--emotion", "fear", "--no-osc", "--record", str(out),
               "--checkpoint", stream_checkpoint, "--no-control")
    _, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    frames = read_rig(out)
    assert frames.shape == (n_frames, rig.NUM_CONTROLS) and np.isfinite(frames).all()
    assert (frames >= rig.RANGES[:, 0]).all() and (frames <= rig.RANGES[:, 1]).all()


class StateCapture(Capture):
    """A Capture that also keeps the frames whose state the clock sends."""

    def __init__(self):
        super().__init__()
        self.states = []

    def send_state(self, frame):
        self.states.append(frame)


def test_non_finite_model_output_never_reaches_the_wire_or_the_recording(
        tmp_path, monkeypatch, clip, stream_checkpoint):
    from bridge.recorder import Recorder
    from medtalk_core.streaming import StreamingModel, StreamOutput

    push = StreamingModel.push
    bad_values, bad_intensity = {20, 21, 50}, set(range(30, 48))

    def faulty_push(self, rows):  # a model fault: NaN in some frames, inf intensity in others
        out = push(self, rows)
        values, intensity = out.rig.copy(), out.intensity.copy()
        for j in range(len(values)):
            if out.first + j in bad_values:
                values[j, ::7] = np.nan
            if out.first + j in bad_intensity:
                intensity[j] = np.inf
        return StreamOutput(out.first, values, intensity)

    monkeypatch.setattr(StreamingModel, "push", faulty_push)
    cfg = load_config()
    live = load_live_model(stream_checkpoint, cfg)
    state = LiveState(live.labels, "happy", 18)
    capture, out = StateCapture(), tmp_path / "rec.txt"
    recorder = Recorder(out)
    sender = Sender([capture, recorder])
    x, _ = sf.read(clip[0], dtype="float32")
    Engine(live, FileSource(x), state, sender, cfg).run()
    recorder.close()
    frames = [f for _, f in capture.frames]
    assert [f.index for f in frames] == list(range(clip[1]))
    assert all(np.isfinite(f.values).all() and math.isfinite(f.intensity) for f in frames)
    np.testing.assert_array_equal(frames[20].values, frames[19].values)  # the last finite one
    np.testing.assert_array_equal(frames[21].values, frames[19].values)
    assert all(f.intensity == frames[29].intensity for f in frames[30:48])
    assert capture.states and all(math.isfinite(f.intensity) for f in capture.states)
    recorded = read_rig(out)
    assert np.isfinite(recorded).all() and len(recorded) == len(frames)
    np.testing.assert_allclose(recorded[20], recorded[19], atol=1e-6)
    assert sender.problems["sender"] == {
        "non-finite rig values (frame replaced by the last finite one)": 3,
        "non-finite intensity (replaced by the last finite one)": 18}
