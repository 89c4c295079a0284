"""Live control state, hotkeys, the OSC control port, /medtalk/state, procedural eyes, the ring
buffer and the live ZeroMQ header (bridge/state.py, controls.py, blinks.py, ingest.py, sinks.py)."""

import socket
import struct
import time
from pathlib import Path

import numpy as np
import pytest
import zmq
from pythonosc.osc_message import OscMessage
from pythonosc.udp_client import SimpleUDPClient
from test_stream import free_port

from bridge import protocol
from bridge.blinks import BLINK, EyeSettings, Eyes
from bridge.controls import ControlServer
from bridge.frames import LiveFrame
from bridge.ingest import Ring
from bridge.sinks import ZmqSink
from bridge.state import LiveState
from medtalk_core import rig
from medtalk_core.config import load_config

DOC = Path(__file__).resolve().parents[1] / "docs" / "protocol.md"


def labels() -> np.ndarray:
    return np.eye(len(rig.EMOTIONS), 8, dtype=np.float32) + 0.1


def test_emotion_and_scale_blend_linearly_over_the_blend_frames():
    s = LiveState(labels(), "happy", blend_frames=10)
    for i in range(5):
        s.frame_control(i)
    s.set_emotion("sad")
    s.set_scale(0.5)
    got = [s.frame_control(i) for i in range(5, 20)]
    happy, sad = labels()[rig.emotion_id("happy")], labels()[rig.emotion_id("sad")]
    np.testing.assert_allclose(got[0].label, happy)  # the change starts at the next frame
    np.testing.assert_allclose(got[5].label, (happy + sad) / 2, atol=1e-6)
    np.testing.assert_allclose(got[10].label, sad)
    assert [round(c.scale, 3) for c in got[:11:5]] == [1.0, 0.75, 0.5]
    assert got[14].scale == 0.5 and s.snapshot()["emotion"] == "sad"


def test_hotkeys():
    s = LiveState(labels(), "angry", blend_frames=0)
    s.key("4")
    assert s.emotion == "happy"
    s.key("0")
    assert s.emotion == "angry"
    for _ in range(3):
        s.key("+")
    assert s.scale_target == pytest.approx(1.3)
    for _ in range(30):
        s.key("-")
    assert s.scale_target == 0.0
    s.key(" ")
    assert s.frame_control(0).frozen
    s.key(" ")
    assert not s.frame_control(1).frozen
    s.key("x")  # ignored
    assert not s.quit.is_set()
    s.key("q")
    assert s.quit.is_set()


def test_control_port_applies_good_messages_and_counts_bad_ones():
    s = LiveState(labels(), "neutral", blend_frames=0)
    server = ControlServer("127.0.0.1:0").start(s)
    try:
        client = SimpleUDPClient("127.0.0.1", server.port)
        client.send_message("/medtalk/emotion", "fear")
        client.send_message("/medtalk/intensity", 1.5)
        client.send_message("/medtalk/blink", 0)
        client.send_message("/medtalk/emotion", "bored")       # unknown label
        client.send_message("/medtalk/intensity", 7.0)         # out of range
        client.send_message("/medtalk/blink", "now")           # wrong type
        client.send_message("/medtalk/what", 1)                # unknown address
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
            raw.sendto(b"\x00garbage", ("127.0.0.1", server.port))
        deadline = time.monotonic() + 5
        while sum(server.problems.counts.values()) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        server.close()
    assert (s.emotion, s.scale_target, s.blinks) == ("fear", 1.5, False)
    c = server.problems.counts
    assert c["bad value for /medtalk/emotion"] == 1
    assert c["bad arguments for /medtalk/intensity"] == 1
    assert c["bad arguments for /medtalk/blink"] == 1
    assert c["unknown control address"] == 1
    assert c["malformed control packet (not OSC)"] == 1


def test_state_message_decodes_with_python_osc():
    s = LiveState(labels(), "surprise", blend_frames=0)
    s.transcript = "four hours of steady work"
    msg = OscMessage(protocol.encode_osc_state("MEDTalk", s.snapshot(), 0.25, 42))
    assert msg.address == "/medtalk/state"
    assert list(msg.params) == ["MEDTalk", "surprise", 0.25, "four hours of steady work", 1.0,
                                0, 1, 42]


def test_live_zmq_header_carries_the_state_as_documented():
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    sink = ZmqSink(endpoint, "MEDTalk", warmup_s=0.0, linger_s=0.5)
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"frame")
    sub.connect(endpoint)
    time.sleep(0.3)
    state = {"emotion": "happy", "intensity_scale": 1.0, "frozen": False, "blinks": True,
             "transcript": "Glue the sheet to the dark blue background."}
    sink.send_frame(LiveFrame(1234, 1234 / 60, 1700000000.25, rig.NEUTRAL, "happy", 0.27,
                              state))
    assert sub.poll(2000)
    parts = sub.recv_multipart()
    sub.close()
    sink.close()
    header, _ = protocol.decode_zmq_frame(parts)
    assert {k: header[k] for k in state} == state
    assert parts[1].decode() in DOC.read_text()


def test_eyes_blink_every_few_seconds_and_saccade_within_range():
    live = load_config().live
    cfg = EyeSettings(live.blinks, tuple(live.blink_interval_s), live.saccades,
                      tuple(live.saccade_interval_s), live.saccade_amplitude, seed=3)
    eyes = Eyes(cfg)
    blink_col = rig.INDEX["CTRL_L_eye_blink-translateY"]
    gaze_col = rig.INDEX["CTRL_C_eye-translateX"]
    frames = np.stack([eyes.apply(rig.NEUTRAL, i) for i in range(60 * 20)])
    closed = np.flatnonzero(frames[:, blink_col] == 1.0)
    assert 20 / 5.0 - 1 <= len(closed) <= 20 / 2.5 + 1  # one full closure per blink
    assert np.all(np.diff(closed) >= 2.5 * 60)
    gaze = frames[:, gaze_col]
    assert 0 < np.abs(gaze).max() <= 3 * cfg.saccade_amplitude + 1e-6
    assert np.abs(np.diff(gaze)).max() < 0.2  # moves in 3 frames, no teleport
    off = Eyes(EyeSettings(blinks=False, saccades=False))
    assert all((off.apply(rig.NEUTRAL, i) == rig.NEUTRAL).all() for i in range(600))
    eyes2 = Eyes(cfg)
    eyes2.blink_now(0)
    assert eyes2.apply(rig.NEUTRAL, 3, enabled=False)[blink_col] == 0.0
    assert eyes2.apply(rig.NEUTRAL, 3)[blink_col] == BLINK[3]


def test_ring_buffer_wraps_and_zero_fills():
    r = Ring(10)
    r.write(np.arange(7, dtype=np.float32))
    r.write(np.arange(7, 15, dtype=np.float32))
    assert r.written == 15
    np.testing.assert_array_equal(r.read_mono(5, 15), np.arange(5, 15))
    np.testing.assert_array_equal(r.read_mono(-2, 2), [0, 0, 0, 0])  # before 0: zeros
    np.testing.assert_array_equal(r.read_mono(13, 17), [13, 14, 0, 0])  # not yet written
    np.testing.assert_array_equal(r.read_mono(3, 6), [0, 0, 5])  # overwritten: zeros


def _bundle(*elements: bytes) -> bytes:
    body = b"".join(struct.pack(">i", len(e)) + e for e in elements)
    return b"#bundle\0" + b"\0" * 7 + b"\1" + body


def _message(address: str, tags: str, payload: bytes = b"") -> bytes:
    pad = lambda b: b + b"\0" * (4 - len(b) % 4)  # noqa: E731
    return pad(address.encode()) + pad(tags.encode()) + payload


@pytest.mark.parametrize("packet, kind", [
    (b"#bundle\0" + b"\0" * 7 + b"\1" + struct.pack(">i", -4), "malformed OSC bundle"),
    (_bundle(b"\0" * 3), "malformed OSC bundle"),
    (_bundle(b"\0" * 8)[:-2], "malformed OSC bundle"),
    (b"#bundle\0" + b"\0" * 4, "malformed OSC bundle"),
])
def test_malformed_bundles_are_one_counted_problem_each(packet, kind):
    s = LiveState(labels(), "neutral", blend_frames=0)
    server = ControlServer("127.0.0.1:0").start(s)
    try:
        server.handle(packet)
    finally:
        server.close()
    assert dict(server.problems.counts) == {kind: 1}


def test_deeply_nested_bundle_is_refused_and_shallow_ones_apply():
    s = LiveState(labels(), "neutral", blend_frames=0)
    server = ControlServer("127.0.0.1:0").start(s)
    deep = _message("/medtalk/emotion", ",s", b"sad\0")
    for _ in range(1200):
        deep = _bundle(deep)
    shallow = _bundle(_bundle(_message("/medtalk/emotion", ",s", b"fear\0\0\0\0")),
                      _message("/medtalk/blink", ",i", struct.pack(">i", 0)))
    try:
        server.handle(deep)
        server.handle(shallow)
    finally:
        server.close()
    assert s.emotion == "fear" and s.blinks is False
    assert dict(server.problems.counts) == {"malformed OSC bundle": 1}


def test_unsupported_type_tags_are_counted_not_logged_per_packet(caplog):
    s = LiveState(labels(), "neutral", blend_frames=0)
    server = ControlServer("127.0.0.1:0").start(s)
    try:
        for tag in ("I", "c", "I"):
            server.handle(_message("/medtalk/blink", "," + tag, b"\0" * 4))
    finally:
        server.close()
    assert dict(server.problems.counts) == {"unsupported OSC argument type": 3}
    assert "Unhandled parameter type" not in caplog.text


def test_the_red_team_bundle_does_not_stop_the_control_thread():
    s = LiveState(labels(), "neutral", blend_frames=0)
    server = ControlServer("127.0.0.1:0").start(s)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
            raw.sendto(b"#bundle\0" + b"\0" * 7 + b"\1" + struct.pack(">i", -4),
                       ("127.0.0.1", server.port))
        SimpleUDPClient("127.0.0.1", server.port).send_message("/medtalk/emotion", "angry")
        deadline = time.monotonic() + 5
        while s.emotion != "angry" and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        server.close()
    assert s.emotion == "angry"
    assert server.problems.counts["malformed OSC bundle"] == 1


def test_control_port_refuses_non_finite_and_out_of_range_intensities():
    s = LiveState(labels(), "neutral", blend_frames=0)
    s.set_scale(0.7)
    server = ControlServer("127.0.0.1:0").start(s)
    bad = [float("nan"), float("inf"), float("-inf"), 2.5, -0.1]
    try:
        client = SimpleUDPClient("127.0.0.1", server.port)
        for value in bad:
            client.send_message("/medtalk/intensity", value)
        deadline = time.monotonic() + 5
        while sum(server.problems.counts.values()) < len(bad) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        server.close()
    assert dict(server.problems.counts) == {"bad arguments for /medtalk/intensity": len(bad)}
    assert s.scale_target == 0.7 and s.frame_control(0).scale == 0.7


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_the_scale_refuses_non_finite_values(value):
    s = LiveState(labels(), "neutral", blend_frames=0)
    with pytest.raises(ValueError, match="not a finite number"):
        s.set_scale(value)
    assert s.scale_target == 1.0
    with pytest.raises(ValueError, match=r"not a number in \[0, 2\]"):
        LiveState(labels(), "neutral", blend_frames=0, scale=value)
