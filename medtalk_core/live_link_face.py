"""Live Link Face's 61 values of a rig frame, and its CSV take (``medtalk infer --arkit``).

Live Link Face (Epic's iPhone app) carries, per frame, the 52 ARKit blendshapes in Unreal's
``EARFaceBlendShape`` order (Apple's order, names capitalised: ``EyeBlinkLeft``) and 9 rotations
(:data:`ROTATION_NAMES`). From a rig frame: the blendshapes by an
:class:`~medtalk_core.arkit_map.ArkitMapping`; head yaw, pitch, roll 0 (the model moves no head);
each eye's yaw and pitch :data:`EYE_ANGLE_RAD` times its gaze controls
(``CTRL_L/R_eye-translateX`` / ``-translateY``, +X: to the character's left, +Y: up), roll 0.

The CSV take is the app's recording layout: a header ``Timecode,BlendShapeCount,`` then the 61
names, one row per 60 fps frame: the timecode ``HH:MM:SS:FF.fff`` (frame ``FF`` at 60 fps, from
``00:00:00:00.000``), 61, and the 61 values. :mod:`medtalk_core.arkit_csv` reads it back.
"""

from __future__ import annotations

import io
import os

import numpy as np

from . import rig
from .arkit import ARKIT_NAMES
from .arkit_map import ArkitMapping
from .errors import MedtalkError
from .rigio import atomic_write_text

ROTATION_NAMES = ("HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch",
                  "LeftEyeRoll", "RightEyeYaw", "RightEyePitch", "RightEyeRoll")
LLF_NAMES: tuple[str, ...] = tuple(n[0].upper() + n[1:] for n in ARKIT_NAMES) + ROTATION_NAMES
"""The 61 values, as Unreal's EARFaceBlendShape names them."""

EYE_ANGLE_RAD = 0.6
"""Eye rotation in radians of a gaze control at 1 (``CTRL_*_eye-translateX/Y``, in [-1, 1])."""

_EYES = [rig.INDEX[f"CTRL_{s}_eye-translate{a}"] for s in "LR" for a in "XY"]


def rotations(frames: np.ndarray) -> np.ndarray:
    """float32 ``(..., 9)`` (:data:`ROTATION_NAMES`), finite, of rig frames ``(..., 174)``;
    non-finite gaze counts as 0."""
    gaze = np.asarray(frames, np.float32)[..., _EYES]
    lx, ly, rx, ry = np.moveaxis(np.nan_to_num(gaze, nan=0.0, posinf=0.0, neginf=0.0)
                                 .clip(-1, 1) * EYE_ANGLE_RAD, -1, 0)
    zero = np.zeros_like(lx)
    return np.stack([zero, zero, zero, lx, ly, zero, rx, ry, zero], -1).astype(np.float32)


def frame_values(mapping: ArkitMapping, frames: np.ndarray) -> np.ndarray:
    """float32 ``(..., 61)`` (:data:`LLF_NAMES`), finite, of rig frames ``(..., 174)``: the 52
    ARKit values by ``mapping`` (each in [0, 1]), then :func:`rotations`."""
    return np.concatenate([mapping.to_arkit(frames), rotations(frames)], -1)


def timecode(frame: int, fps: int = rig.FPS) -> str:
    """``HH:MM:SS:FF.000`` of frame number ``frame`` at ``fps``."""
    seconds, ff = divmod(frame, fps)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}:{ff:02d}.000"


def format_take(frames: np.ndarray, mapping: ArkitMapping, fps: int = rig.FPS) -> str:
    """The CSV take (module docstring) of rig frames float ``(T, 174)``.

    Raises:
        MedtalkError: a rig value is NaN or infinite (it never reaches a file).
    """
    frames = np.asarray(frames, np.float32).reshape(-1, rig.NUM_CONTROLS)
    if not np.isfinite(frames).all():
        raise MedtalkError("the animation has NaN or infinite values: nothing written")
    values = frame_values(mapping, frames)
    buf = io.StringIO()
    buf.write(",".join(("Timecode", "BlendShapeCount") + LLF_NAMES) + "\n")
    for i, row in enumerate(values):
        buf.write(f"{timecode(i, fps)},{len(LLF_NAMES)},"
                  + ",".join(f"{v:.6f}" for v in row.tolist()) + "\n")
    return buf.getvalue()


def write_take(path: str | os.PathLike, frames: np.ndarray, mapping: ArkitMapping,
               fps: int = rig.FPS) -> None:
    """Write the CSV take of ``frames`` float ``(T, 174)`` to ``path`` atomically (a temporary
    file then a rename: never half-written, an existing file kept on failure).

    Raises:
        MedtalkError: a rig value is NaN or infinite.
    """
    atomic_write_text(path, format_take(frames, mapping, fps))
