"""Runs a sequence of training phases with per-epoch checkpoints, resume, validation, best-epoch
selection, and data parallelism under ``torchrun``.

A run folder holds ``model.safetensors`` (weights after the last finished epoch),
``optim.pt`` (its optimizer state, read back with ``torch.load(weights_only=True)``),
``progress.json`` (``{"phase": i, "epoch": e, "history": [...]}``) and, for the phases listed in
``[train] keep_best``, ``best.safetensors``: the weights of the phase's epoch with the lowest
validation ``lip_mse`` so far (its metadata ``best`` names the phase and epoch). When such a
phase ends, those weights are loaded back and become ``model.safetensors``, so the next phase, a
resumed run and ``--export`` start from them; the history entry of that epoch gets
``"best": true``. Each file is written to a temporary name and renamed, so a run killed at any
moment resumes from its last whole epoch.

Under ``torchrun`` (:mod:`train.distributed`) every rank draws its own batches (the epoch's batch
generator is seeded with the rank too), so one optimizer step sees ``world_size * batch_size``
crops; gradients are averaged over the ranks before clipping, and ``steps_per_epoch`` still
counts optimizer steps. The printed train losses are means over steps and ranks. Validation is
shared: each rank scores every ``world_size``-th validation batch and the sums are all-reduced,
so every rank gets the numbers a single process would get, and all agree on the best epoch.
Rank 0 alone prints and writes the run folder; on resume every rank reads it (one machine, or a
filesystem all ranks see), then rank 0's weights are broadcast.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from medtalk_core import checkpoint
from medtalk_core import rig as rigmod
from medtalk_core.config import TrainConfig
from medtalk_core.errors import MedtalkError
from medtalk_core.model import MEDTalk

from . import distributed
from .batches import Sampler, collate, crop
from .dataset import Utterance
from .stages import PHASES, Phase, StepSettings, fim_forward

log = logging.getLogger(__name__)

BEST = "best.safetensors"
"""Run-folder file with the best epoch's weights of the current ``keep_best`` phase."""


def _submodule(m: MEDTalk, dotted: str) -> torch.nn.Module:
    for part in dotted.split("."):
        m = getattr(m, part)
    return m


def set_trainable(model: MEDTalk, names: tuple[str, ...]) -> list[torch.nn.Parameter]:
    """Freeze every parameter except those of the named sub-modules; returns the trainable ones.
    Frozen sub-modules are put in eval mode (no dropout), as the paper freezes earlier parts."""
    model.requires_grad_(False)
    model.eval()
    params = []
    for n in names:
        sub = _submodule(model, n)
        sub.requires_grad_(True)
        sub.train()
        params += list(sub.parameters())
    return params


def _save_atomic(obj_writer, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    obj_writer(tmp)
    os.replace(tmp, path)


def _save_weights(model: MEDTalk, path: Path, meta: dict) -> None:
    _save_atomic(lambda p: checkpoint.save(model, p, meta), path)


def _save_progress(progress: dict, path: Path) -> None:
    _save_atomic(lambda p: p.write_text(json.dumps(progress, indent=1)), path)


def _save_epoch(model: MEDTalk, opt: torch.optim.Optimizer, progress: dict, run_dir: Path,
                meta: dict) -> None:
    """The run folder after an epoch: weights, optimizer state, then progress (rank 0)."""
    _save_weights(model, run_dir / "model.safetensors", meta)
    _save_atomic(lambda p: torch.save(opt.state_dict(), p), run_dir / "optim.pt")
    _save_progress(progress, run_dir / "progress.json")


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device) for k, v in batch.items()}


class DeviceSampler(Sampler):
    """A :class:`Sampler` whose batches are on ``device`` (a GPU rank under torchrun)."""

    def __init__(self, utts: list[Utterance], frames: int, batch: int, seed: int,
                 device: torch.device):
        super().__init__(utts, frames, batch, seed)
        self.device = device

    def single(self) -> dict[str, torch.Tensor]:
        return to_device(super().single(), self.device)

    def overlap(self) -> tuple[dict, dict]:
        x, y = super().overlap()
        return to_device(x, self.device), to_device(y, self.device)


def epoch_rng(seed: int, phase_index: int, epoch: int) -> np.random.Generator:
    """The batch generator of one epoch; under torchrun each rank gets its own stream."""
    key = [seed, phase_index, epoch]
    if distributed.world_size() > 1:
        key.append(distributed.rank())
    return np.random.default_rng(key)


def validation_batches(utts: list[Utterance], frames: int, batch: int, limit: int = 64) -> list:
    """Fixed validation crops: the first ``frames`` frames of up to ``limit`` utterances."""
    items = [crop(u, 0, frames) for u in utts[:limit]]
    return [collate(items[i:i + batch]) for i in range(0, len(items), batch)]


@torch.no_grad()
def validate(model: MEDTalk, phase: str, batches: list,
             ablate: dict | None = None) -> dict[str, float]:
    """Validation losses of a phase, means over ``batches``: rig reconstruction (stage 1) or the
    audio path (later stages), ``recon`` over the controls the rig animates (all 174 but in your
    own takes, :mod:`train.takes`) and ``lip_mse`` over those in ``S_LIP``.
    Under torchrun each rank scores every ``world_size``-th batch; all ranks return the means."""
    from . import losses

    model.eval()
    lip = torch.from_numpy(rigmod.S_LIP)
    sums = [0.0, 0.0]
    for b in batches[distributed.rank()::distributed.world_size()]:
        if phase in ("self", "overlap", "cycle"):
            pred = model.motion(b["rig"])
        elif phase == "acm":
            pred = model.motion.decode(model.acm(b["audio"]),
                                       model.motion.encode_emotion(b["rig"]))
        else:
            pred = fim_forward(model, b, ablate).rig
        mask, ch = b["frame_mask"], b["channel_mask"]
        sums[0] += losses.recon(pred, b["rig"], mask, ch).item()
        sums[1] += losses.recon(pred[..., lip], b["rig"][..., lip], mask, ch[:, lip]).item()
    recon, lip_mse = distributed.all_reduce_sum(sums)
    return {"recon": recon / len(batches), "lip_mse": lip_mse / len(batches)}


def _train_epoch(model: MEDTalk, phase: Phase, params: list, opt: torch.optim.Optimizer,
                 sampler: Sampler, settings: StepSettings, desc: str) -> dict[str, float]:
    """``steps_per_epoch`` optimizer steps; returns each loss term's mean over steps and ranks."""
    steps = settings.train.steps_per_epoch
    sums: dict[str, float] = {}
    bar = tqdm(range(steps), desc=desc, unit="step", leave=False,
               disable=not distributed.is_main())
    for _ in bar:
        terms = phase.step(model, sampler, settings)
        loss = sum(terms.values())
        opt.zero_grad()
        loss.backward()
        distributed.average_gradients(params)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + v.item()
        bar.set_postfix(loss=f"{loss.item():.4f}")
    totals = distributed.all_reduce_sum(list(sums.values()))
    return {k: t / (steps * distributed.world_size()) for k, t in zip(sums, totals)}


def keep_best_phases(train: TrainConfig) -> set[str]:
    """``[train] keep_best`` as a set of phase names.

    Raises:
        MedtalkError: a name that is not a training phase.
    """
    names = set(train.keep_best)
    unknown = sorted(names - set(PHASES))
    if unknown:
        raise MedtalkError(f"[train] keep_best: unknown phase {unknown[0]!r}; "
                           f"choose from: {', '.join(PHASES)}")
    return names


def best_of_phase(run_dir: Path, name: str, phase_index: int) -> dict | None:
    """``{"phase", "phase_index", "epoch", "lip_mse"}`` of the run folder's best weights if they
    belong to this phase, else None."""
    path = run_dir / BEST
    if not path.is_file():
        return None
    info = checkpoint.read_metadata(path).get("best")
    if info and info["phase"] == name and info["phase_index"] == phase_index:
        return info
    return None


def _restore_best(model: MEDTalk, name: str, pi: int, progress: dict, run_dir: Path,
                  meta: dict) -> None:
    """End of a ``keep_best`` phase: load the best epoch's weights (all ranks), mark its history
    entry, and make them the run's ``model.safetensors`` (rank 0)."""
    distributed.barrier()  # rank 0 has finished writing best.safetensors
    info = best_of_phase(run_dir, name, pi)
    if info is None:
        log.warning("%s: no epoch had a finite validation lip_mse; keeping the last one", name)
        return
    checkpoint.load_weights(model, run_dir / BEST)
    for h in progress["history"]:
        if h["phase"] == name and h["epoch"] == info["epoch"]:
            h["best"] = True
    if distributed.is_main():
        print(f"[{name}] keeping epoch {info['epoch']} (val lip_mse={info['lip_mse']:.5f})",
              flush=True)
        _save_weights(model, run_dir / "model.safetensors", meta)


def _print_epoch(entry: dict, epochs: int) -> None:
    print(f"[{entry['phase']} {entry['epoch']}/{epochs}] "
          + " ".join(f"{k}={v:.5f}" for k, v in entry["train"].items())
          + " | val " + " ".join(f"{k}={v:.5f}" for k, v in entry["val"].items())
          + f" | {entry['seconds']:.0f}s", flush=True)


def train_plan(model: MEDTalk, plan: tuple[str, ...], epochs: dict[str, int],
               lrs: dict[str, float], train_utts: list[Utterance], val_utts: list[Utterance],
               settings: StepSettings, run_dir: Path, meta: dict) -> list[dict]:
    """Train ``model`` through the phases of ``plan`` (resuming from ``run_dir`` if it holds a
    run), writing a checkpoint after every epoch; ends with the kept weights of the last phase
    in ``model`` (moved to :func:`train.distributed.device`). Returns the per-epoch history.

    Raises:
        MedtalkError: an unknown phase in ``[train] keep_best``.
    """
    tcfg = settings.train
    keep_best = keep_best_phases(tcfg)
    device = distributed.device()
    model.to(device)
    run_dir.mkdir(parents=True, exist_ok=True)
    prog_path = run_dir / "progress.json"
    progress = {"phase": 0, "epoch": 0, "history": []}
    if prog_path.is_file():
        progress = json.loads(prog_path.read_text())
        checkpoint.load_weights(model, run_dir / "model.safetensors",
                                allow_missing=checkpoint.GUIDANCE_PREFIX)
        log.info("resuming %s at phase %d epoch %d", run_dir, progress["phase"], progress["epoch"])
    elif distributed.is_main():
        (run_dir / BEST).unlink(missing_ok=True)  # left by an earlier run in this folder
    distributed.broadcast_module(model)
    sampler_args = (train_utts, tcfg.clip_frames, tcfg.batch_size, tcfg.seed)
    sampler = (Sampler(*sampler_args) if device.type == "cpu"
               else DeviceSampler(*sampler_args, device))
    val = [to_device(b, device)
           for b in validation_batches(val_utts, tcfg.clip_frames, tcfg.batch_size)]
    for pi in range(progress["phase"], len(plan)):
        name = plan[pi]
        phase = PHASES[name]
        params = set_trainable(model, phase.trainable)
        opt = torch.optim.AdamW(params, lr=lrs[name], weight_decay=1e-4)
        if progress["epoch"] > 0 and (run_dir / "optim.pt").is_file():
            opt.load_state_dict(torch.load(run_dir / "optim.pt", weights_only=True))
        best = best_of_phase(run_dir, name, pi) if name in keep_best else None
        best_lip = best["lip_mse"] if best else math.inf
        for epoch in range(progress["epoch"], epochs[name]):
            sampler.rng = epoch_rng(tcfg.seed, pi, epoch)
            set_trainable(model, phase.trainable)
            t0 = time.time()
            train_terms = _train_epoch(model, phase, params, opt, sampler, settings,
                                       f"{name} {epoch + 1}/{epochs[name]}")
            val_terms = validate(model, name, val, settings.ablate)
            entry = {"phase": name, "epoch": epoch + 1, "seconds": round(time.time() - t0, 1),
                     "train": train_terms, "val": val_terms}
            progress["history"].append(entry)
            progress.update(phase=pi, epoch=epoch + 1)
            improved = name in keep_best and val_terms["lip_mse"] < best_lip
            if improved:
                best_lip = val_terms["lip_mse"]
            if not distributed.is_main():
                continue
            _print_epoch(entry, epochs[name])
            if improved:
                info = {"phase": name, "phase_index": pi, "epoch": epoch + 1, "lip_mse": best_lip}
                _save_weights(model, run_dir / BEST, {**meta, "best": info})
            _save_epoch(model, opt, progress, run_dir, meta)
        if name in keep_best:
            _restore_best(model, name, pi, progress, run_dir, meta)
        progress.update(phase=pi + 1, epoch=0)
        if distributed.is_main():
            _save_progress(progress, prog_path)
    return progress["history"]
