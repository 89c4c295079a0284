"""``medtalk preview``: play a written result in the live preview page, with its audio in sync.

    medtalk preview RESULT.(txt|csv|json) [--audio AUDIO] [--port [HOST:]PORT]

``RESULT`` is what ``medtalk infer`` (or ``stream --record``) writes: an EmoFace TXT, a rig CSV
(header ``time`` + 174 names) or JSON (:mod:`medtalk_core.rigio`), or a Live Link Face CSV take
(``infer --arkit``; ARKit 52 curves mapped back to the face board by ``[arkit] mapping``,
:meth:`medtalk_core.arkit_map.ArkitMapping.to_rig`, resampled to 60 fps). The page
(:mod:`bridge.preview`, ``docs/preview.md``) shows ``http://HOST:PORT/`` (default
``[stream] preview``); its clock is the audio's (served at ``/audio`` as 16-bit WAV) or, without
audio, its own; a scrubber seeks. The server runs until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import io
import logging
import signal
import threading
from pathlib import Path

import numpy as np

from medtalk_core import rig

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("result", metavar="RESULT",
                        help="a written result: EmoFace .txt, rig .csv or .json, or a Live Link "
                             "Face CSV take (infer --arkit)")
    parser.add_argument("--audio", metavar="AUDIO",
                        help="the speech to play in sync (WAV, FLAC, OGG)")
    parser.add_argument("--port", metavar="[HOST:]PORT",
                        help="address of the page (default: [stream] preview of the config, "
                             "127.0.0.1:8780)")


def audio_wav(path: str | Path) -> bytes:
    """The speech file as a mono 16-bit WAV at its own rate, for the page's audio element.

    Raises:
        AudioError: an unusable audio file (:func:`medtalk_core.audio.load_audio`).
    """
    import soundfile as sf

    from medtalk_core.audio import load_audio

    try:
        rate = sf.info(str(path)).samplerate
    except (RuntimeError, OSError, ValueError):  # load_audio names the problem
        rate = 16000
    audio = load_audio(path, rate)
    buf = io.BytesIO()
    sf.write(buf, audio, rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


class Player:
    """Answers the page's ``{"type": "get", "frame": i}`` with frame ``i`` of a result."""

    def __init__(self, frames: np.ndarray):
        self.frames = frames
        self.intensity = rig.intensity(frames)

    def __call__(self, message: dict) -> str:
        from .preview import frame_message

        i = message.get("frame")
        if message.get("type") != "get" or not isinstance(i, int) or isinstance(i, bool):
            raise ValueError("expected {\"type\": \"get\", \"frame\": INDEX}")
        if not 0 <= i < len(self.frames):
            raise ValueError(f"frame {i} is not in 0..{len(self.frames) - 1}")
        return frame_message(i, i / rig.FPS, self.frames[i], None, float(self.intensity[i]))


def run(args: argparse.Namespace) -> int:
    """Serve the page until Ctrl-C or SIGTERM; returns 0.

    Raises:
        MedtalkError: a bad result or audio file, a bad address, a port that cannot be bound.
    """
    from medtalk_core.config import load_config
    from medtalk_core.result_file import load_result

    from .preview import PreviewServer, hello

    cfg = load_config(args.config)
    frames = load_result(args.result, cfg.arkit.mapping)
    files = {"/audio": (audio_wav(args.audio), "audio/wav")} if args.audio else {}
    title = Path(args.result).name + (f" + {Path(args.audio).name}" if args.audio else "")
    server = PreviewServer(args.port or cfg.stream.preview,
                           hello("playback", frames=len(frames), audio=bool(args.audio),
                                 title=title),
                           on_message=Player(frames), files=files, required=True,
                           consequence="the preview goes on")
    done = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: done.set())
    log.info("preview of %s (%d frames, %.2f s) at %s; Ctrl-C to stop", title, len(frames),
             len(frames) / rig.FPS, server.url)
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.close()
    return 0
