"""Inputs of run.sh's live runs: the first SECONDS of real English speech (codec2's
speech_orig_16k.wav) and a freshly initialised MEDTalk checkpoint (seed 0), both in FOLDER.
The live runs test the transport, not the animation, so an untrained model is enough; it goes
through the real inference path (Whisper features, transcript, FIM, decoder).

Prints the number of frames ``medtalk stream --file`` will send: floor(seconds * 60).

    python make_fixtures.py FOLDER SECONDS
"""

from __future__ import annotations

import sys
from pathlib import Path

import soundfile as sf
import torch

from medtalk_core import rig
from medtalk_core.checkpoint import save
from medtalk_core.config import load_config
from medtalk_core.model import MEDTalk

SPEECH = "/usr/share/codec2/raw/speech_orig_16k.wav"


def main(folder: Path, seconds: float) -> int:
    audio, sr = sf.read(SPEECH, dtype="float32")
    n = int(seconds * sr)
    sf.write(folder / "clip.wav", audio[:n], sr)
    torch.manual_seed(0)
    save(MEDTalk(load_config().model), folder / "init.safetensors",
         {"features": {}})
    print(n * rig.FPS // sr)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.splitlines()[-1].strip())
    sys.exit(main(Path(sys.argv[1]), float(sys.argv[2])))
