"""Apple ARKit's 52 blendshape names and their face-board counterparts.

:data:`ARKIT_NAMES` lists ``ARFaceAnchor.BlendShapeLocation`` in the order of Apple's
documentation (left eye, right eye, mouth and jaw, brows, cheeks, nose, tongue), the names used by
iPhone face capture, Live Link Face and most animator-made curve files.

:data:`COUNTERPARTS` maps an ARKit blendshape to the MetaHuman face-board controls
(:data:`medtalk_core.rig.CONTROL_NAMES`) that make the same movement, by the FACS action unit
each one stands for; the counterpart's value in a rig frame is the mean of those controls
(:func:`counterpart_curves`). It holds only blendshapes whose counterparts are one-directional
sliders, or two-directional sliders whose positive side is the blendshape's movement (eye_blink:
closed; lipsRoll: rolled in), so that a larger blendshape value means a larger counterpart value.
The jaw, mouth and eye *directions* (jawLeft/Right/Forward, mouthLeft/Right, eyeLook*), eyeWide,
cheekPuff and tongueOut map to two-directional sliders whose sign on the board is not pinned down
here, and are left out. docs/arkit.md gives the table with the action units.
"""

from __future__ import annotations

import numpy as np

from . import rig

ARKIT_NAMES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft",
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawLeft", "jawRight", "jawOpen",
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
    "noseSneerLeft", "noseSneerRight",
    "tongueOut",
)
"""The 52 ARKit blendshape names, in Apple's documentation order."""


def _both(part: str) -> tuple[str, ...]:
    return tuple(f"CTRL_{side}_{part}-translateY" for side in ("L", "R"))


def _one(side: str, *parts: str) -> tuple[str, ...]:
    return tuple(f"CTRL_{side}_{part}-translateY" for part in parts)


COUNTERPARTS: dict[str, tuple[str, ...]] = {
    # eyes: AU45 blink, AU6/7 squint
    "eyeBlinkLeft": _one("L", "eye_blink"),
    "eyeSquintLeft": _one("L", "eye_squintInner"),
    "eyeBlinkRight": _one("R", "eye_blink"),
    "eyeSquintRight": _one("R", "eye_squintInner"),
    # jaw: AU26/27 jaw drop
    "jawOpen": ("CTRL_C_jaw-translateY",),
    # lips: AU24/25 lips together, AU22 funneler, AU18 pucker, AU12 corner puller,
    # AU15 corner depressor, AU14 dimpler, AU20 stretcher, AU28 lip suck, AU17 chin raiser,
    # AU24 presser, AU16 lower lip depressor, AU10 upper lip raiser
    "mouthClose": _both("mouth_lipsTogetherU") + _both("mouth_lipsTogetherD"),
    "mouthFunnel": _both("mouth_funnelU") + _both("mouth_funnelD"),
    "mouthPucker": _both("mouth_purseU") + _both("mouth_purseD"),
    "mouthSmileLeft": _one("L", "mouth_cornerPull"),
    "mouthSmileRight": _one("R", "mouth_cornerPull"),
    "mouthFrownLeft": _one("L", "mouth_cornerDepress"),
    "mouthFrownRight": _one("R", "mouth_cornerDepress"),
    "mouthDimpleLeft": _one("L", "mouth_dimple"),
    "mouthDimpleRight": _one("R", "mouth_dimple"),
    "mouthStretchLeft": _one("L", "mouth_stretch"),
    "mouthStretchRight": _one("R", "mouth_stretch"),
    "mouthRollLower": _both("mouth_lipsRollD"),
    "mouthRollUpper": _both("mouth_lipsRollU"),
    "mouthShrugLower": _both("jaw_ChinRaiseD"),
    "mouthShrugUpper": _both("jaw_ChinRaiseU"),
    "mouthPressLeft": _one("L", "mouth_pressU", "mouth_pressD"),
    "mouthPressRight": _one("R", "mouth_pressU", "mouth_pressD"),
    "mouthLowerDownLeft": _one("L", "mouth_lowerLipDepress"),
    "mouthLowerDownRight": _one("R", "mouth_lowerLipDepress"),
    "mouthUpperUpLeft": _one("L", "mouth_upperLipRaise"),
    "mouthUpperUpRight": _one("R", "mouth_upperLipRaise"),
    # brows: AU4 lowerer, AU1 inner raiser, AU2 outer raiser; cheeks: AU6; nose: AU9
    "browDownLeft": _one("L", "brow_down"),
    "browDownRight": _one("R", "brow_down"),
    "browInnerUp": _both("brow_raiseIn"),
    "browOuterUpLeft": _one("L", "brow_raiseOut"),
    "browOuterUpRight": _one("R", "brow_raiseOut"),
    "cheekSquintLeft": _one("L", "eye_cheekRaise"),
    "cheekSquintRight": _one("R", "eye_cheekRaise"),
    "noseSneerLeft": _one("L", "nose_wrinkleUpper"),
    "noseSneerRight": _one("R", "nose_wrinkleUpper"),
}
"""ARKit blendshape -> the face-board controls whose mean is its counterpart (Apple order)."""


def counterpart_curves(frames: np.ndarray, names: list[str] | tuple[str, ...]) -> np.ndarray:
    """The counterparts of ARKit blendshapes over a rig clip.

    Args:
        frames: float ``(T, 174)`` rig frames.
        names: ARKit names, each a key of :data:`COUNTERPARTS`.

    Returns:
        float64 ``(T, len(names))``: per name, the mean of its counterpart controls.

    Raises:
        KeyError: a name without a counterpart.
    """
    frames = np.asarray(frames, np.float64)
    cols = [frames[:, [rig.INDEX[c] for c in COUNTERPARTS[n]]].mean(1) for n in names]
    return np.stack(cols, axis=1) if cols else np.zeros((len(frames), 0))
