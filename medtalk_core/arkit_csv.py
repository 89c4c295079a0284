"""Reading mouth curves named by ARKit blendshapes from a CSV file.

A header row names the columns; columns whose name is an ARKit blendshape
(:data:`medtalk_core.arkit.ARKIT_NAMES`, matched without regard to case, so Live Link Face's
``JawOpen`` is ``jawOpen``) are the curves, every other column (``frame``, ``BlendShapeCount``,
``HeadYaw``, ...) is ignored. Each row's time in seconds comes from, in this order:

    * a ``time_s`` column (seconds; strictly increasing);
    * a ``Timecode`` column as Live Link Face writes it, ``HH:MM:SS:FF`` or ``HH:MM:SS:FF.fff``
      (frame ``FF`` plus a fraction of a frame), at the timecode rate ``fps`` or, without it, the
      smallest of 24, 25, 30, 48, 50, 60 above every ``FF`` in the file; times count from the
      first row;
    * ``fps``: row ``i`` at ``i / fps`` seconds.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .arkit import ARKIT_NAMES
from .errors import MedtalkError

TIMECODE_RATES = (24, 25, 30, 48, 50, 60)
"""Timecode frame rates tried, in order, when a ``Timecode`` file comes without ``fps``."""

_BY_LOWER = {n.lower(): n for n in ARKIT_NAMES}


@dataclass(frozen=True)
class ArkitCurves:
    """Curves read by :func:`read_arkit_csv`: ``times`` float64 ``(N,)`` seconds, strictly
    increasing; ``curves`` float64 ``(N, C)``, finite; ``names`` the C ARKit names of its columns,
    in the file's order."""

    times: np.ndarray
    curves: np.ndarray
    names: tuple[str, ...]


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except FileNotFoundError:
        raise MedtalkError(f"curve file not found: {path}") from None
    except IsADirectoryError:
        raise MedtalkError(f"curve path is a folder, not a CSV file: {path}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise MedtalkError(f"{path}: unreadable CSV ({' '.join(str(e).split())})") from None
    if len(rows) < 3:
        raise MedtalkError(f"{path}: needs a header row and at least 2 rows of curves")
    header = [c.strip() for c in rows[0]]
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise MedtalkError(f"{path}: row {line} has {len(row)} fields, the header {len(header)}")
    return header, rows[1:]


def _numbers(path: Path, rows: list[list[str]], col: int, name: str) -> np.ndarray:
    out = np.empty(len(rows))
    for i, row in enumerate(rows):
        try:
            out[i] = float(row[col])
        except ValueError:
            raise MedtalkError(f"{path}: row {i + 2}, column {name}: "
                               f"{row[col].strip()!r} is not a number") from None
        if not math.isfinite(out[i]):
            raise MedtalkError(f"{path}: column {name} has a NaN or infinite value (row {i + 2})")
    return out


def parse_timecode(text: str) -> tuple[int, float]:
    """``HH:MM:SS:FF[.fff]`` -> ``(whole seconds, frame + fraction)``.

    Raises:
        ValueError: not of that form.
    """
    parts = text.strip().split(":")
    if len(parts) != 4:
        raise ValueError(text)
    h, m, s = (int(p) for p in parts[:3])
    frame = float(parts[3])
    if not (0 <= m < 60 and 0 <= s < 60 and h >= 0 and 0 <= frame and math.isfinite(frame)):
        raise ValueError(text)
    return h * 3600 + m * 60 + s, frame


def _timecode_times(path: Path, rows: list[list[str]], col: int, fps: float | None) -> np.ndarray:
    try:
        codes = [parse_timecode(r[col]) for r in rows]
    except ValueError as e:
        raise MedtalkError(f"{path}: Timecode {str(e)!r} is not HH:MM:SS:FF[.fff]") from None
    if fps is None:
        top = max(int(f) for _, f in codes)
        fps = next((r for r in TIMECODE_RATES if r > top), None)
        if fps is None:
            raise MedtalkError(f"{path}: Timecode frames reach {top}; give the rate with --fps")
    seconds = np.array([s + f / fps for s, f in codes])
    return seconds - seconds[0]


def read_arkit_csv(path: str | os.PathLike, fps: float | None = None) -> ArkitCurves:
    """Read ARKit-named curves and their times (see the module docstring).

    Args:
        path: the CSV file.
        fps: frames per second of the rows (files without ``time_s`` or ``Timecode``), or the
            timecode rate; with ``time_s`` it must agree with the file's own rate within 1 %.

    Returns:
        :class:`ArkitCurves`.

    Raises:
        MedtalkError: one line naming the problem: no such file, unreadable or ragged CSV, fewer
            than 2 rows, no ARKit column, no time (no ``time_s``, ``Timecode`` nor ``fps``), ``fps``
            not a positive number, a value that is not a number, NaN or infinite, times not
            strictly increasing, ``fps`` disagreeing with ``time_s``.
    """
    path = Path(path)
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise MedtalkError(f"--fps {fps}: must be a positive number of frames per second")
    header, rows = _rows(path)
    cols = [(i, _BY_LOWER[h.lower()]) for i, h in enumerate(header) if h.lower() in _BY_LOWER]
    if not cols:
        raise MedtalkError(f"{path}: no ARKit blendshape column (jawOpen, mouthFunnel, ...) "
                           f"in the header {','.join(header)[:80]}")
    lower = [h.lower() for h in header]
    if "time_s" in lower:
        times = _numbers(path, rows, lower.index("time_s"), "time_s")
    elif "timecode" in lower:
        times = _timecode_times(path, rows, lower.index("timecode"), fps)
    elif fps is not None:
        times = np.arange(len(rows)) / fps
    else:
        raise MedtalkError(f"{path}: no time_s or Timecode column; give the frame rate with --fps")
    steps = np.diff(times)
    if not (steps > 0).all():
        raise MedtalkError(f"{path}: row times are not strictly increasing "
                           f"(row {int(np.argmax(steps <= 0)) + 3})")
    if fps is not None and "time_s" in lower and abs(np.median(steps) * fps - 1) > 0.01:
        raise MedtalkError(f"{path}: --fps {fps:g} disagrees with its time_s column "
                           f"({1 / np.median(steps):.3g} fps)")
    curves = np.stack([_numbers(path, rows, i, name) for i, name in cols], axis=1)
    return ArkitCurves(times, curves, tuple(name for _, name in cols))
