"""Typed configuration: the packaged config.toml is every default, a user's file is merged over
it key by key, and an unknown section, key or mistyped value is a one-line error (exit 2)."""

import dataclasses
import os
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest
from conftest import ROOT, run_medtalk

from medtalk_core import config
from medtalk_core.config import ConfigError, load_config, merge
from medtalk_core.rigio import read_rig


DERIVED = {"model": {"rig_dim", "emotion_audio_dim", "guide_text_dim", "guide_image_dim"}}
"""Fields that training sets from the rig, the front-end and the guidance encoders."""


def test_the_dataclasses_mirror_the_packaged_file():
    table = tomllib.loads(config.defaults_text())
    cfg = load_config()
    assert [f.name for f in dataclasses.fields(cfg)] == list(table)
    for section, values in table.items():
        fields = {f.name for f in dataclasses.fields(getattr(cfg, section))}
        assert set(values) <= fields, section
        assert fields - set(values) <= DERIVED.get(section, set()), section
    assert (ROOT / "config.toml").resolve() == (ROOT / "medtalk_core" / "config.toml").resolve()


def test_a_partial_file_changes_only_what_it_names(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text("[train]\nthreads = 1\nepochs = { acm = 2 }\n\n[live]\nblinks = false\n")
    cfg, base = load_config(path), load_config()
    assert cfg.train.threads == 1 and cfg.live.blinks is False
    assert cfg.train.epochs == {**base.train.epochs, "acm": 2}
    assert dataclasses.replace(cfg, train=base.train, live=base.live) == base


def test_the_environment_names_a_file(tmp_path, monkeypatch):
    path = tmp_path / "env.toml"
    path.write_text("[stream]\nsubject = \"Desk\"\n")
    monkeypatch.setenv("MEDTALK_CONFIG", str(path))
    assert load_config().stream.subject == "Desk"


@pytest.mark.parametrize("text, message", [
    ("[trian]\nthreads = 1\n", r"unknown section \[trian\]"),
    ("[train]\nthread = 1\n", "unknown key train.thread"),
    ("[train]\nepochs = { acm2 = 1 }\n", "unknown key train.epochs.acm2"),
    ("[train]\nthreads = \"2\"\n", "train.threads = '2': expected int"),
    ("[live]\nblinks = 1\n", "live.blinks = 1: expected bool"),
    ("[model]\nhidden = true\n", "model.hidden = True: expected int"),
    ("[live]\nblink_interval_s = [1.0]\n", "live.blink_interval_s must be a list of 2"),
    ("[model]\nlookahead_frames = 99\n", "lookahead_frames = 99"),
    ("[features]\ncontent_backend = \"hubert\"\n", "content_backend = 'hubert'"),
    ("[train]\nepochs = 3\n", "train.epochs must be a table"),
    ("[train\n", "not valid TOML"),
    ("[corpus]\nlanguages = [\"en\", \"xx\"]\n", "corpus.languages = \\['en', 'xx'\\]"),
    ("[corpus]\nlanguages = \"en\"\n", "corpus.languages must be a list"),
])
def test_bad_files_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as e:
        load_config(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_floats_take_ints_but_nothing_else_is_coerced():
    assert merge({"a": {"b": 1.5}}, {"a": {"b": 2}}) == {"a": {"b": 2}}
    assert config.build(config.RigConfig, {"fps": 60}, "rig") == config.RigConfig(fps=60)
    cfg = config.build(config.CorpusConfig, {"sentences": 2, "heldout_family": "flite",
                                              "val_fraction": 1, "seed": 0,
                                              "languages": ["en"]}, "corpus")
    assert isinstance(cfg.val_fraction, float)
    with pytest.raises(ConfigError, match="missing key corpus.seed"):
        config.build(config.CorpusConfig, {"sentences": 2, "heldout_family": "flite",
                                           "val_fraction": 0.1}, "corpus")


def test_the_configuration_cannot_change_while_running():
    cfg = load_config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.live.blend_s = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.model = None


def test_the_cli_refuses_a_bad_file_before_any_work(tmp_path, english_clip):
    bad = tmp_path / "bad.toml"
    bad.write_text("[train]\nthreads = 1\n[features]\nwindow = 1.0\n")
    out = tmp_path / "face.txt"
    p = run_medtalk("--config", str(bad), "infer", str(english_clip), "--emotion", "happy",
                    "-o", str(out))
    assert p.returncode == 2 and not out.exists()
    assert p.stderr.strip().count("\n") == 0 and "unknown key features.window" in p.stderr
    missing = run_medtalk("--config", str(tmp_path / "none.toml"), "infer", str(english_clip),
                          "--emotion", "happy", "-o", str(out))
    assert missing.returncode == 2 and "file not found" in missing.stderr


def test_a_one_section_file_runs_infer(tmp_path, english_clip):
    part = tmp_path / "threads.toml"
    part.write_text("[train]\nthreads = 1\n")
    out = tmp_path / "face.txt"
    p = run_medtalk("--config", str(part), "infer", str(english_clip), "--emotion", "sad",
                    "-o", str(out))
    assert p.returncode == 0, p.stderr
    assert read_rig(out).shape == (180, 174)


def test_a_regular_install_runs_infer_with_the_packaged_config(tmp_path, english_clip):
    """``pip install .`` (a wheel, not editable) into a fresh venv, run from another folder: the
    packaged config.toml and weights are found inside the installed package."""
    src = tmp_path / "src"
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    for name in files:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, src / name, follow_symlinks=False)
    wheel = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                            "--no-build-isolation", "-w", str(tmp_path / "dist"), str(src)],
                           capture_output=True, text=True, timeout=600)
    assert wheel.returncode == 0, wheel.stderr
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    py = env_dir / "bin" / "python"
    # --ignore-installed: a development checkout may be installed (editable) beside the venv
    install = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps",
                              "--ignore-installed",
                              *map(str, (tmp_path / "dist").glob("*.whl"))],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MEDTALK_CONFIG")}
    where = subprocess.run([str(py), "-c", "import medtalk_core; print(medtalk_core.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(env_dir), where.stdout + where.stderr
    out = tmp_path / "face.csv"
    p = subprocess.run([str(env_dir / "bin" / "medtalk"), "infer", str(english_clip),
                        "--emotion", "happy", "-o", str(out)], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=600)
    assert p.returncode == 0, p.stderr
    assert read_rig(out).shape == (180, 174)
