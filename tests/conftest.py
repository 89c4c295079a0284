import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CODEC2_WAV = Path("/usr/share/codec2/wav")
CODEC2_RAW = Path("/usr/share/codec2/raw/speech_orig_16k.wav")


@pytest.fixture(scope="session")
def english_clip(tmp_path_factory) -> Path:
    """The first 3 s of real English speech (Debian codec2-examples, a Harvard sentence)."""
    if not CODEC2_RAW.is_file():
        pytest.skip("codec2-examples is not installed")
    x, sr = sf.read(CODEC2_RAW, dtype="float32")
    out = tmp_path_factory.mktemp("audio") / "english_3s.wav"
    sf.write(out, x[: 3 * sr], sr)
    return out


def run_medtalk(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the console command in a subprocess; returns the completed process."""
    exe = shutil.which("medtalk")
    cmd = [exe] if exe else [sys.executable, "-m", "medtalk.cli"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=timeout)
