"""``medtalk infer --plot``: one take's jaw, lips, brows and emotion intensity over time, with
the transcript's words under them at their times (a PNG, matplotlib's Agg backend).

The curves (:func:`take_series`), each a mean over the left and right (and upper and lower)
face-board controls named:

    * jaw: ``CTRL_C_jaw-translateY`` (0 closed, 1 wide open);
    * lip closure: ``mouth_lipsTogetherU/D``; funnel: ``mouth_funnelU/D``; purse: ``mouth_purseU/D``;
    * corners: ``mouth_cornerPull`` minus ``mouth_cornerDepress`` (> 0 smile, < 0 frown);
    * brows: the mean of ``brow_raiseIn`` and ``brow_raiseOut`` minus ``brow_down`` (> 0 raised);
    * intensity: the emotion intensity the model predicted (FIM's I_hat, 1 = the label's scale).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import rig
from .errors import MedtalkError
from .rigio import atomic_path, check_target

PLOT_WIDTH_PX, PLOT_HEIGHT_PX = 1200, 700
"""Size of the written figure in pixels."""

_DPI = 100


def _mean(*parts: str) -> np.ndarray:
    return np.array([rig.INDEX[f"CTRL_{s}_{p}-translateY"] for p in parts for s in "LR"])


_JAW = rig.INDEX["CTRL_C_jaw-translateY"]
_CLOSURE = _mean("mouth_lipsTogetherU", "mouth_lipsTogetherD")
_FUNNEL = _mean("mouth_funnelU", "mouth_funnelD")
_PURSE = _mean("mouth_purseU", "mouth_purseD")
_PULL, _DEPRESS = _mean("mouth_cornerPull"), _mean("mouth_cornerDepress")
_RAISE, _DOWN = _mean("brow_raiseIn", "brow_raiseOut"), _mean("brow_down")

MOUTH = ("jaw", "lip closure", "funnel", "purse", "corners")
"""Curves of the upper panel, in :attr:`TakeSeries.curves`."""
UPPER = ("brows", "intensity")
"""Curves of the lower panel."""


@dataclass(frozen=True)
class TakeSeries:
    """What the figure plots: ``times`` float64 ``(T,)`` seconds of the frames; ``curves`` name
    (:data:`MOUTH`, :data:`UPPER`) -> float32 ``(T,)``; ``words`` with their ``spans``
    ``(start, end)`` in seconds."""

    times: np.ndarray
    curves: dict[str, np.ndarray]
    words: tuple[str, ...]
    spans: tuple[tuple[float, float], ...]


def take_series(frames: np.ndarray, intensity: np.ndarray, words=(), spans=(),
                fps: int = rig.FPS) -> TakeSeries:
    """The curves of a take (module docstring).

    Args:
        frames: float ``(T, 174)`` rig frames at ``fps``.
        intensity: float ``(T,)`` predicted emotion intensity per frame.
        words, spans: the transcript's words and their ``(start, end)`` seconds.

    Raises:
        MedtalkError: ``intensity`` is not one value per frame.
    """
    x = np.asarray(frames, np.float32).reshape(-1, rig.NUM_CONTROLS)
    intensity = np.asarray(intensity, np.float32).reshape(-1)
    if len(intensity) != len(x):
        raise MedtalkError(f"{len(intensity)} intensity values for {len(x)} frames")
    curves = {
        "jaw": x[:, _JAW],
        "lip closure": x[:, _CLOSURE].mean(1),
        "funnel": x[:, _FUNNEL].mean(1),
        "purse": x[:, _PURSE].mean(1),
        "corners": x[:, _PULL].mean(1) - x[:, _DEPRESS].mean(1),
        "brows": x[:, _RAISE].mean(1) - x[:, _DOWN].mean(1),
        "intensity": intensity,
    }
    return TakeSeries(np.arange(len(x)) / fps, curves, tuple(words),
                      tuple((float(a), float(b)) for a, b in spans))


def check_plot_path(path: str | os.PathLike, inputs: tuple[str | os.PathLike, ...] = ()) -> None:
    """Check, before any work, that the figure can be written to ``path``.

    Raises:
        MedtalkError: not a ``.png`` name, or a target
            :func:`~medtalk_core.rigio.check_target` refuses.
    """
    if Path(path).suffix.lower() != ".png":
        raise MedtalkError(f"--plot {path}: the figure is a PNG, name it .png")
    check_target(path, inputs, "--plot")


def _words(ax, series: TakeSeries) -> None:
    for i, ((a, b), w) in enumerate(zip(series.spans, series.words)):
        ax.axvspan(a, b, color="0.88" if i % 2 else "0.94", lw=0)
        ax.text((a + b) / 2, 0.72 if i % 2 else 0.28, w, ha="center", va="center", fontsize=8)
    ax.set_yticks([])
    ax.set_ylim(0, 1)
    ax.set_ylabel("words", fontsize=9)


def take_figure(series: TakeSeries, title: str = ""):
    """The figure of ``series``: mouth curves, brows and intensity, and the words strip; each
    curve a line labelled by its name. Returns a matplotlib Figure (Agg)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(PLOT_WIDTH_PX / _DPI, PLOT_HEIGHT_PX / _DPI), dpi=_DPI,
                 layout="constrained")
    mouth, upper, words = fig.subplots(3, 1, sharex=True,
                                       gridspec_kw={"height_ratios": [3, 2, 0.8]})
    for ax, names in ((mouth, MOUTH), (upper, UPPER)):
        for name in names:
            ax.plot(series.times, series.curves[name], label=name, lw=1.2)
        ax.axhline(0, color="0.6", lw=0.6)
        ax.legend(loc="upper right", fontsize=8, ncol=len(names))
        ax.grid(alpha=0.3)
    mouth.set_ylabel("mouth (control value)", fontsize=9)
    upper.set_ylabel("brows, intensity", fontsize=9)
    mouth.set_title(title, fontsize=10)
    _words(words, series)
    words.set_xlabel("time (s)")
    words.set_xlim(0, max(series.times[-1] if len(series.times) else 0.0, 1 / rig.FPS))
    return fig


def write_plot(path: str | os.PathLike, series: TakeSeries, title: str = "") -> None:
    """Write :func:`take_figure` of ``series`` to ``path`` as a PNG of
    :data:`PLOT_WIDTH_PX` x :data:`PLOT_HEIGHT_PX` pixels, atomically."""
    fig = take_figure(series, title)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=_DPI)
