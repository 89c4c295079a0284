"""``medtalk infer``: an audio file -> 174 face-board controls at 60 fps, written as EmoFace TXT,
CSV or JSON by the output's extension (see :mod:`medtalk_core.rigio`), or with ``--arkit`` as a
Live Link Face CSV take of the ARKit 52 blendshapes (:mod:`medtalk_core.live_link_face`)."""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .steering import EmotionSpec, add_emotion_arguments

if TYPE_CHECKING:
    from .inference import Animation


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("audio", type=Path, help="WAV, FLAC or OGG; any sample rate; mono or stereo")
    add_emotion_arguments(p)
    p.add_argument("-o", "--output", required=True, type=Path, help="OUT.txt, OUT.csv or OUT.json")
    p.add_argument("--checkpoint", type=Path, help="model (default: the shipped default model)")
    p.add_argument("--language",
                   help="spoken language for the transcript: en (Whisper tiny.en), a Whisper code "
                        "such as zh, or auto (multilingual Whisper base); "
                        "default: [features] language")
    p.add_argument("--intensity", type=float, default=1.0,
                   help="scale of the predicted emotion intensity, in [0, 2] (default 1)")
    p.add_argument("--arkit", action="store_true",
                   help="write OUT.csv as a Live Link Face take: the ARKit 52 blendshapes "
                        "([arkit] mapping) and head/eye rotations at 60 fps")
    p.add_argument("--plot", type=Path, metavar="PNG",
                   help="also draw the jaw, lips, brows and emotion intensity over time, with "
                        "the transcript's words, as a PNG")


MAX_INTENSITY = 2.0
"""Largest intensity scale, as on the live control port."""


def check_intensity(scale: float) -> float:
    """``scale`` if it is a finite intensity scale in [0, 2].

    Raises:
        MedtalkError: NaN, infinite or out of range.
    """
    from .errors import MedtalkError

    if not (math.isfinite(scale) and 0.0 <= scale <= MAX_INTENSITY):
        raise MedtalkError(f"--intensity {scale}: must be a number in [0, {MAX_INTENSITY:g}]")
    return scale


@dataclass
class Take:
    """One recording animated by :func:`animate_file`: ``animation`` its frames, intensity and
    transcript, ``seconds`` the clip's duration, ``elapsed`` the wall seconds animating it took
    (transcript included, model loading not)."""

    animation: Animation
    seconds: float
    elapsed: float


def animate_file(audio: Path, spec: EmotionSpec, config: str | None = None,
                 language: str | None = None, checkpoint: Path | None = None,
                 intensity: float = 1.0) -> Take:
    """The frames ``medtalk infer`` writes for a recording, and the ones ``medtalk eval --audio``
    scores: the file at 16 kHz mono, the checkpoint's front-ends (``language`` overriding the
    config's transcript language), a faster-whisper transcript, the emotion ``spec`` and
    :meth:`Animator.animate <medtalk_core.inference.Animator.animate>` (the checkpoint's forward
    pass) with ``intensity`` as the intensity scale; ``config`` a config file merged over the defaults, or None.

    Raises:
        MedtalkError: unknown language (checked first), unreadable audio, a bad checkpoint,
            guidance the model cannot serve.
    """
    from .asr import check_language
    from .audio import load_audio
    from .config import load_config
    from .inference import Animator

    if language:
        check_language(language)
    cfg = load_config(config)
    samples = load_audio(audio)
    animator = Animator.load(checkpoint, cfg, language=language)
    animator.steering.prepare(spec)  # a model without this guidance fails before the transcript
    t0 = time.perf_counter()
    anim = animator.animate(samples, spec, intensity_scale=intensity)
    return Take(anim, len(samples) / 16000, time.perf_counter() - t0)


def _arkit_mapping(config: str | None):
    """The ``[arkit] mapping`` of the configuration, read (before any work)."""
    from .arkit_map import load_mapping
    from .config import load_config

    return load_mapping(load_config(config).arkit.mapping)


def _plot(path: Path, audio: Path, take: Take, spec: EmotionSpec) -> None:
    """Write the ``--plot`` figure of ``take`` (:mod:`medtalk_core.take_plot`)."""
    from .take_plot import take_series, write_plot

    anim = take.animation
    series = take_series(anim.frames, anim.intensity, anim.transcript.words, anim.transcript.spans)
    write_plot(path, series, f"{audio.name}: {take.seconds:.2f} s, {spec.describe()}")


def run(args) -> int:
    from .rigio import check_output, write_rig
    from .steering import spec_from_args

    from .errors import MedtalkError

    if check_output(args.output, (args.audio,)) != ".csv" and args.arkit:
        raise MedtalkError(f"--arkit writes a CSV take: the output must be .csv, not {args.output}")
    if args.plot:
        from .take_plot import check_plot_path

        check_plot_path(args.plot, (args.audio, args.output))
    mapping = _arkit_mapping(args.config) if args.arkit else None
    check_intensity(args.intensity)
    spec = spec_from_args(args.emotion, args.text, args.image)
    take = animate_file(args.audio, spec, args.config, args.language, args.checkpoint,
                        args.intensity)
    anim = take.animation
    if mapping is not None:
        from .live_link_face import write_take

        write_take(args.output, anim.frames, mapping)
    else:
        write_rig(args.output, anim.frames)
    if args.plot:
        _plot(args.plot, args.audio, take, spec)
    print(f"{args.output}: {len(anim.frames)} frames ({take.seconds:.2f} s, {spec.describe()}); "
          f"transcript: {' '.join(anim.transcript.words) or '(none)'}; "
          f"RTF {take.elapsed / max(take.seconds, 1e-9):.3f}")
    return 0
