"""``medtalk infer``: an audio file -> 174 face-board controls at 60 fps, written as EmoFace TXT,
CSV or JSON by the output's extension (see :mod:`medtalk_core.rigio`)."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from .steering import add_emotion_arguments


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("audio", type=Path, help="WAV, FLAC or OGG; any sample rate; mono or stereo")
    add_emotion_arguments(p)
    p.add_argument("-o", "--output", required=True, type=Path, help="OUT.txt, OUT.csv or OUT.json")
    p.add_argument("--checkpoint", type=Path, help="model (default: the shipped default model)")
    p.add_argument("--language",
                   help="spoken language for the transcript: en (Whisper tiny.en), a Whisper code "
                        "such as zh, or auto (multilingual Whisper base); default: config")
    p.add_argument("--intensity", type=float, default=1.0,
                   help="scale of the predicted emotion intensity, in [0, 2] (default 1)")


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


def run(args) -> int:
    from .asr import check_language
    from .audio import load_audio
    from .config import load_config
    from .inference import Animator
    from .rigio import check_output, write_rig
    from .steering import spec_from_args

    check_output(args.output, (args.audio,))
    check_intensity(args.intensity)
    if args.language:
        check_language(args.language)
    spec = spec_from_args(args.emotion, args.text, args.image)
    audio = load_audio(args.audio)
    cfg = load_config(args.config)
    if args.language:
        cfg["features"]["language"] = args.language
    animator = Animator.load(args.checkpoint, cfg)
    animator.steering.prepare(spec)  # a model without this guidance fails before the transcript
    t0 = time.perf_counter()
    anim = animator.animate(audio, spec, intensity_scale=args.intensity)
    elapsed = time.perf_counter() - t0
    write_rig(args.output, anim.frames)
    dur = len(audio) / 16000
    print(f"{args.output}: {len(anim.frames)} frames ({dur:.2f} s, {spec.describe()}); "
          f"transcript: {' '.join(anim.transcript.words) or '(none)'}; "
          f"RTF {elapsed / max(dur, 1e-9):.3f}")
    return 0

