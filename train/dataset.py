"""A corpus in the EmoFace layout (``medtalk synth``, read with :mod:`medtalk_core.corpus`) as
training tensors.

Features are computed once per corpus and front-end configuration and cached in
``DIR/cache/features-<key>.npz``: audio features aligned to rig frames (float16, ``(N, A)`` for
all frames of all utterances), word features (float16 ``(M, X)``), word centres (s) and offsets.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from medtalk_core import rig, rigio
from medtalk_core.config import FeaturesConfig
from medtalk_core.corpus import read_alignment, read_manifest
from medtalk_core.errors import MedtalkError

log = logging.getLogger(__name__)


@dataclass
class Utterance:
    """One manifest row plus its arrays (views into the corpus-wide arrays), or a piece of one
    of your own takes (:mod:`train.takes`), whose ``channels`` name the controls it animates."""

    id: str
    emotion: int
    sentence: str
    voice: str
    split: str
    rig: np.ndarray            # float32 (T, 174)
    audio: np.ndarray          # float16 (T, A), audio features on rig frames
    words: np.ndarray          # float16 (W, X)
    word_time: np.ndarray      # float32 (W,), word centres in seconds
    phone_bounds: np.ndarray = field(default=None)  # float32 (K,), phone start times in seconds
    channels: np.ndarray = field(default=None)  # bool (174,), controls the rig animates; None: all


def _frontend_key(fcfg: FeaturesConfig) -> str:
    from medtalk_core.backbones import backend_settings

    keys = ("whisper_encoder_model", "window_s", "hop_s", "lookahead_s", "text_model")
    # backends enter only when not the default (Whisper, MiniLM): older caches keep their names
    blob = {"content_backend": None, **{k: getattr(fcfg, k) for k in keys}, **backend_settings(fcfg)}
    return hashlib.sha1(json.dumps(blob, sort_keys=True).encode()).hexdigest()[:10]


_WORKER: dict = {}


def _init_worker(fcfg: FeaturesConfig) -> None:
    import torch

    from medtalk_core.frontend import FrontEnd

    torch.set_num_threads(1)
    _WORKER["fe"] = FrontEnd(fcfg, text=False, transcriber=False)


def _extract(job: tuple[str, str, int]) -> np.ndarray:
    wav, _uid, n_frames = job
    from medtalk_core.audio import load_audio

    return _WORKER["fe"].audio_frames(load_audio(wav), n_frames).astype(np.float16)


def cache_file(data_dir: Path, fcfg: FeaturesConfig) -> Path:
    """Where the feature cache of ``data_dir`` for front-end settings ``fcfg`` lives."""
    return Path(data_dir) / "cache" / f"features-{_frontend_key(fcfg)}.npz"


def cached_audio(cache: Path) -> dict[str, np.ndarray]:
    """The audio features of a feature cache ``DIR/cache/features-<key>.npz`` by utterance id
    (float16 ``(T, A)`` each), read with ``DIR``'s manifest."""
    rows = read_manifest(Path(cache).parent.parent)
    z = np.load(cache)
    off = np.concatenate([[0], np.cumsum(z["frames"])])
    audio = z["audio"]
    return {r["id"]: audio[off[i]:off[i + 1]] for i, r in enumerate(rows)}


def build_cache(data_dir: Path, fcfg: FeaturesConfig, jobs: int = 2,
                reuse: tuple[Path, ...] = ()) -> Path:
    """Compute (once) the feature cache of a corpus for the front-end settings ``fcfg``.

    Args:
        reuse: caches of other folders with the same utterances (wav/ links to the same files)
            and front-end settings: an utterance found in one is copied, not recomputed.
    Returns the cache path. Written to a temporary file and renamed, so an interrupted run
    leaves no cache behind.
    """
    data_dir = Path(data_dir)
    path = cache_file(data_dir, fcfg)
    if path.is_file():
        return path
    rows = read_manifest(data_dir)
    rigs = [rigio.read_rig(data_dir / "rig" / f"{r['id']}.txt") for r in rows]
    known: dict[str, np.ndarray] = {}
    for other in reuse:
        known.update(cached_audio(other))
    jobs_list = [(str(data_dir / "wav" / f"{r['id']}.wav"), r["id"], len(g))
                 for r, g in zip(rows, rigs) if r["id"] not in known]
    with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(fcfg,)) as pool:
        new = dict(zip((j[1] for j in jobs_list),
                       tqdm(pool.map(_extract, jobs_list, chunksize=8), total=len(jobs_list),
                            desc="audio features", unit="utt")))
    audio = [new[r["id"]] if r["id"] in new else known[r["id"]] for r in rows]

    from medtalk_core.frontend import FrontEnd

    text_fe = FrontEnd(fcfg, audio=False, transcriber=False)
    word_cache: dict[tuple, np.ndarray] = {}
    words, times, word_counts = [], [], []
    for r in tqdm(rows, desc="text features", unit="utt"):
        ws = read_alignment(data_dir, r["id"])["words"]
        toks = tuple(w["word"] for w in ws)
        if toks not in word_cache:
            word_cache[toks] = text_fe.text.encode_words(list(toks)).astype(np.float16)
        words.append(word_cache[toks])
        times.append(np.array([(w["start"] + w["end"]) / 2 for w in ws], np.float32))
        word_counts.append(len(ws))
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, rig=np.concatenate(rigs), audio=np.concatenate(audio),
             frames=np.array([len(g) for g in rigs]), words=np.concatenate(words),
             word_time=np.concatenate(times), word_counts=np.array(word_counts))
    os.replace(tmp, path)
    return path


def load_corpus(data_dir: Path, fcfg: FeaturesConfig, jobs: int = 2,
                reuse: tuple[Path, ...] = ()) -> list[Utterance]:
    """All utterances of a corpus with their features (computed and cached on first use, copying
    those found in the ``reuse`` caches, see :func:`build_cache`), for front-end ``fcfg``."""
    data_dir = Path(data_dir)
    rows = read_manifest(data_dir)
    z = np.load(build_cache(data_dir, fcfg, jobs, reuse))
    f_off = np.concatenate([[0], np.cumsum(z["frames"])])
    w_off = np.concatenate([[0], np.cumsum(z["word_counts"])])
    rig_all, audio_all, words_all, wt_all = z["rig"], z["audio"], z["words"], z["word_time"]
    if len(rows) != len(z["frames"]):
        raise MedtalkError(f"feature cache of {data_dir} does not match its manifest; delete cache/")
    out = []
    for i, r in enumerate(rows):
        phones = read_alignment(data_dir, r["id"])["phones"]
        out.append(Utterance(
            id=r["id"], emotion=rig.emotion_id(r["emotion"]), sentence=r["sentence"],
            voice=r["voice"], split=r["split"],
            rig=rig_all[f_off[i]:f_off[i + 1]], audio=audio_all[f_off[i]:f_off[i + 1]],
            words=words_all[w_off[i]:w_off[i + 1]], word_time=wt_all[w_off[i]:w_off[i + 1]],
            phone_bounds=np.array([p["start"] for p in phones] + [phones[-1]["end"]]
                                  if phones else [], np.float32)))
    return out
