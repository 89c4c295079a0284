"""The MEDTalk model (Liu et al., 2025, "MEDTalk: Multimodal Controlled 3D Facial Animation with
Dynamic Emotions by Disentangled Embedding", arXiv:2507.06071).

Shapes: B batch, T rig frames at 60 fps, W transcript words, R = 174 face-board controls,
A = audio feature width, X = text feature width, C = content width, E = emotion width.
All tensors are float32 unless said otherwise.

Parts and the paper's equations:
    * :class:`MotionAutoencoder`: emotion encoder E_e, content encoder E_c, decoder D
      (eq. 2-4): ``f_e = E_e(r)``, ``f_c = E_c(r)``, ``r_hat = D(f_c, f_e)``.
    * :class:`AudioContentMapping` (ACM, eq. 5-7): audio content features -> ``f_c_hat``.
    * :class:`FusionIntensityModel` (FIM, eq. 8-12): cross-modality fusion (audio emotion
      features as queries, text-token features as keys / values) -> frame-wise intensity
      ``I_hat_t``; norm adjustment of the label embedding ``f~_t = I_hat_t / ||f_label|| * f_label``
      (eq. 9); fusion encoder E_fuse -> ``f_e_hat`` (eq. 10-12).
    * :class:`GuidanceProjection` (stage 4, eq. 13-14): P_text and P_image map a text-description
      or reference-image embedding (a sentence encoder's or CLIP's) into the label-embedding space,
      so that FIM can be steered by "a wry half-smile with raised brows" instead of a label.

The modules here hold the networks; :mod:`medtalk_core.forward` runs the audio-to-rig pass through
them (ACM, FIM's fusion, intensity and norm adjustment, E_fuse, D), for whole clips and for the
live stream runner's blocks alike.

Unlike the authors' released code (per-frame MLPs), every encoder and the decoder here see
temporal context: residual 1-D convolution stacks over frames. The emotion encoder ends in a
moving average over ``emotion_smooth`` frames, so that f_e carries the slowly varying expression
and not the syllable-rate lip motion (a bottleneck that helps the disentanglement).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import rig
from .config import ModelConfig

NUM_EMOTIONS = len(rig.EMOTIONS)


class ConvBlock(nn.Module):
    """Pre-norm residual temporal convolution: ``x + Conv(GELU(Conv(LN(x))))``.

    Input and output ``(B, T, H)``. ``right=None``: 'same' padding, the receptive field is
    centred. ``right=n``: zero padding ``(kernel - 1 - n, n)`` for the first convolution and
    ``(kernel - 1, 0)`` for the second, so the block sees ``n`` future frames.
    """

    def __init__(self, hidden: int, kernel: int, dropout: float, right: int | None = None):
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        pad = kernel // 2 if right is None else 0
        self.pads = None if right is None else ((kernel - 1 - right, right), (kernel - 1, 0))
        self.conv1 = nn.Conv1d(hidden, hidden, kernel, padding=pad)
        self.conv2 = nn.Conv1d(hidden, hidden, kernel, padding=pad)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(x).transpose(1, 2)
        if self.pads is None:
            y = self.conv2(self.drop(F.gelu(self.conv1(y))))
        else:
            y = self.conv1(F.pad(y, self.pads[0]))
            y = self.conv2(F.pad(self.drop(F.gelu(y)), self.pads[1]))
        return x + y.transpose(1, 2)


class TemporalNet(nn.Module):
    """``(B, T, in_dim) -> (B, T, out_dim)``: a linear input layer, ``layers`` :class:`ConvBlock`
    and a linear output layer. Receptive field: ``1 + layers * 2 * (kernel - 1)`` frames, centred
    (``right=None``) or with ``right`` future frames (``kernel - 1`` at most per block, in its first
    convolution, the first blocks first).
    """

    def __init__(self, in_dim: int, out_dim: int, cfg: ModelConfig, right: int | None = None):
        super().__init__()
        self.inp = nn.Linear(in_dim, cfg.hidden)
        per_block = cfg.kernel - 1  # future frames one block's first convolution holds
        self.blocks = nn.Sequential(*[
            ConvBlock(cfg.hidden, cfg.kernel, cfg.dropout,
                      None if right is None else min(per_block, max(0, right - i * per_block)))
            for i in range(cfg.layers)])
        self.norm = nn.LayerNorm(cfg.hidden)
        self.out = nn.Linear(cfg.hidden, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.norm(self.blocks(self.inp(x))))


def path_right(cfg: ModelConfig, first: bool) -> int | None:
    """The ``right`` of a TemporalNet on the audio-to-rig path (see ``ModelConfig.lookahead_frames``):
    None (centred) offline; the lookahead for a first net (ACM, FIM queries), 0 for later ones."""
    if cfg.lookahead_frames < 0:
        return None
    return cfg.lookahead_frames if first else 0


def moving_average(x: torch.Tensor, width: int) -> torch.Tensor:
    """Centred moving average over time of ``(B, T, D)`` with edge replication; ``width`` odd."""
    if width <= 1:
        return x
    y = F.pad(x.transpose(1, 2), (width // 2, width // 2), mode="replicate")
    return F.avg_pool1d(y, width, stride=1).transpose(1, 2)


def decoder_input(f_c: torch.Tensor, f_e: torch.Tensor) -> torch.Tensor:
    """D's input (eq. 4), ``f_c ⊕ f_e``: ``(B, T, C), (B, T, E) -> (B, T, C + E)`` (also ``(T, ·)``
    blocks of the stream runner)."""
    return torch.cat([f_c, f_e], dim=-1)


class MotionAutoencoder(nn.Module):
    """E_e, E_c and D of the disentanglement stage (paper eq. 2-4, Fig. 2).

    ``encode_content(r)``: ``(B, T, R) -> (B, T, C)``; ``encode_emotion(r)``: ``(B, T, R) -> (B, T, E)``;
    ``decode(f_c, f_e)``: ``(B, T, C), (B, T, E) -> (B, T, R)``.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.emotion_encoder = TemporalNet(cfg.rig_dim, cfg.emotion_dim, cfg)
        self.content_encoder = TemporalNet(cfg.rig_dim, cfg.content_dim, cfg)
        self.decoder = TemporalNet(cfg.content_dim + cfg.emotion_dim, cfg.rig_dim, cfg,
                                   path_right(cfg, first=False))

    def encode_content(self, r: torch.Tensor) -> torch.Tensor:
        """Eq. 3, ``f_c = E_c(r)``."""
        return self.content_encoder(r)

    def encode_emotion(self, r: torch.Tensor) -> torch.Tensor:
        """Eq. 2, ``f_e = E_e(r)``, smoothed over ``emotion_smooth`` frames."""
        return moving_average(self.emotion_encoder(r), self.cfg.emotion_smooth)

    def decode(self, f_c: torch.Tensor, f_e: torch.Tensor) -> torch.Tensor:
        """Eq. 4, ``r_hat = D(f_c ⊕ f_e)``."""
        return self.decoder(decoder_input(f_c, f_e))

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        """Self-reconstruction ``D(E_c(r), E_e(r))``, ``(B, T, R) -> (B, T, R)``."""
        return self.decode(self.encode_content(r), self.encode_emotion(r))


def content_features(audio: torch.Tensor, cfg: ModelConfig) -> torch.Tensor:
    """The ACM input of the model's audio input ``(..., audio_dim + emotion_audio_dim)``: its first
    ``audio_dim`` columns."""
    return audio[..., :cfg.audio_dim]


def emotion_features(audio: torch.Tensor, cfg: ModelConfig) -> torch.Tensor:
    """The FIM query input of the model's audio input: the ``emotion_audio_dim`` columns after the
    content features, or the content features when the model shares them (0)."""
    return audio[..., cfg.audio_dim:] if cfg.emotion_audio_dim else audio[..., :cfg.audio_dim]


class AudioContentMapping(nn.Module):
    """ACM (paper eq. 5-7): audio features ``(B, T, A)`` aligned to rig frames (the content
    columns, :func:`content_features`) -> content embedding ``f_c_hat (B, T, C)`` in E_c's space."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.net = TemporalNet(cfg.audio_dim, cfg.content_dim, cfg, path_right(cfg, first=True))

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.net(content_features(audio, self.cfg))


class CrossModalFusion(nn.Module):
    """Cross-attention of audio emotion features (queries) over text-token features
    (keys / values), paper eq. 8, with a bias ``-|t_frame - t_word| / tau_h`` on each head's
    logits so that a frame attends mostly to the words spoken near it.

    A learned null token is always present, so a frame with no words (silence, empty
    transcript) still has something to attend to. ``q`` is the query net: audio emotion features
    (:func:`emotion_features`) ``(B, T, A_e) -> (B, T, H)``.

    Args (:meth:`attend`):
        q: ``(B, T, H)`` the query net's output on rig frames.
        text: ``(B, W, X)`` word features; ``word_time``: ``(B, W)`` word centres in seconds;
        ``word_mask``: bool ``(B, W)``, True where a word exists, or float ``(B, T, W)`` in
        [0, 1], how visible each word is to each frame (streaming: a word fades in after the
        live transcript commits it; 0 = absent); its log is added to the attention logits.
        ``frame_time``: ``(T,)`` seconds.
    Returns:
        ``(B, T, H)`` fused features.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        h, self.heads = cfg.hidden, cfg.attn_heads
        self.q = nn.Sequential(nn.Linear(cfg.emotion_audio_dim or cfg.audio_dim, h),
                               TemporalNet(h, h, cfg, path_right(cfg, first=True)))
        self.k = nn.Linear(cfg.text_dim, h)
        self.v = nn.Linear(cfg.text_dim, h)
        self.null_kv = nn.Parameter(torch.zeros(2, h))
        self.log_tau = nn.Parameter(torch.linspace(-0.5, 1.5, cfg.attn_heads))  # tau in seconds
        self.out = nn.Linear(h, h)
        self.norm1 = nn.LayerNorm(h)
        self.norm2 = nn.LayerNorm(h)
        self.ff = nn.Sequential(nn.Linear(h, 2 * h), nn.GELU(), nn.Dropout(cfg.dropout),
                                nn.Linear(2 * h, h))

    def attend(self, q, text, word_time, word_mask, frame_time):
        """Eq. 8: the fusion of the query net's output ``q`` with the words (see the class
        docstring; the stream runner computes ``q`` block by block)."""
        B, T, _ = q.shape
        k = torch.cat([self.null_kv[0].expand(B, 1, -1), self.k(text)], 1)
        v = torch.cat([self.null_kv[1].expand(B, 1, -1), self.v(text)], 1)
        visibility = None
        if word_mask.dim() == 3:
            visibility, word_mask = word_mask, (word_mask > 0).any(1)
        mask = torch.cat([torch.ones(B, 1, dtype=torch.bool, device=q.device), word_mask], 1)
        dist = (frame_time.view(1, 1, T, 1) - word_time[:, None, None, :]).abs()  # (B,1,T,W)
        bias = -dist / self.log_tau.exp().view(1, -1, 1, 1)  # (B, heads, T, W)
        null = torch.zeros(B, self.heads, T, 1, dtype=bias.dtype, device=bias.device)
        bias = torch.cat([null, bias], -1)  # the null token has no time bias
        if visibility is not None:
            seen = torch.cat([visibility.new_ones(B, T, 1), visibility], -1)
            bias = bias + seen.log().unsqueeze(1)  # log 0 = -inf: not yet committed
        bias = bias.masked_fill(~mask[:, None, None, :], float("-inf"))
        split = lambda x: x.view(B, x.shape[1], self.heads, -1).transpose(1, 2)  # noqa: E731
        att = F.scaled_dot_product_attention(split(q), split(k), split(v), attn_mask=bias)
        x = self.norm1(q + self.out(att.transpose(1, 2).reshape(B, T, -1)))
        return self.norm2(x + self.ff(x))


class FusionIntensityModel(nn.Module):
    """FIM's networks (paper eq. 8-12): the cross-modal fusion (eq. 8), the intensity head
    (``I_hat``), the label embeddings ``f_label`` (eq. 9) and E_fuse (eq. 10-12), which maps
    ``[f~ | fused]`` to the emotion embedding ``f_e_hat (B, T, E)``. The pass through them, norm
    adjustment included, is :func:`medtalk_core.forward.animate`."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        h = cfg.hidden
        self.fusion = CrossModalFusion(cfg)
        self.intensity_head = nn.Linear(h, 1)
        self.label_embedding = nn.Embedding(NUM_EMOTIONS, h)
        self.fuse_encoder = TemporalNet(2 * h, cfg.emotion_dim, cfg, path_right(cfg, first=False))

    def intensity(self, fused: torch.Tensor) -> torch.Tensor:
        """Frame-wise intensity ``I_hat_t >= 0``, ``(B, T, H) -> (B, T)``."""
        return F.softplus(self.intensity_head(fused)).squeeze(-1)


class GuidanceProjection(nn.Module):
    """P_text or P_image (paper stage 4, eq. 13-14): a guidance embedding ``(B, D)`` (a sentence
    encoder's or CLIP's, L2-normalised) -> ``(B, H)`` in FIM's label-embedding space. FIM uses the
    result as it uses a label embedding: its direction, scaled by the frame-wise intensity (eq. 9).
    """

    def __init__(self, in_dim: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, 2 * hidden), nn.GELU(),
                                 nn.Linear(2 * hidden, hidden))

    def forward(self, g: torch.Tensor) -> torch.Tensor:
        return self.net(g)


class MEDTalk(nn.Module):
    """The whole model: motion autoencoder, ACM, FIM and (stage 4) the guidance projections.

    :func:`medtalk_core.forward.animate` is the inference path:
    ``D(ACM(audio_c), FIM(audio_e, text, label))``. ``project(kind, g)`` maps a guidance
    embedding to a label-space embedding that it takes as ``label``.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.motion = MotionAutoencoder(cfg)
        self.acm = AudioContentMapping(cfg)
        self.fim = FusionIntensityModel(cfg)
        widths = {"text": cfg.guide_text_dim, "image": cfg.guide_image_dim}
        self.guidance = nn.ModuleDict({k: GuidanceProjection(d, cfg.hidden)
                                       for k, d in widths.items() if d})
        """P_text (``"text"``) and P_image (``"image"``), those the config gives a width."""

    def project(self, kind: str, g: torch.Tensor) -> torch.Tensor:
        """P_text (``kind="text"``) or P_image (``"image"``): ``(B, D) -> (B, H)`` label-space
        embeddings.

        Raises:
            ValueError: the model has no such projection, or ``D`` is not its input width.
        """
        if kind not in self.guidance:
            raise ValueError(f"this model has no {kind} guidance projection (P_{kind}): "
                             f"train stage 4 with {kind} guidance (medtalk train --plan guide)")
        width = self.guidance[kind].net[0].in_features
        if g.shape[-1] != width:
            raise ValueError(f"{kind} guidance embedding has width {g.shape[-1]}, P_{kind} "
                             f"reads {width}: use the encoder the model was trained with")
        return self.guidance[kind](g)
