"""The preview server, sink and ``medtalk preview`` without a browser: a plain Python WebSocket
client (bridge/preview.py, preview_sink.py, playback.py)."""

import asyncio
import json
import logging
import math
import socket
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from test_controls import labels
from test_stream import free_port
from websockets.asyncio.client import connect

from bridge.controls import ControlServer
from bridge.frames import LiveFrame
from bridge.playback import Player
from medtalk_core.result_file import load_result
from bridge.preview import board_groups
from bridge.preview_sink import PreviewSink, osc_datagram
from bridge.state import LiveState
from conftest import run_medtalk
from medtalk_core import rig, rigio
from medtalk_core.errors import MedtalkError
from medtalk_core.face2d import face_shapes, shapes_to_json

FRAME_KEYS = {"type", "frame", "t", "emotion", "intensity", "transcript", "values", "face",
              "state"}


def check_frame_message(m: dict) -> None:
    """The documented schema of one frame message: every value finite."""
    assert set(m) == FRAME_KEYS and m["type"] == "frame"
    assert isinstance(m["frame"], int) and m["t"] == pytest.approx(m["frame"] / rig.FPS, abs=1e-6)
    assert len(m["values"]) == rig.NUM_CONTROLS
    assert all(math.isfinite(v) for v in m["values"]) and math.isfinite(m["intensity"])
    assert m["face"] == shapes_to_json(face_shapes(np.float64(m["values"])))


def live_frame(i: int, emotion: str = "neutral") -> LiveFrame:
    values = rig.NEUTRAL.copy()
    values[rig.INDEX["CTRL_C_jaw-translateY"]] = 0.5 + 0.5 * math.sin(i / 7)
    state = {"emotion": emotion, "intensity_scale": 1.0, "frozen": False, "blinks": True,
             "transcript": f"word {i}"}
    return LiveFrame(i, i / rig.FPS, 1.7e9, values, emotion, 0.1, state)


async def receive(ws, count: int, timeout: float = 10.0) -> list[dict]:
    return [json.loads(await asyncio.wait_for(ws.recv(), timeout)) for _ in range(count)]


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def feed(sink: PreviewSink, frames: range, step_s: float = 1 / 120) -> None:
    for i in frames:
        sink.send_frame(live_frame(i))
        time.sleep(step_s)


def test_board_groups_hold_every_control_once_in_face_board_order():
    groups = board_groups()
    names = [g["group"] for g in groups]
    assert names[:3] == ["brows", "eyes", "cheeks"] and "tongue" in names and "jaw" in names
    every = sorted(i for g in groups for i in g["controls"])
    assert every == list(range(rig.NUM_CONTROLS))
    by_name = {rig.CONTROL_NAMES[i]: g["group"] for g in groups for i in g["controls"]}
    assert by_name["CTRL_C_jaw-translateY"] == "jaw"
    assert by_name["CTRL_L_brow_raiseIn-translateY"] == "brows"
    assert by_name["CTRL_R_eye_blink-translateY"] == "eyes"
    assert by_name["CTRL_L_eye_cheekRaise-translateY"] == "cheeks"
    assert by_name["CTRL_C_tongue_tip-translateX"] == "tongue"


def test_page_messages_become_the_control_ports_osc_messages():
    from pythonosc.osc_message import OscMessage

    msg = OscMessage(osc_datagram("/medtalk/intensity", [1.25]))
    assert (msg.address, list(msg.params)) == ("/medtalk/intensity", [1.25])
    assert list(OscMessage(osc_datagram("/medtalk/blink", [2])).params) == [2]
    for address, args in (("medtalk/emotion", ["happy"]), ("/medtalk/blink", [True]),
                          ("/medtalk/blink", [2**40]), ("/medtalk/emotion", "happy"),
                          ("/medtalk/emotion", [None])):
        with pytest.raises(ValueError):
            osc_datagram(address, args)


def test_live_sink_serves_the_page_and_frames_in_order_thinned_to_30_fps():
    sink = PreviewSink(f"127.0.0.1:{free_port()}", None, fps=30)
    try:
        page = urllib.request.urlopen(sink.url, timeout=5).read().decode()
        assert "preview.js" in page and "<svg" in page
        for path in ("preview.js", "preview.css"):
            assert urllib.request.urlopen(sink.url + path, timeout=5).status == 200
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(sink.url + "nothing", timeout=5)

        async def client(frames: range):
            async with connect(sink.url.replace("http", "ws") + "ws") as ws:
                hello = json.loads(await ws.recv())
                assert hello["type"] == "hello" and hello["mode"] == "live"
                assert hello["names"] == list(rig.CONTROL_NAMES) and hello["fps"] == rig.FPS
                assert hello["control"] is False and hello["emotions"] == list(rig.EMOTIONS)
                feeder = asyncio.get_running_loop().run_in_executor(None, feed, sink, frames)
                got = []
                while not got or got[-1]["frame"] < frames[-2]:
                    got += await receive(ws, 1)
                await feeder
                return got

        got = asyncio.run(client(range(240)))
        again = asyncio.run(client(range(240, 480)))  # a reload: a new connection, new frames
    finally:
        sink.close()
    assert again[-1]["frame"] == 478 and sink.server.connections == 2
    frames = [m["frame"] for m in got]
    assert frames == sorted(set(frames)) and frames[-1] == 238  # in order, the last one too
    assert all(b - a >= 2 for a, b in zip(frames, frames[1:]))  # thinned to 30 fps at most
    for m in got:
        check_frame_message(m)
        assert m["emotion"] == "neutral" and m["transcript"] == f"word {m['frame']}"
        assert m["state"] == {"intensity_scale": 1.0, "frozen": False, "blinks": True}


def test_a_stalled_client_does_not_hold_back_the_stream_or_other_clients():
    sink = PreviewSink(f"127.0.0.1:{free_port()}", None, fps=60)
    url = sink.url.replace("http", "ws") + "ws"
    try:
        async def clients():
            async with connect(url, max_queue=1, close_timeout=0.2) as stalled, \
                    connect(url) as reader:
                await receive(stalled, 1)  # the hello, then it never reads again
                await receive(reader, 1)
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(None, feed, sink, range(3000), 0.0)  # ~50 MB
                await loop.run_in_executor(None, feed, sink, range(3000, 3060), 0.01)
                latest = await receive(reader, 1)
                while latest[0]["frame"] < 3059:
                    latest = await receive(reader, 1)
                return latest[0]

        last = asyncio.run(clients())
    finally:
        sink.close()
    check_frame_message(last)
    assert sink.server.connections == 2


def test_page_controls_reach_the_live_state_through_the_control_handler(caplog):
    state = LiveState(labels(), "neutral", blend_frames=0)
    control = ControlServer("127.0.0.1:0")
    sink = PreviewSink(f"127.0.0.1:{free_port()}", control)
    url = sink.url.replace("http", "ws") + "ws"

    async def send(*messages):
        async with connect(url) as ws:
            assert json.loads(await ws.recv())["control"] is True
            for m in messages:
                await ws.send(m if isinstance(m, str) else json.dumps(m))

    def control_message(address, *args):
        return {"type": "control", "address": address, "args": list(args)}

    try:
        with caplog.at_level(logging.WARNING):
            asyncio.run(send(control_message("/medtalk/emotion", "happy")))
            wait_until(lambda: sink.problems)
            assert state.emotion == "neutral"  # not started yet: ignored and counted
            control.start(state)
            asyncio.run(send(control_message("/medtalk/emotion", "happy"),
                             control_message("/medtalk/intensity", 1.5),
                             control_message("/medtalk/blink", 2),
                             control_message("/medtalk/intensity", 7.0),  # out of range
                             control_message("/medtalk/emotion", "bored"),
                             control_message("/medtalk/blink", True),
                             {"type": "shout"}, "not json"))
            wait_until(lambda: len(sink.problems) == 4 and len(control.problems.counts) == 2)
    finally:
        sink.close()
        control.close()
    assert (state.emotion, state.scale_target, state.blink_requests) == ("happy", 1.5, 1)
    assert control.problems.counts["bad arguments for /medtalk/intensity"] == 1
    assert control.problems.counts["bad value for /medtalk/emotion"] == 1
    assert set(sink.problems) == {"a control message before the stream started",
                                  "a client message that cannot be applied (ignored)",
                                  "unknown page message type (ignored)",
                                  "a client message that is not a JSON object (ignored)"}
    assert sum("before the stream started" in r.getMessage() for r in caplog.records) == 1


def test_a_preview_port_in_use_is_logged_and_counted_and_frames_still_go(caplog):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with caplog.at_level(logging.WARNING):
            sink = PreviewSink(f"127.0.0.1:{busy.getsockname()[1]}", None)
            for i in range(5):
                sink.send_frame(live_frame(i))
            sink.close()
    assert sink.problems["cannot bind the preview port"] == 1
    assert not sink.server.serving
    assert sum("cannot bind" in r.getMessage() for r in caplog.records) == 1
    with pytest.raises(MedtalkError, match="bad --preview address"):
        PreviewSink("127.0.0.1:99999", None)


@pytest.mark.parametrize("ext", [".txt", ".csv", ".json"])
def test_load_result_reads_what_infer_writes(tmp_path, ext):
    frames = np.random.default_rng(1).uniform(rig.RANGES[:, 0], rig.RANGES[:, 1],
                                              (30, rig.NUM_CONTROLS)).astype(np.float32)
    rigio.write_rig(tmp_path / f"r{ext}", frames)
    np.testing.assert_allclose(load_result(tmp_path / f"r{ext}"), frames, atol=1e-5)


def test_load_result_reads_a_live_link_face_take(tmp_path):
    from medtalk_core.arkit_map import DEFAULT
    from medtalk_core.live_link_face import write_take

    frames = np.zeros((90, rig.NUM_CONTROLS), np.float32)
    jaw = rig.INDEX["CTRL_C_jaw-translateY"]
    frames[:, jaw] = np.linspace(0, 1, 90)
    write_take(tmp_path / "take.csv", frames, DEFAULT)
    got = load_result(tmp_path / "take.csv")
    assert got.shape == (90, rig.NUM_CONTROLS) and np.isfinite(got).all()
    assert got[-1, jaw] > got[0, jaw] + 0.5  # jawOpen mapped back to the jaw


def test_player_answers_frame_requests():
    frames = np.zeros((10, rig.NUM_CONTROLS), np.float32)
    player = Player(frames)
    m = json.loads(player({"type": "get", "frame": 3}))
    check_frame_message(m)
    assert (m["frame"], m["emotion"], m["transcript"]) == (3, None, "")
    for bad in ({"type": "get", "frame": 10}, {"type": "get", "frame": "1"}, {"type": "go"}):
        with pytest.raises(ValueError):
            player(bad)


@pytest.mark.parametrize("content, message", [
    (None, "cannot read rig file"),
    ("", "has no frames"),
    ("1,2,3\n", "has 3 columns, expected 174"),
    (",".join(["nan"] * 174) + "\n", "has NaN or infinite values"),
])
def test_medtalk_preview_of_a_bad_result_is_a_one_line_error(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    if content is not None:
        path.write_text(content)
    result = run_medtalk("preview", str(path), "--port", str(free_port()), timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("medtalk preview: error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1


def test_medtalk_preview_on_a_port_in_use_is_a_one_line_error(tmp_path):
    rigio.write_rig(tmp_path / "r.txt", np.zeros((3, rig.NUM_CONTROLS), np.float32))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = run_medtalk("preview", str(tmp_path / "r.txt"), "--port",
                             str(busy.getsockname()[1]), timeout=60)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "cannot bind" in result.stderr


def test_medtalk_preview_of_bad_audio_or_unknown_format_is_a_one_line_error(tmp_path):
    rigio.write_rig(tmp_path / "r.txt", np.zeros((3, rig.NUM_CONTROLS), np.float32))
    (tmp_path / "noise.wav").write_bytes(b"not audio at all")
    (tmp_path / "r.xyz").write_text("1\n")
    for args in (["r.txt", "--audio", "noise.wav"], ["r.xyz"]):
        result = run_medtalk("preview", *(str(tmp_path / a) if "." in a else a for a in args),
                             "--port", str(free_port()), timeout=60)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr


def test_stream_bad_preview_address_is_a_one_line_error(tmp_path):
    from test_stream import run_stream, speech_clip

    clip, _ = speech_clip(tmp_path, 0.2)
    result = run_stream("--file", clip, "--emotion", "happy", "--no-osc", "--no-control",
                        "--preview", "127.0.0.1:99999")
    assert result.returncode == 2
    assert result.stderr.startswith("medtalk stream: error: bad --preview address")
    assert result.stderr.count("\n") == 1
