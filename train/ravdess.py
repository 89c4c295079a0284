"""(image, description, rig) guidance triples from RAVDESS, in the layout the MEDTalk paper used.

RAVDESS (Livingstone & Russo 2018, the Ryerson Audio-Visual Database of Emotional Speech and Song)
names every file ``MM-VV-EE-II-SS-RR-AA``: modality (01 audio-video, 02 video only, 03 audio
only), vocal channel (01 speech, 02 song), emotion (01 neutral, 02 calm, 03 happy, 04 sad,
05 angry, 06 fearful, 07 disgust, 08 surprised), intensity (01 normal, 02 strong), statement
(01, 02), repetition (01, 02), actor (01-24), inside ``Actor_AA/``. RAVDESS itself ships no rig:
a user who has face-board rigs for its clips puts them beside the clips.

Layout read by :func:`load_ravdess` (``root`` is e.g. the RAVDESS folder)::

    root/
      descriptions.csv            optional: header "stem,description", one row per clip
      Actor_01/
        01-01-03-02-01-01-01.txt  the rig: EmoFace TXT, 60 fps, 174 columns (one sample per rig)
        01-01-03-02-01-01-01.png  a reference frame of the clip (.png, .jpg or .jpeg)
        01-01-03-02-01-01-01.mp4  the clip (optional)
        03-01-03-02-01-01-01.wav  its audio-only sibling (optional)

A sample's audio is ``<stem>.wav``, else the audio-only sibling ``03-<rest of stem>.wav``, else
``<stem>.mp4`` when the stem is an audio-video clip (modality 01); None if none exists. A clip
without a row in ``descriptions.csv`` is described by its emotion and intensity with
:func:`train.corpus.descriptions.describe` (normal -> degree 1.0, strong -> 1.3).

Our labels are :data:`medtalk_core.rig.EMOTIONS`, which have no "calm": RAVDESS calm (02) is mapped
to neutral.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medtalk_core.errors import MedtalkError
from medtalk_core.rigio import read_rig

from .corpus.descriptions import describe

EMOTION_CODES = {1: "neutral", 2: "neutral", 3: "happy", 4: "sad", 5: "angry", 6: "fear",
                 7: "disgust", 8: "surprise"}
"""RAVDESS emotion code -> our label (02 calm -> neutral: our labels have no calm)."""
INTENSITY_DEGREE = {1: 1.0, 2: 1.3}
"""RAVDESS intensity code (01 normal, 02 strong) -> description degree."""
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
NAME = re.compile(r"^(0[1-3])-(0[12])-(0[1-8])-(0[12])-(0[12])-(0[12])-(\d\d)$")
"""A RAVDESS stem: modality, vocal channel, emotion, intensity, statement, repetition, actor."""


@dataclass(frozen=True)
class GuidanceSample:
    """One RAVDESS clip as a guidance triple.

    Attributes:
        stem: the RAVDESS file name without extension, e.g. ``"01-01-03-02-01-01-01"``.
        image: reference frame file.
        description: text describing the expression.
        rig: EmoFace TXT rig file (60 fps, 174 columns).
        audio: speech file (.wav, or the .mp4 clip), or None.
        emotion: one of ``rig.EMOTIONS`` (RAVDESS calm -> neutral).
        intensity: RAVDESS intensity code, 1 normal or 2 strong.
        actor: RAVDESS actor number, 1-24.
    """

    stem: str
    image: Path
    description: str
    rig: Path
    audio: Path | None
    emotion: str
    intensity: int
    actor: int

    def frames(self) -> np.ndarray:
        """The rig clip, float32 ``(T, 174)`` at 60 fps (raises MedtalkError if unreadable)."""
        return read_rig(self.rig)


def parse_name(path: Path) -> tuple[int, ...]:
    """The seven RAVDESS codes of ``path``'s stem, checked against its ``Actor_AA`` folder.

    Raises:
        MedtalkError: the stem is not ``MM-VV-EE-II-SS-RR-AA`` with valid codes, or the actor
            differs from the folder's.
    """
    m = NAME.match(path.stem)
    if not m:
        raise MedtalkError(f"{path}: not a RAVDESS name MM-VV-EE-II-SS-RR-AA "
                           "(modality 01-03, emotion 01-08, other codes 01-02, actor)")
    codes = tuple(int(c) for c in m.groups())
    if path.parent.name != f"Actor_{m.group(7)}":
        raise MedtalkError(
            f"{path}: actor {m.group(7)} is not that of its folder {path.parent.name}")
    return codes


def read_descriptions(path: Path) -> dict[str, str]:
    """``stem -> description`` from a ``stem,description`` CSV with that header.

    Raises:
        MedtalkError: no such header, or a row without a stem or description.
    """
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"stem", "description"} <= set(reader.fieldnames):
            raise MedtalkError(f"{path}: the header must be 'stem,description'")
        out = {}
        for row in reader:
            stem, text = (row["stem"] or "").strip(), (row["description"] or "").strip()
            if not stem or not text:
                raise MedtalkError(f"{path} line {reader.line_num}: empty stem or description")
            out[stem] = text
    return out


def _first(*paths: Path) -> Path | None:
    return next((p for p in paths if p.is_file()), None)


def _sample(rig_path: Path, texts: dict[str, str]) -> GuidanceSample:
    modality, _, emotion, intensity, statement, repetition, actor = parse_name(rig_path)
    stem, folder = rig_path.stem, rig_path.parent
    image = _first(*(folder / f"{stem}{s}" for s in IMAGE_SUFFIXES))
    if image is None:
        raise MedtalkError(f"{rig_path}: no reference frame {stem}.png/.jpg beside the rig")
    audio = _first(folder / f"{stem}.wav", folder / f"03{stem[2:]}.wav",
                   *([folder / f"{stem}.mp4"] if modality == 1 else []))
    label = EMOTION_CODES[emotion]
    text = texts.get(stem) or describe(
        label, INTENSITY_DEGREE[intensity], index=statement + 2 * repetition + 4 * actor).text
    return GuidanceSample(stem, image, text, rig_path, audio, label, intensity, actor)


def load_ravdess(root: str | Path) -> list[GuidanceSample]:
    """Every clip under ``root/Actor_*/`` that has a rig, sorted by actor folder and stem.

    Raises:
        MedtalkError: ``root`` is missing, holds no rig, a rig has a malformed name or no image,
            or ``descriptions.csv`` is malformed (the message names the file).
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise MedtalkError(f"RAVDESS folder not found: {root}")
    rigs = sorted(root.glob("Actor_*/*.txt"))
    if not rigs:
        raise MedtalkError(f"no rig files {root}/Actor_*/MM-VV-EE-II-SS-RR-AA.txt found")
    table = root / "descriptions.csv"
    texts = read_descriptions(table) if table.is_file() else {}
    return [_sample(p, texts) for p in rigs]
