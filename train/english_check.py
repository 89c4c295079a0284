"""The English check on real speech (``medtalk eval --english-check``): do the model's lip
controls separate phone classes in real English sentences?

The sentences are Debian codec2-examples' recordings (Harvard and other short sentences, real
speakers), whose words are :data:`SENTENCES`; they are forced-aligned to phones with pocketsphinx
(:func:`medtalk_core.phone_align.align`). Each rig frame (60 fps) takes the phone at its time.
Per check, the ROC AUC of a score over the frames of the check's phones (positives) against the
frames of every other phone (negatives; silence is in neither):

    * closure at /p b m/: the ``mouthClose`` counterpart (lips together), and the jaw closing
      (minus the ``jawOpen`` counterpart), against quietness (minus the RMS envelope);
    * rounding at /uw uh ow oy w/: the mean of the ``mouthPucker`` and ``mouthFunnel``
      counterparts, against the envelope;
    * opening at /aa ae ah ao aw ay/: the ``jawOpen`` counterpart, against the envelope.

0.5 is chance; the envelope row says how much loudness alone tells.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medtalk_core import rig
from medtalk_core.arkit import counterpart_curves
from medtalk_core.errors import MedtalkError
from medtalk_core.phone_align import Phone

from .lipsync import rms_envelope

CODEC2_DIR = Path("/usr/share/codec2")
"""Where Debian's codec2-examples puts its speech (``raw/`` and ``wav/``)."""

SENTENCES = {
    "speech_orig_16k.wav": "The birch canoe slid on the smooth planks. Glue the sheet to the "
                           "dark blue background. It's easy to tell the depth of a well. Four "
                           "hours of steady work faced us.",
    "hts1a.wav": "The navy attacked the big task force.",
    "hts2a.wav": "These days a chicken leg is a rare dish.",
    "mmt1.wav": "It's easy to tell the depth of a well.",
    "big_dog.wav": "The big dog left to chew on the old rag doll.",
    "cross.wav": "They took the cross-town bus.",
    "forig.wav": "Don't throw trash on the street.",
    "morig.wav": "That frog jumped through the weeds.",
}
"""codec2-examples file -> its words: Whisper's transcript, with the Harvard list's words where
the sentence is one of them (hts2a: Whisper heard "a chicken is a red dish"); the codec-processed
copies (f2400.wav, ...) and the radio recordings are left out."""

CLASSES = {
    "closure": frozenset({"P", "B", "M"}),
    "rounding": frozenset({"UW", "UH", "OW", "OY", "W"}),
    "opening": frozenset({"AA", "AE", "AH", "AO", "AW", "AY"}),
}
"""Check -> its ARPAbet phones."""

SCORES = ("closure_lips", "closure_jaw", "rounding", "opening")
"""The model's scores; each is tested on the phones of its check (the part before ``_``)."""


@dataclass(frozen=True)
class CheckScore:
    """One score on a set of frames: ROC AUC of the ``model`` and of the ``envelope`` (None
    without positive or negative frames), ``positives`` and ``negatives`` frame counts."""

    model: float | None
    envelope: float | None
    positives: int
    negatives: int


def find_sentences(folder: Path) -> list[tuple[Path, str]]:
    """The :data:`SENTENCES` found under ``folder`` (searched recursively), in table order.

    Raises:
        MedtalkError: not a folder, or none of the sentences in it.
    """
    if not folder.is_dir():
        raise MedtalkError(f"--english-check {folder}: not a folder (codec2-examples installs "
                           f"its speech in {CODEC2_DIR})")
    found = {p.name: p for p in sorted(folder.rglob("*.wav"))}
    out = [(found[n], text) for n, text in SENTENCES.items() if n in found]
    if not out:
        raise MedtalkError(f"--english-check {folder}: none of {', '.join(SENTENCES)} in it")
    return out


def frame_phones(phones: list[Phone], n_frames: int) -> np.ndarray:
    """The phone at each rig frame's time ``i / 60`` s: str array ``(n_frames,)``, ``""``
    outside every phone."""
    t = np.arange(n_frames) / rig.FPS
    out = np.full(n_frames, "", dtype=object)
    for p in phones:
        out[(t >= p.start) & (t < p.end)] = p.name
    return out


def frame_scores(frames: np.ndarray, audio16k: np.ndarray) -> dict[str, np.ndarray]:
    """Per :data:`SCORES` name the model's score per frame, and ``envelope`` the RMS envelope:
    float64 ``(T,)`` each, from ``frames`` float ``(T, 174)``."""
    c = counterpart_curves(frames, ["mouthClose", "jawOpen", "mouthPucker", "mouthFunnel"])
    return {"closure_lips": c[:, 0], "closure_jaw": -c[:, 1], "rounding": c[:, 2:].mean(1),
            "opening": c[:, 1], "envelope": rms_envelope(audio16k, len(frames))}


def auc(scores: np.ndarray, positive: np.ndarray) -> float | None:
    """ROC AUC of ``scores`` for the boolean ``positive``; None if a class is empty."""
    from sklearn.metrics import roc_auc_score

    if positive.all() or not positive.any():
        return None
    return float(roc_auc_score(positive, scores))


def check(scores: dict[str, np.ndarray], labels: np.ndarray) -> dict[str, CheckScore]:
    """Every :data:`SCORES` entry on frames labelled with phones (``""`` and ``SIL`` and fillers
    are left out); ``scores`` as :func:`frame_scores` gives, ``labels`` as
    :func:`frame_phones`."""
    speech = np.array([bool(p) and p != "SIL" and not p.startswith("+") for p in labels])
    out = {}
    for name in SCORES:
        phones = CLASSES[name.split("_")[0]]
        pos = np.array([p in phones for p in labels[speech]])
        env = scores["envelope"][speech]
        out[name] = CheckScore(auc(scores[name][speech], pos),
                               auc(-env if name.startswith("closure") else env, pos),
                               int(pos.sum()), int((~pos).sum()))
    return out


def format_table(results: dict[str, dict[str, CheckScore]]) -> str:
    """One row per sentence (and ``pooled``): model / envelope AUC per score."""
    def cell(v):
        return f"{v:6.3f}" if v is not None else f"{'-':>6}"

    width = max(len(k) for k in results)
    head = "".join(f"{s:>16}" for s in SCORES)
    lines = [f"{'sentence':<{width}}{head}", f"{'':<{width}}" + "   model   env  " * len(SCORES)]
    for name, r in results.items():
        lines.append(f"{name:<{width}}" + "".join(
            f"  {cell(r[s].model)}{cell(r[s].envelope)}  " for s in SCORES))
    return "\n".join(lines)


def run_check(sentences: list[tuple[Path, str]], animate) -> dict[str, dict[str, CheckScore]]:
    """The check on each sentence and on all their frames pooled (key ``pooled``).

    Args:
        sentences: ``(audio file, words)`` pairs (:func:`find_sentences`).
        animate: audio file -> float ``(T, 174)`` model frames at 60 fps.

    Raises:
        MedtalkError: unreadable audio, a word pocketsphinx cannot align.
    """
    from medtalk_core.audio import load_audio
    from medtalk_core.phone_align import align

    results, pooled_scores, pooled_labels = {}, [], []
    for path, words in sentences:
        audio = load_audio(path)
        frames = animate(path)
        scores = frame_scores(frames, audio)
        labels = frame_phones(align(audio, words), len(frames))
        results[path.stem] = check(scores, labels)
        pooled_scores.append(scores)
        pooled_labels.append(labels)
    results["pooled"] = check({k: np.concatenate([s[k] for s in pooled_scores])
                               for k in pooled_scores[0]}, np.concatenate(pooled_labels))
    return results


def as_json(results: dict[str, dict[str, CheckScore]]) -> dict:
    """The figures as a JSON-ready dict (None where a class is empty)."""
    return {"classes": {k: sorted(v) for k, v in CLASSES.items()},
            "sentences": {name: {s: vars(r[s]) for s in SCORES} for name, r in results.items()}}
