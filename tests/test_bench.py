"""medtalk bench latency: the busy processes (--hog), the receiver in another process, CPU by
stage. No speed is asserted: the run completes, every frame sent arrives in order and finite,
the busy processes are gone, and the figures are there."""

import json
import math
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from bridge.bench import arrival_figures, free_endpoint, stage_cpu
from bridge.bench_cpu import TreeCpu, TreeSampler, Usage, name_workers_of
from bridge.bench_hogs import Hogs
from bridge.bench_receiver import Arrivals, ExternalReceiver
from bridge.frames import SentFrame
from bridge.protocol import Frame
from bridge.sinks import ZmqSink
from conftest import run_medtalk

SPIN = "import time\nwhile time.process_time() < {}: pass\n"
"""A child that uses that many CPU s, however loaded the machine is."""


def spin_cpu(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_bench_latency_with_a_hog_measures_at_the_external_receiver(english_clip, tmp_path):
    out = tmp_path / "bench.json"
    done = run_medtalk("bench", "latency", "--file", str(english_clip), "--hog", "1",
                       "--json", str(out))
    assert done.returncode == 0, done.stderr
    fig = json.loads(out.read_text())
    hog = fig["hog"]
    assert hog["processes"] == 1 and len(hog["pids"]) == 1 and hog["gone"]
    assert not Path(f"/proc/{hog['pids'][0]}").exists()
    assert hog["niceness"] == [fig["niceness"]] and hog["cpu_s"][0] > 0
    r = fig["receiver"]
    assert r["frames_expected"] == fig["frames_expected"] == 180  # 3 s at 60 fps
    # every frame the stream sent reached the other process, once, in order, finite
    assert r["frames_received"] == fig["frames_sent"] > 0
    assert r["dropped"] == fig["dropped"]
    assert r["out_of_order"] == r["duplicates"] == r["rejected"] == r["bad_times"] == 0
    assert r["pid"] != hog["pids"][0]
    figures = [*r["latency_ms"].values(), *r["jitter_ms"].values(), r["late"]]
    assert len(figures) == 6 and all(math.isfinite(v) for v in figures)
    assert fig["latency_ms"] == r["latency_ms"]
    cpu = fig["cpu"]
    assert list(cpu["stages"])[:5] == ["lips worker", "transcript worker", "clock/sender",
                                       "audio source", "other threads"]
    assert cpu["stages"]["lips worker"] > 0 and cpu["stages"]["transcript worker"] > 0
    assert cpu["cores"] > 0 and cpu["peak_rss_tree_mb"] >= fig["peak_rss_mb"] > 0
    names = {t["name"] for t in cpu["threads"]}
    assert {"lips", "lips-encoder", "file-source"} <= names
    assert "medtalk-asr" in {c["name"] for c in cpu["children"]}  # the transcript's process
    assert "busy processes: 1" in done.stdout and "whole tree" in done.stdout


def test_a_negative_hog_count_is_a_one_line_error():
    done = run_medtalk("bench", "latency", "--hog", "-1")
    assert done.returncode == 2
    assert "--hog -1" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_hogs_burn_cpu_at_the_benchmark_niceness_and_are_gone_after_stop():
    hogs = Hogs(2)
    hogs.start()
    try:
        time.sleep(0.3)
        pids = hogs.pids
        assert len(pids) == 2 and all(Path(f"/proc/{p}").exists() for p in pids)
    finally:
        hogs.stop()
    assert hogs.gone and not any(Path(f"/proc/{p}").exists() for p in pids)
    assert len(hogs.cpu_s) == 2 and all(s > 0 for s in hogs.cpu_s)
    assert hogs.niceness == [os.getpriority(os.PRIO_PROCESS, 0)] * 2


def test_receiver_process_records_every_frame_and_rejects_non_finite_values(tmp_path):
    endpoint = free_endpoint()
    sink = ZmqSink(endpoint, "MEDTalk", warmup_s=0.0)
    receiver = ExternalReceiver(endpoint, tmp_path)
    try:
        receiver.join(sink.send_names)
        values = np.linspace(-1, 1, 174, dtype=np.float32)
        sent = []
        for i in range(30):
            sent.append(time.monotonic())
            sink.send_frame(Frame(i, i / 60, 1700000000.25, values, "happy", 0.3))
            time.sleep(0.002)
        sink.send_frame(Frame(30, 0.5, 1700000000.25, np.full(174, np.nan, np.float32),
                              "happy", 0.3))  # a sink sends what it is given
    finally:
        sink.close()
    arrivals = receiver.finish()
    assert arrivals.index.tolist() == list(range(30)) and arrivals.rejected == 1
    assert np.allclose(arrivals.t, np.arange(30) / 60) and (arrivals.t0 == 1700000000.25).all()
    # CLOCK_MONOTONIC is one clock for both processes: each frame arrives after it was sent
    assert (arrivals.arrival >= np.array(sent)).all()
    assert (arrivals.arrival - np.array(sent) < 30).all()


def test_arrival_figures_count_drops_late_and_out_of_order_frames():
    fps = 60
    sent = [SentFrame(i, 10 + i / fps, 10 + i / fps, 9.9 + i / fps) for i in range(6)]
    # frame 2 never arrives, 4 arrives before 3, 5 arrives two periods after its deadline
    order = [0, 1, 4, 3, 5]
    arrival = np.array([sent[i].deadline + 0.001 for i in order])
    arrival[-1] = sent[5].deadline + 2 / fps
    arrivals = Arrivals(np.array(order), np.array(order) / fps, np.full(5, 1.0), arrival, 0)
    fig = arrival_figures(arrivals, sent, 6, fps)
    assert fig["frames_received"] == 5 and fig["dropped"] == 1
    assert fig["out_of_order"] == 1 and fig["duplicates"] == 0 and fig["bad_times"] == 0
    assert fig["late"] == 1
    assert fig["latency_ms"]["p50"] == 101.0  # deadline + 1 ms - (deadline - 100 ms)
    none = arrival_figures(Arrivals(*(np.zeros(0),) * 4, 0), sent, 6, fps)
    assert none["dropped"] == 6 and none["latency_ms"] == {"p50": None, "p95": None,
                                                         "p99": None}


def test_tree_sampler_names_python_threads_and_counts_children_but_excluded_ones():
    excluded = subprocess.Popen([sys.executable, "-c", SPIN.format(0.3)])
    sampler = TreeSampler(lambda: {excluded.pid}, interval_s=0.05)
    sampler.start()
    child = subprocess.Popen([sys.executable, "-c", SPIN.format(0.3)])
    worker = threading.Thread(target=spin_cpu, args=(0.3,), name="lips")
    worker.start()
    time.sleep(0.2)  # sampled while it runs: named and seen
    worker.join()
    child.wait()
    cpu = sampler.stop()
    excluded.wait()  # reaped after the window: a reaped child's time counts in its parent's
    assert cpu.wall_s > 0 and cpu.cpu_s >= 0.55  # the thread's 0.3 s and the child's 0.3 s
    lips = [u for u in cpu.threads if u.id == worker.native_id]
    assert lips and lips[0].name == "lips" and lips[0].cpu_s >= 0.2
    pids = [u.id for u in cpu.children]
    assert excluded.pid not in pids
    assert stage_cpu(cpu)["lips worker"] == round(lips[0].cpu_s, 2)
    assert cpu.peak_rss_kb > 0


def test_name_workers_of_finds_the_thread_a_call_waits_for():
    jobs, done = queue.Queue(), queue.Queue()

    def serve():
        while (seconds := jobs.get()) is not None:
            spin_cpu(seconds)
            done.put(True)

    server = threading.Thread(target=serve)
    server.start()
    try:
        tids = name_workers_of(lambda: (jobs.put(0.02), done.get()), "model-pool")
    finally:
        jobs.put(None)
        server.join()
    assert tids == [server.native_id]
    assert name_workers_of(lambda: spin_cpu(0.01), "nobody", max_calls=5) == []


def test_stage_cpu_puts_every_thread_and_child_in_one_row():
    cpu = TreeCpu(2.0, 1.5, [Usage(os.getpid(), "python", 0.1), Usage(1, "lips", 0.2),
                             Usage(2, "lips-encoder", 0.3), Usage(3, "asr-whisper", 0.4),
                             Usage(4, "ZMQbg/IO/0", 0.05)], [Usage(99, "asr", 0.25)])
    stages = stage_cpu(cpu)
    assert stages == {"lips worker": 0.5, "transcript worker": 0.4, "clock/sender": 0.1,
                      "audio source": 0.0, "other threads": 0.05, "child asr 99": 0.25,
                      "ended": 0.2}
