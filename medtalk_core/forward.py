"""The one audio-to-rig forward pass of MEDTalk (Liu et al., 2025, arXiv:2507.06071), for whole
clips and, step by step, for the blocks of frames the live stream runner computes.

    audio features --ACM (eq. 5-7)----------------------------------> f_c_hat --+
    audio emotion features x words --fusion (eq. 8)--> fused                    |
        fused --intensity head--> I_hat_t                                       +--D (eq. 4)--> rig
        I_hat_t, f_label --norm adjustment (eq. 9)--> f~_t                      |
        [f~_t | fused] --E_fuse (eq. 10-12)-----------------------> f_e_hat ----+

:func:`animate` runs the whole pass on whole clips: ``medtalk infer`` (through
:class:`medtalk_core.inference.Animator`), ``medtalk eval``, the training steps and validation of
every stage from 3 on, and stage 4's guidance check. :class:`medtalk_core.streaming.StreamingModel`
runs the networks incrementally and calls :func:`fuse`, :func:`frame_intensity`,
:func:`norm_adjust`, :func:`fuse_encoder_input` and :func:`medtalk_core.model.decoder_input` on
its blocks, so that both compute the same function (tests/test_streaming.py).

Shapes: B batch, T rig frames at :data:`medtalk_core.rig.FPS`, W words, A audio input width
(``audio_dim + emotion_audio_dim``), X text width, H hidden width, C content and E emotion widths,
R = 174 controls. Tensors are float32 unless said otherwise.

Ablations (``ablate``: the checkpoint metadata ``ablate`` of a model trained without a part of
FIM; ``medtalk eval --ablations``): keys of :data:`ABLATIONS`, True = removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import rig
from .baselines import FaceFormer
from .config import ModelConfig
from .errors import MedtalkError
from .model import MEDTalk, emotion_features

ABLATIONS = ("intensity", "text")
"""Parts of FIM an ``ablate`` dict may remove: ``intensity``: I_hat is the constant 1, so eq. 9
gives the label embedding's direction at unit norm; ``text``: FIM sees no words (every word
masked out, only the null token)."""


def _removed(ablate: dict | None, part: str) -> bool:
    """Whether ``ablate`` removes ``part``.

    Raises:
        MedtalkError: ``ablate`` names a part not in :data:`ABLATIONS`.
    """
    unknown = sorted(set(ablate or {}) - set(ABLATIONS))
    if unknown:
        raise MedtalkError(f"unknown ablation {', '.join(unknown)}; known: {', '.join(ABLATIONS)}")
    return bool((ablate or {}).get(part))


def frame_time(n: int, first: int = 0) -> np.ndarray:
    """float64 ``(n,)`` times in s of rig frames ``first .. first + n - 1`` at ``rig.FPS``."""
    return (first + np.arange(n)) / rig.FPS


def fuse(model: MEDTalk, q: torch.Tensor, words: torch.Tensor, word_time: torch.Tensor,
         word_mask: torch.Tensor, first: int = 0, ablate: dict | None = None) -> torch.Tensor:
    """Cross-modality fusion (eq. 8) of frames ``first .. first + T - 1``.

    Args:
        q: ``(B, T, H)`` FIM's query-net output of those frames.
        words: ``(B, W, X)`` word features; ``word_time``: ``(B, W)`` word centres in s.
        word_mask: bool ``(B, W)`` or float ``(B, T, W)`` visibility in [0, 1]
            (:meth:`medtalk_core.model.CrossModalFusion.attend`).
        first: index of the first frame (its time is ``first / rig.FPS``).
        ablate: ``text`` removed: every word is masked out.
    Returns:
        ``(B, T, H)`` fused features.
    """
    if _removed(ablate, "text"):
        word_mask = torch.zeros_like(word_mask)
    t = torch.from_numpy(frame_time(q.shape[1], first).astype(np.float32)).to(q.device)
    return model.fim.fusion.attend(q, words, word_time, word_mask, t)


def frame_intensity(model: MEDTalk, fused: torch.Tensor, ablate: dict | None = None
                    ) -> torch.Tensor:
    """Frame-wise intensity ``I_hat_t >= 0`` of eq. 9, ``(B, T, H) -> (B, T)``: FIM's intensity
    head, or the constant 1 (no gradient) with ``intensity`` removed."""
    if _removed(ablate, "intensity"):
        return fused.new_ones(fused.shape[:-1])
    return model.fim.intensity(fused)


def label_space(model: MEDTalk, label: torch.Tensor) -> torch.Tensor:
    """``f_label`` of eq. 9: FIM's label embedding ``(B, H)`` of int64 labels ``(B,)``; a float
    label-space embedding (a blend of label embeddings, a guidance projection) as it is."""
    return model.fim.label_embedding(label) if label.dtype == torch.long else label


def norm_adjust(intensity: torch.Tensor, f_label: torch.Tensor) -> torch.Tensor:
    """Eq. 9, ``f~_t = I_t / ||f_label|| * f_label``: ``intensity (B, T)`` (the applied one: I_hat
    times the live scale, or held), ``f_label (B, H)`` per clip or ``(B, T, H)`` per frame ->
    ``(B, T, H)``."""
    direction = f_label / f_label.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    if direction.dim() == 2:
        direction = direction.unsqueeze(1)
    return intensity.unsqueeze(-1) * direction


def fuse_encoder_input(f_tilde: torch.Tensor, fused: torch.Tensor) -> torch.Tensor:
    """E_fuse's input (eq. 10): ``[f~_t | fused]``, ``(B, T, H), (B, T, H) -> (B, T, 2H)``."""
    return torch.cat([f_tilde, fused], -1)


@dataclass
class Forward:
    """Result of :func:`animate`: ``rig (B, T, R)`` (not clipped to the control ranges),
    ``intensity (B, T)`` I_hat before the intensity scale, ``f_c (B, T, C)`` ACM's content
    embedding and ``f_e (B, T, E)`` FIM's emotion embedding (None for the FaceFormer-style
    baseline, which has neither)."""

    rig: torch.Tensor
    intensity: torch.Tensor
    f_c: torch.Tensor | None
    f_e: torch.Tensor | None


def animate(model: MEDTalk | FaceFormer, audio: torch.Tensor, words: torch.Tensor,
            word_time: torch.Tensor, word_mask: torch.Tensor, label: torch.Tensor,
            intensity_scale: torch.Tensor | float = 1.0, ablate: dict | None = None,
            first: int = 0) -> Forward:
    """The whole audio-to-rig pass, ``D(ACM(audio_c), FIM(audio_e, words, label))`` (eq. 4-12).

    Args:
        model: MEDTalk, or the FaceFormer-style baseline (its own pass, words unused).
        audio: ``(B, T, A)`` audio features on rig frames (content columns, then emotion ones).
        words, word_time, word_mask: as :func:`fuse`.
        label: int64 ``(B,)`` emotion labels or float ``(B, H)`` label-space embeddings.
        intensity_scale: scalar or ``(B, T)``, multiplies I_hat in eq. 9 (1 = as predicted).
        ablate: FIM parts removed (:data:`ABLATIONS`), as the model was trained.
        first: index of the first frame of ``audio`` (a chunk of a longer clip: its frame
            times, which the fusion compares with the word times, start at ``first / rig.FPS``).
    Returns:
        :class:`Forward`.
    Raises:
        MedtalkError: an unknown ablation.
        ValueError: the baseline with an intensity scale other than 1.
    """
    if isinstance(model, FaceFormer):
        out, i_rig = model.animate(audio, words, word_time, word_mask, label, intensity_scale)
        return Forward(out, i_rig, None, None)
    q = model.fim.fusion.q(emotion_features(audio, model.cfg))
    fused = fuse(model, q, words, word_time, word_mask, first, ablate)
    i_hat = frame_intensity(model, fused, ablate)
    f_tilde = norm_adjust(i_hat * intensity_scale, label_space(model, label))
    f_e = model.fim.fuse_encoder(fuse_encoder_input(f_tilde, fused))
    f_c = model.acm(audio)
    return Forward(model.motion.decode(f_c, f_e), i_hat, f_c, f_e)


CHUNK_FRAMES = 1200
"""Rig frames (20 s) animated at once by :func:`animate_clip`: the fusion's attention holds
``frames x words x heads`` logits, which for a whole 10-minute recording would take gigabytes."""


def context_frames(cfg: ModelConfig) -> int:
    """Frames on either side of a frame that its rig depends on: the audio path runs three
    temporal nets in series (FIM's query net, E_fuse, D; ACM beside the first), each seeing at
    most ``2 * layers * (kernel - 1)`` frames to one side (all of them to the past when it is
    causal)."""
    return 3 * 2 * cfg.layers * (cfg.kernel - 1)


def animate_clip(model: MEDTalk | FaceFormer, audio: np.ndarray, words: np.ndarray,
                 word_time: np.ndarray, label: int | np.ndarray, intensity_scale: float = 1.0,
                 ablate: dict | None = None, chunk: int = CHUNK_FRAMES
                 ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`animate` on one clip, every word visible: ``audio (T, A)``, ``words (W, X)``,
    ``word_time (W,)`` s, ``label`` an emotion id or a float32 ``(H,)`` label-space embedding ->
    ``(rig float32 (T, R) clipped to the control ranges, I_hat float32 (T,))``.

    MEDTalk runs ``chunk`` frames at a time, each with :func:`context_frames` of audio on either
    side and every word, so memory stays bounded and the result is that of one pass (the
    FaceFormer-style baseline attends over the whole clip and runs in one pass)."""
    def batch(x) -> torch.Tensor:
        return torch.from_numpy(np.asarray(x, np.float32))[None]

    if len(audio) == 0:
        return np.zeros((0, rig.NUM_CONTROLS), np.float32), np.zeros(0, np.float32)
    lab = torch.tensor([label]) if isinstance(label, (int, np.integer)) else batch(label)
    mask = torch.ones(1, len(words), dtype=torch.bool)
    step = len(audio) if isinstance(model, FaceFormer) else max(1, chunk)
    margin = 0 if isinstance(model, FaceFormer) else context_frames(model.cfg)
    rigs, intensities = [], []
    with torch.inference_mode():
        for a in range(0, len(audio), step):
            lo, hi = max(0, a - margin), min(len(audio), a + step + margin)
            out = animate(model, batch(audio[lo:hi]), batch(words), batch(word_time), mask, lab,
                          intensity_scale, ablate, first=lo)
            keep = slice(a - lo, a - lo + min(step, len(audio) - a))
            rigs.append(out.rig[0, keep].numpy())
            intensities.append(out.intensity[0, keep].numpy())
    return (rig.clip_to_range(np.concatenate(rigs)),
            np.concatenate(intensities).astype(np.float32))
