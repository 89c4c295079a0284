"""Benchmarks of the live path: ``medtalk bench latency`` and ``medtalk bench skew``.

    medtalk bench latency [--file F] [--minutes M] [--checkpoint P | --lookahead-ms 40|240]
                          [--emotion LABEL] [--hog N] [--offline] [--json OUT]
    medtalk bench skew --data DIR [--count N] [--checkpoint P | --lookahead-ms 40|240]
                       [--json OUT]

``bench skew`` measures train/serve skew on a corpus split (default: the held-out ``test``):
every ``len / N``-th utterance is streamed with ``--fast`` semantics (the file through the audio
callback, the lips and transcript steps of the live engine, frames collected as the sender sends
them) and animated offline as ``medtalk infer`` does (shipped default model); both use their own
faster-whisper transcript (the live one committed word by word), and both are scored against the
corpus's ground-truth rig (MLE, MEE, EIE, FRD). It prints both and the ratio of the MLEs.

``bench latency``: the input is ``--file`` (looped to ``--minutes`` if given) or real English
speech from Debian's codec2-examples (``/usr/share/codec2/wav/*.wav`` and
``raw/speech_orig_16k.wav``) concatenated and looped to ``--minutes`` (default 1). It is played by
:class:`bridge.sources.FileSource` through the engine's audio callback exactly as ``medtalk stream
--file`` does; the frames go out on a ZeroMQ PUB (as ``--zmq``) to a receiver in a separate
process (:mod:`bridge.bench_receiver`) that records each frame's header and arrival time.
``--hog N`` runs ``N`` busy processes (:mod:`bridge.bench_hogs`) from before the stream starts
until it has ended. Printed (and written by ``--json``):

* at the receiver: frames received / expected, dropped, late (arrived more than one frame period
  after the frame's deadline), out of order, rejected; inter-arrival jitter p50 / p99 (ms,
  ``|interval - 1/60 s|``); mouth latency p50 / p95 / p99 (ms): arrival minus the time the
  frame's audio entered the stream process (both ``time.monotonic()``, ``CLOCK_MONOTONIC`` on
  Linux: one clock for every process of the machine);
* at the sender: frames sent, dropped (never sent), late (sent > 4 ms after their deadline), the
  mouth latency at the send and the send-interval jitter p99;
* the busy processes: count, niceness (inherited: the stream's), CPU s each, all ended;
* CPU s by stage of the stream's process tree over the streaming (from the first audio block to
  the end; :mod:`bridge.bench_cpu`): lips worker, transcript worker (each with the CTranslate2
  worker thread its Whisper model computes in), clock/sender (the main thread), audio source,
  other threads, each child process, and the whole tree in cores;
* RTF: wall s of the lips worker and of the transcript worker per s of audio; peak resident
  memory of the stream process and of its process tree;
* with ``--offline``: ``medtalk infer``'s compute time for the same audio with the shipped
  default model, and the ratio of the stream's CPU time to it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from medtalk_core.config import Config
from .bench_cpu import TreeCpu, TreeSampler, name_workers_of
from .bench_hogs import Hogs
from .bench_receiver import Arrivals, ExternalReceiver
from .frames import SentFrame
from .sources import FileSource
from .stream_models import add_model_arguments, chosen_checkpoint

if TYPE_CHECKING:
    from .status import SendStats

log = logging.getLogger(__name__)

CODEC2 = Path("/usr/share/codec2")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="bench", required=True, metavar="BENCH")
    k = sub.add_parser("skew", help="MLE of the streamed output against offline inference")
    k.add_argument("--data", type=Path, required=True, help="corpus folder (medtalk synth)")
    k.add_argument("--split", default="test", help="manifest split (default: test, held out)")
    k.add_argument("--count", type=int, default=40, help="utterances (default 40)")
    add_model_arguments(k)
    k.add_argument("--json", type=Path, help="also write the scores as JSON here")
    p = sub.add_parser("latency", help="mouth latency, jitter, drops, RTF, CPU, memory")
    p.add_argument("--file", type=Path, help="speech file (default: codec2-examples speech)")
    p.add_argument("--minutes", type=float, help="loop the input to this length (default: 1 "
                                                 "without --file, the file's length with it)")
    add_model_arguments(p)
    p.add_argument("--emotion", default="happy", help="emotion label (default happy)")
    p.add_argument("--hog", type=int, default=0, metavar="N",
                   help="run N busy processes (CPU spin loops) alongside the stream (default 0)")
    p.add_argument("--offline", action="store_true",
                   help="also time offline inference (shipped default model) on the same audio")
    p.add_argument("--json", type=Path, help="also write the figures as JSON here")


def speech_input(path: Path | None, minutes: float | None) -> np.ndarray:
    """The benchmark's 16 kHz input: ``path`` or the codec2 speech, looped to ``minutes``.

    Raises:
        MedtalkError: no file given and codec2-examples is not installed; unreadable audio.
    """
    from medtalk_core.audio import load_audio
    from medtalk_core.errors import MedtalkError

    if path is not None:
        clips = [load_audio(path)]
    else:
        files = sorted((CODEC2 / "wav").glob("*.wav")) + [CODEC2 / "raw" / "speech_orig_16k.wav"]
        files = [f for f in files if f.is_file()]
        if not files:
            raise MedtalkError("no input: give --file (Debian codec2-examples is not installed)")
        clips = [load_audio(f) for f in files]
        minutes = minutes or 1.0
    one = np.concatenate(clips)
    if minutes is None:
        return one
    n = int(minutes * 60 * 16000)
    return np.resize(one, n).astype(np.float32)


STAGES = {"lips": "lips worker", "lips-encoder": "lips worker", "transcript": "transcript worker",
          "asr-whisper": "transcript worker", "file-source": "audio source",
          "medtalk-asr": "transcript worker"}
"""Kernel thread or child process name -> stage of the stream (``medtalk-asr``: the transcript's
own process, :data:`bridge.asr_process.PROCESS_NAME`); the main thread runs the clock and
sender."""
STAGE_ORDER = ("lips worker", "transcript worker", "clock/sender", "audio source", "other threads")


class MarkedSource(FileSource):
    """A :class:`FileSource` (real-time pace) that calls ``on_start()`` just before it starts
    delivering: the start of the CPU window, after the engine's warm-up."""

    def __init__(self, audio: np.ndarray, blocksize: int, on_start: Callable[[], None]):
        super().__init__(audio, blocksize)
        self.on_start = on_start

    def start(self, callback) -> None:
        self.on_start()
        super().start(callback)


def free_endpoint() -> str:
    """A ZeroMQ TCP endpoint on a port of 127.0.0.1 that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def _percentiles(x: np.ndarray, qs: tuple[int, ...], digits: int = 1) -> dict:
    """``{"pQ": value}`` of ``x`` (None for every ``Q`` when ``x`` is empty: no NaN in JSON)."""
    return {f"p{q}": round(float(np.percentile(x, q)), digits) if len(x) else None for q in qs}


def arrival_figures(arrivals: Arrivals, sent: list[SentFrame], expected: int, fps: int) -> dict:
    """The receiver's figures: frames received, dropped (expected and never received), late
    (arrived more than one frame period after the frame's deadline), out of order (an index
    below one that arrived before), duplicates, rejected (did not decode), header times that
    are not ``index / fps``, inter-arrival jitter ``|interval - 1/fps|`` p50 / p99 (ms) and mouth
    latency p50 / p95 / p99 (ms: arrival minus the time the frame's audio entered the stream).

    ``sent`` holds the stream's deadline and audio entry time (``time.monotonic()``) of every
    frame it sent, the receiver's ``arrivals`` its own ``time.monotonic()``: on Linux both read
    ``CLOCK_MONOTONIC``, one clock for every process of the machine."""
    by_index = {f.index: f for f in sent}
    idx, arrival = arrivals.index, arrivals.arrival
    deadline = np.array([by_index[i].deadline for i in idx])
    entry = np.array([by_index[i].entry for i in idx])
    jitter = np.abs(np.diff(arrival) * 1000 - 1000 / fps)
    return {
        "frames_received": len(idx), "frames_expected": expected,
        "dropped": expected - len(set(idx.tolist())),
        "late": int(np.sum(arrival > deadline + 1 / fps)),
        "out_of_order": int(np.sum(idx[1:] < np.maximum.accumulate(idx)[:-1])),
        "duplicates": len(idx) - len(set(idx.tolist())),
        "rejected": arrivals.rejected,
        "bad_times": int(np.sum(np.abs(arrivals.t - idx / fps) > 1e-9)),
        "jitter_ms": _percentiles(jitter, (50, 99), 2),
        "latency_ms": _percentiles(1000 * (arrival - entry), (50, 95, 99)),
    }


def stage_cpu(cpu: TreeCpu) -> dict[str, float]:
    """CPU s by stage (:data:`STAGES`; the main thread is the clock and sender), each other child
    process (``child NAME PID``) and ``ended`` (after their last sample)."""
    stages = dict.fromkeys(STAGE_ORDER, 0.0)
    for u in cpu.threads:
        stage = "clock/sender" if u.id == os.getpid() else STAGES.get(u.name, "other threads")
        stages[stage] += u.cpu_s
    for u in cpu.children:
        if u.name in STAGES:
            stages[STAGES[u.name]] += u.cpu_s
        else:
            stages[f"child {u.name} {u.id}"] = u.cpu_s
    stages["ended"] = cpu.ended_s
    return {k: round(v, 2) for k, v in stages.items()}


def cpu_figures(cpu: TreeCpu) -> dict:
    """The CPU part of the JSON: window, whole tree (s, cores, per audio s), stages, threads,
    children, peak RSS."""
    return {
        "wall_s": round(cpu.wall_s, 2), "cpu_s": round(cpu.cpu_s, 2),
        "cores": round(cpu.cpu_s / cpu.wall_s, 3),
        "stages": stage_cpu(cpu),
        "threads": [{"tid": u.id, "name": u.name, "cpu_s": round(u.cpu_s, 2), "nice": u.nice}
                    for u in cpu.threads],
        "children": [{"pid": u.id, "name": u.name, "cpu_s": round(u.cpu_s, 2), "nice": u.nice}
                     for u in cpu.children],
        "peak_rss_tree_mb": round(cpu.peak_rss_kb / 1024),
    }


def measure(audio: np.ndarray, checkpoint, emotion: str, cfg: Config, hogs: int = 0) -> dict:
    """Stream ``audio`` through the live path in real time, ``hogs`` busy processes running
    alongside, frames to a receiver in another process; returns the figures.

    Raises:
        CheckpointError, ModelNotFoundError: as :func:`bridge.engine.load_live_model`.
        MedtalkError: the endpoint cannot be bound.
        RuntimeError: the receiver process failed.
    """
    from .engine import Engine, load_live_model
    from .pacer import Sender
    from .sinks import ZmqSink
    from .state import LiveState
    from .status import SendStats

    live = load_live_model(checkpoint, cfg)
    endpoint = free_endpoint()
    sc = cfg.stream
    sender = Sender([ZmqSink(endpoint, sc.subject, warmup_s=sc.zmq_warmup_s,
                             linger_s=sc.zmq_linger_s)], sc.names_interval_s)
    state = LiveState(live.labels, emotion, round(cfg.live.blend_s * cfg.rig.fps))
    hog = Hogs(hogs)
    with tempfile.TemporaryDirectory() as folder:
        receiver = ExternalReceiver(endpoint, Path(folder))
        sampler = TreeSampler(lambda: hog.pids | {receiver.pid})
        source = MarkedSource(audio, cfg.live.blocksize, sampler.start)
        engine = Engine(live, source, state, sender, cfg, stats=SendStats(window=None))
        run = _stream(engine, sender, receiver, hog, sampler)
    fig = latency_figures(engine, run, len(audio), cfg.rig.fps)
    fig["receiver"]["transport"] = f"zmq {endpoint}"
    fig["checkpoint"] = str(live.meta.get("plan", "")) or str(checkpoint)
    return fig


@dataclass
class StreamRun:
    """What one benchmark stream gave: the sender's statistics, the CPU of the stream's process
    tree, the receiver's records and pid, the hogs, the load average (1, 5, 15 min) before the
    hogs started and after the stream."""

    stats: SendStats
    cpu: TreeCpu
    arrivals: Arrivals
    receiver_pid: int
    hog: Hogs
    load: tuple[tuple[float, ...], tuple[float, ...]]


def _stream(engine, sender, receiver: ExternalReceiver, hog: Hogs,
            sampler: TreeSampler) -> StreamRun:
    """Join the receiver, name the CTranslate2 worker threads, start the hogs, run the stream
    (the sampler starts with the audio), end the hogs, collect the receiver's records."""
    from threadpoolctl import threadpool_limits

    try:
        receiver.join(sender.send_names)
        label = engine.state.frame_control(0).label
        with threadpool_limits(1):  # as the engine runs: no OpenBLAS thread takes part
            name_workers_of(lambda: engine.lips.warm_up(label), "lips-encoder")
            if engine.asr is None:  # else the transcript is a child process of its own
                name_workers_of(engine.transcript.warm_up, "asr-whisper")
        before = os.getloadavg()
        hog.start()
        stats = engine.run()
        cpu = sampler.stop()
        after = os.getloadavg()
    except BaseException:
        receiver.kill()
        raise
    finally:
        hog.stop()  # first: the forked hogs hold copies of the receiver's pipe
        sender.close()
    return StreamRun(stats, cpu, receiver.finish(), receiver.pid, hog, (before, after))


def latency_figures(engine, run: StreamRun, samples: int, fps: int) -> dict:
    """The figures of ``bench latency`` (printed and written as JSON) for a stream of
    ``samples`` 16 kHz samples."""
    seconds, stats, cpu, hog = samples / 16000, run.stats, run.cpu, run.hog
    expected = samples * fps // 16000
    jitter = np.abs(np.diff(stats.sent_times()) * 1000 - 1000 / fps)
    receiver = {"pid": run.receiver_pid,
                **arrival_figures(run.arrivals, list(stats.frames), expected, fps)}
    return {
        "audio_s": round(seconds, 1), "frames_expected": expected, "frames_sent": stats.sent,
        "frames_received": receiver["frames_received"], "dropped": expected - stats.sent,
        "late": stats.late,
        "latency_ms": receiver["latency_ms"],
        "jitter_p99_ms": receiver["jitter_ms"]["p99"],
        "frame_delay_ms": round(1000 * engine.delay_s, 1),
        "lookahead_ms": round(1000 * engine.ahead_s, 1),
        "sender": {"latency_ms": _percentiles(stats.latency_ms(), (50, 95, 99)),
                   "jitter_p99_ms": _percentiles(jitter, (99,), 2)["p99"]},
        "receiver": receiver,
        "hog": {"processes": len(hog.pids), "pids": sorted(hog.pids), "niceness": hog.niceness,
                "cpu_s": [round(s, 2) for s in hog.cpu_s], "gone": hog.gone},
        "niceness": os.getpriority(os.PRIO_PROCESS, 0),
        "load_average": {k: [round(v, 2) for v in load]
                         for k, load in zip(("before", "after"), run.load)},
        "rtf": {k: round(v / seconds, 3) for k, v in engine.busy.items()},
        "cpu": cpu_figures(cpu),
        "cpu_percent": round(100 * cpu.cpu_s / cpu.wall_s, 1),
        "cpu_s_per_audio_s": round(cpu.cpu_s / seconds, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
        "transcript": transcript_figures(engine, cpu.wall_s),
        "faults": engine.problems(),
    }


def transcript_figures(engine, wall_s: float) -> dict:
    """The live transcript's words committed, their lag p50 / p95 (ms from a word's centre entering
    the process to the word reaching the lips) and its process's CPU time over the wall time (%)."""
    lags = 1000 * np.asarray(engine.word_lags or [np.nan])
    return {"words": len(engine.word_lags),
            **{f"lag_p{q}_ms": round(float(np.percentile(lags, q)), 0) for q in (50, 95)},
            "cpu_percent": round(100 * engine.asr.cpu_s / wall_s, 1)}


def offline_time(audio: np.ndarray, cfg: Config) -> float:
    """s that offline inference (shipped default model, with its transcript) takes on ``audio``."""
    from medtalk_core.inference import Animator

    animator = Animator.load(None, cfg)
    t = time.perf_counter()
    animator.animate(audio, "happy")
    return time.perf_counter() - t


class Collector:
    """A sink keeping the values of every frame it is sent (``bench skew``)."""

    name, ready_at = "collector", 0.0

    def __init__(self):
        self.frames: list[np.ndarray] = []
        self.problems: dict = {}

    def send_frame(self, frame) -> None:
        self.frames.append(np.asarray(frame.values, np.float32))

    def send_names(self) -> None:
        """Nothing to do."""

    def send_state(self, frame) -> None:
        """Nothing to do."""

    def close(self) -> None:
        """Nothing to do."""


def streamed(live, audio: np.ndarray, emotion: str, cfg: Config) -> np.ndarray:
    """The frames ``medtalk stream --file --fast`` sends for ``audio``: float32 ``(T, 174)``."""
    from .engine import Engine
    from .pacer import Sender
    from .state import LiveState

    state = LiveState(live.labels, emotion, round(cfg.live.blend_s * cfg.rig.fps))
    sink = Collector()
    Engine(live, FileSource(audio, cfg.live.blocksize, fast=True), state,
           Sender([sink]), cfg).run()
    return np.stack(sink.frames) if sink.frames else np.zeros((0, 174), np.float32)


def skew(args: argparse.Namespace, cfg: Config) -> dict:
    """Scores of streamed and offline output on ``args.count`` utterances of a split."""
    from medtalk_core.audio import load_audio
    from medtalk_core.corpus import evenly_spaced, read_manifest
    from medtalk_core.errors import MedtalkError
    from medtalk_core.inference import Animator
    from medtalk_core.metrics import mean_metrics
    from medtalk_core.rigio import read_rig

    from .engine import load_live_model

    rows = [r for r in read_manifest(args.data) if r["split"] == args.split]
    if not rows:
        raise MedtalkError(f"{args.data}: no utterances in split {args.split!r}")
    rows = evenly_spaced(rows, args.count)
    live = load_live_model(chosen_checkpoint(args), cfg)
    offline = Animator.load(None, cfg)
    pairs = {"stream": [], "offline": []}
    for r in rows:
        audio = load_audio(args.data / "wav" / f"{r['id']}.wav")
        gt = read_rig(args.data / "rig" / f"{r['id']}.txt")
        for name, frames in (("stream", streamed(live, audio, r["emotion"], cfg)),
                             ("offline", offline.animate(audio, r["emotion"]).frames)):
            n = min(len(frames), len(gt))
            pairs[name].append((frames[:n], gt[:n]))
    scores = {k: mean_metrics(v) for k, v in pairs.items()}
    scores["utterances"] = len(rows)
    scores["mle_ratio"] = scores["stream"]["MLE"] / scores["offline"]["MLE"]
    return scores


def print_latency(fig: dict) -> None:
    """Print the figures of :func:`measure` (and ``--offline``'s)."""
    r, hog, cpu = fig["receiver"], fig["hog"], fig["cpu"]
    print(f"audio {fig['audio_s']} s, {fig['frames_sent']}/{fig['frames_expected']} frames sent "
          f"(dropped {fig['dropped']}, late {fig['late']} by > 4 ms), frame delay "
          f"{fig['frame_delay_ms']} ms (lookahead {fig['lookahead_ms']} ms)")
    print(f"receiver (process {r['pid']}, {r['transport']}): {r['frames_received']}/"
          f"{r['frames_expected']} frames, dropped {r['dropped']}, late {r['late']} (> due + 1 "
          f"frame), out of order {r['out_of_order']}, rejected {r['rejected']}")
    lat, jit = r["latency_ms"], r["jitter_ms"]
    print(f"mouth latency at the receiver p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 "
          f"{lat['p99']} ms; inter-arrival jitter p50 {jit['p50']} ms, p99 {jit['p99']} ms "
          f"(at the sender: latency p95 {fig['sender']['latency_ms']['p95']} ms, jitter p99 "
          f"{fig['sender']['jitter_p99_ms']} ms)")
    print(f"busy processes: {hog['processes']} (niceness {hog['niceness']}, stream "
          f"{fig['niceness']}; CPU s {hog['cpu_s']}), all ended: {hog['gone']}; load average "
          f"(1, 5, 15 min) before {fig['load_average']['before']}, after "
          f"{fig['load_average']['after']}")
    print(f"CPU of the stream's process tree over {cpu['wall_s']} s of streaming:")
    for stage, s in cpu["stages"].items():
        print(f"  {stage:26} {s:8.2f} s  {100 * s / cpu['wall_s']:6.1f} % of a core")
    print(f"  {'whole tree':26} {cpu['cpu_s']:8.2f} s  {cpu['cores']:6.2f} cores "
          f"({fig['cpu_s_per_audio_s']} CPU s per audio s)")
    busy = sorted(cpu["threads"], key=lambda t: -t["cpu_s"])[:6]
    print("  busiest threads: " + ", ".join(f"{t['name']} {t['cpu_s']} s (nice {t['nice']})"
                                           for t in busy))
    print(f"RTF lips {fig['rtf']['lips']}, transcript {fig['rtf']['asr']}; peak RSS "
          f"{fig['peak_rss_mb']:.0f} MB (process tree {cpu['peak_rss_tree_mb']} MB)")
    if "offline_rtf" in fig:
        print(f"offline inference RTF {fig['offline_rtf']}; stream CPU / offline = "
              f"{fig['stream_cpu_to_offline']}")
    tr = fig["transcript"]
    print(f"transcript: {tr['words']} words, lag p50 {tr['lag_p50_ms']} ms, p95 "
          f"{tr['lag_p95_ms']} ms; CPU {tr['cpu_percent']} % of a core")
    print(f"faults: {fig['faults']}")


def run(args: argparse.Namespace) -> int:
    from medtalk_core.config import load_config
    from medtalk_core.errors import MedtalkError

    cfg = load_config(args.config)
    if args.bench == "skew":
        scores = skew(args, cfg)
        print(f"{scores['utterances']} utterances of split {args.split!r} in {args.data}")
        for name in ("stream", "offline"):
            print(f"{name:8}" + "".join(f"  {m} {v:.5f}" for m, v in scores[name].items()))
        print(f"MLE stream / offline = {scores['mle_ratio']:.3f}")
        if args.json:
            from medtalk_core.rigio import atomic_write_text

            atomic_write_text(args.json, json.dumps(scores, indent=1))
        return 0
    if args.hog < 0:
        raise MedtalkError(f"--hog {args.hog}: the number of busy processes must be 0 or more")
    audio = speech_input(args.file, args.minutes)
    log.info("bench latency: %.1f s of audio in real time, %d busy processes", len(audio) / 16000,
             args.hog)
    fig = measure(audio, chosen_checkpoint(args), args.emotion, cfg, args.hog)
    if args.offline:
        off = offline_time(audio, cfg)
        fig["offline_rtf"] = round(off / (len(audio) / 16000), 3)
        fig["stream_cpu_to_offline"] = round(fig["cpu_s_per_audio_s"] / fig["offline_rtf"], 2)
    print_latency(fig)
    if args.json:
        from medtalk_core.rigio import atomic_write_text

        atomic_write_text(args.json, json.dumps(fig, indent=1))
    return 0
