"""A folder of your own takes as training utterances: audio plus real ARKit curves.

Each take is an audio file ``X.wav`` (.flac, .ogg) with a curve file ``X.csv`` or
``X_arkit<N>fps.csv`` (:func:`train.lipsync.find_pairs`): the iPhone Live Link Face CSV with its
``Timecode`` column, or a ``time_s`` column, at any frame rate
(:func:`medtalk_core.arkit_csv.read_arkit_csv`). The curves are resampled to the rig's 60 fps
(linear interpolation, over the time the curves cover) and mapped to the face board with the
``[arkit] mapping`` (:meth:`medtalk_core.arkit_map.ArkitMapping.to_rig`) restricted to the
blendshapes the take animates (those whose curve moves): a control takes the mean of the
estimates of the take's own blendshapes only, and the controls none of them names are *not
animated* by the take. Those are masked out of the loss (``Utterance.channels``), not learned as
zero: the FACEGOOD takes have no eyes or brows.

Each take is split in time: its first :data:`TRAIN_SHARE` are training frames, the rest are cut
into validation windows of ``[train] clip_frames``. The takes are transcribed with the configured
faster-whisper model (as ``medtalk infer`` does) and their features computed with the initial
checkpoint's front-ends, once: the arrays are cached under ``[features] cache_dir``/takes, keyed
by the audio's bytes and the front-end settings.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from medtalk_core import rig
from medtalk_core.arkit import ARKIT_NAMES
from medtalk_core.arkit_csv import ArkitCurves, read_arkit_csv
from medtalk_core.arkit_map import ArkitMapping
from medtalk_core.config import FeaturesConfig
from medtalk_core.errors import MedtalkError
from medtalk_core.result_file import arkit_on_frames
from medtalk_core.rigio import atomic_path

from .dataset import Utterance
from .lipsync import STILL

TRAIN_SHARE = 0.85
"""Share of each take's frames (from its start) used for training; the rest validates."""


@dataclass(frozen=True)
class TakeTargets:
    """A take's curves on the rig grid: ``first`` the first 60 fps frame the curves cover,
    ``rig`` float32 ``(T, 174)`` face-board targets of frames ``first .. first + T``,
    ``channels`` bool ``(174,)`` the controls the take animates."""

    first: int
    rig: np.ndarray
    channels: np.ndarray


def restricted(mapping: ArkitMapping, names: tuple[str, ...]) -> ArkitMapping:
    """``mapping`` with only the blendshapes ``names`` (the others have no terms)."""
    keep = np.isin(np.array(ARKIT_NAMES), names)[:, None]
    return ArkitMapping(np.where(keep, mapping.weights, 0.0).astype(np.float32))


def take_targets(curves: ArkitCurves, mapping: ArkitMapping, n_frames: int) -> TakeTargets:
    """The face-board targets of a take (module docstring).

    Args:
        curves: the take's ARKit curves.
        mapping: the face-board <-> ARKit mapping (``[arkit] mapping``).
        n_frames: 60 fps frames of the take's audio.

    A blendshape whose curve does not move in the take (range below
    :data:`train.lipsync.STILL`, as ``mouthClose`` in the FACEGOOD takes, which never animate
    it) counts as absent: its controls are masked, not taught to stay at rest.

    Raises:
        MedtalkError: the curves cover fewer than 2 of the audio's frames, or none of their
            moving blendshapes names a face-board control in the mapping.
    """
    moving = tuple(n for j, n in enumerate(curves.names) if np.ptp(curves.curves[:, j]) >= STILL)
    part = restricted(mapping, moving)
    channels = (part.weights != 0).any(0)
    if not channels.any():
        raise MedtalkError(f"none of the take's moving blendshapes ({', '.join(moving)}) names a "
                           "face-board control in the [arkit] mapping")
    t = np.arange(n_frames) / rig.FPS
    inside = np.flatnonzero((t >= curves.times[0] - 1e-9) & (t <= curves.times[-1] + 1e-9))
    if len(inside) < 2:
        raise MedtalkError(f"the curves ({curves.times[0]:.2f}-{curves.times[-1]:.2f} s) cover "
                           f"fewer than 2 frames of the audio ({n_frames / rig.FPS:.2f} s)")
    shapes = arkit_on_frames(curves, t[inside], moving)
    return TakeTargets(int(inside[0]), part.to_rig(shapes), channels)


def _cache_key(audio: Path, features: FeaturesConfig) -> str:
    h = hashlib.sha1(audio.read_bytes())
    h.update(json.dumps(asdict(features), sort_keys=True).encode())
    return h.hexdigest()[:16]


def take_inputs(audio: Path, features: FeaturesConfig, frontend) -> dict[str, np.ndarray]:
    """The model's inputs of a take, cached (module docstring): ``audio`` float16 ``(T, A)``
    features on all 60 fps frames, ``words`` float16 ``(W, X)``, ``word_time`` float32 ``(W,)``
    word centres in seconds.

    Args:
        frontend: a callable giving the :class:`medtalk_core.frontend.FrontEnd` (built only when
            a take is not cached).
    """
    from medtalk_core.audio import load_audio
    from medtalk_core.inference import frame_count

    cache = Path(features.cache_dir).expanduser() / "takes" / f"{_cache_key(audio, features)}.npz"
    if cache.is_file():
        with np.load(cache) as z:
            return {k: z[k] for k in z.files}
    samples = load_audio(audio)
    fe = frontend()
    script = fe.transcribe(samples)
    out = {"audio": fe.audio_frames(samples, frame_count(len(samples))).astype(np.float16),
           "words": script.features.astype(np.float16), "word_time": script.time.astype(np.float32)}
    cache.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(cache) as tmp, open(tmp, "wb") as f:
        np.savez(f, **out)
    return out


def _piece(stem: str, split: str, start: int, stop: int, targets: TakeTargets,
           inputs: dict[str, np.ndarray], emotion: int) -> Utterance:
    first = targets.first + start
    t0 = first / rig.FPS
    return Utterance(id=f"{stem}:{split}:{first}", emotion=emotion, sentence="", voice=stem,
                     split=split, rig=targets.rig[start:stop],
                     audio=inputs["audio"][first:targets.first + stop],
                     words=inputs["words"], word_time=inputs["word_time"] - t0,
                     channels=targets.channels)


def split_take(stem: str, targets: TakeTargets, inputs: dict[str, np.ndarray], clip_frames: int,
               emotion: int) -> list[Utterance]:
    """A take as one training utterance (its first :data:`TRAIN_SHARE`) and validation windows
    of ``clip_frames`` frames (the rest; one shorter window if the rest is shorter). Word times
    are shifted to each piece's start."""
    n = min(len(targets.rig), len(inputs["audio"]) - targets.first)
    cut = int(n * TRAIN_SHARE)
    pieces = [_piece(stem, "train", 0, cut, targets, inputs, emotion)]
    starts = list(range(cut, n - clip_frames + 1, clip_frames)) or [cut]
    pieces += [_piece(stem, "val", s, min(n, s + clip_frames), targets, inputs, emotion)
               for s in starts]
    return pieces


def load_takes(folder: Path, features: FeaturesConfig, mapping: ArkitMapping, clip_frames: int,
               fps: float | None = None, emotion: str = "neutral") -> list[Utterance]:
    """Every take of ``folder`` as training and validation :class:`~train.dataset.Utterance`
    pieces with their animated channels (module docstring); every curve file is read and checked
    before any audio is processed.

    Args:
        features: the ``[features]`` settings of the initial checkpoint, its ``language`` the
            takes' spoken language.
        fps: frame rate of curve files without ``time_s`` or ``Timecode`` (or their timecode rate).
        emotion: the label the takes are trained with.

    Raises:
        MedtalkError: no takes, a bad curve file, unreadable audio, curves that cover no audio.
    """
    from medtalk_core.frontend import FrontEnd

    from .lipsync import find_pairs

    pairs = find_pairs(folder)
    curves = {stem: read_arkit_csv(path, fps) for stem, _, path in pairs}
    built: list = []

    def frontend():
        if not built:
            built.append(FrontEnd(features))
        return built[0]

    label = rig.emotion_id(emotion)
    out = []
    for stem, audio, _ in pairs:
        inputs = take_inputs(audio, features, frontend)
        targets = take_targets(curves[stem], mapping, len(inputs["audio"]))
        out += split_take(stem, targets, inputs, clip_frames, label)
    return out
