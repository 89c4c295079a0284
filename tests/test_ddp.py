"""``medtalk train`` under torchrun: two CPU processes (gloo) train a tiny model on a tiny
synthetic corpus through every phase of the MEDTalk plan for a few steps; the replicas must stay
identical while drawing different batches, and each phase must end with its kept epoch (the one
with the lowest validation lip error, ``[train] keep_best``), which is what gets exported.

The test runs this file under ``python -m torch.distributed.run``; each process (rank) runs
``medtalk.cli.main`` with probes that write its weights at the start, after each epoch and at the
end, and a digest of each batch it drew. Validation reports a scripted lip error
(:data:`LIP_MSE`, per phase), so that the kept epochs are known in advance.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIP_MSE = [0.3, 0.1, 0.2]
"""Validation lip error of each phase's epochs: epoch 2 is the one to keep."""
TINY = {
    "model": {"content_dim": 8, "emotion_dim": 8, "hidden": 16, "kernel": 3, "layers": 1,
              "attn_heads": 2},
    "train": {"batch_size": 4, "clip_frames": 60, "steps_per_epoch": 2, "threads": 1},
}


def _toml(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return repr(value)


def write_config(path: Path, overrides: dict) -> Path:
    """A config file of ``overrides`` only (``{section: {key: value}}``), which the commands merge
    over the packaged defaults."""
    lines = []
    for section, table in overrides.items():
        lines += [f"[{section}]"] + [f"{k} = {_toml(v)}" for k, v in table.items()] + [""]
    path.write_text("\n".join(lines))
    return path


def _worker(out: Path, argv: list[str]) -> int:
    """One rank: ``medtalk train`` with probes (see the module docstring)."""
    from collections import Counter

    from safetensors.torch import save_file

    from medtalk.cli import main
    from train import batches, trainer

    rank = os.environ["RANK"]
    real_plan, real_validate = trainer.train_plan, trainer.validate
    real_single = batches.Sampler.single
    drawn: list[str] = []
    epochs: Counter = Counter()

    def save(model, name: str) -> None:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()},
                  out / f"{name}-{rank}.safetensors")

    def train_plan(model, *args):
        save(model, "init")
        history = real_plan(model, *args)
        save(model, "final")
        return history

    def validate(model, phase, val, ablate=None):
        terms = real_validate(model, phase, val, ablate)
        epochs[phase] += 1
        save(model, f"{phase}{epochs[phase]}")
        return {**terms, "lip_mse": LIP_MSE[epochs[phase] - 1]}

    def single(self):
        b = real_single(self)
        drawn.append(hashlib.sha1(b["rig"].numpy().tobytes()).hexdigest())
        return b

    trainer.train_plan, trainer.validate, batches.Sampler.single = train_plan, validate, single
    code = main(argv)
    (out / f"batches-{rank}.json").write_text(json.dumps(drawn))
    return code


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """14 utterances: 2 sentences by one eSpeak NG voice in the 7 emotions, train and val."""
    from train.corpus import synth

    out = tmp_path_factory.mktemp("ddp") / "corpus"
    synth.synthesize(out, 2, ["espeak-us-m3"], val_fraction=0.5, seed=0, jobs=1, progress=False)
    return out


def test_two_ranks_stay_identical(tmp_path, corpus):
    import torch
    from safetensors.torch import load_file

    from train.plans import PLANS
    from train.stages import PHASES

    plan = PLANS["medtalk"]
    config = write_config(tmp_path / "tiny.toml", {**TINY, "train": {**TINY["train"],
                                                                      "keep_best": list(plan)}})
    probes = tmp_path / "probes"
    probes.mkdir()
    export = tmp_path / "tiny.safetensors"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone",
           __file__, "--", str(probes), "--config", str(config), "train", "--data", str(corpus),
           "--run", str(tmp_path / "run"), "--plan", "medtalk", "--epochs", str(len(LIP_MSE)),
           "--export", str(export), "--jobs", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env,
                       check=False)
    assert p.returncode == 0, p.stderr[-6000:]

    # rank 0 built the feature cache once while rank 1 waited; rank 0 alone printed
    assert len(list((corpus / "cache").glob("features-*.npz"))) == 1
    assert not list((corpus / "cache").glob("*.tmp*"))
    assert p.stdout.count(f"[{plan[0]} 1/3]") == 1 and p.stdout.count("corpus ") == 1

    def weights(name: str, rank: int) -> dict:
        return load_file(probes / f"{name}-{rank}.safetensors")

    def same(a: dict, b: dict) -> bool:
        return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    epochs = [f"{phase}{e}" for phase in plan for e in range(1, len(LIP_MSE) + 1)]
    for name in ["init", "final"] + epochs:
        assert same(weights(name, 0), weights(name, 1)), name
    drawn = [json.loads((probes / f"batches-{r}.json").read_text()) for r in (0, 1)]
    assert len(drawn[0]) == len(drawn[1]) > 0
    assert not set(drawn[0]) & set(drawn[1])  # each rank drew its own batches
    init, final = weights("init", 0), weights("final", 0)
    for part in {n.split(".")[0] for phase in plan for n in PHASES[phase].trainable}:
        trained = [k for k in init if k.startswith(part + ".")]
        assert trained and any(not torch.equal(init[k], final[k]) for k in trained), part

    # every phase ends with its kept epoch: the export is the last phase's epoch 2
    assert same(final, weights(f"{plan[-1]}2", 0))
    assert not same(final, weights(f"{plan[-1]}3", 0))
    assert same(load_file(export), final)
    card = json.loads(export.with_suffix(".json").read_text())
    assert [h.get("best", False) for h in card["history"]] == [False, True, False] * len(plan)


def _average(rank: int, port: int, out: str) -> None:
    """One of two spawned processes: gradients used on both ranks, on rank 0 only, on none."""
    import torch

    from train import distributed

    os.environ.update(RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    distributed.setup()
    try:
        both, one, none = (torch.nn.Parameter(torch.zeros(2)) for _ in range(3))
        both.grad = torch.full((2,), rank + 1.0)
        if distributed.is_main():
            one.grad = torch.full((2,), 4.0)
        distributed.average_gradients([both, one, none])
        grads = [p.grad.tolist() if p.grad is not None else None for p in (both, one, none)]
        Path(out, f"{rank}.json").write_text(json.dumps([distributed.world_size(), grads]))
    finally:
        distributed.cleanup()


def test_gradient_average_counts_an_unused_parameter_as_zero(tmp_path):
    """As DDP with ``find_unused_parameters``: the mean over ranks, a missing gradient counting
    as zero; a parameter no rank used keeps no gradient."""
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_average, args=(port, str(tmp_path)), nprocs=2)
    for rank in (0, 1):
        assert json.loads((tmp_path / f"{rank}.json").read_text()) == [
            2, [[1.5, 1.5], [2.0, 2.0], None]]


if __name__ == "__main__":
    sys.exit(_worker(Path(sys.argv[1]), sys.argv[2:]))
