"""A FaceFormer-style baseline: a transformer regressor from audio features to rig frames,
conditioned on the emotion label (Fan et al., 2022, "FaceFormer: Speech-Driven 3D Facial
Animation with Transformers", the comparison model of the MEDTalk paper's Table 1).

Shapes: B batch, T rig frames at 60 fps, A = audio feature width (384), D = ``d_model``,
R = 174 face-board controls. All tensors float32 unless said otherwise.

``audio (B, T, A) -> Linear -> + label embedding (the emotion, as FaceFormer's style embedding)
-> + periodic positional encoding -> layers x [pre-norm self-attention with a temporal bias,
feed-forward] -> LayerNorm -> Linear -> rig (B, T, R)``.

What differs from FaceFormer, and why:
    * Not autoregressive: the audio features are already on rig frames, so the transformer
      regresses every frame at once (no teacher forcing, no frame-by-frame decoding).
    * The temporal bias is *centred*, not causal: ``bias_h(i, j) = -m_h * floor(|i - j| / p)``
      with FaceFormer's ALiBi slopes ``m_h`` (a geometric sequence per head) and period ``p``
      frames. FaceFormer's bias is ``-m_h * floor((i - j) / p)`` for ``j <= i`` and masks the
      future; our offline MEDTalk model sees about ±0.6 s of context on both sides, so the
      baseline may look both ways too (a like-for-like comparison).
    * The periodic positional encoding (PPE) is FaceFormer's: sinusoids of ``t mod p``.

Checkpoints are ordinary MEDTalk Live checkpoints (:mod:`medtalk_core.checkpoint`) whose
metadata ``plan`` is ``"faceformer"`` and whose ``model`` holds :class:`FaceFormerConfig`;
:func:`load_checkpoint` reads either kind.
"""

from __future__ import annotations

import math
import os

import torch
import torch.nn.functional as F
from torch import nn

from . import rig
from .config import FaceFormerConfig

PLAN = "faceformer"
"""The ``medtalk train --plan`` (and checkpoint metadata ``plan``) of this baseline."""


def alibi_slopes(heads: int) -> torch.Tensor:
    """ALiBi's per-head slopes ``2^(-8 h / heads)``, h = 1..heads: float32 ``(heads,)``."""
    return torch.tensor([2.0 ** (-8.0 * (h + 1) / heads) for h in range(heads)])


def periodic_bias(T: int, heads: int, period: int) -> torch.Tensor:
    """Centred periodic temporal bias ``-m_h * floor(|i - j| / period)``: float32
    ``(heads, T, T)``, 0 on the diagonal, the same within a period, decreasing with distance."""
    t = torch.arange(T)
    steps = ((t[:, None] - t[None, :]).abs() // period).float()
    return -alibi_slopes(heads).view(-1, 1, 1) * steps


def periodic_encoding(T: int, dim: int, period: int) -> torch.Tensor:
    """FaceFormer's periodic positional encoding: sinusoids of ``t mod period``, ``(T, dim)``."""
    pos = (torch.arange(T) % period).float()[:, None]
    freq = torch.exp(torch.arange(0, dim, 2).float() * (-math.log(10000.0) / dim))
    pe = torch.zeros(T, dim)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return pe


class BiasedSelfAttentionLayer(nn.Module):
    """Pre-norm transformer layer: ``x + MHA(LN(x), bias)``, then ``x + FF(LN(x))``.

    Input and output ``(B, T, D)``; ``bias`` float32 ``(heads, T, T)`` is added to the
    attention logits of each head.
    """

    def __init__(self, cfg: FaceFormerConfig):
        super().__init__()
        self.heads = cfg.heads
        self.norm1 = nn.LayerNorm(cfg.d_model)
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.norm2 = nn.LayerNorm(cfg.d_model)
        self.ff = nn.Sequential(nn.Linear(cfg.d_model, cfg.ff), nn.GELU(), nn.Dropout(cfg.dropout),
                                nn.Linear(cfg.ff, cfg.d_model))
        self.drop = nn.Dropout(cfg.dropout)
        self.p_attn = cfg.dropout

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(B, T, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.unsqueeze(0),
                                             dropout_p=self.p_attn if self.training else 0.0)
        x = x + self.drop(self.proj(att.transpose(1, 2).reshape(B, T, D)))
        return x + self.drop(self.ff(self.norm2(x)))


class FaceFormer(nn.Module):
    """The FaceFormer-style baseline (see the module docstring).

    ``forward(audio, label)``: audio features ``(B, T, A)`` on rig frames, emotion label int64
    ``(B,)`` -> rig ``(B, T, R)``.
    """

    TRAINABLE = ("audio_proj", "label_embedding", "layers", "norm", "out")
    """Every sub-module (the training phase trains them all)."""

    def __init__(self, cfg: FaceFormerConfig):
        super().__init__()
        self.cfg = cfg
        self.audio_proj = nn.Linear(cfg.audio_dim, cfg.d_model)
        self.label_embedding = nn.Embedding(cfg.num_emotions, cfg.d_model)
        self.layers = nn.ModuleList(BiasedSelfAttentionLayer(cfg) for _ in range(cfg.layers))
        self.norm = nn.LayerNorm(cfg.d_model)
        self.out = nn.Linear(cfg.d_model, cfg.rig_dim)

    def forward(self, audio: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        T = audio.shape[1]
        c = self.cfg
        x = self.audio_proj(audio) + self.label_embedding(label).unsqueeze(1)
        x = x + periodic_encoding(T, c.d_model, c.period_frames).to(x)
        bias = periodic_bias(T, c.heads, c.period_frames).to(x)
        for layer in self.layers:
            x = layer(x, bias)
        return self.out(self.norm(x))

    def animate(self, audio, text, word_time, word_mask, label, intensity_scale=1.0):
        """The baseline's pass for :func:`medtalk_core.forward.animate` (its arguments): returns
        ``(rig (B, T, R), intensity (B, T))``. The words are not used (FaceFormer has no text
        input) and the intensity is that of the predicted rig (``0.1 * sum |r|`` over S_INT):
        the baseline has no separate intensity estimate, so ``intensity_scale`` must be 1.

        Raises:
            ValueError: ``intensity_scale`` other than 1.
        """
        if not (isinstance(intensity_scale, (int, float)) and intensity_scale == 1.0):
            raise ValueError("the FaceFormer-style baseline has no intensity control")
        out = self.forward(audio, label)
        s_int = torch.from_numpy(rig.S_INT).to(out.device)
        return out, rig.INTENSITY_SCALE * out[..., s_int].abs().sum(-1)


def load_checkpoint(path: str | os.PathLike | None = None) -> tuple[nn.Module, dict]:
    """A MEDTalk or FaceFormer-style checkpoint (by its metadata ``plan``), in eval mode.

    Args:
        path: a checkpoint; None for the shipped default model.
    Returns:
        ``(model, metadata)``.
    Raises:
        CheckpointError: as :func:`medtalk_core.checkpoint.load_model`.
    """
    from . import checkpoint

    if path is None or checkpoint.read_metadata(path).get("plan") != PLAN:
        return checkpoint.load_model(path)
    meta = checkpoint.read_metadata(path)
    model = FaceFormer(FaceFormerConfig.from_dict(meta["model"]))
    checkpoint.load_weights(model, path)
    return model.eval(), meta
