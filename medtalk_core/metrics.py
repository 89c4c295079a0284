"""MLE, MEE, EIE and FRD of predicted rig clips against ground truth (MEDTalk paper, eq. 15-18).

The paper defines its metrics on MetaHuman controller values; we compute them on ``(T, 174)``
clips at 60 fps as follows (controller sets from :mod:`medtalk_core.rig`):

    * MLE, mean lip error (eq. 15): per frame the largest squared error over the lip controllers
      S_LIP, averaged over frames (the rig analogue of FaceFormer's lip vertex error).
    * MEE, mean emotion error (eq. 16): the same over the emotion controllers S_EMO.
    * EIE, emotion intensity error (eq. 17): mean absolute difference of the frame-wise intensity
      ``0.1 * sum |r|`` over S_INT (:func:`medtalk_core.rig.intensity`).
    * FRD, facial rig dynamics deviation (eq. 18): for each upper-face controller in S_UP, the
      absolute difference of the standard deviation over time of prediction and ground truth,
      averaged over controllers (the rig analogue of CodeTalker's upper-face dynamics deviation).

Clip scores are averaged over clips, each clip weighing the same.
"""

from __future__ import annotations

import numpy as np

from . import rig

METRICS = ("MLE", "MEE", "EIE", "FRD")


def _check(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    if pred.shape != gt.shape or pred.ndim != 2 or pred.shape[1] != rig.NUM_CONTROLS:
        raise ValueError(f"pred {pred.shape} and gt {gt.shape} must both be (T, 174)")
    return pred, gt


def clip_metrics(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """The four metrics of one clip; ``pred`` and ``gt`` float ``(T, 174)``, T >= 1.

    Raises:
        ValueError: shapes differ or are not ``(T, 174)``.
    """
    pred, gt = _check(pred, gt)
    sq = (pred - gt) ** 2
    return {
        "MLE": float(sq[:, rig.S_LIP].max(1).mean()),
        "MEE": float(sq[:, rig.S_EMO].max(1).mean()),
        "EIE": float(np.abs(rig.intensity(pred) - rig.intensity(gt)).mean()),
        "FRD": float(np.abs(pred[:, rig.S_UP].std(0) - gt[:, rig.S_UP].std(0)).mean()),
    }


def mean_metrics(pairs: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """Average of :func:`clip_metrics` over ``(pred, gt)`` pairs."""
    scores = [clip_metrics(p, g) for p, g in pairs]
    return {m: float(np.mean([s[m] for s in scores])) for m in METRICS}


def jaw_correlation(pred: np.ndarray, gt: np.ndarray) -> float:
    """Pearson correlation of ``CTRL_C_jaw-translateY`` over time, ``(T, 174)`` each."""
    j = rig.INDEX["CTRL_C_jaw-translateY"]
    return float(np.corrcoef(pred[:, j], gt[:, j])[0, 1])
