"""Face board <-> ARKit 52: a piecewise-linear mapping per channel, both ways.

Each ARKit blendshape (:data:`medtalk_core.arkit.ARKIT_NAMES`) is a sum of *terms*, a face-board
control (:data:`medtalk_core.rig.CONTROL_NAMES`) and a signed weight ``w``:

    arkit = clip( sum_i |w_i| * max(0, sign(w_i) * control_i), 0, 1 )

so a one-directional slider maps linearly (``w > 0``) and a two-directional one gives its
positive side to one blendshape and its negative side to another (``eye_blink``: > 0 closes the
lid, ``eyeBlink``; < 0 opens it wide, ``eyeWide``). A mean of ``n`` controls is ``n`` terms of
weight ``1/n``. The inverse (:meth:`ArkitMapping.to_rig`) spreads each blendshape back over its
terms, every term taking the value that alone would give it (``sign(w) * arkit / (|w| * n)``);
a control named by several blendshapes takes the mean of their estimates on each side, positive
minus negative, clipped to its range (:data:`medtalk_core.rig.RANGES`). Controls named by no
term go back to neutral (0).

The default table (:data:`DEFAULT_TERMS`) is written from the FACS action unit each blendshape
stands for (docs/arkit.md gives it with the controls left out). The signs of the
two-directional board sliders are this project's convention, stated there (gaze ``+X``: to the
character's left, ``+Y``: up; jaw and mouth ``+X``: to the character's left; ``jaw_fwdBack``
``+``: forward; ``suckBlow`` ``+``: blow; ``tongue_inOut`` ``+``: out); a rig whose board moves
the other way overrides a line in a mapping file (:func:`load_mapping`, ``[arkit] mapping``).

Mapping files: TOML, one table per ARKit name with ``control = weight`` pairs::

    [jawOpen]
    "CTRL_C_jaw-translateY" = 1.0
    [tongueOut]          # an empty table: no counterpart

or CSV with the header ``arkit,control,weight`` (a row with an empty control: no counterpart).
The names a file gives replace the default's terms for those names; the others stay.
"""

from __future__ import annotations

import csv
import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import rig
from .arkit import ARKIT_NAMES
from .errors import MedtalkError

Terms = dict[str, tuple[tuple[str, float], ...]]
"""ARKit name -> ``((control, signed weight), ...)``; an empty tuple: no counterpart."""


def _c(part: str, side: str = "") -> str:
    return f"CTRL_{side}_{part}" if "-" in part else f"CTRL_{side}_{part}-translateY"


def _mean(*controls: str) -> tuple[tuple[str, float], ...]:
    return tuple((c, 1.0 / len(controls)) for c in controls)


def _sides(part: str) -> tuple[tuple[str, float], ...]:
    return _mean(_c(part, "L"), _c(part, "R"))


def _eye(side: str) -> dict[str, tuple[tuple[str, float], ...]]:
    s = "Left" if side == "L" else "Right"
    out = 1.0 if side == "L" else -1.0  # +X looks to the character's left: the left eye's out
    x, y = _c("eye-translateX", side), _c("eye-translateY", side)
    return {
        f"eyeBlink{s}": ((_c("eye_blink", side), 1.0),),            # AU45 blink
        f"eyeLookDown{s}": ((y, -1.0),),                             # AU64 eyes down
        f"eyeLookIn{s}": ((x, -out),),                               # gaze to the nose
        f"eyeLookOut{s}": ((x, out),),                               # gaze to the ear
        f"eyeLookUp{s}": ((y, 1.0),),                                # AU63 eyes up
        f"eyeSquint{s}": ((_c("eye_squintInner", side), 1.0),),      # AU7 lid tightener
        f"eyeWide{s}": ((_c("eye_blink", side), -1.0),),             # AU5 upper lid raiser
    }


def _lr(name: str, part: str) -> dict[str, tuple[tuple[str, float], ...]]:
    return {f"{name}Left": ((_c(part, "L"), 1.0),), f"{name}Right": ((_c(part, "R"), 1.0),)}


DEFAULT_TERMS: Terms = {
    **_eye("L"), **_eye("R"),
    "jawForward": (("CTRL_C_jaw_fwdBack-translateY", 1.0),),        # AU29 jaw thrust
    "jawLeft": (("CTRL_C_jaw-translateX", 1.0),),                   # AU30 jaw sideways
    "jawRight": (("CTRL_C_jaw-translateX", -1.0),),
    "jawOpen": (("CTRL_C_jaw-translateY", 1.0),),                   # AU26/27 jaw drop
    "mouthClose": _sides("mouth_lipsTogetherU") + _sides("mouth_lipsTogetherD"),  # AU24/25
    "mouthFunnel": _sides("mouth_funnelU") + _sides("mouth_funnelD"),             # AU22
    "mouthPucker": _sides("mouth_purseU") + _sides("mouth_purseD"),               # AU18
    "mouthLeft": (("CTRL_C_mouth-translateX", 1.0),),
    "mouthRight": (("CTRL_C_mouth-translateX", -1.0),),
    **_lr("mouthSmile", "mouth_cornerPull"),                        # AU12
    **_lr("mouthFrown", "mouth_cornerDepress"),                     # AU15
    **_lr("mouthDimple", "mouth_dimple"),                           # AU14
    **_lr("mouthStretch", "mouth_stretch"),                         # AU20
    "mouthRollLower": _sides("mouth_lipsRollD"),                    # AU28 lip suck (+: rolled in)
    "mouthRollUpper": _sides("mouth_lipsRollU"),
    "mouthShrugLower": _sides("jaw_ChinRaiseD"),                    # AU17 chin raiser
    "mouthShrugUpper": _sides("jaw_ChinRaiseU"),
    "mouthPressLeft": _mean(_c("mouth_pressU", "L"), _c("mouth_pressD", "L")),   # AU24
    "mouthPressRight": _mean(_c("mouth_pressU", "R"), _c("mouth_pressD", "R")),
    **_lr("mouthLowerDown", "mouth_lowerLipDepress"),               # AU16
    **_lr("mouthUpperUp", "mouth_upperLipRaise"),                   # AU10
    "browDownLeft": ((_c("brow_down", "L"), 1.0),),                 # AU4
    "browDownRight": ((_c("brow_down", "R"), 1.0),),
    "browInnerUp": _sides("brow_raiseIn"),                          # AU1
    **{f"browOuterUp{s}": ((_c("brow_raiseOut", s[0]), 1.0),) for s in ("Left", "Right")},  # AU2
    "cheekPuff": _sides("mouth_suckBlow"),                          # AU33/34 blow, puff
    **_lr("cheekSquint", "eye_cheekRaise"),                         # AU6
    **_lr("noseSneer", "nose_wrinkleUpper"),                        # AU9
    "tongueOut": (("CTRL_C_tongue_inOut-translateY", 1.0),),        # AU19 tongue show
}
"""The default table, every ARKit name (Apple order)."""


@dataclass(frozen=True)
class ArkitMapping:
    """A face-board <-> ARKit mapping (module docstring). ``weights`` float32 ``(52, 174)``, the
    signed weight of each control in each blendshape (0: not a term), rows in
    :data:`ARKIT_NAMES` order."""

    weights: np.ndarray

    @classmethod
    def from_terms(cls, terms: Terms) -> ArkitMapping:
        """The mapping of a complete table (every ARKit name a key)."""
        w = np.zeros((len(ARKIT_NAMES), rig.NUM_CONTROLS), np.float32)
        for i, name in enumerate(ARKIT_NAMES):
            for control, weight in terms[name]:
                w[i, rig.INDEX[control]] = weight
        return cls(w)

    @property
    def unmapped_controls(self) -> tuple[str, ...]:
        """Face-board controls no blendshape names (rig order)."""
        used = (self.weights != 0).any(0)
        return tuple(n for n, u in zip(rig.CONTROL_NAMES, used) if not u)

    @property
    def unmapped_shapes(self) -> tuple[str, ...]:
        """ARKit names without a term (Apple order)."""
        return tuple(n for n, row in zip(ARKIT_NAMES, self.weights) if not row.any())

    def to_arkit(self, frames: np.ndarray) -> np.ndarray:
        """Rig frames -> ARKit values.

        Args:
            frames: float ``(T, 174)`` or ``(174,)`` rig values; a non-finite value counts as 0.

        Returns:
            float32 ``(T, 52)`` (or ``(52,)``) in [0, 1], finite, :data:`ARKIT_NAMES` order.
        """
        x = np.nan_to_num(np.asarray(frames, np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        pos, neg = np.maximum(self.weights, 0), np.maximum(-self.weights, 0)
        out = np.maximum(x, 0) @ pos.T + np.maximum(-x, 0) @ neg.T
        return np.clip(np.nan_to_num(out, nan=0.0), 0.0, 1.0).astype(np.float32)

    def to_rig(self, shapes: np.ndarray) -> np.ndarray:
        """ARKit values -> rig frames (the inverse of the module docstring).

        Args:
            shapes: float ``(T, 52)`` or ``(52,)`` in :data:`ARKIT_NAMES` order; clipped to
                [0, 1], a non-finite value counts as 0.

        Returns:
            float32 ``(T, 174)`` (or ``(174,)``) inside :data:`medtalk_core.rig.RANGES`.
        """
        a = np.clip(np.nan_to_num(np.asarray(shapes, np.float32), nan=0.0), 0.0, 1.0)
        w = self.weights
        n = np.maximum((w != 0).sum(1, keepdims=True), 1)
        inv = np.divide(1.0, np.abs(w) * n, out=np.zeros_like(w), where=w != 0)
        sides = []
        for mask in (w > 0, w < 0):
            count = mask.sum(0)
            total = a @ np.where(mask, inv, 0.0)
            sides.append(np.divide(total, count, out=np.zeros_like(total), where=count > 0))
        return rig.clip_to_range(sides[0] - sides[1])


DEFAULT = ArkitMapping.from_terms(DEFAULT_TERMS)
"""The default mapping."""

_BY_LOWER = {n.lower(): n for n in ARKIT_NAMES}


def _term(path: Path, shape: str, control: str, weight) -> tuple[str, float]:
    if control not in rig.INDEX:
        raise MedtalkError(f"ARKit mapping {path}: {shape}: unknown face-board control {control!r}")
    try:
        w = float(weight)
    except (TypeError, ValueError):
        raise MedtalkError(f"ARKit mapping {path}: {shape}: weight of {control} is not a number: "
                           f"{weight!r}") from None
    if isinstance(weight, bool) or not math.isfinite(w) or w == 0:
        raise MedtalkError(f"ARKit mapping {path}: {shape}: weight of {control} must be a "
                           f"finite non-zero number, not {weight!r}")
    return control, w


def _shape(path: Path, name: str) -> str:
    try:
        return _BY_LOWER[name.strip().lower()]
    except KeyError:
        raise MedtalkError(f"ARKit mapping {path}: {name!r} is not an ARKit blendshape") from None


def _read_toml(path: Path) -> Terms:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise MedtalkError(f"ARKit mapping {path}: not valid TOML: {e}") from None
    terms: Terms = {}
    for name, table in data.items():
        shape = _shape(path, name)
        if not isinstance(table, dict):
            raise MedtalkError(f"ARKit mapping {path}: {name} must be a table of control = weight")
        terms[shape] = tuple(_term(path, shape, c, w) for c, w in table.items())
    return terms


def _read_csv(path: Path) -> Terms:
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    if not rows or [c.strip().lower() for c in rows[0]] != ["arkit", "control", "weight"]:
        raise MedtalkError(f"ARKit mapping {path}: the header must be arkit,control,weight")
    terms: dict[str, list[tuple[str, float]]] = {}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != 3:
            raise MedtalkError(f"ARKit mapping {path}: row {line} has {len(row)} fields, not 3")
        shape = _shape(path, row[0])
        terms.setdefault(shape, [])
        if row[1].strip():
            terms[shape].append(_term(path, shape, row[1].strip(), row[2].strip()))
    return {k: tuple(v) for k, v in terms.items()}


def load_mapping(path: str | os.PathLike | None) -> ArkitMapping:
    """The default mapping with the names a file gives replaced (module docstring).

    Args:
        path: a ``.toml`` or ``.csv`` mapping file, or None / "" for the default.

    Raises:
        MedtalkError: missing or unreadable file, another extension, bad TOML or CSV header, an
            unknown ARKit name or control, a weight that is not a finite non-zero number.
    """
    if not path:
        return DEFAULT
    path = Path(path)
    if path.suffix.lower() not in (".toml", ".csv"):
        raise MedtalkError(f"ARKit mapping {path}: expected a .toml or .csv file")
    try:
        terms = (_read_toml if path.suffix.lower() == ".toml" else _read_csv)(path)
    except FileNotFoundError:
        raise MedtalkError(f"ARKit mapping not found: {path}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise MedtalkError(f"ARKit mapping {path}: unreadable ({' '.join(str(e).split())})") from None
    return ArkitMapping.from_terms({**DEFAULT_TERMS, **terms})
