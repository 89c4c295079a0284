"""RGB frames and an audio file -> an MP4 that plays everywhere: H.264 (yuv420p) and AAC, by the
ffmpeg binary that the ``imageio-ffmpeg`` package ships (``imageio_ffmpeg.get_ffmpeg_exe()``,
which the ``IMAGEIO_FFMPEG_EXE`` environment variable overrides).

Frames go to ffmpeg's standard input as raw ``rgb24``; the video ends with the shorter of the
frames and the audio (``-shortest``); ``+faststart`` puts the index first so a browser starts
playing before the download ends. The file is written to a temporary file beside the output
and renamed at the end (:func:`medtalk_core.rigio.atomic_path`).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .errors import MedtalkError
from .rigio import atomic_path


def ffmpeg_exe() -> str:
    """The ffmpeg binary of ``imageio-ffmpeg``.

    Raises:
        MedtalkError: imageio-ffmpeg is not installed or finds no ffmpeg.
    """
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as e:
        raise MedtalkError(f"no ffmpeg: {' '.join(str(e).split())} "
                           "(pip install imageio-ffmpeg)") from None


def ffmpeg_command(exe: str, width: int, height: int, fps: int, audio: Path, out: Path) -> list[str]:
    """The ffmpeg command line: raw RGB frames of ``width`` x ``height`` at ``fps`` on stdin, and
    ``audio``, into the MP4 ``out``."""
    return [exe, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps),
            "-i", "pipe:0", "-i", str(audio), "-map", "0:v:0", "-map", "1:a:0",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", "-shortest", "-movflags", "+faststart",
            "-f", "mp4", str(out)]


def _last_line(log) -> str:
    log.seek(0)
    lines = [ln.strip() for ln in log.read().decode(errors="replace").splitlines() if ln.strip()]
    return lines[-1] if lines else "no message"


def write_mp4(out: str | os.PathLike, frames: Iterable[np.ndarray], width: int, height: int,
              fps: int, audio: str | os.PathLike) -> None:
    """Encode ``frames`` with ``audio`` into the MP4 ``out`` (module docstring).

    Args:
        frames: uint8 ``(height, width, 3)`` RGB pictures, in order, at ``fps``.
        width, height: even pixel sizes (yuv420p halves the chroma both ways).
        audio: any file ffmpeg reads (WAV, FLAC, OGG, ...).

    Raises:
        MedtalkError: no ffmpeg, a frame of another shape, or ffmpeg failing (its last message);
            no file is left behind.
    """
    exe = ffmpeg_exe()
    with atomic_path(out) as tmp, tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(ffmpeg_command(exe, width, height, fps, Path(audio), tmp),
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log,
                                bufsize=0)
        try:
            _feed(proc.stdin, frames, width, height)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        if proc.wait() != 0:
            raise MedtalkError(f"ffmpeg failed (exit {proc.returncode}): {_last_line(log)}")


def _feed(pipe, frames: Iterable[np.ndarray], width: int, height: int) -> None:
    """Write the frames to ffmpeg's (unbuffered) stdin, then close it; a pipe ffmpeg closed
    early ends the feed quietly (its exit code and message say why)."""
    try:
        for frame in frames:
            if frame.shape != (height, width, 3) or frame.dtype != np.uint8:
                raise MedtalkError(f"frame of {frame.shape} {frame.dtype}, expected "
                                   f"({height}, {width}, 3) uint8")
            data = memoryview(frame.tobytes())
            while data:  # a raw write may take part of it
                data = data[pipe.write(data):]
    except BrokenPipeError:
        pass
    finally:
        pipe.close()
