"""The training phases of MEDTalk stages 1-4 (paper Sec. 3, Fig. 2) as step functions.

Stage 1, cross-reconstruction of rig sequences, in three phases in this order:
    * ``self``: self-reconstruction ``D(E_c(x), E_e(x)) ~ x``.
    * ``overlap``: overlap exchange. x and y say the same sentence in two emotions, y time-warped
      onto x's timeline: ``D(E_c(x), E_e(y)) ~ y`` and ``D(E_c(y), E_e(x)) ~ x``; the
      self-reconstruction loss stays on.
    * ``cycle``: cycle exchange of two unrelated clips x, z: swap their emotion embeddings, encode
      the two swapped results and swap back; the result must give x and z again.
Stage 2, ``acm``: E_c, E_e, D frozen; ``L_recon(D(ACM(a), E_e(x)), x) + λ_sim L_sim(ACM(a), E_c(x))``.
Stage 3, ``fim``: E_c, E_e, D and ACM frozen;
``L_recon(D(ACM(a), f_e_hat), x) + λ_sim L_sim(f_e_hat, E_e(x)) + λ_int L_int``.
Stage 4, ``guide``: everything frozen but P_text, P_image and E_fuse; FIM is steered by a text
description's or reference image's projection instead of the label embedding:
``L_recon + λ_sim L_sim(P(g), f_label)`` (eq. 13-14; :func:`step_guide`).
``stream`` fine-tunes a model for the live stream (``medtalk train --plan stream --init``): the
audio path (ACM, FIM, D) with limited lookahead (``ModelConfig.lookahead_frames``), on features
computed as live, with words visible to a frame only once the live transcript would have
committed them (:func:`train.batches.streaming_word_mask`); E_c, E_e and FIM's label embeddings
stay frozen (the label space P_text and P_image map into stays that of the initial model) and
anchor the embeddings: ``L_recon + λ_sim (L_sim(ACM(a), E_c(x)) + L_sim(f_e_hat, E_e(x))) + λ_int L_int``.
``e2e`` is the baseline without disentanglement: ACM, FIM and D trained together from audio on
``L_recon + λ_int L_int``, with no stage 1 and no E_c / E_e.
``finetune`` fine-tunes ACM and FIM (but its label embeddings) of a trained model on your own
takes, audio with real ARKit curves (:mod:`train.takes`; :func:`step_finetune`): E_c, E_e and D,
the disentangled spaces, stay frozen, and the channels a take does not animate are masked out.
``faceformer`` trains the FaceFormer-style baseline (:mod:`medtalk_core.baselines`) on ``L_recon``.
Every step from stage 3 on, and validation, run the audio path through :func:`fim_forward`, i.e.
the forward pass of inference and scoring (:func:`medtalk_core.forward.animate`);
``StepSettings.ablate`` (:data:`medtalk_core.forward.ABLATIONS`; ``medtalk eval --ablations``)
switches parts of FIM off in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

from medtalk_core.baselines import FaceFormer
from medtalk_core.config import TrainConfig
from medtalk_core.forward import Forward, animate
from medtalk_core.model import MEDTalk

from . import losses
from .batches import Sampler, streaming_word_mask

Batch = dict[str, torch.Tensor]


@dataclass(frozen=True)
class StreamWords:
    """When the live transcript's words reach a frame (:func:`train.batches.streaming_word_mask`):
    ``commit_delay_s`` (low, high) s from a word's centre to its commit, ``word_fade_s`` s of
    fade-in, ``word_horizon_s`` s after its centre that a word stays visible, ``ahead_s`` s of
    the stream's lookahead (:func:`medtalk_core.streaming.ahead_s`)."""

    commit_delay_s: tuple[float, float]
    word_fade_s: float
    word_horizon_s: float
    ahead_s: float


@dataclass(frozen=True)
class StepSettings:
    """What the step functions and the training loop read besides the batches.

    Attributes:
        train: ``[train]`` (loss weights, steps, crops, seed, ``keep_best``).
        ablate: FIM parts switched off (:data:`medtalk_core.forward.ABLATIONS` names -> True).
        guidance: stage 4's :class:`train.guide.GuidanceTable` of each guidance kind.
        stream: the live word timing of the ``stream`` phase (None for other plans).
        reference: the ``finetune`` phase's initial model, frozen (None for other plans).
    """

    train: TrainConfig
    ablate: dict[str, bool] = field(default_factory=dict)
    guidance: tuple = ()
    stream: StreamWords | None = None
    reference: MEDTalk | None = None


@dataclass
class Phase:
    """One training phase: its name, the sub-modules it trains and its step function."""

    name: str
    trainable: tuple[str, ...]
    step: Callable[[MEDTalk, Sampler, StepSettings], dict[str, torch.Tensor]]


def _self_loss(m: MEDTalk, x: Batch) -> torch.Tensor:
    return losses.recon(m.motion(x["rig"]), x["rig"], x["frame_mask"])


def _overlap_loss(m: MEDTalk, x: Batch, y: Batch) -> torch.Tensor:
    mo, mask = m.motion, x["frame_mask"]
    cx, ex = mo.encode_content(x["rig"]), mo.encode_emotion(x["rig"])
    cy, ey = mo.encode_content(y["rig"]), mo.encode_emotion(y["rig"])
    return (losses.recon(mo.decode(cx, ey), y["rig"], mask)
            + losses.recon(mo.decode(cy, ex), x["rig"], mask)
            + losses.recon(mo.decode(cx, ex), x["rig"], mask)
            + losses.recon(mo.decode(cy, ey), y["rig"], mask))


def _cycle_loss(m: MEDTalk, x: Batch, z: Batch) -> torch.Tensor:
    mo = m.motion
    cx, ex = mo.encode_content(x["rig"]), mo.encode_emotion(x["rig"])
    cz, ez = mo.encode_content(z["rig"]), mo.encode_emotion(z["rig"])
    xz, zx = mo.decode(cx, ez), mo.decode(cz, ex)  # x's content with z's emotion, and back
    x_back = mo.decode(mo.encode_content(xz), mo.encode_emotion(zx))
    z_back = mo.decode(mo.encode_content(zx), mo.encode_emotion(xz))
    mask = x["frame_mask"] & z["frame_mask"]
    return losses.recon(x_back, x["rig"], mask) + losses.recon(z_back, z["rig"], mask)


def step_self(m: MEDTalk, s: Sampler, cfg: StepSettings) -> dict:
    return {"recon": _self_loss(m, s.single())}


def step_overlap(m: MEDTalk, s: Sampler, cfg: StepSettings) -> dict:
    x, y = s.overlap()
    return {"recon": _self_loss(m, s.single()), "overlap": _overlap_loss(m, x, y)}


def step_cycle(m: MEDTalk, s: Sampler, cfg: StepSettings) -> dict:
    return {"cycle": _cycle_loss(m, s.single(), s.single())}


def step_acm(m: MEDTalk, s: Sampler, cfg: StepSettings) -> dict:
    b = s.single()
    with torch.no_grad():
        f_c, f_e = m.motion.encode_content(b["rig"]), m.motion.encode_emotion(b["rig"])
    f_c_hat = m.acm(b["audio"])
    return {"recon": losses.recon(m.motion.decode(f_c_hat, f_e), b["rig"], b["frame_mask"]),
            "sim": cfg.train.lambda_sim * losses.sim(f_c_hat, f_c, b["frame_mask"])}


def fim_forward(m: MEDTalk | FaceFormer, b: Batch, ablate: dict | None = None) -> Forward:
    """The audio path (:func:`medtalk_core.forward.animate`) of a batch (``audio``, ``words``,
    ``word_time``, ``word_mask``, ``label``), with the FIM parts ``ablate`` names removed."""
    return animate(m, b["audio"], b["words"], b["word_time"], b["word_mask"], b["label"],
                   ablate=ablate)


def step_fim(m: MEDTalk, s: Sampler, cfg: StepSettings) -> dict:
    b = s.single()
    out = fim_forward(m, b, cfg.ablate)
    with torch.no_grad():
        f_e_gt = m.motion.encode_emotion(b["rig"])
    mask = b["frame_mask"]
    if cfg.ablate.get("intensity"):  # I_hat is constant: only the rig's intensity
        l_int = losses.masked_mean((losses.rig_intensity(out.rig) - b["intensity"]) ** 2, mask)
    else:
        l_int = losses.intensity(out.rig, out.intensity, b["intensity"], mask)
    return {"recon": losses.recon(out.rig, b["rig"], mask),
            "sim": cfg.train.lambda_sim * losses.sim(out.f_e, f_e_gt, mask),
            "int": cfg.train.lambda_int * l_int}


def step_e2e(m: MEDTalk, s: Sampler, cfg: StepSettings) -> dict:
    b = s.single()
    out = fim_forward(m, b)
    mask = b["frame_mask"]
    return {"recon": losses.recon(out.rig, b["rig"], mask),
            "int": cfg.train.lambda_int * losses.intensity(out.rig, out.intensity, b["intensity"],
                                                        mask)}


def step_faceformer(m: FaceFormer, s: Sampler, cfg: StepSettings) -> dict:
    """The FaceFormer-style baseline: ``L_recon`` of its rig from audio and label."""
    b = s.single()
    return {"recon": losses.recon(m(b["audio"], b["label"]), b["rig"], b["frame_mask"])}


def step_guide(m: MEDTalk, s: Sampler, cfg: StepSettings) -> dict:
    """Stage 4 (eq. 13-14): each clip is steered by a guidance embedding of its emotion (a text
    description or a reference image, ``cfg.guidance``: :class:`train.guide.GuidanceTable`)
    through P_text / P_image, or, with probability ``1 - guide_share``, by its label embedding as
    in stage 3 (so that E_fuse keeps serving labels). ``L_recon`` of the decoded rig plus
    ``λ_sim L_sim`` between each projection and the mix of unit label embeddings it describes."""
    b = s.single()
    table = cfg.guidance[s.rng.integers(len(cfg.guidance))]
    dev = b["audio"].device
    idx = table.pick(b["label"].cpu().numpy(), s.rng)
    g = m.project(table.kind, table.embeddings[idx].to(dev))
    with torch.no_grad():
        target = table.mix[idx].to(dev) @ F.normalize(m.fim.label_embedding.weight, dim=-1)
    guided = torch.from_numpy(s.rng.random(len(idx)) < cfg.train.guide_share).to(dev)
    b["label"] = torch.where(guided[:, None], g, m.fim.label_embedding(b["label"]))
    pred = fim_forward(m, b, cfg.ablate).rig
    l_sim = 1 - F.cosine_similarity(g, target, dim=-1)
    return {"recon": losses.recon(pred, b["rig"], b["frame_mask"]),
            "sim": cfg.train.lambda_sim * l_sim.mean()}


def step_stream(m: MEDTalk, s: Sampler, cfg: StepSettings) -> dict:
    b = s.single()
    w = cfg.stream
    b["word_mask"] = streaming_word_mask(b, s.rng, w.commit_delay_s, w.word_fade_s,
                                         w.word_horizon_s, w.ahead_s)
    out = fim_forward(m, b)
    with torch.no_grad():
        f_c, f_e_gt = m.motion.encode_content(b["rig"]), m.motion.encode_emotion(b["rig"])
    mask = b["frame_mask"]
    return {"recon": losses.recon(out.rig, b["rig"], mask),
            "sim": cfg.train.lambda_sim * (losses.sim(out.f_c, f_c, mask)
                                        + losses.sim(out.f_e, f_e_gt, mask)),
            "int": cfg.train.lambda_int * losses.intensity(out.rig, out.intensity, b["intensity"],
                                                        mask)}


def step_finetune(m: MEDTalk, s: Sampler, cfg: StepSettings) -> dict:
    """Fine-tune on your own takes (:mod:`train.takes`): ``L_recon`` over the controls each take
    animates (``channel_mask``); on the others, and on FIM's intensity I_hat, ``λ_keep`` times
    the squared distance to the initial model's output (``cfg.reference``), so that what the
    takes do not show (eyes and brows of mouth-only takes, the emotion's strength) stays as the
    initial model had it instead of being learned as zero."""
    b = s.single()
    out = fim_forward(m, b)
    with torch.no_grad():
        ref = fim_forward(cfg.reference, b)
    mask, ch = b["frame_mask"], b["channel_mask"]
    keep = (losses.recon(out.rig, ref.rig, mask, ~ch)
            + losses.masked_mean((out.intensity - ref.intensity) ** 2, mask))
    return {"recon": losses.recon(out.rig, b["rig"], mask, ch),
            "keep": cfg.train.lambda_keep * keep}


PHASES = {
    "self": Phase("self", ("motion",), step_self),
    "overlap": Phase("overlap", ("motion",), step_overlap),
    "cycle": Phase("cycle", ("motion",), step_cycle),
    "acm": Phase("acm", ("acm",), step_acm),
    "fim": Phase("fim", ("fim",), step_fim),
    "e2e": Phase("e2e", ("acm", "fim", "motion.decoder"), step_e2e),
    "stream": Phase("stream", ("acm", "fim.fusion", "fim.intensity_head", "fim.fuse_encoder",
                               "motion.decoder"), step_stream),
    "guide": Phase("guide", ("guidance", "fim.fuse_encoder"), step_guide),
    "finetune": Phase("finetune", ("acm", "fim.fusion", "fim.intensity_head", "fim.fuse_encoder"),
                      step_finetune),
    "faceformer": Phase("faceformer", FaceFormer.TRAINABLE, step_faceformer),
}
