"""``medtalk stream``: animate a speech file and send its frames at real-time pace.

    medtalk stream --file AUDIO --emotion LABEL [--osc HOST:PORT | --no-osc] [--zmq [ENDPOINT]]
                   [--subject NAME] [--checkpoint P]

OSC (UDP) is on by default, to ``[stream] osc`` of config.toml (127.0.0.1:9100). ZeroMQ is on
when ``--zmq`` is given; without a value it binds ``[stream] zmq`` (tcp://127.0.0.1:5570). The
clip is animated up front (RTF about 0.1), then frame ``i`` is sent at ``t0 + i / 60`` s, ``t0``
being the Unix time at which playback (audio time 0) starts. Packets follow ``docs/protocol.md``.
"""

from __future__ import annotations

import argparse
import logging

from medtalk_core import rig
from medtalk_core.errors import MedtalkError

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", required=True, metavar="AUDIO",
                        help="speech file to play (WAV, FLAC, OGG; any rate, mono or stereo)")
    parser.add_argument("--emotion", required=True, metavar="LABEL",
                        help="emotion label: " + " ".join(rig.EMOTIONS))
    osc = parser.add_mutually_exclusive_group()
    osc.add_argument("--osc", metavar="HOST:PORT",
                     help="OSC/UDP destination (default: [stream] osc of the config)")
    osc.add_argument("--no-osc", action="store_true", help="do not send OSC")
    parser.add_argument("--zmq", nargs="?", const="", metavar="ENDPOINT",
                        help="also publish on ZeroMQ; PUB binds ENDPOINT "
                             "(default: [stream] zmq of the config)")
    parser.add_argument("--subject", metavar="NAME",
                        help="Live Link subject name (default: [stream] subject of the config)")
    parser.add_argument("--checkpoint", metavar="P",
                        help="model checkpoint (default: the shipped model)")


def open_sinks(args: argparse.Namespace, cfg: dict) -> list:
    """The sinks the arguments ask for, opened (ZeroMQ bound).

    Raises:
        MedtalkError: no sink asked for, a bad address or subject, an endpoint that cannot be bound.
    """
    from .sinks import OscSink, ZmqSink

    subject = cfg["subject"] if args.subject is None else args.subject
    makers = []
    if not args.no_osc:
        makers.append(lambda: OscSink(args.osc or cfg["osc"], subject))
    if args.zmq is not None:
        makers.append(lambda: ZmqSink(args.zmq or cfg["zmq"], subject,
                                      warmup_s=cfg["zmq_warmup_s"], linger_s=cfg["zmq_linger_s"]))
    if not makers:
        raise MedtalkError("nothing to stream to: --no-osc needs --zmq")
    sinks = []
    try:
        for make in makers:
            sinks.append(make())
    except BaseException:
        for sink in sinks:
            sink.close()
        raise
    return sinks


def run(args: argparse.Namespace) -> int:
    """Animate ``args.file`` and send it at real-time pace; returns the exit code 0.

    Raises:
        MedtalkError: unknown emotion, unusable audio (AudioError), bad address or subject,
            unbindable endpoint, missing or mismatched checkpoint (CheckpointError).
    """
    from medtalk_core.audio import load_audio
    from medtalk_core.config import load_config
    from medtalk_core.inference import Animator

    from .pacer import Pacer, Sender, play

    cfg = load_config(args.config)
    try:
        rig.emotion_id(args.emotion)
    except ValueError as e:
        raise MedtalkError(str(e)) from None
    audio = load_audio(args.file, cfg["audio"]["sample_rate"])
    with Sender(open_sinks(args, cfg["stream"]), cfg["stream"]["names_interval_s"]) as sender:
        anim = Animator.load(args.checkpoint, cfg).animate(audio, args.emotion)
        log.info("streaming %d frames (%.2f s, emotion %s) to %s", len(anim.frames),
                 len(anim.frames) / cfg["rig"]["fps"], args.emotion,
                 ", ".join(s.name for s in sender.sinks))
        report = play(anim.frames, anim.intensity, args.emotion, sender,
                      Pacer(cfg["rig"]["fps"]))
    log.info("sent %d frames in %.2f s (t0 %.3f; wake-up lateness p99 %.1f ms, max %.1f ms)",
             report.frames, report.duration_s, report.t0, report.late_p99_ms, report.late_max_ms)
    for name, counts in sender.problems.items():
        for kind, n in counts.items():
            log.warning("%s: %s: %d packets", name, kind, n)
    return 0
