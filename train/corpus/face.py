"""Phone timings + emotion -> 60 fps MetaHuman face-board rig, by rule.

Lower face: every phone has a viseme target on the jaw, lip and tongue/teeth controls and a
dominance per control group; the trajectory is the dominance-weighted mean of the targets
(Cohen & Massaro 1993, "Modeling coarticulation in synthetic visual speech": dominance
``D_s(t) = alpha_s * exp(-theta * d(t)^c)``, here with ``d`` the distance in seconds from frame time
``t`` to phone ``s`` (0 inside it), ``c = 1`` and separate anticipatory / carry-over ``theta``).
So lip rounding of /uw/ spreads over the consonants before it while /p b m/ still close the lips.
Upper face and mouth corners: a FACS-style prototype per emotion (Ekman & Friesen action units)
scaled by a frame-wise intensity that rises on words VADER rates as strong and on prominent
syllables, smoothed with a Gaussian (no pops). Blinks and small saccades are procedural.

Output: float32 ``(T, 174)``, ``T = floor(duration_s * 60)``, inside ``rig.RANGES``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.ndimage import gaussian_filter1d

from medtalk_core import rig

from .phonemes import VOWELS

FPS = rig.FPS
TAU_ANTICIPATE = 0.07
"""s, dominance decay before a phone (anticipatory coarticulation)."""
TAU_CARRY = 0.05
"""s, dominance decay after a phone (carry-over coarticulation)."""
REST_ALPHA = 0.02
"""Dominance of the rest pose (all lip controls 0), so that long pauses relax to it."""


def _idx(part: str) -> list[int]:
    """Column indices of a control: ``"C_jaw"`` -> the centre one, ``"mouth_stretch"`` -> L and R."""
    suffix = "" if "-translate" in part else "-translateY"
    if part.startswith("C_"):
        return [rig.INDEX[f"CTRL_{part}{suffix}"]]
    return [rig.INDEX[f"CTRL_{s}_{part}{suffix}"] for s in ("L", "R")]


def _vec(parts: dict[str, float]) -> np.ndarray:
    v = np.zeros(rig.NUM_CONTROLS, np.float32)
    for part, value in parts.items():
        v[_idx(part)] = value
    return v


# ---------------------------------------------------------------- visemes

GROUPS = {
    "jaw": ["C_jaw", "C_teethD", "C_teethU", "C_teeth_fwdBackU"],
    "lips": ["mouth_lipsTogetherU", "mouth_lipsTogetherD", "mouth_lipBiteD",
             "mouth_lipsTowardsTeethD", "mouth_purseU", "mouth_purseD", "mouth_funnelU",
             "mouth_funnelD", "mouth_towardsU", "mouth_towardsD", "mouth_stretch",
             "mouth_cornerPull", "mouth_lowerLipDepress", "mouth_upperLipRaise",
             "mouth_pressU", "mouth_pressD"],
    "tongue": ["C_tongue_tip", "C_tongue", "C_tongue_inOut"],
}
_GROUP_COLS = {g: np.array(sum((_idx(p) for p in parts), []), np.int64)
               for g, parts in GROUPS.items()}

_CLOSE = {"mouth_lipsTogetherU": 0.9, "mouth_lipsTogetherD": 0.9, "mouth_pressU": 0.1,
          "mouth_pressD": 0.1}
_FV = {"mouth_lipBiteD": 0.5, "mouth_lipsTowardsTeethD": 0.3, "mouth_upperLipRaise": 0.1,
       "C_teeth_fwdBackU": 0.1}


def _round(k: float) -> dict[str, float]:
    return {"mouth_purseU": 0.45 * k, "mouth_purseD": 0.45 * k, "mouth_funnelU": 0.35 * k,
            "mouth_funnelD": 0.35 * k, "mouth_towardsU": 0.3 * k, "mouth_towardsD": 0.3 * k}


def _spread(k: float) -> dict[str, float]:
    return {"mouth_stretch": 0.3 * k, "mouth_cornerPull": 0.1 * k}


_OPEN = {"mouth_lowerLipDepress": 0.2, "mouth_upperLipRaise": 0.08}
_SIB = {"mouth_funnelU": 0.4, "mouth_funnelD": 0.4, "mouth_towardsU": 0.2, "mouth_towardsD": 0.2,
        "C_teethD": 0.15}
_TIP = {"C_tongue_tip": 0.6, "C_tongue": 0.2}

# phone: (jaw opening, other targets, dominance of jaw, lips, tongue)
VISEMES: dict[str, tuple[float, dict[str, float], tuple[float, float, float]]] = {
    "aa": (0.45, _OPEN, (1.0, 0.6, 0.3)), "ae": (0.40, {**_OPEN, **_spread(0.6)}, (1.0, 0.6, 0.3)),
    "ah": (0.32, _OPEN, (1.0, 0.5, 0.3)), "ao": (0.38, _round(0.6), (1.0, 0.8, 0.3)),
    "aw": (0.40, _round(0.4), (1.0, 0.7, 0.3)), "ay": (0.40, _spread(0.4), (1.0, 0.6, 0.3)),
    "ax": (0.20, {}, (0.6, 0.3, 0.3)), "eh": (0.30, _spread(0.5), (1.0, 0.6, 0.3)),
    "er": (0.18, _round(0.4), (0.8, 0.7, 0.3)), "ey": (0.25, _spread(0.8), (1.0, 0.7, 0.3)),
    "ih": (0.18, _spread(0.6), (0.9, 0.6, 0.3)), "iy": (0.12, _spread(1.0), (1.0, 0.9, 0.3)),
    "ow": (0.30, _round(0.9), (1.0, 1.0, 0.3)), "oy": (0.32, _round(0.7), (1.0, 0.9, 0.3)),
    "uh": (0.18, _round(0.7), (0.9, 0.9, 0.3)), "uw": (0.12, _round(1.0), (1.0, 1.2, 0.3)),
    "p": (0.02, _CLOSE, (0.6, 4.0, 0.2)), "b": (0.02, _CLOSE, (0.6, 4.0, 0.2)),
    "m": (0.02, _CLOSE, (0.6, 4.0, 0.2)), "f": (0.06, _FV, (0.6, 3.0, 0.2)),
    "v": (0.06, _FV, (0.6, 3.0, 0.2)),
    "th": (0.10, {"C_tongue_inOut": 0.45, "C_tongue_tip": 0.25}, (0.5, 0.3, 3.0)),
    "dh": (0.10, {"C_tongue_inOut": 0.35, "C_tongue_tip": 0.25}, (0.4, 0.3, 2.5)),
    "t": (0.10, _TIP, (0.5, 0.2, 2.5)), "d": (0.10, _TIP, (0.5, 0.2, 2.5)),
    "n": (0.10, _TIP, (0.4, 0.2, 2.5)), "l": (0.12, _TIP, (0.4, 0.2, 2.5)),
    "s": (0.05, {"mouth_stretch": 0.1, "C_teethD": 0.15}, (0.8, 0.3, 0.5)),
    "z": (0.05, {"mouth_stretch": 0.1, "C_teethD": 0.15}, (0.8, 0.3, 0.5)),
    "sh": (0.08, _SIB, (0.7, 1.5, 0.5)), "zh": (0.08, _SIB, (0.7, 1.5, 0.5)),
    "ch": (0.08, _SIB, (0.7, 1.5, 0.8)), "jh": (0.08, _SIB, (0.7, 1.5, 0.8)),
    "k": (0.15, {"C_tongue": 0.3}, (0.4, 0.1, 1.5)), "g": (0.15, {"C_tongue": 0.3}, (0.4, 0.1, 1.5)),
    "ng": (0.12, {"C_tongue": 0.3}, (0.4, 0.1, 1.5)), "hh": (0.25, {}, (0.1, 0.05, 0.1)),
    "r": (0.12, _round(0.4), (0.4, 0.8, 0.5)), "w": (0.10, _round(1.0), (0.5, 2.0, 0.2)),
    "y": (0.10, _spread(0.6), (0.4, 0.6, 1.0)),
    "sil": (0.0, {}, (2.0, 2.0, 2.0)), "pau": (0.02, {}, (1.0, 1.0, 1.0)),
}


@lru_cache(maxsize=None)
def _viseme(phone: str) -> tuple[np.ndarray, np.ndarray]:
    """float32 target ``(174,)`` and dominance per group ``(3,)`` of a phone."""
    jaw, parts, alpha = VISEMES.get(phone, VISEMES["ax"])
    return _vec({"C_jaw": jaw, **parts}), np.array(alpha, np.float32)


def dominance(phones: list[tuple[str, float, float]], t: np.ndarray) -> np.ndarray:
    """float32 ``(P, T)``: ``exp(-d / tau)`` with ``d`` the distance of frame time ``t`` (s) to
    each phone's span; 1 inside it (multiply by the phone's alpha)."""
    s = np.array([p[1] for p in phones])[:, None]
    e = np.array([p[2] for p in phones])[:, None]
    before = np.clip(s - t[None], 0, None) / TAU_ANTICIPATE
    after = np.clip(t[None] - e, 0, None) / TAU_CARRY
    return np.exp(-(before + after)).astype(np.float32)


def lower_face(phones, prominence, t: np.ndarray, jaw_scale: float) -> np.ndarray:
    """Coarticulated jaw, lip, tongue and teeth trajectories, float32 ``(T, 174)``.

    Vowel jaw targets are scaled by ``jaw_scale * (0.8 + 0.4 * prominence)``.
    """
    targets = np.stack([_viseme(p[0])[0] for p in phones])
    alphas = np.stack([_viseme(p[0])[1] for p in phones])
    jaw = rig.INDEX["CTRL_C_jaw-translateY"]
    targets[:, jaw] *= jaw_scale * (0.8 + 0.4 * np.asarray(prominence, np.float32))
    dom = dominance(phones, t)
    out = np.zeros((len(t), rig.NUM_CONTROLS), np.float32)
    for g, (name, cols) in enumerate(_GROUP_COLS.items()):
        w = alphas[:, g:g + 1] * dom  # (P, T)
        out[:, cols] = (w.T @ targets[:, cols]) / (w.sum(0)[:, None] + REST_ALPHA)
    return out


# ---------------------------------------------------------------- emotion

PROTOTYPES = {
    "neutral": {},
    "happy": {"eye_cheekRaise": 0.55, "mouth_cornerPull": 0.75, "eye_squintInner": 0.3,
              "mouth_dimple": 0.2, "brow_raiseOut": 0.1, "nose_nasolabialDeepen": 0.2},
    "sad": {"brow_raiseIn": 0.7, "brow_down": 0.3, "brow_lateral": 0.15,
            "mouth_cornerDepress": 0.5, "eye_blink": 0.15, "jaw_ChinRaiseD": 0.3,
            "eye-translateY": -0.12},
    "angry": {"brow_down": 0.75, "brow_lateral": 0.6, "eye_squintInner": 0.5, "eye_lidPress": 0.3,
              "eye_blink": -0.15, "mouth_tightenU": 0.4, "mouth_tightenD": 0.4,
              "mouth_pressU": 0.3, "mouth_pressD": 0.3, "nose_wrinkleUpper": 0.15},
    "disgust": {"nose_wrinkleUpper": 0.7, "mouth_upperLipRaise": 0.55,
                "nose_nasolabialDeepen": 0.4, "brow_down": 0.45, "brow_lateral": 0.25,
                "eye_squintInner": 0.35, "eye_cheekRaise": 0.25, "mouth_cornerDepress": 0.3},
    "fear": {"brow_raiseIn": 0.75, "brow_raiseOut": 0.5, "brow_lateral": 0.35, "eye_blink": -0.35,
             "eye_eyelidU": 0.3, "mouth_stretch": 0.5, "neck_stretch": 0.3},
    "surprise": {"brow_raiseIn": 0.7, "brow_raiseOut": 0.75, "eye_blink": -0.35,
                 "eye_eyelidU": 0.3, "C_jaw": 0.05},
}
"""Emotion -> control values at full intensity. Action units (Ekman & Friesen, FACS; EMFACS
prototypes): happy AU6+12, sad AU1+4+15+17, angry AU4+5+7+23+24, disgust AU9+10(+4),
fear AU1+2+4+5+20, surprise AU1+2+5+26. Neutral is the rest pose."""

JAW_SCALE = {"neutral": 1.0, "happy": 1.05, "angry": 1.1, "sad": 0.75, "fear": 0.9,
             "surprise": 1.15, "disgust": 0.9}
"""Emotion -> jaw amplitude factor (sad speech is hypo-articulated, angry and surprised hyper)."""


@lru_cache(maxsize=None)
def _prototype(emotion: str) -> np.ndarray:
    return _vec(PROTOTYPES[emotion])


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, float]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer().lexicon


def word_strength(word: str) -> float:
    """Emotional strength of a word in ``[0, 1]``: ``|VADER valence| / 4`` (0 if not in lexicon);
    the strongest part of a joined span such as ``"at a"``."""
    lex = _lexicon()
    return min(1.0, max((abs(lex.get(w.lower().strip(".,!?;:'\""), 0.0)) for w in word.split()),
                        default=0.0) / 4.0)


def prominence(audio: np.ndarray, sr: int, phones, lexical) -> np.ndarray:
    """Prominence in ``[0, 1]`` of every phone (0 for consonants and pauses).

    Acoustic: logistic of the z-scores (over the utterance's vowels) of vowel RMS level (dB)
    plus log duration; where the engine reports lexical stress it adds ``0.3``.
    """
    out = np.zeros(len(phones), np.float32)
    vow = [i for i, p in enumerate(phones) if p[0] in VOWELS]
    if len(vow) < 2:
        out[vow] = 0.5
        return out
    db, dur = [], []
    for i in vow:
        seg = audio[int(phones[i][1] * sr): max(int(phones[i][2] * sr), int(phones[i][1] * sr) + 1)]
        db.append(10 * np.log10(np.mean(seg.astype(np.float64) ** 2) + 1e-10))
        dur.append(np.log(phones[i][2] - phones[i][1] + 1e-3))
    z = sum((x - np.mean(x)) / (np.std(x) + 1e-6) for x in (np.array(db), np.array(dur)))
    acoustic = 1 / (1 + np.exp(-0.8 * z))
    lex = np.array([lexical[i] for i in vow]) if lexical is not None else np.zeros(len(vow))
    out[vow] = np.clip(acoustic + 0.3 * lex, 0, 1)
    return out


def intensity_track(phones, words, prom: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Frame-wise expression intensity in ``[0, 1]``, float32 ``(T,)``.

    0.45 in the padding silence, 0.55 while speaking, + 0.45 * word strength over each VADER word
    (0.1 s before to 0.2 s after it), + 0.15 * prominence on prominent vowels; smoothed with a
    Gaussian of sigma 0.1 s.
    """
    speech = (t >= phones[0][2]) & (t < phones[-1][1])
    track = np.where(speech, 0.55, 0.45).astype(np.float32)
    for w, s, e in words:
        track[(t >= s - 0.1) & (t < e + 0.2)] += 0.45 * word_strength(w)
    for (name, s, e), p in zip(phones, prom):
        if p > 0.5:
            track[(t >= s) & (t < e)] += 0.15 * p
    return np.clip(gaussian_filter1d(track, 0.1 * FPS, mode="nearest"), 0, 1)


def _stress_bumps(phones, prom: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Smoothed ``(T,)`` curve of prominent syllables (for prosodic brow raises)."""
    bump = np.zeros(len(t), np.float32)
    for (name, s, e), p in zip(phones, prom):
        if p > 0.6:
            bump[(t >= s) & (t < e)] = p
    return gaussian_filter1d(bump, 0.06 * FPS, mode="constant")


# ---------------------------------------------------------------- eyes

_BLINK = np.array([0.3, 0.7, 0.95, 1.0, 0.85, 0.6, 0.35, 0.15, 0.05], np.float32)
"""Blink closure profile, 9 frames = 150 ms at 60 fps: fast close, slower open."""


def blinks(n: int, rng: np.random.Generator) -> np.ndarray:
    """Eyelid closure in ``[0, 1]``, float32 ``(n,)``: a blink every 2.5-5 s."""
    out = np.zeros(n, np.float32)
    f = int(rng.uniform(0.3, 2.0) * FPS)
    while f < n:
        seg = _BLINK[: n - f]
        out[f:f + len(seg)] = np.maximum(out[f:f + len(seg)], seg)
        f += int(rng.uniform(2.5, 5.0) * FPS)
    return out


def gaze(n: int, rng: np.random.Generator) -> np.ndarray:
    """Small saccadic eye motion, float32 ``(n, 2)`` (x, y): fixations of 0.6-2 s, 3-frame jumps."""
    out = np.zeros((n, 2), np.float32)
    f, cur = 0, np.zeros(2, np.float32)
    while f < n:
        nxt = np.clip(rng.normal(0, 0.07, 2), -0.2, 0.2).astype(np.float32)
        ramp = np.linspace(0, 1, 4, dtype=np.float32)[1:, None]
        steps = cur + (nxt - cur) * ramp
        length = int(rng.uniform(0.6, 2.0) * FPS)
        out[f:f + 3] = steps[: max(0, min(3, n - f))]
        out[f + 3:f + length] = nxt
        f, cur = f + length, nxt
    return out


# ---------------------------------------------------------------- whole face


def make_rig(audio: np.ndarray, sr: int, phones, words, lexical, emotion: str,
             rng: np.random.Generator) -> np.ndarray:
    """The face-board clip of one utterance.

    Args:
        audio: float32 ``(N,)`` clean speech at ``sr`` Hz (for prominence).
        phones: (ARPAbet, start s, end s) covering the clip; first and last are ``sil``.
        words: (word, start s, end s).
        lexical: lexical stress per phone (1.0 stressed) or ``None``.
        emotion: one of ``rig.EMOTIONS``.
        rng: seeded generator (blinks, gaze, utterance intensity).

    Returns:
        float32 ``(floor(N / sr * 60), 174)`` inside ``rig.RANGES``.
    """
    n = len(audio) * FPS // sr
    t = np.arange(n) / FPS
    prom = prominence(audio, sr, phones, lexical)
    out = lower_face(phones, prom, t, JAW_SCALE[emotion])
    level = rng.uniform(0.65, 1.0)
    inten = intensity_track(phones, words, prom, t) * level
    out += inten[:, None] * _prototype(emotion)[None]
    bumps = _stress_bumps(phones, prom, t)
    brow = (0.2 if emotion == "surprise" else 0.1) * bumps
    for part in ("brow_raiseIn", "brow_raiseOut"):
        out[:, _idx(part)] += brow[:, None]
    blink_cols = _idx("eye_blink")
    closure = blinks(n, rng)[:, None]
    out[:, blink_cols] += (1.0 - out[:, blink_cols]) * closure
    g = gaze(n, rng)
    out[:, _idx("eye-translateX")] += g[:, :1]
    out[:, _idx("eye-translateY")] += g[:, 1:]
    return rig.clip_to_range(out)
