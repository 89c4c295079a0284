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
import warnings
from pathlib import Path

import numpy as np

from medtalk_core import rig
from medtalk_core.errors import MedtalkError

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


def _is_arkit_take(path: Path) -> bool:
    """Whether a .csv file is an ARKit take (its header does not start with ``time``)."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            first = f.readline().split(",", 1)[0].strip().lower()
    except (OSError, UnicodeDecodeError) as e:
        raise MedtalkError(f"cannot read result file {path}: {e}") from None
    return first != "time"


def load_result(path: str | Path, mapping: str = "") -> np.ndarray:
    """A written result as rig frames.

    Args:
        path: ``.txt``, ``.json`` or ``.csv`` (a rig CSV, or a Live Link Face / ARKit CSV take).
        mapping: the ARKit mapping file for a take (``""``: the default mapping).
    Returns:
        float32 ``(T, 174)`` at 60 fps, ``T >= 1``, finite.
    Raises:
        MedtalkError: a missing or unreadable file, an unknown extension, no frames, rows that
            are not 174 wide, NaN or infinite values.
    """
    from medtalk_core.rigio import read_rig

    path = Path(path)
    if path.suffix.lower() == ".csv" and path.is_file() and _is_arkit_take(path):
        frames = _take_to_rig(path, mapping)
    else:
        if path.suffix.lower() not in (".txt", ".csv", ".json"):
            raise MedtalkError(f"result {path}: unknown format {path.suffix!r}; "
                               "use .txt, .csv or .json")
        with warnings.catch_warnings():  # an empty file: numpy's warning, then the error below
            warnings.simplefilter("ignore", UserWarning)
            frames = read_rig(path)
    if len(frames) == 0:
        raise MedtalkError(f"result {path} has no frames")
    if not np.isfinite(frames).all():
        raise MedtalkError(f"result {path} has NaN or infinite values")
    return frames.astype(np.float32)


def _take_to_rig(path: Path, mapping: str) -> np.ndarray:
    from medtalk_core.arkit import ARKIT_NAMES
    from medtalk_core.arkit_csv import read_arkit_csv
    from medtalk_core.arkit_map import load_mapping

    take = read_arkit_csv(path)
    times = np.arange(int(take.times[-1] * rig.FPS) + 1) / rig.FPS
    shapes = np.zeros((len(times), len(ARKIT_NAMES)), np.float32)
    for j, name in enumerate(take.names):
        shapes[:, ARKIT_NAMES.index(name)] = np.interp(times, take.times, take.curves[:, j])
    return load_mapping(mapping).to_rig(shapes)


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
