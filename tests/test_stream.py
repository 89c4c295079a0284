"""``medtalk stream --file`` against a python-osc listener and a ZeroMQ SUB socket, and the
sender's behaviour without listeners (bridge/stream.py, pacer.py, sinks.py)."""

import logging
import math
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import soundfile as sf
import zmq
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer

from bridge import protocol
from bridge.pacer import Pacer, Sender, play
from bridge.sinks import OscSink, ZmqSink
from medtalk_core import rig

SPEECH = "/usr/share/codec2/raw/speech_orig_16k.wav"
FPS = rig.FPS


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 with nothing bound to it (just now)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OscListener:
    """python-osc server on 127.0.0.1 recording (monotonic s, Unix s, args) per message."""

    def __init__(self):
        self.frames, self.names = [], []
        dispatcher = Dispatcher()
        dispatcher.map("/medtalk/frame", lambda _, *a: self.frames.append(self._stamp(a)))
        dispatcher.map("/medtalk/names", lambda _, *a: self.names.append(self._stamp(a)))
        self.server = BlockingOSCUDPServer(("127.0.0.1", 0), dispatcher)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def _stamp(args):
        return time.monotonic(), time.time(), args

    def stop(self):
        count = -1
        while count != len(self.frames) + len(self.names):  # until the socket is drained
            count = len(self.frames) + len(self.names)
            time.sleep(0.2)
        self.server.shutdown()
        self.server.server_close()


def subscriber(endpoint: str) -> zmq.Socket:
    """A SUB socket connecting to ``endpoint`` before the bridge binds it; ZeroMQ retries the
    connection every 20 ms, so it has joined before the bridge's first frame."""
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.setsockopt(zmq.RECONNECT_IVL, 20)
    sub.setsockopt(zmq.LINGER, 0)
    sub.connect(endpoint)
    return sub


def drain(sub: zmq.Socket) -> list[list[bytes]]:
    messages = []
    while sub.poll(500):
        messages.append(sub.recv_multipart())
    sub.close()
    return messages


def run_stream(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "medtalk.cli", "stream", *args],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A freshly initialised MEDTalk checkpoint: the stream test needs the real inference path,
    not trained weights."""
    import torch

    from medtalk_core.checkpoint import save
    from medtalk_core.config import load_config
    from medtalk_core.model import MEDTalk

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "init.safetensors"
    save(MEDTalk(load_config().model), path, {"features": {}})
    return str(path)


def speech_clip(folder, seconds: float) -> tuple[str, int]:
    """The first ``seconds`` of real English speech; returns (path, expected frame count)."""
    audio, sr = sf.read(SPEECH, dtype="float32")
    n = int(seconds * sr)
    path = folder / f"speech_{seconds}s.wav"
    sf.write(path, audio[:n], sr)
    return str(path), n * FPS // sr


def test_stream_file_sends_every_frame_at_60fps_over_osc_and_zmq(tmp_path):
    """The shipped stream model through the live engine: every frame, paced, on time."""
    clip, n_frames = speech_clip(tmp_path, 1.5)
    osc = OscListener()
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    sub = subscriber(endpoint)
    try:
        result = run_stream("--file", clip, "--emotion", "happy", "--osc", f"127.0.0.1:{osc.port}",
                            "--zmq", endpoint, "--no-control")
    finally:
        osc.stop()
    zmq_messages = drain(sub)
    assert result.returncode == 0, result.stderr

    # OSC: every frame, in order, with its time, subject and 174 finite values.
    assert n_frames == 90
    assert [args[1] for _, _, args in osc.frames] == list(range(n_frames))
    for _, _, (subject, index, t, *values) in osc.frames:
        assert subject == "MEDTalk" and t == index / FPS
        assert len(values) == rig.NUM_CONTROLS and all(math.isfinite(v) for v in values)
    assert len(osc.names) >= 2  # at the start and once a second over 1.5 s
    assert all(list(args) == ["MEDTalk", *rig.CONTROL_NAMES] for _, _, args in osc.names)
    assert osc.names[0][0] <= osc.frames[0][0]

    # Pacing: the stream lasts at least as long as the audio (its precision is a benchmark
    # figure: docs/benchmarks.md).
    arrivals = np.array([mono for mono, _, _ in osc.frames])
    assert arrivals[-1] - arrivals[0] >= 0.9 * (n_frames - 1) / FPS

    # ZeroMQ: names first, then the same frames, with t0 such that frame i left at t0 + i/60.
    assert zmq_messages[0] == protocol.encode_zmq_names()
    names = [m for m in zmq_messages if m[0] == b"names"]
    assert len(names) >= 2 and all(protocol.decode_zmq_names(m) == list(rig.CONTROL_NAMES)
                                   for m in names)
    frames = [protocol.decode_zmq_frame(m) for m in zmq_messages if m[0] == b"frame"]
    assert [h["frame"] for h, _ in frames] == list(range(n_frames))
    assert len({h["t0"] for h, _ in frames}) == 1
    t0 = frames[0][0]["t0"]
    for (header, values), (_, unix, (_, _, _, *osc_values)) in zip(frames, osc.frames):
        assert header["subject"] == "MEDTalk" and header["emotion"] == "happy"
        assert header["t"] == header["frame"] / FPS and math.isfinite(header["intensity"])
        np.testing.assert_array_equal(values, np.float32(osc_values))
    # frame i leaves at t0 + D + i/60, D = the model's lookahead plus a compute margin: never
    # before its audio (the mouth latency is a benchmark figure)
    late = [unix - (t0 + h["t"]) for (h, _), (_, unix, _) in zip(frames, osc.frames)]
    assert min(late) > 0


def test_stream_file_survives_a_dead_osc_listener(tmp_path, checkpoint):
    clip, n_frames = speech_clip(tmp_path, 0.5)
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    sub = subscriber(endpoint)
    result = run_stream("--file", clip, "--emotion", "sad", "--osc",
                        f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}", "--zmq", endpoint,
                        "--checkpoint", checkpoint)
    messages = drain(sub)
    assert result.returncode == 0, result.stderr
    frames = [protocol.decode_zmq_frame(m)[0]["frame"] for m in messages if m[0] == b"frame"]
    assert frames == list(range(n_frames))
    assert result.stderr.count("no listener (connection refused) (packet dropped") == 1


@pytest.mark.parametrize("args, message", [
    (["--osc", "127.0.0.1"], "bad OSC address '127.0.0.1'"),
    (["--osc", "127.0.0.1:70000"], "bad OSC address"),
    (["--no-osc"], "nothing to stream to"),
    (["--zmq", "nonsense://x"], "ZeroMQ endpoint 'nonsense://x': cannot bind"),
    (["--subject", ""], "subject '' must be"),
])
def test_stream_bad_address_is_a_one_line_error(tmp_path, args, message):
    clip, _ = speech_clip(tmp_path, 0.2)
    result = run_stream("--file", clip, "--emotion", "happy", *args)
    assert result.returncode == 2
    assert result.stderr.startswith(f"medtalk stream: error: {message}")
    assert result.stderr.count("\n") == 1


def test_sender_goes_on_without_listeners_and_logs_each_problem_once(caplog):
    osc = OscSink(f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}", "MEDTalk")
    pub = ZmqSink(f"tcp://127.0.0.1:{free_port()}", "MEDTalk", warmup_s=0.0, linger_s=0.0)
    frames = np.tile(rig.NEUTRAL, (40, 1))
    with caplog.at_level(logging.WARNING), Sender([osc, pub]) as sender:
        report = play(frames, np.zeros(40), "neutral", sender, Pacer(fps=400))
    assert report.frames == sender.frames_sent == 40
    refused = sender.problems[osc.name]["no listener (connection refused)"]
    assert refused >= 10
    assert pub.name not in sender.problems  # a PUB without subscribers just discards
    assert sum("no listener" in r.getMessage() for r in caplog.records) == 1


def test_sender_sends_names_first_and_every_interval_and_never_nan():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(2)
        frames = np.tile(rig.NEUTRAL + 0.5, (30, 1))
        frames[7, 3] = np.nan
        intensity = np.full(30, 0.2)
        intensity[9] = np.inf
        with Sender([OscSink(f"127.0.0.1:{rx.getsockname()[1]}", "Face")],
                    names_interval_s=0.1) as sender:
            play(frames, intensity, "angry", sender, Pacer(fps=60))
        rx.settimeout(0.5)
        packets = []
        with pytest.raises(socket.timeout):
            while True:
                packets.append(rx.recv(65536))
    assert protocol.decode_osc_names(packets[0]) == ("Face", list(rig.CONTROL_NAMES))
    names = [p for p in packets if p.startswith(b"/medtalk/names")]
    assert 4 <= len(names) <= 6  # every 0.1 s over the 0.48 s from frame 0 to frame 29
    decoded = [protocol.decode_osc_frame(p) for p in packets if p.startswith(b"/medtalk/frame")]
    assert [f.index for f in decoded] == list(range(30))
    # a non-finite frame is replaced by the last finite one, each kind counted once
    np.testing.assert_array_equal(decoded[7].values, np.float32(frames[6]))
    assert list(sender.problems) == ["sender"]
    assert sorted(sender.problems["sender"].values()) == [1, 1]


def test_stream_steered_by_a_text_description(tmp_path):
    """--text runs the shipped stream model through P_text; the state names the description."""
    clip, n_frames = speech_clip(tmp_path, 0.5)
    out = tmp_path / "rec.txt"
    result = run_stream("--file", clip, "--fast", "--text", "a broad smile with raised cheeks",
                        "--osc", f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}", "--no-control",
                        "--record", str(out))
    assert result.returncode == 0, result.stderr
    assert "emotion text: a broad smile with raised cheeks" in result.stderr
    from medtalk_core.rigio import read_rig

    assert len(read_rig(out)) == n_frames


def test_stream_image_without_p_image_is_a_one_line_error(tmp_path):
    clip, _ = speech_clip(tmp_path, 0.2)
    image = tmp_path / "face.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    result = run_stream("--file", clip, "--image", str(image), "--no-control")
    assert result.returncode == 2
    assert result.stderr.startswith("medtalk stream: error: this model has no image guidance")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("lookahead", [40, 240])
def test_stream_runs_each_shipped_stream_model_by_its_lookahead(tmp_path, lookahead):
    clip, n_frames = speech_clip(tmp_path, 0.5)
    out = tmp_path / "rec.txt"
    result = run_stream("--file", clip, "--fast", "--emotion", "sad", "--lookahead-ms",
                        str(lookahead), "--osc", f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}",
                        "--no-control", "--record", str(out))
    assert result.returncode == 0, result.stderr
    assert f"(lookahead {lookahead} ms)" in result.stderr
    from medtalk_core.rigio import read_rig

    assert len(read_rig(out)) == n_frames


@pytest.mark.parametrize("value, kind", [(float("nan"), "NaN"), (float("inf"), "infinite")])
def test_stream_refuses_a_non_finite_checkpoint_before_recording(tmp_path, checkpoint, value,
                                                                  kind):
    from conftest import poison_checkpoint

    clip, _ = speech_clip(tmp_path, 0.5)
    bad = tmp_path / "bad.safetensors"
    name = poison_checkpoint(checkpoint, bad, value)
    record = tmp_path / "rec.csv"
    result = run_stream("--file", clip, "--fast", "--emotion", "happy", "--no-osc",
                        "--no-control", "--record", str(record), "--checkpoint", str(bad))
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"medtalk stream: error: checkpoint {bad}: tensor {name} has {kind} values"]
    assert not record.exists()


def test_stream_checkpoint_and_lookahead_are_exclusive(tmp_path):
    clip, _ = speech_clip(tmp_path, 0.2)
    result = run_stream("--file", clip, "--lookahead-ms", "240", "--checkpoint", "x.safetensors")
    assert result.returncode == 2 and "not allowed with argument" in result.stderr
