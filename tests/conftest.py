import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import soundfile as sf

from medtalk_core.config import ModelConfig, TrainConfig, load_config

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


def model_config(**sizes) -> ModelConfig:
    """The packaged ``[model]`` with ``sizes`` changed (tiny models for tests)."""
    return replace(load_config().model, **sizes)


def train_config(**settings) -> TrainConfig:
    """The packaged ``[train]`` with ``settings`` changed."""
    return replace(load_config().train, **settings)


def run_medtalk(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the console command in a subprocess; returns the completed process."""
    exe = shutil.which("medtalk")
    cmd = [exe] if exe else [sys.executable, "-m", "medtalk.cli"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=timeout)


def poison_checkpoint(source: str | Path, target: str | Path, value: float = float("nan")) -> str:
    """Write a copy of checkpoint ``source`` (metadata kept) to ``target`` with one element of
    one weight, the last in name order, set to ``value``; returns that tensor's name."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(str(source), "pt") as f:
        meta = f.metadata()
    tensors = load_file(str(source))
    name = sorted(k for k, t in tensors.items() if t.is_floating_point())[-1]
    tensors[name] = tensors[name].clone()
    tensors[name].view(-1)[tensors[name].numel() // 2] = value
    save_file(tensors, str(target), metadata=meta)
    return name
