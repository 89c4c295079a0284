"""``medtalk stream --livelinkface`` and ``--vmc`` against a UDP listener and a python-osc server:
every frame arrives, in order, finite, in the layout of docs/protocol.md and docs/vmc.md."""

import math
import socket
import threading
import time

import numpy as np
import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer

from bridge import livelinkface as L
from bridge import vmc
from bridge.sinks import LiveLinkFaceSink, VmcSink
from bridge.protocol import Frame
from medtalk_core import rig
from medtalk_core.arkit import ARKIT_NAMES
from medtalk_core.arkit_map import DEFAULT
from test_stream import checkpoint, free_port, run_stream, speech_clip  # noqa: F401 (fixture)


class UdpListener:
    """A UDP socket on 127.0.0.1 collecting every datagram in a thread."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.packets: list[bytes] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                self.packets.append(self.sock.recv(65536))
            except socket.timeout:
                continue

    def stop(self):
        time.sleep(0.3)
        self._stop.set()
        self.thread.join()
        self.sock.close()


class VmcListener:
    """python-osc server recording every Blend/Val (name, value) and each Apply, in order."""

    def __init__(self):
        self.events: list = []
        dispatcher = Dispatcher()
        dispatcher.map(vmc.VAL_ADDRESS, lambda _, name, value: self.events.append((name, value)))
        dispatcher.map(vmc.APPLY_ADDRESS, lambda *_: self.events.append("apply"))
        self.server = BlockingOSCUDPServer(("127.0.0.1", 0), dispatcher)
        self.server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        count = -1
        while count != len(self.events):
            count = len(self.events)
            time.sleep(0.3)
        self.server.shutdown()
        self.server.server_close()

    def frames(self) -> list[list]:
        out, current = [], []
        for e in self.events:
            if e == "apply":
                out.append(current)
                current = []
            else:
                current.append(e)
        assert current == [], "values after the last Apply"
        return out


def test_stream_sends_every_frame_as_live_link_face_and_vmc(tmp_path, checkpoint):  # noqa: F811
    clip, n_frames = speech_clip(tmp_path, 1.0)
    llf, vmc_listener = UdpListener(), VmcListener()
    try:
        result = run_stream("--file", clip, "--emotion", "happy", "--no-osc", "--no-control",
                            "--livelinkface", f"127.0.0.1:{llf.port}",
                            "--livelinkface-subject", "Face", "--vmc", str(vmc_listener.port),
                            "--vrm", "1", "--checkpoint", checkpoint)
    finally:
        llf.stop()
        vmc_listener.stop()
    assert result.returncode == 0, result.stderr
    assert n_frames == 60

    packets = [L.decode(p) for p in llf.packets]
    assert [p.frame for p in packets] == list(range(n_frames))
    for p in packets:
        assert (p.device_id, p.subject, p.rate, p.subframe) == ("MEDTalk Live", "Face", (60, 1), 0)
        assert p.values.shape == (61,) and np.isfinite(p.values).all()
        assert (p.values[:52] >= 0).all() and (p.values[:52] <= 1).all()
    jaw = np.array([p.shapes["JawOpen"] for p in packets])
    assert np.ptp(jaw) > 0  # the face moves

    frames = vmc_listener.frames()
    names = list(ARKIT_NAMES) + list(vmc.PRESETS[1])
    assert len(frames) == n_frames
    for values in frames:
        assert [n for n, _ in values] == names
        assert all(math.isfinite(v) and 0 <= v <= 1 for _, v in values)
    # the VMC frames carry the same ARKit values as the Live Link Face packets, in order
    for p, values in zip(packets, frames):
        np.testing.assert_array_equal(np.float32([v for _, v in values[:52]]), p.values[:52])


def test_stream_goes_on_without_live_link_face_or_vmc_listeners(tmp_path, checkpoint):  # noqa: F811
    clip, n_frames = speech_clip(tmp_path, 0.5)
    record = tmp_path / "take.csv"
    result = run_stream("--file", clip, "--emotion", "sad", "--no-osc", "--no-control",
                        "--livelinkface", str(free_port(socket.SOCK_DGRAM)),
                        "--vmc", f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}",
                        "--record", str(record), "--checkpoint", checkpoint)
    assert result.returncode == 0, result.stderr
    assert len(record.read_text().splitlines()) == n_frames + 1  # every frame recorded
    for sink in ("livelinkface", "vmc"):
        line = f"{sink} udp://127.0.0.1:"
        logged = [w for w in result.stderr.splitlines()
                  if line in w and "further occurrences are only counted" in w]
        assert len(logged) == 1 and "no listener (connection refused)" in logged[0]  # once
        counted = [w for w in result.stderr.splitlines() if line in w and "refused): " in w]
        assert len(counted) == 1 and int(counted[0].rsplit(": ", 1)[1]) > 1  # then counted


@pytest.mark.parametrize("args, message", [
    (["--livelinkface", "127.0.0.1:0"], "bad --livelinkface address"),
    (["--vmc", "host:port"], "bad --vmc address"),
    (["--livelinkface", "9", "--livelinkface-subject", ""], "subject must be 1-255 bytes"),
    (["--livelinkface-subject", "x"], "--livelinkface-subject needs --livelinkface"),
    (["--vmc", "9", "--livelinkface-subject", "x"], "--livelinkface-subject needs --livelinkface"),
    (["--vrm", "1"], "--vrm needs --vmc"),
])
def test_bad_arkit_sink_arguments_are_one_line_errors(tmp_path, args, message):
    clip, _ = speech_clip(tmp_path, 0.2)
    result = run_stream("--file", clip, "--emotion", "happy", "--no-control", *args)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        line for line in result.stderr.strip().splitlines() if message in line]


def test_a_bad_mapping_file_in_the_config_stops_the_stream_before_it_starts(tmp_path):
    clip, _ = speech_clip(tmp_path, 0.2)
    (tmp_path / "map.toml").write_text('[jawOpen]\n"CTRL_C_jaw" = 1\n')
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[arkit]\nmapping = "{tmp_path / "map.toml"}"\n')
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "medtalk.cli", "--config", str(cfg), "stream",
                             "--file", clip, "--emotion", "happy", "--no-control", "--vmc"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "unknown face-board control 'CTRL_C_jaw'" in result.stderr


def test_vmc_bundles_fit_one_datagram_and_end_with_apply():
    for version in (0, 1):
        encoder = vmc.BundleEncoder(version)
        shapes = np.random.default_rng(version).random(52).astype(np.float32)
        bundles = encoder.encode(shapes, "happy", 0.7)
        assert all(len(b) <= vmc.DATAGRAM_MAX for b in bundles) and len(bundles) >= 2
        from pythonosc.osc_bundle import OscBundle

        messages = [m for b in bundles for m in OscBundle(b)]
        assert [m.address for m in messages[:-1]] == [vmc.VAL_ADDRESS] * len(encoder.names)
        assert messages[-1].address == vmc.APPLY_ADDRESS
        assert [m.params[0] for m in messages[:-1]] == list(encoder.names)
        got = dict(m.params for m in messages[:-1])
        joy = "Joy" if version == 0 else "happy"
        assert got[joy] == pytest.approx(0.7)
        assert got["Blink_L" if version == 0 else "blinkLeft"] == got["eyeBlinkLeft"]
        assert all(0 <= v <= 1 for v in got.values())


def test_vmc_presets_follow_the_mouth_and_emotion():
    a = np.zeros(52, np.float32)
    idx = {n: i for i, n in enumerate(ARKIT_NAMES)}
    a[idx["jawOpen"]] = 0.8
    p = dict(zip(vmc.PRESETS[0], vmc.presets(a, "sad", 3.0, 0)))
    assert p["A"] == pytest.approx(0.8) and p["O"] == p["U"] == p["I"] == 0
    assert p["Sorrow"] == 1 and p["Joy"] == p["Angry"] == p["Fun"] == 0
    a[idx["jawOpen"]], a[idx["mouthPucker"]] = 0.0, 0.9
    p = dict(zip(vmc.PRESETS[1], vmc.presets(a, "neutral", float("nan"), 1)))
    assert p["ou"] == pytest.approx(0.9) and p["aa"] == 0
    assert all(p[n] == 0 for n in ("happy", "angry", "sad", "relaxed", "surprised"))


def test_sinks_send_finite_values_for_any_frame():
    llf, osc = UdpListener(), VmcListener()
    sinks = [LiveLinkFaceSink(str(llf.port), "S", "D", DEFAULT),
             VmcSink(f"127.0.0.1:{osc.port}", DEFAULT, 0)]
    values = np.full(rig.NUM_CONTROLS, np.nan, np.float32)
    values[::2] = np.inf
    for i in range(3):
        for sink in sinks:
            sink.send_frame(Frame(i, i / 60, 0.0, values, "happy", float("nan")))
    for sink in sinks:
        sink.close()
    llf.stop()
    osc.stop()
    assert [L.decode(p).frame for p in llf.packets] == [0, 1, 2]
    assert all(np.isfinite(L.decode(p).values).all() for p in llf.packets)
    frames = osc.frames()
    assert len(frames) == 3 and all(math.isfinite(v) for f in frames for _, v in f)
