import numpy as np
import pytest

from medtalk_core import metrics, rig


def test_perfect_prediction_scores_zero():
    gt = np.random.default_rng(1).uniform(0, 1, (50, 174))
    s = metrics.clip_metrics(gt, gt)
    assert s == {"MLE": 0.0, "MEE": 0.0, "EIE": 0.0, "FRD": 0.0}


def test_lip_error_only_moves_mle():
    gt = np.zeros((10, 174))
    pred = gt.copy()
    pred[:, rig.INDEX["CTRL_C_jaw-translateY"]] = 0.5
    s = metrics.clip_metrics(pred, gt)
    assert s["MLE"] == pytest.approx(0.25)
    assert s["MEE"] == 0.0 and s["EIE"] == 0.0 and s["FRD"] == 0.0


def test_brow_error_moves_mee_eie_frd():
    gt = np.zeros((10, 174))
    pred = gt.copy()
    pred[::2, rig.INDEX["CTRL_L_brow_down-translateY"]] = 1.0
    s = metrics.clip_metrics(pred, gt)
    assert s["MLE"] == 0.0
    assert s["MEE"] == pytest.approx(0.5)
    assert s["EIE"] == pytest.approx(0.05)
    assert s["FRD"] == pytest.approx(0.5 / len(rig.S_UP))


def test_shape_mismatch_raises():
    with pytest.raises(ValueError):
        metrics.clip_metrics(np.zeros((5, 174)), np.zeros((6, 174)))
