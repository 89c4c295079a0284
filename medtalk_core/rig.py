"""The MetaHuman face board as a 174-column rig vector.

Column order is the EmoFace / MEDTalk rig order (``data/metahuman_controls_174.txt``, copied from
``dataset/valid_attr_names.txt`` of github.com/SJTU-Lucy/EmoFace). A rig frame is a float32 vector
of shape ``(174,)``; a clip is ``(T, 174)`` at :data:`FPS` frames per second.

Value ranges follow the MetaHuman face board: one-directional sliders move in ``[0, 1]``;
two-directional ones (every ``translateX``, the 2-D eye and mouth controls, blink, which opens
the eye wide below 0, and the push/pull, roll, thickness and suck/blow sliders) move in
``[-1, 1]``. The neutral pose is 0 on every control.

Controller sets (MEDTalk paper, Sec. 4 "Metrics"; authors' released code):
    * ``S_LIP``: jaw, mouth, lips, teeth and tongue controls, used by MLE.
    * ``S_UP``: brows, eyes, lids, cheeks and nose: the upper face, used by EIE.
    * ``S_EMO``: the emotion-bearing controls, ``S_UP`` plus the mouth corners, used by MEE.
    * ``S_INT``: left and right brow_down, brow_lateral, brow_raiseIn, brow_raiseOut, eye_blink,
      eye_squintInner and mouth_cornerPull. Emotion intensity is ``0.1 * sum(|r_i|)`` over S_INT,
      the set and scale of the intensity label in the authors' released code
      (github.com/SJTU-Lucy/MEDTalk, intensity computation of the training data).
"""

from __future__ import annotations

from importlib import resources

import numpy as np

FPS = 60
"""Rig frames per second."""

NUM_CONTROLS = 174

EMOTIONS = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
"""Emotion labels; the index of a label is its class id."""

INTENSITY_SCALE = 0.1
"""Scale of the intensity label: ``I_t = 0.1 * sum_{i in S_INT} |r_t,i|`` (authors' code)."""


def _load_names() -> tuple[str, ...]:
    text = resources.files("medtalk_core").joinpath("data/metahuman_controls_174.txt").read_text()
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(names) != NUM_CONTROLS:
        raise RuntimeError(f"rig name list has {len(names)} names, expected {NUM_CONTROLS}")
    return names


CONTROL_NAMES: tuple[str, ...] = _load_names()
"""The 174 face-board control attributes, e.g. ``CTRL_C_jaw-translateY``, in rig column order."""

INDEX = {name: i for i, name in enumerate(CONTROL_NAMES)}

_BIPOLAR_PARTS = (
    "translateX",
    "CTRL_C_eye-translateY",
    "CTRL_L_eye-translateY",
    "CTRL_R_eye-translateY",
    "CTRL_C_mouth-translateY",
    "mouth_corner-translateY",
    "eye_blink",
    "eye_eyelidU",
    "eye_eyelidD",
    "eye_pupil",
    "jaw_fwdBack",
    "mouth_suckBlow",
    "mouth_pushPull",
    "mouth_lipsRoll",
    "mouth_thickness",
    "mouth_lipShift",
    "cornerSharpness",
    "nose-translateY",
    "tongue-translateY",
    "tongue_inOut",
    "tongue_narrowWide",
    "tongue_roll",
    "tongue_tip",
    "teethU-translateY",
    "teethD-translateY",
    "teeth_fwdBack",
    "neck_digastricUpDown",
    "neck_throat",
)


def _ranges() -> np.ndarray:
    lo = np.array(
        [-1.0 if any(p in n for p in _BIPOLAR_PARTS) else 0.0 for n in CONTROL_NAMES], np.float32
    )
    return np.stack([lo, np.ones(NUM_CONTROLS, np.float32)], axis=1)


RANGES: np.ndarray = _ranges()
"""float32 ``(174, 2)``: the ``[min, max]`` of each control."""

NEUTRAL: np.ndarray = np.zeros(NUM_CONTROLS, np.float32)
"""float32 ``(174,)``: the neutral (rest) pose, 0 on every control."""


def _select(*keys: str) -> np.ndarray:
    return np.array([i for i, n in enumerate(CONTROL_NAMES) if any(k in n for k in keys)], np.int64)


S_LIP = _select("_jaw", "_mouth", "_teeth", "_tongue")
"""int64 indices of the lip controllers (jaw, mouth, lips, teeth, tongue)."""

S_UP = _select("_brow_", "_eye", "_eyelashes", "_nose")
"""int64 indices of the upper-face controllers (brows, eyes, lids, cheeks, nose)."""

S_EMO = np.union1d(S_UP, _select("mouth_corner", "mouth_sharpCornerPull", "mouth_dimple"))
"""int64 indices of the emotion controllers: S_UP plus the mouth corners."""

_INT_PARTS = (
    "brow_down",
    "brow_lateral",
    "brow_raiseIn",
    "brow_raiseOut",
    "eye_blink",
    "eye_squintInner",
    "mouth_cornerPull",
)
S_INT = np.array(
    [INDEX[f"CTRL_{side}_{p}-translateY"] for p in _INT_PARTS for side in ("L", "R")], np.int64
)
"""int64 indices of the 14 intensity controllers (L/R of seven, authors' released code)."""


def intensity(rig: np.ndarray) -> np.ndarray:
    """Frame-wise emotion intensity label of a rig clip.

    Args:
        rig: float ``(T, 174)`` rig values (or ``(174,)``).

    Returns:
        float32 ``(T,)`` (or a scalar array): ``0.1 * sum_{i in S_INT} |r_t,i|``.

    Raises:
        ValueError: if the last axis is not 174 wide.
    """
    rig = np.asarray(rig)
    if rig.shape[-1] != NUM_CONTROLS:
        raise ValueError(f"rig has {rig.shape[-1]} columns, expected {NUM_CONTROLS}")
    return (INTENSITY_SCALE * np.abs(rig[..., S_INT]).sum(-1)).astype(np.float32)


def clip_to_range(rig: np.ndarray) -> np.ndarray:
    """Clamp rig values ``(..., 174)`` to each control's :data:`RANGES`; returns float32."""
    return np.clip(rig, RANGES[:, 0], RANGES[:, 1]).astype(np.float32)


def emotion_id(label: str) -> int:
    """Class id of an emotion label.

    Raises:
        ValueError: naming the unknown label and the valid ones.
    """
    try:
        return EMOTIONS.index(label)
    except ValueError:
        raise ValueError(f"unknown emotion {label!r}; choose one of: {', '.join(EMOTIONS)}") from None
