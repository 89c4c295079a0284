"""Training losses of the MEDTalk stages.

``recon`` is the paper's L_recon, the l2 (mean squared) error of reconstructed rig sequences over
valid frames; ``sim`` is L_sim, ``1 - cosine similarity`` of two embedding sequences flattened per
clip (as in the authors' released code); ``intensity`` is L_int, the mean squared error of the
frame-wise intensity of the decoded rig (``0.1 * sum |r|`` over S_INT) against the ground truth's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from medtalk_core import rig as rigmod

_S_INT = torch.from_numpy(rigmod.S_INT)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x (B, T, ...)`` over the frames where ``mask (B, T)`` is True."""
    m = mask.to(x.dtype).view(*mask.shape, *([1] * (x.dim() - 2)))
    denom = m.sum() * (x[0, 0].numel() if x.dim() > 2 else 1)
    return (x * m).sum() / denom.clamp_min(1)


def recon(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
          channels: torch.Tensor | None = None) -> torch.Tensor:
    """L_recon: MSE of ``(B, T, C)`` rig sequences over the frames where ``mask (B, T)`` is True
    and, if given, the controls where ``channels (B, C)`` is True (0 if there are none)."""
    err = (pred - target) ** 2
    if channels is None:
        return masked_mean(err, mask)
    w = (mask[:, :, None] & channels[:, None, :]).to(err.dtype)
    return (err * w).sum() / w.sum().clamp_min(1)


def sim(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L_sim: ``1 - cos(a, b)`` of ``(B, T, D)`` embeddings, each clip flattened over valid frames."""
    m = mask.unsqueeze(-1).to(a.dtype)
    cos = F.cosine_similarity((a * m).flatten(1), (b * m).flatten(1), dim=1, eps=1e-8)
    return (1 - cos).mean()


def rig_intensity(r: torch.Tensor) -> torch.Tensor:
    """Frame-wise intensity ``(B, T)`` of a rig tensor ``(B, T, 174)`` (rig.intensity in torch)."""
    return rigmod.INTENSITY_SCALE * r[..., _S_INT].abs().sum(-1)


def intensity(pred_rig: torch.Tensor, i_hat: torch.Tensor, target: torch.Tensor,
              mask: torch.Tensor) -> torch.Tensor:
    """L_int: MSE of the decoded rig's intensity against the ground truth's (authors' code), plus
    MSE of FIM's own frame-wise prediction I_hat against it, so that I_hat is in label units
    (our addition: the live display and intensity control read I_hat)."""
    return masked_mean((rig_intensity(pred_rig) - target) ** 2, mask) + \
        masked_mean((i_hat - target) ** 2, mask)
