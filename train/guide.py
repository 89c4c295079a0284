"""Guidance data of stage 4 (paper Sec. 3.4, eq. 13-14): text descriptions and reference images
as embeddings, each with the label mix it stands for.

A :class:`GuidanceTable` holds the embeddings of one kind (``"text"``: the corpus's expression
descriptions, :mod:`train.corpus.descriptions`, through the configured sentence or CLIP text
encoder; ``"image"``: reference frames of (image, description, rig) triples in the RAVDESS layout,
:mod:`train.ravdess`, through CLIP's image tower). The ``guide`` training phase pairs every clip
with an entry whose dominant emotion is the clip's label; L_sim pulls the projected entry toward
the mix of the (unit) label embeddings it describes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from medtalk_core import rig
from medtalk_core.errors import MedtalkError
from medtalk_core.forward import animate


@dataclass
class GuidanceTable:
    """Embeddings of one guidance kind with their label mixes.

    Attributes:
        kind: ``"text"`` (P_text) or ``"image"`` (P_image).
        embeddings: float32 ``(N, D)``, L2-normalised.
        mix: float32 ``(N, 7)``, weights over :data:`rig.EMOTIONS` summing to 1.
        texts: what each entry is (the description, or the image path).
    """

    kind: str
    embeddings: torch.Tensor
    mix: torch.Tensor
    texts: list[str]

    def __post_init__(self):
        dominant = self.mix.argmax(1).numpy()
        self._by_emotion = [np.flatnonzero(dominant == e) for e in range(len(rig.EMOTIONS))]

    def pick(self, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One entry index per clip label (int ``(B,)`` -> int ``(B,)``), drawn among the entries
        whose dominant emotion is that label; a label with none draws from all entries."""
        out = np.empty(len(labels), np.int64)
        for i, e in enumerate(labels):
            pool = self._by_emotion[int(e)]
            out[i] = rng.choice(pool) if len(pool) else rng.integers(len(self.texts))
        return out


def _mix_vector(mix: dict[str, float]) -> np.ndarray:
    v = np.zeros(len(rig.EMOTIONS), np.float32)
    for name, w in mix.items():
        v[rig.emotion_id(name)] = w
    return v / v.sum()


def description_table(encoder, split: str = "train") -> GuidanceTable:
    """The corpus's expression descriptions of ``split`` (``"train"`` or ``"test"``) embedded by
    ``encoder.encode_text`` (a :mod:`medtalk_core.guidance` encoder)."""
    from .corpus.descriptions import DESCRIPTIONS
    from .corpus.descriptions import split as split_of

    chosen = [d for d in DESCRIPTIONS if split_of(d) == split]
    emb = np.asarray(encoder.encode_text([d.text for d in chosen]), np.float32)
    mix = np.stack([_mix_vector(d.mix) for d in chosen])
    return GuidanceTable("text", torch.from_numpy(emb), torch.from_numpy(mix),
                         [d.text for d in chosen])


def image_table(encoder, root: Path) -> GuidanceTable:
    """Reference images of the (image, description, rig) triples under ``root`` (RAVDESS layout,
    :func:`train.ravdess.load_ravdess`) embedded by ``encoder.encode_image`` (CLIP).

    Raises:
        MedtalkError: no usable triples under ``root``.
    """
    from .ravdess import load_ravdess

    samples = load_ravdess(root)
    if not samples:
        raise MedtalkError(f"{root}: no (image, description, rig) triples found")
    emb = np.asarray(encoder.encode_image([s.image for s in samples]), np.float32)
    mix = np.stack([_mix_vector({s.emotion: 1.0}) for s in samples])
    return GuidanceTable("image", torch.from_numpy(emb), torch.from_numpy(mix),
                         [str(s.image) for s in samples])


def nearest_label_accuracy(model, table: GuidanceTable) -> float:
    """Share of ``table``'s entries whose projection (P_text or P_image) is nearer, by cosine, to
    the label embedding of their dominant emotion than to any other label's: how well stage 4
    generalises to descriptions it was not trained on (``description_table(enc, "test")``)."""
    import torch.nn.functional as F

    with torch.no_grad():
        p = F.normalize(model.project(table.kind, table.embeddings), dim=-1)
        labels = F.normalize(model.fim.label_embedding.weight, dim=-1)
        hit = (p @ labels.T).argmax(1) == table.mix.argmax(1)
    return float(hit.float().mean())


def upper_face_accuracy(model, table: GuidanceTable, utts: list, count: int = 12) -> float:
    """Share of (entry, utterance) pairs, ``count`` utterances of ``utts`` (cached corpus
    :class:`train.dataset.Utterance`) times every entry of ``table``, whose animated upper face
    (the frame mean of the S_UP controls) is nearer, by mean absolute difference, to the same
    utterance animated with the entry's dominant label than with any other of the 7 labels."""
    pick = utts[:: max(1, len(utts) // count)][:count]
    with torch.no_grad():
        guided = model.project(table.kind, table.embeddings)
        labels = model.fim.label_embedding.weight
        hits = []
        for u in pick:
            faces = _upper_faces(model, u, torch.cat([labels, guided]))
            by_label, by_entry = faces[:len(labels)], faces[len(labels):]
            dist = np.abs(by_entry[:, None] - by_label[None]).mean(-1)
            hits.append(dist.argmin(1) == table.mix.argmax(1).numpy())
    return float(np.mean(hits))


def _upper_faces(model, utt, label_vectors: torch.Tensor) -> np.ndarray:
    """float ``(K, |S_UP|)``: the upper-face frame mean of ``utt`` animated with each of ``K``
    label-space vectors."""
    k = len(label_vectors)
    words = torch.from_numpy(utt.words.astype(np.float32))[None].expand(k, -1, -1)
    audio = torch.from_numpy(utt.audio.astype(np.float32))[None].expand(k, -1, -1)
    times = torch.from_numpy(utt.word_time)[None].expand(k, -1)
    mask = torch.ones(words.shape[:2], dtype=torch.bool)
    out = animate(model, audio, words, times, mask, label_vectors).rig
    return rig.clip_to_range(out.numpy().reshape(-1, rig.NUM_CONTROLS)).reshape(
        k, -1, rig.NUM_CONTROLS)[..., rig.S_UP].mean(1)
