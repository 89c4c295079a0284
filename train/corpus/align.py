"""Phone and word alignments of corpus utterances, and rig time warping between two of them.

``DIR/align/{id}.json`` holds ``{"words": [{"word", "start", "end"}], "phones": [{"phone", "start",
"end"}]}``, times in seconds, phones in ARPAbet (see :mod:`train.corpus.phonemes`) and covering the
clip without gaps. The seven emotions of one sentence by one voice share the phone sequence, so
their boundaries correspond one to one; :func:`warp_rig` uses that for the overlap exchange.
"""

from __future__ import annotations

import json
import os

import numpy as np

from medtalk_core.rigio import atomic_write_text

FPS = 60


def alignment_json(phones, words) -> str:
    """JSON text of an alignment from (phone, start, end) and (word, start, end) tuples."""
    return json.dumps({
        "words": [{"word": w, "start": round(s, 4), "end": round(e, 4)} for w, s, e in words],
        "phones": [{"phone": p, "start": round(s, 4), "end": round(e, 4)} for p, s, e in phones],
    })


def write_alignment(path: str | os.PathLike, phones, words) -> None:
    """Write an alignment JSON atomically."""
    atomic_write_text(path, alignment_json(phones, words))


def load_alignment(path: str | os.PathLike) -> dict:
    """Read ``{"words": [...], "phones": [...]}`` from an alignment JSON."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _knots(phones) -> tuple[list[str], np.ndarray]:
    names = [p["phone"] if isinstance(p, dict) else p[0] for p in phones]
    starts = [p["start"] if isinstance(p, dict) else p[1] for p in phones]
    last = phones[-1]["end"] if isinstance(phones[-1], dict) else phones[-1][2]
    return names, np.maximum.accumulate(np.array([*starts, last], np.float64))


def warp_rig(rig_src: np.ndarray, src_phones, dst_phones, n_dst: int) -> np.ndarray:
    """Time-warp a rig clip onto another rendering of the same phones.

    Piecewise-linear map of time: every phone boundary of ``dst_phones`` lands on the matching
    boundary of ``src_phones``; destination frame ``i`` (time ``i / 60`` s) samples ``rig_src``
    at the mapped time by linear interpolation between frames.

    Args:
        rig_src: float ``(T_src, 174)`` at 60 fps.
        src_phones, dst_phones: the ``"phones"`` lists of two alignments (dicts with
            ``phone/start/end`` or (phone, start, end) tuples), same phone sequence.
        n_dst: number of output frames.

    Returns:
        float32 ``(n_dst, 174)``.

    Raises:
        ValueError: the phone sequences differ.
    """
    src_names, src_t = _knots(src_phones)
    dst_names, dst_t = _knots(dst_phones)
    if src_names != dst_names:
        raise ValueError(f"phone sequences differ ({len(src_names)} vs {len(dst_names)} phones)")
    rig_src = np.asarray(rig_src, np.float32)
    t_src = np.interp(np.arange(n_dst) / FPS, dst_t, src_t) * FPS
    t_src = np.clip(t_src, 0, len(rig_src) - 1)
    i0 = np.floor(t_src).astype(np.int64)
    i1 = np.minimum(i0 + 1, len(rig_src) - 1)
    w = (t_src - i0)[:, None].astype(np.float32)
    return ((1 - w) * rig_src[i0] + w * rig_src[i1]).astype(np.float32)
