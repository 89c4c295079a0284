"""A 2-D vector face drawn from the 174 face-board controls: the geometry of the live preview page
(``medtalk stream --preview``, ``medtalk preview``) and of video renders.

One rig frame float32 ``(174,)`` in :data:`medtalk_core.rig.CONTROL_NAMES` order becomes a list
of :class:`FaceShape` (polylines and polygons in a ``VIEW_W`` x ``VIEW_H`` = 320 x 400 px view
box, y down), drawn back to front. The face is seen from the front: the character's left
(``CTRL_L_*``) is on the right of the picture.

What moves (face-board controls, ``CTRL_`` and ``-translateY`` / ``-translateX`` left out):
    * jaw: ``C_jaw`` (open), ``C_jaw_openExtreme``, ``C_jaw`` X (sideways): the lower lip, lower
      teeth and chin drop;
    * lips: ``lipsTogether``, ``pressU/D``, ``lipsPressU``, ``stretchLipsClose`` close the lips
      against the jaw (pressing also thins them); ``upperLipRaise``, ``lowerLipDepress`` part them; ``funnelU/D`` round the
      opening; ``purseU/D`` pucker (narrow and thicken); ``lipsRollU/D``, ``thicknessU/D`` make
      them thinner or fuller; ``C_mouth`` X/Y moves the mouth;
    * mouth corners, each side: ``cornerPull`` and ``sharpCornerPull`` (up and out: smile),
      ``stretch`` (out), ``cornerDepress`` (down: frown), ``mouth_corner`` X/Y, ``dimple``;
    * cheeks: ``eye_cheekRaise`` (cheek up, lower lid up), ``nose_nasolabialDeepen`` (the fold);
    * nose: ``nose`` Y, ``nose_wrinkleUpper`` (nostrils up);
    * brows, each side: ``brow_raiseIn`` (inner end up), ``brow_raiseOut`` (outer end up),
      ``brow_down`` (down), ``brow_lateral`` (towards the middle);
    * eyelids, each side: ``eye_blink`` (1 closed, below 0 wide), ``eye_squintInner``,
      ``eye_lidPress``, ``eye_faceScrunch``, ``eye_eyelidU`` / ``eye_eyelidD`` (lids up or down),
      ``eye_cheekRaise`` (lower lid up);
    * gaze: ``C_eye`` X/Y (both eyes) plus each eye's ``eye`` X/Y move the irises; ``eye_pupil``
      dilates the pupils;
    * ears: ``ear_up``.

Values are clamped to :data:`medtalk_core.rig.RANGES` first (NaN read as 0), so every point is
finite and inside the view box for any input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import rig

VIEW_W = 320
"""Width of the view box, px."""
VIEW_H = 400
"""Height of the view box, px (y down)."""

_CX = VIEW_W / 2
_N = 17  # points along a lip or lid curve

SKIN, SKIN_LINE, SKIN_SHADE = "#f0c8a0", "#8a5a3c", "#c98e6a"
HAIR, BROW = "#3b2a20", "#4a3426"
LIP_U, LIP_D, MOUTH, TEETH, TONGUE = "#b9545e", "#c8646c", "#3c1418", "#f6f3ea", "#d9707a"
SCLERA, IRIS, PUPIL, LID = "#fbfbf8", "#4f7fa8", "#17161a", "#5a3a2c"
CHEEK = "#ec9f8c"


@dataclass(frozen=True)
class FaceShape:
    """One shape of the face.

    Attributes:
        name: what it is, e.g. ``"lip_upper"``, ``"eye_L_upper_lid"`` (stable across frames).
        points: float32 ``(N, 2)`` px in the ``VIEW_W`` x ``VIEW_H`` view box, y down.
        closed: a polygon (True) or an open polyline (False).
        fill: CSS colour ``"#rrggbb"`` or None (no fill).
        stroke: CSS colour ``"#rrggbb"`` or None (no outline).
        width: stroke width, px.
    """

    name: str
    points: np.ndarray
    closed: bool
    fill: str | None
    stroke: str | None
    width: float


class _Controls:
    """Clamped control values by short name: ``c("jaw")`` is ``CTRL_C_jaw-translateY``,
    ``c("eye", "L", "X")`` is ``CTRL_L_eye-translateX``."""

    def __init__(self, values: np.ndarray):
        values = np.nan_to_num(np.asarray(values, np.float32).reshape(rig.NUM_CONTROLS),
                               nan=0.0, posinf=0.0, neginf=0.0)
        self.v = rig.clip_to_range(values)

    def __call__(self, part: str, side: str = "C", axis: str = "Y") -> float:
        return float(self.v[rig.INDEX[f"CTRL_{side}_{part}-translate{axis}"]])

    def lr(self, part: str, side: str) -> float:
        """The mean of a control's upper (U) and lower (D) halves, e.g. ``purseU``/``purseD``."""
        return 0.5 * (self(part + "U", side) + self(part + "D", side))


def _shape(name, points, closed=True, fill=None, stroke=None, width=1.0) -> FaceShape:
    pts = np.asarray(points, np.float32).reshape(-1, 2)
    pts = np.clip(pts, [0.0, 0.0], [VIEW_W, VIEW_H]).astype(np.float32)
    return FaceShape(name, pts, closed, fill, stroke, float(width))


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 32) -> np.ndarray:
    a = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(a), cy + ry * np.sin(a)], 1)


def _jaw(c: _Controls) -> tuple[float, float]:
    """(opening in [0, 1.5], sideways shift px) of the jaw."""
    return (max(0.0, c("jaw") + 0.5 * c("jaw_openExtreme") - 0.15 * c("jaw_clench", "L")
                - 0.15 * c("jaw_clench", "R")), 10.0 * c("jaw", axis="X"))


def _head(c: _Controls) -> list[FaceShape]:
    opening, shift = _jaw(c)
    pts = _ellipse(_CX, 192.0, 116.0, 158.0, 48)
    below = np.clip((pts[:, 1] - 250.0) / 100.0, 0.0, 1.0)
    pts[:, 1] += 22.0 * opening * below
    pts[:, 0] += shift * below
    neck = [(_CX - 52, 300), (_CX + 52, 300), (_CX + 60, VIEW_H), (_CX - 60, VIEW_H)]
    ears = [_shape(f"ear_{s}", _ellipse(_CX + sgn * 114, 196 - 6 * c("ear_up", s), 16, 30, 20),
                   fill=SKIN, stroke=SKIN_LINE, width=1.5) for s, sgn in (("L", 1), ("R", -1))]
    hair = np.concatenate([_ellipse(_CX, 150.0, 122.0, 118.0, 48)[24:],  # upper half, y < 150
                           [(_CX + 116, 175), (_CX + 100, 112), (_CX + 40, 84),
                            (_CX - 40, 84), (_CX - 100, 112), (_CX - 116, 175)]])
    return [_shape("neck", neck, fill=SKIN_SHADE, stroke=SKIN_LINE, width=1.5), *ears,
            _shape("head", pts, fill=SKIN, stroke=SKIN_LINE, width=2.0),
            _shape("hair", hair, fill=HAIR, stroke=None, width=0.0)]


def _mouth_frame(c: _Controls) -> dict:
    """Where the mouth is: centre, corners (L at +x), the lips' opening and thicknesses, px."""
    cx = _CX + 8 * c("mouth", axis="X") + 6 * c("jaw", axis="X")
    cy = 296 - 6 * c("mouth")
    purse = 0.5 * (c.lr("mouth_purse", "L") + c.lr("mouth_purse", "R"))
    funnel = 0.5 * (c.lr("mouth_funnel", "L") + c.lr("mouth_funnel", "R"))
    corners = {}
    for side, sgn in (("L", 1.0), ("R", -1.0)):
        pull = c("mouth_cornerPull", side) + 0.5 * c("mouth_sharpCornerPull", side)
        half = (36 + 10 * pull + 12 * c("mouth_stretch", side) + 5 * c("mouth_dimple", side)
                + 5 * c("mouth_corner", side, "X") - 14 * purse - 9 * funnel)
        y = (cy - 10 * pull + 10 * c("mouth_cornerDepress", side) - 7 * c("mouth_corner", side)
             + 3 * c("mouth_stretch", side) + 3 * _jaw(c)[0])
        corners[side] = (cx + sgn * max(12.0, half), y)
    opening, _ = _jaw(c)
    close = np.clip(0.5 * sum(c.lr("mouth_lipsTogether", s) + c.lr("mouth_press", s)
                              + c("mouth_lipsPressU", s) + c("mouth_stretchLipsClose", s)
                              for s in "LR") - 0.05, 0.0, 1.0)
    part = 0.5 * sum(max(0.0, c("mouth_upperLipRaise", s)) for s in "LR")
    depress = 0.5 * sum(max(0.0, c("mouth_lowerLipDepress", s)) for s in "LR")
    press = 0.5 * sum(c.lr("mouth_press", s) + c("mouth_lipsPressU", s) for s in "LR")
    gap_u = 7 * opening * (1 - close) + 7 * part + 5 * funnel
    gap_d = (30 * opening) * (1 - close) + 8 * depress + 5 * funnel
    roll_u = 0.5 * (c("mouth_lipsRollU", "L") + c("mouth_lipsRollU", "R"))
    roll_d = 0.5 * (c("mouth_lipsRollD", "L") + c("mouth_lipsRollD", "R"))
    thick_u = 0.5 * (c("mouth_thicknessU", "L") + c("mouth_thicknessU", "R"))
    thick_d = 0.5 * (c("mouth_thicknessD", "L") + c("mouth_thicknessD", "R"))
    return {"cx": cx, "cy": cy, "corners": corners, "gap_u": max(0.0, gap_u),
            "gap_d": max(0.0, gap_d), "funnel": max(0.0, funnel),
            "lip_u": max(2.0, 9 + 5 * purse + 3 * thick_u - 4 * roll_u + 2 * funnel - 3 * press),
            "lip_d": max(2.0, 11 + 5 * purse + 3 * thick_d - 4 * roll_d + 2 * funnel - 3 * press)}


def _lip_curves(m: dict) -> dict[str, np.ndarray]:
    """The four lip lines, each float ``(_N, 2)`` from the right corner (R, -x) to the left (L)."""
    (xl, yl), (xr, yr) = m["corners"]["L"], m["corners"]["R"]
    t = np.linspace(-1.0, 1.0, _N)
    x = np.where(t < 0, m["cx"] + t * (m["cx"] - xr), m["cx"] + t * (xl - m["cx"]))
    corner_y = np.where(t < 0, yr, yl)
    mid = m["cy"] + (corner_y - m["cy"]) * np.abs(t) ** 1.6
    bulge = (1 - t**2) ** (0.7 - 0.4 * min(1.0, m["funnel"]))
    inner_u = mid - m["gap_u"] * bulge
    inner_d = mid + m["gap_d"] * bulge
    bow = 1 - 0.35 * np.exp(-((t / 0.12) ** 2)) + 0.15 * np.exp(-(((np.abs(t) - 0.3) / 0.15) ** 2))
    outer_u = inner_u - m["lip_u"] * np.sqrt(1 - t**2) * bow
    outer_d = inner_d + m["lip_d"] * np.sqrt(1 - t**2)
    return {k: np.stack([x, y], 1) for k, y in
            (("outer_u", outer_u), ("inner_u", inner_u), ("inner_d", inner_d), ("outer_d", outer_d))}


def _mouth(c: _Controls) -> list[FaceShape]:
    m = _mouth_frame(c)
    lines = _lip_curves(m)
    iu, idn = lines["inner_u"], lines["inner_d"]
    gap = idn[:, 1] - iu[:, 1]
    teeth_u = iu.copy()
    teeth_u[:, 1] += np.minimum(gap, 7.0 + 2 * c("teethU"))
    teeth_d = idn.copy()
    teeth_d[:, 1] -= np.minimum(gap, np.maximum(0.0, 6.0 - 2 * c("teethD")))
    tongue = idn.copy()
    tongue[:, 1] -= np.minimum(gap, np.clip(5 + 6 * c("tongue") + 4 * c("tongue_inOut"), 0, 14))
    tongue[:, 0] += 4 * c("tongue", axis="X")
    tongue[:, 0] = np.clip(tongue[:, 0], iu[0, 0], iu[-1, 0])
    return [
        _shape("mouth_inside", np.concatenate([iu, idn[::-1]]), fill=MOUTH),
        _shape("tongue", np.concatenate([tongue, idn[::-1]]), fill=TONGUE),
        _shape("teeth_upper", np.concatenate([iu, teeth_u[::-1]]), fill=TEETH),
        _shape("teeth_lower", np.concatenate([teeth_d, idn[::-1]]), fill=TEETH),
        _shape("lip_upper", np.concatenate([lines["outer_u"], iu[::-1]]), fill=LIP_U,
               stroke="#8e3a44", width=1.0),
        _shape("lip_lower", np.concatenate([idn, lines["outer_d"][::-1]]), fill=LIP_D,
               stroke="#8e3a44", width=1.0),
        _shape("lip_line", iu, closed=False, stroke="#6e2a32", width=1.5),
    ]


def _cheeks_nose(c: _Controls) -> list[FaceShape]:
    m = _mouth_frame(c)
    out = []
    wrinkle = 0.5 * (c("nose_wrinkleUpper", "L") + c("nose_wrinkleUpper", "R"))
    nose_y = 238 - 4 * c("nose", "L") - 4 * c("nose", "R") - 5 * wrinkle
    for side, sgn in (("L", 1.0), ("R", -1.0)):
        raise_ = c("eye_cheekRaise", side)
        out.append(_shape(f"cheek_{side}", _ellipse(_CX + sgn * 70, 238 - 16 * raise_,
                                                    20 + 6 * raise_, 13 + 4 * raise_, 24),
                          fill=CHEEK))
    for side, sgn in (("L", 1.0), ("R", -1.0)):
        deepen = max(0.0, c("nose_nasolabialDeepen", side)) + 0.6 * max(
            0.0, c("eye_cheekRaise", side) + c("mouth_cornerPull", side))
        cx, cy = m["corners"][side]
        wing = (_CX + sgn * (19 + 3 * c("nose", side, "X")), nose_y - 2)
        fold = [(wing[0] + sgn * 6, wing[1] + 2), (wing[0] + sgn * 16, wing[1] + 26),
                (cx + sgn * 8, cy - 6), (cx + sgn * 10, cy + 6)]
        out.append(_shape(f"nasolabial_{side}", fold, closed=False, stroke=SKIN_SHADE,
                          width=0.6 + 1.5 * min(2.0, deepen)))
    bridge = [(_CX - 4, 170), (_CX - 6, 205), (_CX - 12, nose_y - 8)]
    base = [(_CX - 20, nose_y - 4), (_CX - 12, nose_y + 4), (_CX, nose_y + 6),
            (_CX + 12, nose_y + 4), (_CX + 20, nose_y - 4)]
    out.append(_shape("nose_bridge", bridge, closed=False, stroke=SKIN_SHADE, width=2.0))
    out.append(_shape("nose_base", base, closed=False, stroke=SKIN_LINE, width=2.0))
    for side, sgn in (("L", 1.0), ("R", -1.0)):
        out.append(_shape(f"nostril_{side}", _ellipse(_CX + sgn * 9, nose_y + 1, 4.5, 2.5, 12),
                          fill="#7a4a36"))
    return out


def _eye(c: _Controls, side: str, sgn: float) -> list[FaceShape]:
    cx, cy, hw, h = _CX + sgn * 48, 178.0, 24.0, 12.0
    blink = c("eye_blink", side)
    squint = c("eye_squintInner", side) + 0.5 * c("eye_faceScrunch", side)
    closing = max(0.0, blink) + 0.35 * squint + 0.3 * c("eye_lidPress", side)
    upper = np.clip(1.0 - closing - 0.4 * min(0.0, blink) + 0.3 * c("eye_eyelidU", side), 0, 1.5)
    lower = np.clip(1.0 - 0.55 * c("eye_cheekRaise", side) - 0.35 * squint
                    + 0.3 * c("eye_eyelidD", side) - 0.2 * min(0.0, blink), 0.15, 1.4)
    t = np.linspace(-1.0, 1.0, _N)
    x = cx + sgn * hw * t  # inner corner (t = -1) at the nose
    lid_d = cy + 2 + h * lower * (1 - t**2) ** 0.8
    lid_u_open = cy - h * 1.15 * (1 - t**2) ** 0.6 * (1 - 0.15 * t)
    lid_u = lid_d + (lid_u_open - lid_d) * min(1.0, upper) - (upper - min(1.0, upper)) * 14 * (1 - t**2)
    top, bottom = np.minimum(lid_u, lid_d), lid_d
    gx = c("eye", axis="X") + c("eye", side, "X")
    gy = c("eye") + c("eye", side)
    ix, iy = cx + 0.45 * hw * np.clip(gx, -1, 1), cy + 1 - 0.5 * h * np.clip(gy, -1, 1)
    out = [_shape(f"eye_{side}_white", np.concatenate([np.stack([x, top], 1),
                                                       np.stack([x, bottom], 1)[::-1]]),
                  fill=SCLERA)]
    pupil_r = 4.0 + 1.8 * c("eye_pupil", side)
    for name, r, colour in (("iris", 9.5, IRIS), ("pupil", pupil_r, PUPIL)):
        pts = _ellipse(ix, iy, r, r, 28)
        px = np.clip(pts[:, 0], x.min(), x.max())
        u = sgn * (px - cx) / hw
        top_at = np.interp(u, t, top)
        bottom_at = np.interp(u, t, bottom)
        pts = np.stack([px, np.clip(pts[:, 1], top_at, np.maximum(top_at, bottom_at))], 1)
        out.append(_shape(f"eye_{side}_{name}", pts, fill=colour))
    crease = lid_u_open - 7 - 3 * max(0.0, -blink)
    out.append(_shape(f"eye_{side}_crease", np.stack([x, crease], 1)[2:-2], closed=False,
                      stroke=SKIN_SHADE, width=1.2))
    out.append(_shape(f"eye_{side}_lower_lid", np.stack([x, bottom], 1), closed=False,
                      stroke=SKIN_LINE, width=1.0))
    out.append(_shape(f"eye_{side}_upper_lid", np.stack([x, top], 1), closed=False,
                      stroke=LID, width=2.6))
    return out


def _brow(c: _Controls, side: str, sgn: float) -> FaceShape:
    t = np.linspace(0.0, 1.0, 9)  # 0 inner end, 1 outer end
    down = c("brow_down", side)
    lateral = c("brow_lateral", side)
    inner = -15 * c("brow_raiseIn", side) + 12 * down + 3 * lateral
    outer = -15 * c("brow_raiseOut", side) + 8 * down
    x = _CX + sgn * (20 - 6 * lateral + 52 * t)
    y = 146 + inner + (outer - inner) * t - 7 * np.sin(np.pi * np.clip(t * 1.1, 0, 1))
    thick = 7.0 - 3.0 * t
    return _shape(f"brow_{side}", np.concatenate([np.stack([x, y - thick / 2], 1),
                                                  np.stack([x, y + thick / 2], 1)[::-1]]),
                  fill=BROW, stroke=BROW, width=1.0)


def face_shapes(values: np.ndarray) -> list[FaceShape]:
    """The face of one rig frame, back to front.

    Args:
        values: float ``(174,)`` face-board values in :data:`medtalk_core.rig.CONTROL_NAMES`
            order (clamped to :data:`medtalk_core.rig.RANGES`; NaN and infinities read as 0).
    Returns:
        the shapes, every point finite and inside ``[0, VIEW_W] x [0, VIEW_H]``; the same names
        in the same order for every frame.
    Raises:
        ValueError: ``values`` does not hold 174 numbers.
    """
    c = _Controls(values)
    shapes = _head(c) + _cheeks_nose(c)
    for side, sgn in (("L", 1.0), ("R", -1.0)):
        shapes += _eye(c, side, sgn)
        shapes.append(_brow(c, side, sgn))
    return shapes + _mouth(c)


def shapes_to_json(shapes: list[FaceShape]) -> list[dict]:
    """The shapes as JSON-ready dicts ``{"name", "points": [[x, y], ...], "closed", "fill",
    "stroke", "width"}``, points rounded to 0.1 px."""
    return [{"name": s.name, "points": np.round(s.points.astype(np.float64), 1).tolist(),
             "closed": s.closed, "fill": s.fill, "stroke": s.stroke, "width": round(s.width, 2)}
            for s in shapes]
