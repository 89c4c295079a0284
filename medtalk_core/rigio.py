"""Reading and writing rig clips: EmoFace TXT, CSV and JSON, always atomically.

Formats (chosen by the file extension):
    * ``.txt``: the EmoFace format, one row per 60 fps frame, 174 comma-separated values in rig
      order, no header.
    * ``.csv``: a header ``time,<174 control names>``, then one row per frame, time in seconds.
    * ``.json``: ``{"fps": 60, "names": [...174], "frames": [[...174], ...]}``.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from . import rig
from .errors import MedtalkError

FORMATS = (".txt", ".csv", ".json")


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename
    (:func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="")


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary file in ``path``'s folder for the block to write by name; renamed to ``path``
    when the block ends, deleted if it raises.

    A reader never sees a half-written file, and a failure leaves no file behind (an existing
    ``path`` is kept). The file's mode follows the umask (as ``open`` would create it), not
    ``mkstemp``'s 0600. Its name ends in ``.tmp``: a writer that picks a format by the extension
    must be told the format.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        try:
            os.fchmod(fd, 0o666 & ~current_umask())
        finally:
            os.close(fd)
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process's file-mode creation mask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_output(path: str | os.PathLike, inputs: tuple[str | os.PathLike, ...] = ()) -> str:
    """Check, before any work, that a rig can be written to ``path``; returns its format.

    Raises:
        MedtalkError: unknown extension, or a target :func:`check_target` refuses.
    """
    ext = check_format(path)
    check_target(path, inputs)
    return ext


def check_target(path: str | os.PathLike, inputs: tuple[str | os.PathLike, ...] = (),
                 what: str = "output") -> None:
    """Check, before any work, that a file can be written to ``path`` (any format); ``what``
    names it in the message.

    Raises:
        MedtalkError: ``path`` is a folder, lies in a missing or unwritable folder, or is one of
            ``inputs`` (it would overwrite them).
    """
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise MedtalkError(f"{what} {path} is a folder: name a file")
    if not folder.is_dir():
        raise MedtalkError(f"{what} folder does not exist: {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise MedtalkError(f"{what} folder is not writable: {folder}")
    for src in inputs:
        if path.exists() and Path(src).exists() and os.path.samefile(path, src):
            raise MedtalkError(f"{what} {path} is the input {src}: it would be overwritten")


def check_format(path: str | os.PathLike) -> str:
    """The lower-case extension of ``path`` if it is a rig format.

    Raises:
        MedtalkError: the extension is not .txt, .csv or .json.
    """
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        raise MedtalkError(f"output {path}: unknown format {ext!r}; use .txt, .csv or .json")
    return ext


def format_rig(frames: np.ndarray, ext: str, fps: int = rig.FPS) -> str:
    """Render ``frames`` float ``(T, 174)`` as the text of format ``ext`` (``.txt/.csv/.json``).

    Raises:
        MedtalkError: a value is NaN or infinite (it never reaches a file).
    """
    frames = np.asarray(frames, np.float32).reshape(-1, rig.NUM_CONTROLS)
    if not np.isfinite(frames).all():
        raise MedtalkError("the animation has NaN or infinite values: nothing written")
    if ext == ".json":
        return json.dumps(
            {"fps": fps, "names": list(rig.CONTROL_NAMES), "frames": frames.round(6).tolist()}
        )
    buf = io.StringIO()
    if ext == ".csv":
        times = np.arange(len(frames), dtype=np.float64)[:, None] / fps
        np.savetxt(buf, np.hstack([times, frames]), fmt="%.6f", delimiter=",",
                   header="time," + ",".join(rig.CONTROL_NAMES), comments="")
    else:
        np.savetxt(buf, frames, fmt="%.6f", delimiter=",")
    return buf.getvalue()


def write_rig(path: str | os.PathLike, frames: np.ndarray, fps: int = rig.FPS) -> None:
    """Write a clip float ``(T, 174)`` to ``path`` in the format its extension names, atomically.

    Raises:
        MedtalkError: unknown extension.
    """
    atomic_write_text(path, format_rig(frames, check_format(path), fps))


def read_rig(path: str | os.PathLike) -> np.ndarray:
    """Read a clip written in any of the three formats; returns float32 ``(T, 174)``.

    Raises:
        MedtalkError: unreadable file, or rows that are not 174 values wide.
    """
    path = Path(path)
    ext = check_format(path)
    try:
        if ext == ".json":
            frames = np.asarray(json.loads(path.read_text())["frames"], np.float32)
        else:
            frames = np.loadtxt(path, delimiter=",", dtype=np.float32, ndmin=2,
                                skiprows=1 if ext == ".csv" else 0)
            if ext == ".csv":
                frames = frames[:, 1:]
    except (OSError, ValueError, KeyError) as e:
        raise MedtalkError(f"cannot read rig file {path}: {e}") from None
    if frames.size == 0:
        return np.zeros((0, rig.NUM_CONTROLS), np.float32)
    if frames.shape[1] != rig.NUM_CONTROLS:
        raise MedtalkError(f"rig file {path} has {frames.shape[1]} columns, expected 174")
    return frames
