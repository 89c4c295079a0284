"""Reading a written result back as rig frames: what ``medtalk preview`` plays and
``medtalk render`` draws.

A result is any file ``medtalk infer`` or ``medtalk stream --record`` writes: EmoFace ``.txt``,
a rig ``.csv`` (header ``time,...``) or ``.json`` (:mod:`medtalk_core.rigio`), or a Live Link
Face / ARKit CSV take (``medtalk infer --arkit``; :mod:`medtalk_core.arkit_csv`), whose curves
are resampled to 60 fps and mapped back to the face board
(:meth:`medtalk_core.arkit_map.ArkitMapping.to_rig`).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from . import rig
from .arkit import ARKIT_NAMES
from .arkit_csv import ArkitCurves
from .errors import MedtalkError


def arkit_on_frames(curves: ArkitCurves, times: np.ndarray,
                    names: tuple[str, ...] | None = None) -> np.ndarray:
    """ARKit curves linearly interpolated at ``times``.

    Args:
        curves: curves read by :func:`medtalk_core.arkit_csv.read_arkit_csv`.
        times: float ``(T,)`` seconds (edge values hold outside the curves' times).
        names: the blendshapes to take (default: all of the file's); the others are 0.

    Returns:
        float32 ``(T, 52)`` in :data:`medtalk_core.arkit.ARKIT_NAMES` order.
    """
    keep = curves.names if names is None else names
    shapes = np.zeros((len(times), len(ARKIT_NAMES)), np.float32)
    for j, name in enumerate(curves.names):
        if name in keep:
            shapes[:, ARKIT_NAMES.index(name)] = np.interp(times, curves.times, curves.curves[:, j])
    return shapes


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
    from .rigio import read_rig

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
    from .arkit_csv import read_arkit_csv
    from .arkit_map import load_mapping

    take = read_arkit_csv(path)
    times = np.arange(int(take.times[-1] * rig.FPS) + 1) / rig.FPS
    return load_mapping(mapping).to_rig(arkit_on_frames(take, times))
