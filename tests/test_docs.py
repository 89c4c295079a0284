"""What the repository says stands on its own: no machine paths or issue numbers in code, docs,
configs or model cards, and every config file a card or doc cites is in the repository and only
overrides settings that config.toml has."""

import json
import re
import subprocess
import tomllib

import pytest

from conftest import ROOT

TEXT = ("*.py", "*.md", "*.json", "*.toml", "*.sh", "*.cpp", "*.h", "*.cs", "*.txt", "*.uplugin")
MACHINE_PATH = re.compile(r"/work/|/tmp/|/root\b|/home/")
ISSUE_NUMBER = re.compile(r"\bissues? [0-9]+|#[0-9]+\b|\[[0-9]+/[0-9]+\]", re.IGNORECASE)


def tracked(*patterns: str) -> list:
    out = subprocess.run(["git", "ls-files", "--", *patterns], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    return [ROOT / p for p in out.splitlines() if (ROOT / p).is_file()]


def hits(pattern: re.Pattern) -> list[str]:
    me = ROOT / "tests" / "test_docs.py"  # holds the patterns themselves
    return [f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
            for p in tracked(*TEXT) if p != me
            for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1)
            if pattern.search(line)]


@pytest.fixture(scope="module", autouse=True)
def in_git():
    if subprocess.run(["git", "rev-parse"], cwd=ROOT, capture_output=True).returncode:
        pytest.skip("not a git checkout")


def test_no_machine_paths():
    assert hits(MACHINE_PATH) == []


def test_no_issue_numbers():
    assert hits(ISSUE_NUMBER) == []


def cited_configs() -> list[tuple[str, str]]:
    """(where, path) of every ``--config PATH`` in the model cards and the docs."""
    cited = []
    for card in sorted((ROOT / "medtalk_core" / "weights").glob("*.json")):
        for path in re.findall(r"--config (\S+)", json.loads(card.read_text())["command"]):
            cited.append((card.name, path))
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for path in re.findall(r"--config (configs/\S+?\.toml)", doc.read_text()):
            cited.append((doc.name, path))
    return cited


def test_cards_cite_config_overrides_that_exist_and_override_real_settings():
    cited = cited_configs()
    assert {where for where, _ in cited} >= {"default.json", "stream.json", "stream_240ms.json"}
    defaults = tomllib.loads((ROOT / "config.toml").read_text())
    for where, path in cited:
        assert path.startswith("configs/") and (ROOT / path).is_file(), (where, path)
        for section, values in tomllib.loads((ROOT / path).read_text()).items():
            unknown = set(values) - set(defaults.get(section, {}))
            assert not unknown, f"{path} (cited by {where}): [{section}] {sorted(unknown)}"


def test_stream_cards_were_trained_with_the_settings_their_config_gives():
    """The 240 ms card's model has the lookahead its override sets; the others the default."""
    weights = ROOT / "medtalk_core" / "weights"
    for name in ("stream", "stream_240ms"):
        card = json.loads((weights / f"{name}.json").read_text())
        path = re.search(r"--config (\S+)", card["command"]).group(1)
        live = tomllib.loads((ROOT / path).read_text()).get("live", {})
        default = tomllib.loads((ROOT / "config.toml").read_text())["live"]
        frames = live.get("model_lookahead_frames", default["model_lookahead_frames"])
        assert card["model"]["lookahead_frames"] == frames, name


def commands(parser, prefix=()):
    """(command words, its parser) for every leaf sub-command of the ``medtalk`` parser."""
    import argparse

    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix, parser
        return
    for name, sub in subs[0].choices.items():
        yield from commands(sub, (*prefix, name))


def test_readme_commands_table_lists_every_command_with_its_options():
    from medtalk.cli import build_parser

    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Commands")
    table = readme[start:readme.index("\n## ", start + 1)]
    first_cells = [line.split(" | ")[0] for line in table.splitlines()
                   if line.startswith("| `medtalk ")]
    parser = build_parser()
    for option in ("--config", "-v"):
        assert option in table
    missing = []
    for words, sub in commands(parser):
        cells = " ".join(c for c in first_cells if f"`medtalk {' '.join(words)}" in c)
        if not cells:
            missing.append(" ".join(words))
        for action in sub._actions:
            names = [o for o in action.option_strings if o not in ("-h", "--help")]
            if names and not any(re.search(r"(?<![\w-])" + re.escape(o) + r"(?![\w-])", cells)
                                 for o in names):
                missing.append(f"{' '.join(words)} {names[-1]}")
    assert missing == []
