"""Lip sync against real mouth curves named by ARKit blendshapes (``medtalk eval --arkit``).

Per ARKit channel of a curve file that has a face-board counterpart
(:data:`medtalk_core.arkit.COUNTERPARTS`), the Pearson r over time of that counterpart in the
model's frames against the channel, next to the r of the audio's RMS envelope against the same
channel: the loudness-alone baseline that a lip model has to beat. Both are compared on the
model's frame grid, ``i / 60`` s, over the times the curves cover: the curves are linearly
interpolated onto it, the envelope is computed on it (:func:`rms_envelope`). A channel that does
not move in the take (range below :data:`STILL`, as ``mouthClose`` of the FACEGOOD takes), or
whose counterpart the model leaves constant, has no r (None).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medtalk_core import rig
from medtalk_core.arkit import COUNTERPARTS, counterpart_curves
from medtalk_core.arkit_csv import ArkitCurves
from medtalk_core.errors import MedtalkError

ENVELOPE_WINDOW_S = 2 / rig.FPS
"""Seconds of audio in each RMS window (centred on the frame time)."""

STILL = 0.01
"""A curve whose range over the take is below this (ARKit values are 0..1) does not move."""

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
_CURVE_STEM = re.compile(r"^(?P<stem>.+?)(_arkit\d*fps)?$")


def rms_envelope(audio16k: np.ndarray, n_frames: int, sample_rate: int = 16000) -> np.ndarray:
    """RMS of the audio in a :data:`ENVELOPE_WINDOW_S` window centred on each rig frame time.

    Args:
        audio16k: float ``(N,)`` samples.
        n_frames: frames at :data:`medtalk_core.rig.FPS` to compute.

    Returns:
        float64 ``(n_frames,)``; windows reaching past the clip use the samples inside it.
    """
    x = np.asarray(audio16k, np.float64)
    csum = np.concatenate([[0.0], np.cumsum(x * x)])
    half = int(round(ENVELOPE_WINDOW_S * sample_rate / 2))
    centre = (np.arange(n_frames) * sample_rate) // rig.FPS
    lo, hi = np.clip(centre - half, 0, len(x)), np.clip(centre + half, 0, len(x))
    return np.sqrt((csum[hi] - csum[lo]) / np.maximum(hi - lo, 1))


def pearson(a: np.ndarray, b: np.ndarray, still: float = 1e-9) -> float | None:
    """Pearson r of two equal-length series; None if shorter than 2, if ``a`` is constant or if
    the range of ``b`` is below ``still``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or np.ptp(a) <= 1e-9 or np.ptp(b) < max(still, 1e-9):
        return None
    return float(np.corrcoef(a, b)[0, 1])


@dataclass(frozen=True)
class ChannelScore:
    """One ARKit channel of one take: ``model`` and ``envelope`` Pearson r (None: the channel or
    the prediction does not move), over ``frames`` rig frames."""

    model: float | None
    envelope: float | None
    frames: int


def scored_channels(curves: ArkitCurves) -> tuple[str, ...]:
    """The channels of ``curves`` that have a face-board counterpart.

    Raises:
        MedtalkError: none has.
    """
    names = tuple(n for n in curves.names if n in COUNTERPARTS)
    if not names:
        raise MedtalkError(f"no ARKit channel of the file ({', '.join(curves.names)}) has a "
                           "face-board counterpart (see docs/arkit.md)")
    return names


def score_take(frames: np.ndarray, audio16k: np.ndarray, curves: ArkitCurves) -> dict[str, ChannelScore]:
    """Per scored channel (:func:`scored_channels`), the model's and the envelope's r.

    Args:
        frames: float ``(T, 174)`` model frames at 60 fps of ``audio16k``.
        audio16k: float ``(N,)`` the take's samples at 16 kHz.
        curves: the take's real curves.

    Returns:
        ARKit name -> :class:`ChannelScore`, in the file's column order.

    Raises:
        MedtalkError: no channel with a counterpart, fewer than 2 frames where model and curves
            overlap.
    """
    names = scored_channels(curves)
    t = np.arange(len(frames)) / rig.FPS
    keep = (t >= curves.times[0]) & (t <= curves.times[-1])
    if keep.sum() < 2:
        raise MedtalkError(f"the curves ({curves.times[0]:.2f}-{curves.times[-1]:.2f} s) and the "
                           f"audio (0-{t[-1] if len(t) else 0:.2f} s) do not overlap")
    model = counterpart_curves(frames[keep], names)
    envelope = rms_envelope(audio16k, len(frames))[keep]
    out = {}
    for j, name in enumerate(names):
        truth = np.interp(t[keep], curves.times, curves.curves[:, curves.names.index(name)])
        out[name] = ChannelScore(pearson(model[:, j], truth, STILL),
                                 pearson(envelope, truth, STILL), int(keep.sum()))
    return out


def mean_scores(takes: dict[str, dict[str, ChannelScore]]) -> dict[str, ChannelScore]:
    """Per channel, the mean r over the takes where it is defined (None where it never is);
    ``frames`` the total."""
    names = list(dict.fromkeys(n for scores in takes.values() for n in scores))
    out = {}
    for n in names:
        got = [s[n] for s in takes.values() if n in s]
        mean = [np.mean(v) if v else None for v in ([g.model for g in got if g.model is not None],
                                                     [g.envelope for g in got if g.envelope is not None])]
        out[n] = ChannelScore(*(None if m is None else float(m) for m in mean),
                              sum(g.frames for g in got))
    return out


def find_pairs(folder: Path) -> list[tuple[str, Path, Path]]:
    """``(stem, audio, curves)`` of each take in a folder: an audio file ``X.wav`` (or .flac,
    .ogg) and a curve file ``X.csv`` or ``X_arkit<N>fps.csv``, sorted by stem.

    Raises:
        MedtalkError: not a folder, or no such pair in it.
    """
    if not folder.is_dir():
        raise MedtalkError(f"--data {folder}: not a folder")
    audio = {p.stem: p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES}
    pairs = []
    for csv_path in sorted(folder.glob("*.csv")):
        stem = _CURVE_STEM.match(csv_path.stem)["stem"]
        if stem in audio:
            pairs.append((stem, audio[stem], csv_path))
    if not pairs:
        raise MedtalkError(f"--data {folder}: no audio + ARKit curve pairs (X.wav with X.csv "
                           "or X_arkit30fps.csv)")
    return pairs


def _r(v: float | None) -> str:
    return f"{v:8.3f}" if v is not None else f"{'-':>8}"


def format_table(takes: dict[str, dict[str, ChannelScore]]) -> str:
    """The per-take rows (and, for several takes, the mean per channel) as a text table."""
    rows = list(takes.items())
    if len(takes) > 1:
        rows.append(("mean", mean_scores(takes)))
    width = max(len(k) for k, _ in rows)
    lines = [f"{'take':<{width}}  {'channel':<20}{'model r':>8}{'env r':>8}{'frames':>8}"]
    for take, scores in rows:
        lines += [f"{take:<{width}}  {n:<20}{_r(s.model)}{_r(s.envelope)}{s.frames:8d}"
                  for n, s in scores.items()]
    return "\n".join(lines)


def as_json(takes: dict[str, dict[str, ChannelScore]]) -> dict:
    """The figures as a JSON-ready dict (None for an undefined r): per take and the mean."""
    def block(scores):
        return {n: {"model_r": s.model, "envelope_r": s.envelope, "frames": s.frames}
                for n, s in scores.items()}

    return {"takes": {k: block(v) for k, v in takes.items()}, "mean": block(mean_scores(takes)),
            "counterparts": {n: list(COUNTERPARTS[n]) for n in mean_scores(takes)}}
