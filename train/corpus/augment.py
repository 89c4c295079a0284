"""Audio augmentation of training utterances: level, EQ, reverberation and noise.

Each step is drawn from a seeded generator per utterance, so the corpus is reproducible:
    * level: -6 to +3 dB (peaks kept below 0.98),
    * EQ (p = 0.6): one RBJ-cookbook peaking biquad, 200-4000 Hz, -6 to +6 dB, Q 0.7-2,
    * reverberation (p = 0.4): a synthetic room impulse response (exponentially decaying
      Gaussian noise, RT60 0.15-0.6 s, direct path kept), wet/dry 0.1-0.4,
    * noise (p = 0.7): white, pink or brown noise at 15-35 dB SNR.
The held-out test split is not augmented (clean engine audio); validation is augmented like train.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import fftconvolve, lfilter


def peaking_eq(x: np.ndarray, sr: int, f0: float, gain_db: float, q: float) -> np.ndarray:
    """RBJ Audio-EQ-Cookbook peaking filter of float32 ``x`` at ``f0`` Hz."""
    a = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0 / sr
    alpha = np.sin(w0) / (2 * q)
    b = np.array([1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a])
    den = np.array([1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a])
    return lfilter(b / den[0], den / den[0], x).astype(np.float32)


def room_ir(sr: int, rt60: float, rng: np.random.Generator) -> np.ndarray:
    """Synthetic room impulse response, float32 ``(rt60 * sr,)``: 60 dB decay over ``rt60`` s."""
    n = int(rt60 * sr)
    env = 10 ** (-3 * np.arange(n) / n)
    ir = rng.standard_normal(n) * env
    ir[0] = 0.0
    return (ir / np.sqrt(np.sum(ir ** 2))).astype(np.float32)


def colored_noise(n: int, color: str, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise of ``n`` samples: ``white``, ``pink`` (1/f) or ``brown`` (1/f^2)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    spec /= {"white": 1.0, "pink": np.sqrt(f), "brown": f}[color]
    x = np.fft.irfft(spec, n)
    return (x / (np.sqrt(np.mean(x ** 2)) + 1e-12)).astype(np.float32)


def augment(x: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Augmented copy of float32 ``x`` (same length), see the module docstring."""
    y = x.astype(np.float32).copy()
    if rng.random() < 0.6:
        y = peaking_eq(y, sr, rng.uniform(200, 4000), rng.uniform(-6, 6), rng.uniform(0.7, 2.0))
    if rng.random() < 0.4:
        wet = fftconvolve(y, room_ir(sr, rng.uniform(0.15, 0.6), rng))[: len(y)]
        mix = rng.uniform(0.1, 0.4)
        y = (1 - mix) * y + mix * wet.astype(np.float32)
    if rng.random() < 0.7:
        rms = np.sqrt(np.mean(y.astype(np.float64) ** 2)) + 1e-9
        snr = rng.uniform(15, 35)
        noise = colored_noise(len(y), str(rng.choice(["white", "pink", "brown"])), rng)
        y = y + noise * rms / 10 ** (snr / 20)
    y *= 10 ** (rng.uniform(-6, 3) / 20)
    return (y / max(1.0, float(np.abs(y).max()) / 0.98)).astype(np.float32)
