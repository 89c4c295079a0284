import numpy as np

from medtalk_core import rig
from medtalk_core.face2d import VIEW_H, VIEW_W, FaceShape, face_shapes, shapes_to_json


def _pose(**controls: float) -> np.ndarray:
    v = rig.NEUTRAL.copy()
    for name, value in controls.items():
        v[rig.INDEX[name]] = value
    return v


def _by_name(values: np.ndarray) -> dict[str, FaceShape]:
    return {s.name: s for s in face_shapes(values)}


def _area(points: np.ndarray) -> float:
    x, y = points[:, 0].astype(np.float64), points[:, 1].astype(np.float64)
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def test_open_jaw_opens_the_mouth_and_moves_only_the_lower_face():
    rest = _by_name(rig.NEUTRAL)
    open_ = _by_name(_pose(**{"CTRL_C_jaw-translateY": 1.0}))
    assert list(rest) == list(open_)  # same shapes in the same order
    assert _area(open_["mouth_inside"].points) > 20 * max(1.0, _area(rest["mouth_inside"].points))
    assert open_["lip_lower"].points[:, 1].mean() > rest["lip_lower"].points[:, 1].mean() + 15
    assert open_["head"].points[:, 1].max() > rest["head"].points[:, 1].max() + 10
    for name in ("brow_L", "eye_R_white", "nose_base"):
        np.testing.assert_array_equal(open_[name].points, rest[name].points)


def test_lips_together_close_an_open_jaw():
    open_ = _by_name(_pose(**{"CTRL_C_jaw-translateY": 1.0}))
    closed = _by_name(_pose(**{"CTRL_C_jaw-translateY": 1.0},
                            **{f"CTRL_{s}_mouth_lipsTogether{h}-translateY": 1.0
                               for s in "LR" for h in "UD"}))
    assert _area(closed["mouth_inside"].points) < 0.1 * _area(open_["mouth_inside"].points)


def test_blink_closes_the_lids_and_only_on_its_side():
    rest = _by_name(rig.NEUTRAL)
    blink = _by_name(_pose(**{"CTRL_L_eye_blink-translateY": 1.0}))
    assert _area(rest["eye_L_white"].points) > 300
    assert _area(blink["eye_L_white"].points) < 1.0
    assert _area(blink["eye_L_iris"].points) < 1.0
    np.testing.assert_array_equal(blink["eye_R_white"].points, rest["eye_R_white"].points)
    wide = _by_name(_pose(**{"CTRL_R_eye_blink-translateY": -1.0}))
    assert _area(wide["eye_R_white"].points) > 1.2 * _area(rest["eye_R_white"].points)


def test_smile_frown_brows_and_gaze_move_their_parts():
    rest = _by_name(rig.NEUTRAL)
    smile = _by_name(_pose(**{"CTRL_L_mouth_cornerPull-translateY": 1.0}))
    frown = _by_name(_pose(**{"CTRL_L_mouth_cornerDepress-translateY": 1.0}))
    left_corner = lambda s: s["lip_upper"].points[len(s["lip_upper"].points) // 2 - 1]  # noqa: E731
    assert left_corner(smile)[1] < left_corner(rest)[1] - 5 < left_corner(frown)[1] - 10
    assert left_corner(smile)[0] > left_corner(rest)[0]  # character's left is +x
    pucker = _by_name(_pose(**{f"CTRL_{s}_mouth_purse{h}-translateY": 1.0
                               for s in "LR" for h in "UD"}))
    width = lambda s: np.ptp(s["lip_upper"].points[:, 0])  # noqa: E731
    assert width(pucker) < width(rest) - 15
    raised = _by_name(_pose(**{"CTRL_R_brow_raiseIn-translateY": 1.0}))
    lowered = _by_name(_pose(**{"CTRL_R_brow_down-translateY": 1.0}))
    brow_y = lambda s: s["brow_R"].points[:, 1].mean()  # noqa: E731
    assert brow_y(raised) < brow_y(rest) - 4 and brow_y(lowered) > brow_y(rest) + 4
    look = _by_name(_pose(**{"CTRL_C_eye-translateX": 1.0, "CTRL_C_eye-translateY": 1.0}))
    for side in "LR":
        moved = look[f"eye_{side}_pupil"].points.mean(0) - rest[f"eye_{side}_pupil"].points.mean(0)
        assert moved[0] > 5 and moved[1] < -2


def test_points_are_finite_and_inside_the_view_box_for_any_values():
    rng = np.random.default_rng(7)
    lo, hi = rig.RANGES[:, 0], rig.RANGES[:, 1]
    frames = [rng.uniform(lo, hi).astype(np.float32) for _ in range(200)]
    frames += [lo.copy(), hi.copy(), np.full(174, np.nan, np.float32), 5 * hi]
    names = [s.name for s in face_shapes(rig.NEUTRAL)]
    for values in frames:
        shapes = face_shapes(values)
        assert [s.name for s in shapes] == names
        for s in shapes:
            assert s.points.dtype == np.float32 and s.points.ndim == 2 and s.points.shape[1] == 2
            assert np.isfinite(s.points).all()
            assert (s.points >= 0).all() and (s.points[:, 0] <= VIEW_W).all()
            assert (s.points[:, 1] <= VIEW_H).all()


def test_json_rounds_points_to_a_tenth_of_a_pixel():
    shapes = face_shapes(_pose(**{"CTRL_C_jaw-translateY": 0.37}))
    data = shapes_to_json(shapes)
    assert [d["name"] for d in data] == [s.name for s in shapes]
    for d, s in zip(data, shapes):
        assert set(d) == {"name", "points", "closed", "fill", "stroke", "width"}
        np.testing.assert_allclose(d["points"], s.points, atol=0.05 + 1e-4)
        assert all(round(v, 1) == v for p in d["points"] for v in p)
        for colour in (d["fill"], d["stroke"]):
            assert colour is None or (len(colour) == 7 and colour[0] == "#")
