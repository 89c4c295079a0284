"""Benchmarks of the live path: ``medtalk bench latency`` and ``medtalk bench skew``.

    medtalk bench latency [--file F] [--minutes M] [--checkpoint P | --lookahead-ms 40|240]
                          [--offline] [--json OUT]
    medtalk bench skew --data DIR [--count N] [--checkpoint P | --lookahead-ms 40|240]
                       [--json OUT]

``bench skew`` measures train/serve skew on a corpus split (default: the held-out ``test``):
every ``len / N``-th utterance is streamed with ``--fast`` semantics (the file through the audio
callback, the lips and transcript steps of the live engine, frames collected as the sender sends
them) and animated offline as ``medtalk infer`` does (shipped default model); both use their own
faster-whisper transcript (the live one committed word by word), and both are scored against the
corpus's ground-truth rig (MLE, MEE, EIE, FRD). It prints both and the ratio of the MLEs.

The input is ``--file`` (looped to ``--minutes`` if given) or real English speech from Debian's
codec2-examples (``/usr/share/codec2/wav/*.wav`` and ``raw/speech_orig_16k.wav``) concatenated and
looped to ``--minutes`` (default 1). It is played by :class:`bridge.sources.FileSource` through
the engine's audio callback exactly as ``medtalk stream --file`` does, frames going to an OSC
receiver in this process. Printed:

* mouth latency p50 / p95 / p99 (ms): send time minus the time the frame's audio entered;
* frame-interval jitter p99 (ms): ``|send interval - 1/60 s|``;
* dropped frames (never sent) and late frames (sent > 4 ms after their deadline);
* RTF: CPU s of the lips worker and of the transcript worker per s of audio;
* CPU: the process's CPU time over wall time (100 % = one core), peak resident memory;
* with ``--offline``: ``medtalk infer``'s compute time for the same audio with the shipped
  default model, and the ratio of the stream's CPU time to it.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import socket
import threading
import time
from pathlib import Path

import numpy as np

from medtalk_core.config import Config
from .stream_models import add_model_arguments, chosen_checkpoint

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


class _Receiver:
    """A UDP socket on 127.0.0.1 that counts the datagrams the stream sends it."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.packets = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                self.sock.recv(65536)
                self.packets += 1
            except TimeoutError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def measure(audio: np.ndarray, checkpoint, emotion: str, cfg: Config) -> dict:
    """Stream ``audio`` through the live path in real time; returns the figures."""
    from .engine import Engine, load_live_model
    from .pacer import Sender
    from .sinks import OscSink
    from .sources import FileSource
    from .state import LiveState
    from .status import SendStats

    live = load_live_model(checkpoint, cfg)
    receiver = _Receiver()
    state = LiveState(live.labels, emotion, round(cfg.live.blend_s * cfg.rig.fps))
    source = FileSource(audio, cfg.live.blocksize)
    sender = Sender([OscSink(f"127.0.0.1:{receiver.port}", cfg.stream.subject)],
                    cfg.stream.names_interval_s)
    engine = Engine(live, source, state, sender, cfg, stats=SendStats(window=None))
    cpu0, wall0 = time.process_time(), time.monotonic()
    try:
        stats = engine.run()
    finally:
        sender.close()
        receiver.close()
    wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
    seconds = len(audio) / 16000
    expected = len(audio) * cfg.rig.fps // 16000
    lat = stats.latency_ms()
    jitter = np.abs(np.diff(stats.sent_times()) * 1000 - 1000 / cfg.rig.fps)
    return {
        "audio_s": round(seconds, 1), "frames_expected": expected, "frames_sent": stats.sent,
        "frames_received": receiver.packets, "dropped": expected - stats.sent,
        "late": stats.late,
        "frame_delay_ms": round(1000 * engine.delay_s, 1),
        "lookahead_ms": round(1000 * engine.ahead_s, 1),
        "latency_ms": {f"p{q}": round(float(np.percentile(lat, q)), 1) for q in (50, 95, 99)},
        "jitter_p99_ms": round(float(np.percentile(jitter, 99)), 2),
        "rtf": {k: round(v / seconds, 3) for k, v in engine.busy.items()},
        "cpu_percent": round(100 * cpu / wall, 1),
        "cpu_s_per_audio_s": round(cpu / seconds, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
        "transcript": transcript_figures(engine, wall),
        "faults": engine.problems(),
        "checkpoint": str(live.meta.get("plan", "")) or str(checkpoint),
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
    from .sources import FileSource
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


def run(args: argparse.Namespace) -> int:
    from medtalk_core.config import load_config

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
    audio = speech_input(args.file, args.minutes)
    log.info("bench latency: %.1f s of audio in real time", len(audio) / 16000)
    fig = measure(audio, chosen_checkpoint(args), args.emotion, cfg)
    if args.offline:
        off = offline_time(audio, cfg)
        fig["offline_rtf"] = round(off / (len(audio) / 16000), 3)
        fig["stream_cpu_to_offline"] = round(fig["cpu_s_per_audio_s"] / fig["offline_rtf"], 2)
    lat = fig["latency_ms"]
    print(f"audio {fig['audio_s']} s, {fig['frames_sent']}/{fig['frames_expected']} frames sent "
          f"({fig['frames_received']} received), frame delay {fig['frame_delay_ms']} ms "
          f"(lookahead {fig['lookahead_ms']} ms)")
    print(f"mouth latency p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms; "
          f"jitter p99 {fig['jitter_p99_ms']} ms; dropped {fig['dropped']}, late {fig['late']}")
    print(f"RTF lips {fig['rtf']['lips']}, transcript {fig['rtf']['asr']}; CPU "
          f"{fig['cpu_percent']} % of a core ({fig['cpu_s_per_audio_s']} s per audio s); "
          f"peak RSS {fig['peak_rss_mb']:.0f} MB")
    if args.offline:
        print(f"offline inference RTF {fig['offline_rtf']}; stream CPU / offline = "
              f"{fig['stream_cpu_to_offline']}")
    tr = fig["transcript"]
    print(f"transcript: {tr['words']} words, lag p50 {tr['lag_p50_ms']} ms, p95 "
          f"{tr['lag_p95_ms']} ms; CPU {tr['cpu_percent']} % of a core")
    print(f"faults: {fig['faults']}")
    if args.json:
        from medtalk_core.rigio import atomic_write_text

        atomic_write_text(args.json, json.dumps(fig, indent=1))
    return 0
