"""Does a model still take the emotion label the FACS way? (after a fine-tune, say)

Run: ``python benchmarks/emotion_control.py [CHECKPOINT ...] [--audio WAV]``. For each checkpoint
(``default``: the shipped default model) it animates the recording (default: the codec2-examples
Harvard sentences, real English) as neutral, happy, sad and angry with one transcript, and prints
how far each label moves its FACS controls from neutral, as the mean over frames and both sides:
happy the mouth-corner pull (AU12), sad the inner-brow raise (AU1), angry the brow lowerer (AU4);
and the smallest Pearson r of the jaw between a label and neutral (the lips keep their shape).
"""

from __future__ import annotations

import argparse

import numpy as np

from medtalk_core import rig
from medtalk_core.audio import load_audio
from medtalk_core.inference import Animator

DEFAULT_AUDIO = "/usr/share/codec2/raw/speech_orig_16k.wav"
CHECKS = (("happy", "mouth_cornerPull"), ("sad", "brow_raiseIn"), ("angry", "brow_down"))


def _sides(part: str) -> list[int]:
    return [rig.INDEX[f"CTRL_{s}_{part}-translateY"] for s in "LR"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoints", nargs="*", default=["default"])
    p.add_argument("--audio", default=DEFAULT_AUDIO)
    args = p.parse_args()
    audio = load_audio(args.audio)
    jaw = rig.INDEX["CTRL_C_jaw-translateY"]
    for ck in args.checkpoints:
        animator = Animator.load(None if ck == "default" else ck)
        script = animator.frontend.transcribe(audio)
        out = {e: animator.animate(audio, e, script).frames
               for e in ("neutral", *(e for e, _ in CHECKS))}
        moves = [f"{e} {part} {out[e][:, _sides(part)].mean() - out['neutral'][:, _sides(part)].mean():+.3f}"
                 for e, part in CHECKS]
        r = min(np.corrcoef(out[e][:, jaw], out["neutral"][:, jaw])[0, 1] for e, _ in CHECKS)
        print(f"{ck}: " + "  ".join(moves) + f"  min jaw r across labels {r:.3f}")


if __name__ == "__main__":
    main()
