"""Random training crops of utterances as padded tensors.

A batch is a dict of tensors (B crops of T frames at 60 fps):
    rig float32 (B, T, 174), audio float32 (B, T, A), frame_mask bool (B, T),
    words float32 (B, W, X), word_time float32 (B, W) in seconds from the crop start,
    word_mask bool (B, W), label int64 (B,), intensity float32 (B, T) (``rig.intensity``),
    channel_mask bool (B, 174): the controls each crop's rig animates (all, except in takes
    that animate only some channels, :mod:`train.takes`).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch

from medtalk_core import rig as rigmod

from .dataset import Utterance


def crop(utt: Utterance, start: int, length: int, rig_override: np.ndarray | None = None) -> dict:
    """One crop ``[start, start + length)`` of an utterance, edge-padded to ``length`` frames."""
    r = utt.rig if rig_override is None else rig_override
    seg = slice(start, start + length)
    n = len(r[seg])
    pad = ((0, length - n), (0, 0))
    t0 = start / rigmod.FPS
    keep = (utt.word_time >= t0 - 1.0) & (utt.word_time < t0 + length / rigmod.FPS + 1.0)
    return {
        "rig": np.pad(r[seg], pad, mode="edge"),
        "audio": np.pad(utt.audio[seg].astype(np.float32), pad, mode="edge"),
        "frame_mask": np.arange(length) < n,
        "words": utt.words[keep].astype(np.float32),
        "word_time": utt.word_time[keep] - t0,
        "label": utt.emotion,
        "channels": (np.ones(rigmod.NUM_CONTROLS, bool) if utt.channels is None
                     else utt.channels),
    }


def collate(items: list[dict]) -> dict[str, torch.Tensor]:
    """Stack crops; words are padded to the longest word list of the batch."""
    w = max(1, max(len(it["words"]) for it in items))
    x = items[0]["words"].shape[1] if len(items[0]["words"].shape) == 2 else 384
    words = np.zeros((len(items), w, x), np.float32)
    times = np.zeros((len(items), w), np.float32)
    mask = np.zeros((len(items), w), bool)
    for i, it in enumerate(items):
        k = len(it["words"])
        words[i, :k], times[i, :k], mask[i, :k] = it["words"], it["word_time"], True
    r = np.stack([it["rig"] for it in items])
    return {
        "rig": torch.from_numpy(r),
        "audio": torch.from_numpy(np.stack([it["audio"] for it in items])),
        "frame_mask": torch.from_numpy(np.stack([it["frame_mask"] for it in items])),
        "words": torch.from_numpy(words),
        "word_time": torch.from_numpy(times),
        "word_mask": torch.from_numpy(mask),
        "label": torch.tensor([it["label"] for it in items], dtype=torch.long),
        "intensity": torch.from_numpy(rigmod.intensity(r)),
        "channel_mask": torch.from_numpy(np.stack([it["channels"] for it in items])),
    }


def warp(src: Utterance, dst: Utterance) -> np.ndarray:
    """``src``'s rig time-warped onto ``dst``'s timeline, ``(T_dst, 174)``: piecewise-linear
    between matching phone boundaries (same sentence, same voice, so the same phone sequence)."""
    t_dst = np.arange(len(dst.rig)) / rigmod.FPS
    if len(src.phone_bounds) != len(dst.phone_bounds) or len(src.phone_bounds) < 2:
        scale = len(src.rig) / max(1, len(dst.rig))
        t_src = t_dst * scale
    else:
        t_src = np.interp(t_dst, dst.phone_bounds, src.phone_bounds)
    f = np.clip(t_src * rigmod.FPS, 0, len(src.rig) - 1)
    i0 = np.floor(f).astype(int)
    i1 = np.minimum(i0 + 1, len(src.rig) - 1)
    a = (f - i0)[:, None]
    return ((1 - a) * src.rig[i0] + a * src.rig[i1]).astype(np.float32)


class Sampler:
    """Draws batches from a list of utterances with a seeded generator."""

    def __init__(self, utts: list[Utterance], frames: int, batch: int, seed: int):
        self.utts, self.frames, self.batch = utts, frames, batch
        self.rng = np.random.default_rng(seed)
        groups = defaultdict(list)
        for i, u in enumerate(utts):
            groups[(u.sentence, u.voice)].append(i)
        self.partners = [[j for j in groups[(u.sentence, u.voice)] if utts[j].emotion != u.emotion]
                         for u in utts]

    def _start(self, u: Utterance) -> int:
        return int(self.rng.integers(0, max(1, len(u.rig) - self.frames + 1)))

    def single(self) -> dict[str, torch.Tensor]:
        """B random crops."""
        idx = self.rng.integers(0, len(self.utts), self.batch)
        return collate([crop(self.utts[i], self._start(self.utts[i]), self.frames) for i in idx])

    def overlap(self) -> tuple[dict, dict]:
        """B pairs (a, b'): the same sentence by the same voice in two emotions, b warped onto
        a's timeline and cropped at the same frames (overlap exchange)."""
        cand = [i for i, p in enumerate(self.partners) if p]
        a_idx = self.rng.choice(cand, self.batch)
        xs, ys = [], []
        for i in a_idx:
            a = self.utts[i]
            b = self.utts[int(self.rng.choice(self.partners[i]))]
            s = self._start(a)
            xs.append(crop(a, s, self.frames))
            y = crop(a, s, self.frames, rig_override=warp(b, a))
            y["label"] = b.emotion
            ys.append(y)
        return collate(xs), collate(ys)


def streaming_word_mask(batch: dict[str, torch.Tensor], rng: np.random.Generator,
                        commit_delay_s: tuple[float, float], fade_s: float, horizon_s: float,
                        ahead_s: float) -> torch.Tensor:
    """Per-frame word visibility float32 ``(B, T, W)`` as the live engine has it
    (:func:`medtalk_core.streaming.word_visibility`): a word becomes known to the frames computed
    after the live transcript committed it, simulated as its centre plus a delay drawn uniformly
    from ``commit_delay_s`` (s, per word), minus ``ahead_s`` (a frame is computed when the audio
    has reached its time plus the stream's lookahead); then it fades in over ``fade_s``."""
    from medtalk_core.streaming import word_visibility

    b, t = batch["frame_mask"].shape
    frame_time = np.arange(t) / rigmod.FPS
    word_time = batch["word_time"].cpu().numpy()
    commit = word_time + rng.uniform(*commit_delay_s, word_time.shape) - ahead_s
    vis = np.stack([word_visibility(frame_time, word_time[i], commit[i], fade_s, horizon_s)
                    for i in range(b)])
    mask = batch["word_mask"]
    return torch.from_numpy(vis).to(mask.device) * mask[:, None, :]
