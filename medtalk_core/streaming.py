"""MEDTalk run frame by frame on live audio, computing exactly what the stream fine-tune trains.

A live stream sees audio only up to "now", and words only once the live transcript has committed
them. Everything here is shared by the live engine (``bridge/engine.py``) and the stream
fine-tune (``medtalk train --plan stream``), so that training and serving compute the same thing:

* :class:`FeatureStream`: the Whisper-encoder features of :class:`~medtalk_core.features.WhisperEncoder`
  computed window by window as audio arrives (the same windows as ``WhisperEncoder.encode``), and
  their interpolation onto 60 fps rig frames (as ``features.align_to_frames``).
* :func:`prefix_word_features`: MiniLM features of each word with only the words before it as
  context (a live transcript grows at its end).
* :func:`word_visibility`: how visible each word is to each frame: 0 until the transcript
  committed it, then a linear fade-in over ``fade_s`` (no pops), 0 again beyond ``horizon_s``.
* :class:`StreamingModel`: the model's temporal convolutions run incrementally with cached
  left context; on each block of frames, the fusion, intensity, norm adjustment and decoder input
  of :mod:`medtalk_core.forward` (paper eq. 4, 8-12), with per-frame emotion label, intensity
  scale and freeze (live control). Given the same inputs it returns what
  :func:`medtalk_core.forward.animate` returns for the whole clip (tests/test_streaming.py).

Units: samples at 16 kHz, 50 Hz encoder features, rig frames at 60 fps, seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from . import rig
from .features import FEATURE_RATE, FRAME_SAMPLES, SAMPLE_RATE, WhisperEncoder
from .forward import frame_intensity, frame_time, fuse, fuse_encoder_input, norm_adjust
from .model import (
    ConvBlock,
    MEDTalk,
    TemporalNet,
    content_features,
    decoder_input,
    emotion_features,
)

# ---------------------------------------------------------------- audio features


def frame_need(i: int, hop: int, lookahead: int, fps: int = rig.FPS) -> int:
    """Samples of audio needed before rig frame ``i``'s input row exists (:class:`FeatureStream`
    with ``hop`` and ``lookahead`` in samples): the window of the hop of feature
    ``floor(i / fps * 50 - 0.5) + 1``."""
    i1 = int(np.floor(i / fps * FEATURE_RATE - 0.5)) + 1
    return (max(0, i1) // (hop // FRAME_SAMPLES) + 1) * hop + lookahead


def ahead_s(hop_s: float, lookahead_s: float, frames_ahead: int = 0, fps: int = rig.FPS) -> float:
    """The lookahead the stream adds to latency (s): the largest ``audio needed - frame time`` of
    a rig frame whose output needs the inputs of ``frames_ahead`` later frames
    (``ModelConfig.lookahead_frames``)."""
    hop, lookahead = round(hop_s * SAMPLE_RATE), round(lookahead_s * SAMPLE_RATE)
    return max(frame_need(i + frames_ahead, hop, lookahead, fps) / SAMPLE_RATE - i / fps
               for i in range(10 * fps, 11 * fps))


class FeatureStream:
    """Encoder features of a growing clip, and their rig-frame interpolation.

    Hop ``k`` (``hop`` samples) gets its features from one encoder window ending at sample
    ``(k + 1) * hop + lookahead`` (zero before sample 0 and after the end of the clip), exactly
    as :meth:`WhisperEncoder.encode`. Rig frame ``i`` reads features ``i0 = floor(p)`` and
    ``i0 + 1`` with ``p = i / 60 * 50 - 0.5`` (clipped to the features that exist at the end), as
    :func:`~medtalk_core.features.align_to_frames`.

    Args:
        encoder: the Whisper encoder with the live window geometry.
        fps: rig frame rate.
    """

    def __init__(self, encoder: WhisperEncoder, fps: int = rig.FPS):
        self.encoder, self.fps = encoder, fps
        self.per_hop = encoder.hop // FRAME_SAMPLES
        self.features = np.zeros((0, encoder.dim), np.float32)
        """float32 ``(K, 384)``: the newest features (50 Hz), the first being feature ``base``."""
        self.base = 0
        self.hops = 0
        self.frames = 0
        """Rig frames whose input row has been returned."""

    def hop_end(self, k: int) -> int:
        """Sample at which the window of hop ``k`` ends (the audio it needs)."""
        return (k + 1) * self.encoder.hop + self.encoder.lookahead

    def advance(self, read: Callable[[int, int], np.ndarray], available: int,
                total: int | None = None) -> np.ndarray:
        """Encode every hop whose audio has arrived, and return the new rig-frame input rows.

        Args:
            read: ``read(start, end)`` -> float32 ``(end - start,)`` samples of the clip, zeros
                before sample 0 (and after ``total``).
            available: samples of the clip that have arrived.
            total: the clip's length once it has ended (flush), else None.
        Returns:
            float32 ``(m, 384)``: input rows of rig frames ``self.frames - m .. self.frames - 1``.
        """
        enc = self.encoder
        n_hops = -(-total // enc.hop) if total is not None else None
        windows = []
        while (self.hop_end(self.hops + len(windows)) <= available
               if total is None else self.hops + len(windows) < n_hops):
            end = self.hop_end(self.hops + len(windows))
            windows.append(read(end - enc.window, end))
        if windows:
            out = enc._run(np.stack(windows))[:, enc.hop_slice].reshape(-1, enc.dim)
            self.features = np.concatenate([self.features, out])
            self.hops += len(windows)
        if total is not None:  # the last hop's frames beyond the clip do not exist
            self.features = self.features[: -(-total // FRAME_SAMPLES) - self.base]
        rows = self._rows(total)
        keep = max(0, int(np.floor(self.frames / self.fps * FEATURE_RATE - 0.5)) - 1 - self.base)
        self.features, self.base = self.features[keep:], self.base + keep  # older ones: unused
        return rows

    def _rows(self, total: int | None) -> np.ndarray:
        k = self.base + len(self.features)
        if total is None:
            last = self.frames
            while int(np.floor(last / self.fps * FEATURE_RATE - 0.5)) + 1 < k:
                last += 1
        else:
            last = total * self.fps // SAMPLE_RATE
        idx = np.arange(self.frames, last)
        self.frames = max(self.frames, last)
        if len(idx) == 0 or k == 0:
            return np.zeros((0, self.encoder.dim), np.float32)
        pos = np.clip(idx / self.fps * FEATURE_RATE - 0.5, 0.0, k - 1)
        i0 = np.floor(pos).astype(np.int64)
        i1 = np.minimum(i0 + 1, k - 1)
        w = (pos - i0).astype(np.float32)[:, None]
        return (1.0 - w) * self.features[i0 - self.base] + w * self.features[i1 - self.base]


# ---------------------------------------------------------------- words


def prefix_word_features(encoder, words: list[str], context: int, first: int = 0) -> np.ndarray:
    """MiniLM features of ``words[first:]``, each seen with at most ``context - 1`` preceding
    words and nothing after it (what a live transcript knows when the word is committed).

    Args:
        encoder: a :class:`medtalk_core.text.TextEncoder`.
        words: ``W`` words (the ones before ``first`` are context only).
        context: words per transformer run, the word itself included.
        first: the first word to return a feature for.
    Returns:
        float32 ``(W - first, 384)``: one transformer run per word.
    """
    out = np.zeros((len(words) - first, encoder.dim), np.float32)
    for k in range(first, len(words)):
        out[k - first] = encoder.encode_words(words[max(0, k + 1 - context):k + 1])[-1]
    return out


def word_visibility(frame_time: np.ndarray, word_time: np.ndarray, commit_time: np.ndarray,
                    fade_s: float, horizon_s: float) -> np.ndarray:
    """Visibility of words to frames, in [0, 1].

    Args:
        frame_time: float ``(T,)`` s of each rig frame.
        word_time: float ``(W,)`` s of each word's centre.
        commit_time: float ``(W,)`` frame time (s) from which the live model knows the word.
        fade_s: s over which a committed word fades in (linear).
        horizon_s: words centred more than this many s before a frame are not shown to it.
    Returns:
        float32 ``(T, W)``.
    """
    t = np.asarray(frame_time, np.float64)[:, None]
    v = np.clip((t - np.asarray(commit_time)[None]) / max(fade_s, 1e-6), 0.0, 1.0)
    v[t - np.asarray(word_time)[None] > horizon_s] = 0.0
    return v.astype(np.float32)


# ---------------------------------------------------------------- incremental networks


class _Conv:
    """A zero-padded ``Conv1d`` run on a growing sequence: ``push`` frames ``(n, C)``, get the
    outputs that are complete; ``finish`` adds the right padding at the end of the stream."""

    def __init__(self, conv: torch.nn.Conv1d, left: int, right: int):
        self.weight, self.bias, self.right = conv.weight, conv.bias, right
        self.k = conv.kernel_size[0]
        self.buf = torch.zeros(left, conv.in_channels)

    def push(self, x: torch.Tensor) -> torch.Tensor:
        self.buf = torch.cat([self.buf, x])
        m = len(self.buf) - (self.k - 1)
        if m <= 0:
            return x.new_zeros(0, self.weight.shape[0])
        y = F.conv1d(self.buf.T[None], self.weight, self.bias)[0].T
        self.buf = self.buf[m:]
        return y

    def finish(self) -> torch.Tensor:
        return self.push(torch.zeros(self.right, self.buf.shape[1]))


class _Block:
    """A :class:`ConvBlock` run incrementally (eval mode: dropout is the identity)."""

    def __init__(self, block: ConvBlock):
        k = block.conv1.kernel_size[0]
        pads = block.pads or ((k // 2, k // 2), (k // 2, k // 2))
        self.norm = block.norm
        self.conv1, self.conv2 = _Conv(block.conv1, *pads[0]), _Conv(block.conv2, *pads[1])
        self.lag = sum(p[1] for p in pads)
        self.pending = torch.zeros(0, block.norm.normalized_shape[0])

    def _out(self, y: torch.Tensor) -> torch.Tensor:
        out = self.pending[:len(y)] + y
        self.pending = self.pending[len(y):]
        return out

    def push(self, x: torch.Tensor) -> torch.Tensor:
        self.pending = torch.cat([self.pending, x])
        return self._out(self.conv2.push(F.gelu(self.conv1.push(self.norm(x)))))

    def finish(self) -> torch.Tensor:
        y = self.conv2.push(F.gelu(self.conv1.finish()))
        return self._out(torch.cat([y, self.conv2.finish()]))


class _Net:
    """A :class:`TemporalNet` run incrementally; outputs lag inputs by :attr:`lag` frames."""

    def __init__(self, net: TemporalNet):
        self.net = net
        self.blocks = [_Block(b) for b in net.blocks]
        self.lag = sum(b.lag for b in self.blocks)

    def push(self, x: torch.Tensor) -> torch.Tensor:
        h = self.net.inp(x)
        for b in self.blocks:
            h = b.push(h)
        return self.net.out(self.net.norm(h))

    def finish(self) -> torch.Tensor:
        h = torch.zeros(0, self.net.inp.out_features)
        for b in self.blocks:
            h = torch.cat([b.push(h), b.finish()])
        return self.net.out(self.net.norm(h))


# ---------------------------------------------------------------- the model


@dataclass
class FrameControl:
    """Live control of one rig frame.

    Attributes:
        label: float32 ``(H,)`` label-space embedding (a blend of FIM's label embeddings).
        scale: multiplies the intensity (1 = as predicted).
        frozen: True holds the intensity at its value when the freeze began.
    """

    label: torch.Tensor
    scale: float = 1.0
    frozen: bool = False


@dataclass
class StreamOutput:
    """Frames the runner completed: ``rig`` float32 ``(n, 174)`` (not clipped), ``intensity``
    float32 ``(n,)`` the applied intensity (held or predicted, times the scale), ``first`` the
    index of the first of them."""

    first: int
    rig: np.ndarray
    intensity: np.ndarray


class StreamingModel:
    """MEDTalk (ACM, FIM, D) on rig-frame input rows that arrive a few at a time.

    Words are given with :meth:`set_words` as the transcript grows; each frame attends to the
    words it can see (:func:`word_visibility` with the frame time at which the runner first had
    the word as its commit time). Outputs lag inputs by :attr:`lag` frames (the model's
    lookahead); :meth:`finish` flushes the end of the clip.

    Args:
        model: a MEDTalk model (eval mode; ``lookahead_frames`` >= 0 for low latency).
        control: ``control(frame_index) -> FrameControl`` for every frame as it is fused.
        fade_s, horizon_s: word visibility (see :func:`word_visibility`).
        ablate: the FIM parts the model was trained without (checkpoint metadata ``ablate``,
            :data:`medtalk_core.forward.ABLATIONS`).
    """

    def __init__(self, model: MEDTalk, control: Callable[[int], FrameControl],
                 fade_s: float = 0.25, horizon_s: float = 3.0, ablate: dict | None = None):
        fim = model.fim
        self.model, self.control, self.ablate = model, control, ablate
        self.fade_s, self.horizon_s = fade_s, horizon_s
        self.acm = _Net(model.acm.net)
        self.query_in, self.query = fim.fusion.q[0], _Net(fim.fusion.q[1])
        self.fuse = _Net(fim.fuse_encoder)
        self.decoder = _Net(model.motion.decoder)
        self.lag = max(self.acm.lag, self.query.lag + self.fuse.lag) + self.decoder.lag
        self._f_c = torch.zeros(0, model.cfg.content_dim)
        self._f_e = torch.zeros(0, model.cfg.emotion_dim)
        self._i = np.zeros(0, np.float32)
        self._fused_next = 0   # next frame to fuse
        self._out_next = 0     # next frame to output
        self._held: float | None = None
        self._last_i = 0.0
        self.words = np.zeros((0, model.cfg.text_dim), np.float32)
        self.word_time = np.zeros(0, np.float32)
        self.commit_time = np.zeros(0, np.float64)

    @property
    def frames_out(self) -> int:
        """Rig frames output so far (the index of the next one)."""
        return self._out_next

    def add_words(self, features: np.ndarray, centres: np.ndarray,
                  commit_s: float | None = None) -> None:
        """Words the transcript has just committed: float32 ``(m, X)`` features and ``(m,)``
        centres (s). They fade in from the next frame to be fused (or from ``commit_s``, a frame
        time in s); words older than the horizon are dropped."""
        now = frame_time(1, self._fused_next)[0]
        commit = now if commit_s is None else commit_s
        self.words = np.concatenate([self.words, np.asarray(features, np.float32)])
        self.word_time = np.concatenate([self.word_time, np.asarray(centres, np.float32)])
        self.commit_time = np.concatenate([self.commit_time, np.full(len(centres), commit)])
        keep = self.word_time >= now - self.horizon_s - 1.0
        self.words, self.word_time = self.words[keep], self.word_time[keep]
        self.commit_time = self.commit_time[keep]

    @torch.inference_mode()
    def push(self, rows: np.ndarray) -> StreamOutput:
        """Feed rig-frame input rows float32 ``(n, A)`` (the model's audio input); returns the
        frames now complete."""
        x = torch.from_numpy(np.ascontiguousarray(rows, np.float32))
        cfg = self.model.cfg
        self._f_c = torch.cat([self._f_c, self.acm.push(content_features(x, cfg))])
        self._fuse_frames(self.query.push(self.query_in(emotion_features(x, cfg))))
        return self._decode(final=False)

    @torch.inference_mode()
    def finish(self) -> StreamOutput:
        """End of the clip: flush every network's right padding; returns the last frames."""
        self._f_c = torch.cat([self._f_c, self.acm.finish()])
        self._fuse_frames(self.query.finish())
        self._f_e = torch.cat([self._f_e, self.fuse.finish()])
        return self._decode(final=True)

    def _fuse_frames(self, q: torch.Tensor) -> None:
        """FIM after its query net (eq. 8-12) for the frames of ``q (n, H)``."""
        n = len(q)
        if n == 0:
            return
        first = self._fused_next
        vis = word_visibility(frame_time(n, first), self.word_time, self.commit_time,
                              self.fade_s, self.horizon_s)
        fused = fuse(self.model, q[None], torch.from_numpy(self.words)[None],
                     torch.from_numpy(self.word_time)[None], torch.from_numpy(vis)[None], first,
                     self.ablate)
        i_hat = frame_intensity(self.model, fused, self.ablate)[0]
        ctl = [self.control(first + j) for j in range(n)]
        applied = np.empty(n, np.float32)
        for j, c in enumerate(ctl):
            if c.frozen:
                self._held = self._last_i if self._held is None else self._held
            else:
                self._held = None
            self._last_i = float(i_hat[j])
            applied[j] = (self._held if c.frozen else self._last_i) * c.scale
        f_tilde = norm_adjust(torch.from_numpy(applied)[None],
                              torch.stack([c.label for c in ctl])[None])
        self._f_e = torch.cat([self._f_e, self.fuse.push(fuse_encoder_input(f_tilde, fused)[0])])
        self._i = np.concatenate([self._i, applied])
        self._fused_next += n

    def _decode(self, final: bool) -> StreamOutput:
        n = min(len(self._f_c), len(self._f_e))
        y = self.decoder.push(decoder_input(self._f_c[:n], self._f_e[:n]))
        self._f_c, self._f_e = self._f_c[n:], self._f_e[n:]
        if final:
            y = torch.cat([y, self.decoder.finish()])
        first = self._out_next
        self._out_next += len(y)
        intensity, self._i = self._i[:len(y)], self._i[len(y):]
        return StreamOutput(first, y.numpy().astype(np.float32), intensity)
