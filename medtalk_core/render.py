"""``medtalk render``: a take and its audio -> an MP4 of the 2-D vector face, to share a take
without Unreal.

The take is any file ``medtalk infer`` (or ``medtalk stream --record``) writes: EmoFace ``.txt``,
``.csv`` or ``.json``, or an ``--arkit`` Live Link Face CSV take mapped back to the face board
by the ``[arkit] mapping``; it is read as ``medtalk preview`` reads it
(:func:`medtalk_core.result_file.load_result`). Each video frame shows the rig frame at its time
(:func:`video_rows`), drawn by :class:`~medtalk_core.face_raster.FaceRasterizer` and encoded with
the audio by :func:`medtalk_core.video.write_mp4`. ``[render]`` holds the defaults of ``--fps``
and ``--size``, the background colour and how far the audio's duration may stray from the
take's.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from . import rig
from .errors import MedtalkError

FPS_CHOICES = (30, 60)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("result", type=Path,
                   help="the take: .txt, .csv or .json from medtalk infer / stream --record, or "
                        "a Live Link Face CSV from medtalk infer --arkit")
    p.add_argument("--audio", required=True, type=Path, help="the take's audio (WAV, FLAC, OGG)")
    p.add_argument("-o", "--output", required=True, type=Path, help="OUT.mp4")
    p.add_argument("--fps", type=int, choices=FPS_CHOICES,
                   help="video frames per second (default: [render] fps, 30)")
    p.add_argument("--size", metavar="WxH",
                   help="video size in pixels, even numbers (default: [render] size, 640x800)")


def parse_size(text: str) -> tuple[int, int]:
    """``"WxH"`` -> ``(W, H)``, both even and in [16, 4096].

    Raises:
        MedtalkError: not of that form, odd or out of range.
    """
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise MedtalkError(f"--size {text}: expected WIDTHxHEIGHT in pixels, e.g. 640x800") from None
    if not all(16 <= v <= 4096 and v % 2 == 0 for v in (w, h)):
        raise MedtalkError(f"--size {text}: width and height must be even numbers in [16, 4096] "
                           "(H.264 yuv420p)")
    return w, h


def video_rows(n_frames: int, fps: int) -> np.ndarray:
    """int64 indices of the 60 fps rig frames the video frames at ``fps`` show: video frame ``k``
    (at ``k / fps`` s) shows rig frame ``floor(k * 60 / fps)``; ``floor(n_frames * fps / 60)``
    video frames."""
    return np.arange(n_frames * fps // rig.FPS) * rig.FPS // fps


def _settings(args, cfg) -> tuple[int, int, int]:
    """``(fps, width, height)`` of the video: the options, else ``[render]``; the output checked.

    Raises:
        MedtalkError: an output not named .mp4 or not writable, a bad size or rate.
    """
    from .rigio import check_target

    if args.output.suffix.lower() != ".mp4":
        raise MedtalkError(f"output {args.output}: the video is an MP4, name it .mp4")
    fps = args.fps or cfg.fps
    if fps not in FPS_CHOICES:
        raise MedtalkError(f"[render] fps = {fps}: must be 30 or 60")
    width, height = parse_size(args.size or cfg.size)
    check_target(args.output, (args.result, args.audio))
    return fps, width, height


def run(args) -> int:
    from tqdm import tqdm

    from .audio import load_audio
    from .config import load_config
    from .face_raster import FaceRasterizer
    from .video import write_mp4

    from .result_file import load_result

    cfg = load_config(args.config)
    fps, width, height = _settings(args, cfg.render)
    raster = FaceRasterizer(width, height, cfg.render.background)
    frames = load_result(args.result, cfg.arkit.mapping)
    seconds = len(load_audio(args.audio)) / 16000
    take_s = len(frames) / rig.FPS
    if abs(seconds - take_s) > cfg.render.max_gap_s:
        raise MedtalkError(f"{args.result} is {take_s:.2f} s but {args.audio} {seconds:.2f} s: "
                           f"not the take's audio ([render] max_gap_s = {cfg.render.max_gap_s:g})")
    rows = frames[video_rows(len(frames), fps)]
    pictures = (raster(v) for v in tqdm(rows, unit="frame", desc="render", disable=None))
    write_mp4(args.output, pictures, width, height, fps, args.audio)
    print(f"{args.output}: {len(rows)} frames at {fps} fps, {width}x{height}, "
          f"{len(rows) / fps:.2f} s, audio {args.audio.name}")
    return 0
