"""The live transcript in its own process (bridge/asr_process.py): the frame clock sends every
frame, in order and finite, while transcript passes and a burst of control messages run; the
transcript process ends with the stream (also on SIGTERM); a killed transcript process does not
stop the stream; a full audio queue coalesces and counts instead of blocking."""

import math
import os
import signal
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from pythonosc.udp_client import SimpleUDPClient
from test_engine import SPEECH, stream, stream_checkpoint  # noqa: F401 (fixture)
from test_stream import OscListener, free_port

from bridge.asr_process import TranscriptProcess, TranscriptSpec
from bridge.sinks import ProblemLog
from medtalk_core import rig
from medtalk_core.config import load_config
from medtalk_core.rigio import read_rig

FPS = rig.FPS


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """8 s of real English speech (two Harvard sentences and more, codec2-examples)."""
    x, sr = sf.read(SPEECH, dtype="float32")
    path = tmp_path_factory.mktemp("audio") / "speech8.wav"
    sf.write(path, x[: 8 * sr], sr)
    return str(path), 8 * FPS


def descendants(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (read from /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def transcript_process(pid: int) -> int:
    """The transcript process of stream ``pid`` (multiprocessing's spawned child)."""
    for child in descendants(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                return child
        except OSError:
            pass
    raise AssertionError("no transcript process")


def wait_frames(osc: OscListener, n: int) -> None:
    deadline = time.monotonic() + 90
    while len(osc.frames) < n and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(osc.frames) >= n


def live(path, osc, out, checkpoint, *more):
    return stream("--file", path, "--emotion", "happy", "--osc", f"127.0.0.1:{osc.port}",
                  "--record", str(out), "--checkpoint", checkpoint, *more)


def test_every_frame_in_order_and_finite_through_transcript_passes_and_a_control_burst(
        tmp_path, speech, stream_checkpoint):  # noqa: F811
    path, n_frames = speech
    osc = OscListener()
    states = []
    osc.server.dispatcher.map("/medtalk/state", lambda _, *a: states.append(a))
    port = free_port(socket.SOCK_DGRAM)
    out = tmp_path / "rec.csv"
    p = live(path, osc, out, stream_checkpoint, "--control", f"127.0.0.1:{port}")
    try:
        wait_frames(osc, 2 * FPS)  # two transcript passes have been asked for
        client = SimpleUDPClient("127.0.0.1", port)
        for k in range(300):
            client.send_message("/medtalk/intensity", 0.5 + (k % 10) / 10)
            client.send_message("/medtalk/emotion", ("sad", "happy", "angry")[k % 3])
        _, err = p.communicate(timeout=120)
    finally:
        osc.stop()
    assert p.returncode == 0, err
    assert [a[1] for _, _, a in osc.frames] == list(range(n_frames)), err
    assert all(math.isfinite(v) for _, _, a in osc.frames for v in a[3:])
    recorded = read_rig(out)
    assert recorded.shape == (n_frames, rig.NUM_CONTROLS) and np.isfinite(recorded).all()
    assert any(s[3] for s in states)  # committed words reached the stream


def test_the_transcript_process_ends_with_the_stream_on_sigterm(
        tmp_path, speech, stream_checkpoint):  # noqa: F811
    path, n_frames = speech
    osc = OscListener()
    p = live(path, osc, tmp_path / "rec.txt", stream_checkpoint, "--no-control")
    try:
        wait_frames(osc, 30)
        children = descendants(p.pid)
        child = transcript_process(p.pid)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=60)
    finally:
        osc.stop()
    assert p.returncode == 0, err
    assert len(osc.frames) < n_frames
    assert not os.path.exists(f"/proc/{child}")  # stopped and reaped before the stream exited
    deadline = time.monotonic() + 10  # multiprocessing's resource tracker exits on its own
    while any(os.path.exists(f"/proc/{c}") for c in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [c for c in children if os.path.exists(f"/proc/{c}")]


def test_a_killed_transcript_process_does_not_stop_the_stream(
        tmp_path, speech, stream_checkpoint):  # noqa: F811
    path, n_frames = speech
    osc = OscListener()
    out = tmp_path / "rec.json"
    p = live(path, osc, out, stream_checkpoint, "--no-control")
    try:
        wait_frames(osc, 30)
        os.kill(transcript_process(p.pid), signal.SIGKILL)
        _, err = p.communicate(timeout=120)
    finally:
        osc.stop()
    assert p.returncode == 0, err
    assert [a[1] for _, _, a in osc.frames] == list(range(n_frames)), err
    assert len(read_rig(out)) == n_frames
    assert err.count("transcript process died: exit code") == 1


def test_a_full_audio_queue_coalesces_then_drops_and_counts_without_blocking():
    cfg = load_config()
    problems = ProblemLog("transcript")
    spec = TranscriptSpec(cfg.features, 16, 8.0, 1, 0.5, 60)
    asr = TranscriptProcess(spec, queue_size=1, max_pending_s=0.25, problems=problems)
    chunk = np.zeros(1600, np.float32)  # 0.1 s; the process is not started, nothing reads
    for _ in range(5):
        asr.feed(chunk)
    assert problems.counts["audio coalesced"] == 4
    assert problems.counts["audio dropped"] == 2  # 0.3 s and 0.3 s pending > 0.25 s
    assert asr.poll() == []
    asr.stop()
