"""The live path as a pipeline of stages (bridge/): stages talk through public interfaces only,
take typed arguments rather than the config, the one frame clock (bridge/pacer.py's Pacer), and
the status line's bounded state (bridge/status.py)."""

import ast
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from bridge.frames import SentFrame
from bridge.pacer import Pacer
from bridge.state import LiveState
from bridge.status import SendStats, StatusInputs, render
from medtalk_core import rig

BRIDGE = Path(__file__).resolve().parents[1] / "bridge"
WIRING = {"engine.py", "stream.py", "bench.py"}
"""The modules that wire stages and read the configuration."""
LIBRARY_PRIVATE = {"_terminate", "_initialize", "_exit", "_exit_function"}
"""sounddevice's re-initialisation (PortAudio lists devices only when initialised); the
transcript process's quick exit (``os._exit`` after ``multiprocessing.util._exit_function``, what
a multiprocessing child runs at its end, without the interpreter's teardown of torch)."""


def modules():
    return sorted(BRIDGE.glob("*.py"))


def test_no_module_reaches_into_another_objects_private_attributes():
    reach = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and not node.attr.startswith("__") and node.attr not in LIBRARY_PRIVATE
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
                reach.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert reach == []


def test_no_stage_guesses_a_type_by_its_attributes():
    guesses = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("getattr", "hasattr")):
                guesses.append(f"{path.name}:{node.lineno} {ast.unparse(node)}")
    assert guesses == []


def test_only_the_wiring_modules_take_the_config():
    takers = []
    for path in modules():
        if path.name in WIRING:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names = [a.arg for a in node.args.args + node.args.kwonlyargs]
                if "cfg" in names or "config" in names:
                    takers.append(f"{path.name}:{node.lineno} {node.name}")
    assert takers == []


def test_pacer_deadlines_include_the_delay_and_follow_the_origin():
    pacer = Pacer(fps=60, delay_s=0.05)
    mono0 = time.monotonic()
    t0 = pacer.start(mono0)
    assert t0 == pytest.approx(time.time(), abs=0.01)
    assert pacer.due(0) == mono0 + 0.05 and pacer.due(60) == pytest.approx(mono0 + 1.05)
    pacer.follow(mono0 - 0.5)  # the microphone's clock ran ahead: every deadline moves
    assert pacer.due(60) == pytest.approx(mono0 + 0.55)
    assert pacer.t0 == t0
    assert pacer.wait(0) > 0.4  # due long ago: no sleep, the lateness is reported


def test_send_stats_keep_a_bounded_window_and_exact_counts():
    stats = SendStats(window=100)
    for i in range(1000):
        late = 0.010 if i % 10 == 0 else 0.0  # every tenth frame 10 ms late
        stats.record(SentFrame(i, i / 60 + late, i / 60, i / 60 - 0.08))
    stats.drop()
    assert stats.sent == 1000 and stats.late == 100 and stats.dropped == 1
    assert len(stats.frames) == 100 and stats.frames[0].index == 900
    assert [f.index for f in stats.recent(3)] == [997, 998, 999]
    np.testing.assert_allclose(stats.latency_ms()[1:4], 80.0)


def test_status_line_reads_the_last_second_and_the_running_counts():
    labels = np.eye(len(rig.EMOTIONS), 8, dtype=np.float32)
    state = LiveState(labels, "happy", blend_frames=0)
    stats = SendStats(window=200)
    for i in range(600):
        stats.record(SentFrame(i, i / 30, i / 30, i / 30 - (0.5 if i < 500 else 0.09)))
    line = render(StatusInputs(stats, state, lambda: -23.0, lambda: 0.31,
                               lambda: {"input": {"clipping": 2}}))
    # the last 61 frames were sent at 30 fps with 90 ms latency; the early ones do not count
    assert "mouth  90 ms" in line and "30.0 fps" in line and "late 0 drop 0" in line
    assert "faults 2" in line and "happy ×1.0 I 0.31" in line and " -23 dBFS" in line


def test_status_state_stays_bounded_while_a_stream_runs_long():
    stats = SendStats(window=50)
    done = threading.Event()

    def send():
        for i in range(20000):
            stats.record(SentFrame(i, float(i), float(i), float(i)))
        done.set()

    t = threading.Thread(target=send)
    t.start()
    while not done.is_set():
        assert len(stats.recent(61)) <= 50
    t.join()
    assert stats.sent == 20000 and len(stats.frames) == 50
