"""``medtalk stream``: speech from a microphone or a file -> rig frames over OSC / ZeroMQ, live.

    medtalk stream (--mic [DEVICE] | --file AUDIO [--fast])
                   (--emotion LABEL | --text DESCRIPTION | --image PATH)
                   [--osc HOST:PORT | --no-osc] [--zmq [ENDPOINT]] [--subject NAME]
                   [--livelinkface [[HOST:]PORT]] [--livelinkface-subject NAME]
                   [--vmc [[HOST:]PORT]] [--vrm 0|1]
                   [--record OUT.txt|csv|json] [--control HOST:PORT | --no-control]
                   [--preview [[HOST:]PORT]]
                   [--intensity SCALE] [--blend S] [--no-blinks]
                   [--checkpoint P | --lookahead-ms 40|240]

Both inputs go through the live engine (``bridge/engine.py``, which wires the stages): the audio
callback fills a ring buffer; frame ``i`` leaves at ``t0 + D + i / 60`` (``D``: the stream's
lookahead plus a compute margin, ``[live] frame_delay_s``), ``t0`` being the Unix time at which
audio time 0 entered the process. ``--file`` plays the file through the same callback at
real-time pace; ``--fast`` runs it as fast as possible (frames sent as made). OSC (UDP) is on by
default, to ``[stream] osc``; ZeroMQ with ``--zmq``; the ARKit 52 blendshapes (``[arkit] mapping``) as
Live Link Face packets with ``--livelinkface`` (Unreal, no plugin: ``docs/unreal.md``) and as VMC
blendshapes with ``--vmc`` (VRM avatars: ``docs/vmc.md``). Packets follow ``docs/protocol.md``; the OSC
control port (``[stream] control_port``) is ``bridge/controls.py``, the hotkeys
``bridge/hotkeys.py``. ``--preview`` serves the live preview page (``bridge/preview_sink.py``,
``docs/preview.md``): the face drawn in 2-D, the face board, and buttons that send the control
port's messages.

Start-up order: the arguments are checked, then what another stream could hold is claimed (the
control port, the ZeroMQ endpoint; a second stream on the same ports fails here, in well under a
second, without disturbing the first), the recording's temporary file made and the audio opened,
and only then are the models loaded. A failed start leaves no recording behind and an existing
one as it was (:class:`bridge.recorder.Recorder`).
"""

from __future__ import annotations

from dataclasses import replace
import argparse
import logging
import signal

from medtalk_core.config import Config
from medtalk_core.errors import MedtalkError
from medtalk_core.steering import add_emotion_arguments, spec_from_args

from .stream_models import add_model_arguments, chosen_checkpoint

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--file", metavar="AUDIO",
                     help="speech file played as a microphone (WAV, FLAC, OGG; any rate)")
    src.add_argument("--mic", nargs="?", const="", metavar="DEVICE",
                     help="live input: device index or name (default input without a value; "
                          "medtalk devices lists them)")
    parser.add_argument("--fast", action="store_true",
                        help="with --file: run as fast as possible instead of in real time")
    add_emotion_arguments(parser, at_start=True)
    osc = parser.add_mutually_exclusive_group()
    osc.add_argument("--osc", metavar="HOST:PORT",
                     help="OSC/UDP destination (default: [stream] osc of the config)")
    osc.add_argument("--no-osc", action="store_true", help="do not send OSC")
    parser.add_argument("--zmq", nargs="?", const="", metavar="ENDPOINT",
                        help="also publish on ZeroMQ; PUB binds ENDPOINT "
                             "(default: [stream] zmq of the config)")
    parser.add_argument("--subject", metavar="NAME",
                        help="Live Link subject name (default: [stream] subject of the config)")
    parser.add_argument("--livelinkface", nargs="?", const="", metavar="[HOST:]PORT",
                        help="also send Live Link Face packets (ARKit 52, no Unreal plugin) "
                             "(default: [arkit] livelinkface of the config, 127.0.0.1:11111)")
    parser.add_argument("--livelinkface-subject", metavar="NAME",
                        help="Live Link Face subject name (default: the --subject)")
    parser.add_argument("--vmc", nargs="?", const="", metavar="[HOST:]PORT",
                        help="also send VMC protocol blendshapes to a VRM avatar app "
                             "(default: [arkit] vmc of the config, 127.0.0.1:39540)")
    parser.add_argument("--vrm", type=int, choices=(0, 1),
                        help="VRM expression preset names for --vmc: 0 (VRM 0.x: A I U E O, "
                             "Blink_L, Joy...; default) or 1 (VRM 1.0: aa ih..., blinkLeft, happy...)")
    parser.add_argument("--record", metavar="OUT",
                        help="write every sent frame to OUT.txt, .csv or .json as it goes")
    ctl = parser.add_mutually_exclusive_group()
    ctl.add_argument("--control", metavar="HOST:PORT",
                     help="OSC control port to bind (default: 127.0.0.1:[stream] control_port)")
    ctl.add_argument("--no-control", action="store_true", help="no OSC control port")
    parser.add_argument("--preview", nargs="?", const="", metavar="[HOST:]PORT",
                        help="also serve the live preview page at http://HOST:PORT/ "
                             "(default: [stream] preview of the config, 127.0.0.1:8780)")
    parser.add_argument("--intensity", type=float, default=1.0, metavar="SCALE",
                        help="intensity scale at start, in [0, 2] (default 1; + / - and "
                             "/medtalk/intensity change it)")
    parser.add_argument("--blend", type=float, metavar="S",
                        help="s over which control changes blend (default: [live] blend_s)")
    parser.add_argument("--no-blinks", action="store_true",
                        help="no procedural blinks and saccades")
    add_model_arguments(parser)


def open_sinks(args: argparse.Namespace, config: Config, control=None) -> list:
    """The sinks the arguments ask for, opened (ZeroMQ bound, the ARKit mapping read, the
    preview page served; ``control``: the stream's :class:`bridge.controls.ControlServer`, which
    takes the preview page's control messages).

    Raises:
        MedtalkError: no sink asked for, a bad address, subject or mapping file, an endpoint that
            cannot be bound.
    """
    from .sinks import OscSink, ZmqSink

    cfg = config.stream
    subject = cfg.subject if args.subject is None else args.subject
    makers = _arkit_makers(args, config, subject)
    if not args.no_osc:
        makers.append(lambda: OscSink(args.osc or cfg.osc, subject))
    if args.zmq is not None:
        makers.append(lambda: ZmqSink(args.zmq or cfg.zmq, subject,
                                      warmup_s=cfg.zmq_warmup_s, linger_s=cfg.zmq_linger_s))
    if args.preview is not None:
        from .preview_sink import PreviewSink

        makers.append(lambda: PreviewSink(args.preview or cfg.preview, control, cfg.preview_fps))
    if not makers and not args.record:
        raise MedtalkError("nothing to stream to: --no-osc needs --zmq, --livelinkface, --vmc, "
                           "--preview or --record")
    sinks = []
    try:
        for make in makers:
            sinks.append(make())
    except BaseException:
        for sink in sinks:
            sink.close()
        raise
    return sinks


def _arkit_makers(args: argparse.Namespace, cfg: Config, subject: str) -> list:
    """Makers of the ARKit sinks asked for (the mapping file read once, if any is)."""
    from medtalk_core.arkit_map import load_mapping

    from .sinks import LiveLinkFaceSink, VmcSink

    if args.livelinkface_subject is not None and args.livelinkface is None:
        raise MedtalkError("--livelinkface-subject needs --livelinkface")
    if args.vrm is not None and args.vmc is None:
        raise MedtalkError("--vrm needs --vmc")
    if args.livelinkface is None and args.vmc is None:
        return []
    ac = cfg.arkit
    mapping = load_mapping(ac.mapping)
    llf_subject = subject if args.livelinkface_subject is None else args.livelinkface_subject
    makers = []
    if args.livelinkface is not None:
        makers.append(lambda: LiveLinkFaceSink(args.livelinkface or ac.livelinkface, llf_subject,
                                               ac.device_id, mapping))
    if args.vmc is not None:
        makers.append(lambda: VmcSink(args.vmc or ac.vmc, mapping, args.vrm or 0))
    return makers


def _source(args: argparse.Namespace, cfg: Config, problems):
    from medtalk_core.audio import load_audio

    from .sources import FileSource, MicSource, resolve_device

    lc = cfg.live
    if args.file is not None:
        return FileSource(load_audio(args.file, cfg.audio.sample_rate), lc.blocksize,
                          fast=args.fast)
    if args.fast:
        raise MedtalkError("--fast needs --file (a microphone runs in real time)")
    return MicSource(resolve_device(args.mic), lc.blocksize, lc.retry_s, problems)


def run(args: argparse.Namespace) -> int:
    """Stream until the file ends, ``q``, Ctrl-C or SIGTERM; returns the exit code 0.

    Raises:
        MedtalkError: unknown emotion, an intensity scale that is not in [0, 2], unusable audio
            or device, bad address or subject, unbindable endpoint or control port (in use by
            another stream), missing or mismatched checkpoint.
    """
    from medtalk_core.config import load_config
    from medtalk_core.infer import check_intensity

    cfg = load_config(args.config)
    args.spec = spec_from_args(args.emotion, args.text, args.image)
    check_intensity(args.intensity)
    if args.blend is not None:
        cfg = replace(cfg, live=replace(cfg.live, blend_s=max(0.0, args.blend)))
    if args.no_blinks:
        cfg = replace(cfg, live=replace(cfg.live, blinks=False, saccades=False))
    with Claims(args, cfg) as claims:
        return _stream(args, cfg, claims)


class Claims:
    """What a stream holds, taken before any model loads, in this order: the control port, the
    sinks (the ZeroMQ bind), the recording's temporary file. On leaving: the sinks and the port
    are closed; the recording renamed into place if the stream ran (:meth:`ran`), else
    discarded.

    Raises:
        MedtalkError: a claim that cannot be taken (what was taken is released).
    """

    def __init__(self, args: argparse.Namespace, cfg: Config):
        from .controls import ControlServer

        self.control = self.recorder = None
        self.sinks: list = []
        self._ran = False
        try:
            if not args.no_control:
                self.control = ControlServer(
                    args.control or f"{cfg.live.control_host}:{cfg.stream.control_port}")
            self.sinks = open_sinks(args, cfg, self.control)
            if args.record:
                from .recorder import Recorder

                self.recorder = Recorder(args.record, cfg.rig.fps)
        except BaseException:
            self._release()
            raise

    def ran(self) -> None:
        """The stream started: keep its recording."""
        self._ran = True

    def __enter__(self) -> Claims:
        return self

    def __exit__(self, *exc) -> None:
        self._release()

    def _release(self) -> None:
        for sink in self.sinks:
            sink.close()
        if self.recorder is not None:
            (self.recorder.close if self._ran else self.recorder.discard)()
        if self.control is not None:
            self.control.close()


def _stream(args, cfg: Config, claims: Claims) -> int:
    from medtalk_core.steering import Steering

    from .engine import Engine, load_live_model
    from .hotkeys import Hotkeys
    from .pacer import Sender
    from .sinks import ProblemLog
    from .state import LiveState
    from .status import StatusLine

    lc = cfg.live
    problems = ProblemLog("input", "the stream goes on")
    source = _source(args, cfg, problems)  # a bad file or device fails before the models load
    live = load_live_model(chosen_checkpoint(args), cfg)
    steering = Steering(live.model, live.meta, cfg)
    state = LiveState(live.labels, args.spec, round(lc.blend_s * cfg.rig.fps),
                      lc.intensity_step, steering.embedding, args.intensity)
    sinks = claims.sinks + ([claims.recorder] if claims.recorder else [])
    sender = Sender(sinks, cfg.stream.names_interval_s)  # closed with the claims
    engine = Engine(live, source, state, sender, cfg, problems)
    control = claims.control.start(state) if claims.control else None
    keys = Hotkeys(state) if Hotkeys.available() and not args.fast else None
    previous = signal.signal(signal.SIGTERM, lambda *_: engine.stop())
    status = StatusLine(engine.status_inputs(control), lc.status_interval_s)
    log.info("streaming %s (emotion %s) to %s; frame delay %.0f ms (lookahead %.0f ms)%s",
             args.file or f"input {source.name!r}", args.spec.describe(),
             ", ".join(sender.sink_names), 1000 * engine.delay_s,
             1000 * engine.ahead_s, f"; control port {control.port}" if control else "")
    claims.ran()
    try:
        status.start()
        engine.run()
    except KeyboardInterrupt:
        engine.stop()
    finally:
        status.stop()
        signal.signal(signal.SIGTERM, previous)
        if keys:
            keys.close()
    status.summary(fast=args.fast)
    return 0
