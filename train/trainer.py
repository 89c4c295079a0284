"""Runs a sequence of training phases with per-epoch checkpoints, resume and validation.

A run folder holds ``model.safetensors`` (weights after the last finished epoch),
``optim.pt`` (its optimizer state, read back with ``torch.load(weights_only=True)``) and
``progress.json`` (``{"phase": i, "epoch": e, "history": [...]}``). Each file is written to a
temporary name and renamed, so a run killed at any moment resumes from its last whole epoch.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from medtalk_core import checkpoint
from medtalk_core.model import MEDTalk

from .batches import Sampler, collate, crop
from .dataset import Utterance
from .stages import PHASES, fim_forward

log = logging.getLogger(__name__)


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


def validation_batches(utts: list[Utterance], frames: int, batch: int, limit: int = 64) -> list:
    """Fixed validation crops: the first ``frames`` frames of up to ``limit`` utterances."""
    items = [crop(u, 0, frames) for u in utts[:limit]]
    return [collate(items[i:i + batch]) for i in range(0, len(items), batch)]


@torch.no_grad()
def validate(model: MEDTalk, phase: str, batches: list) -> dict[str, float]:
    """Validation losses of a phase: rig reconstruction (stage 1) or the audio path (2, 3)."""
    from . import losses

    model.eval()
    out: dict[str, list] = {"recon": [], "lip_mse": []}
    from medtalk_core import rig as rigmod

    lip = torch.from_numpy(rigmod.S_LIP)
    for b in batches:
        if phase in ("self", "overlap", "cycle"):
            pred = model.motion(b["rig"])
        elif phase == "acm":
            pred = model.motion.decode(model.acm(b["audio"]),
                                       model.motion.encode_emotion(b["rig"]))
        else:
            pred = fim_forward(model, b)[0]
        out["recon"].append(losses.recon(pred, b["rig"], b["frame_mask"]).item())
        out["lip_mse"].append(losses.recon(pred[..., lip], b["rig"][..., lip],
                                           b["frame_mask"]).item())
    return {k: float(np.mean(v)) for k, v in out.items()}


def train_plan(model: MEDTalk, plan: tuple[str, ...], epochs: dict[str, int],
               lrs: dict[str, float], train_utts: list[Utterance], val_utts: list[Utterance],
               tcfg: dict, run_dir: Path, meta: dict) -> list[dict]:
    """Train ``model`` through the phases of ``plan`` (resuming from ``run_dir`` if it holds a
    run), writing a checkpoint after every epoch. Returns the per-epoch history."""
    run_dir.mkdir(parents=True, exist_ok=True)
    prog_path = run_dir / "progress.json"
    progress = {"phase": 0, "epoch": 0, "history": []}
    if prog_path.is_file():
        progress = json.loads(prog_path.read_text())
        checkpoint.load_weights(model, run_dir / "model.safetensors")
        log.info("resuming %s at phase %d epoch %d", run_dir, progress["phase"], progress["epoch"])
    sampler = Sampler(train_utts, tcfg["clip_frames"], tcfg["batch_size"], tcfg["seed"])
    val = validation_batches(val_utts, tcfg["clip_frames"], tcfg["batch_size"])
    for pi in range(progress["phase"], len(plan)):
        name = plan[pi]
        phase = PHASES[name]
        params = set_trainable(model, phase.trainable)
        opt = torch.optim.AdamW(params, lr=lrs[name], weight_decay=1e-4)
        if progress["epoch"] > 0 and (run_dir / "optim.pt").is_file():
            opt.load_state_dict(torch.load(run_dir / "optim.pt", weights_only=True))
        for epoch in range(progress["epoch"], epochs[name]):
            sampler.rng = np.random.default_rng([tcfg["seed"], pi, epoch])
            set_trainable(model, phase.trainable)
            t0 = time.time()
            sums: dict[str, float] = {}
            bar = tqdm(range(tcfg["steps_per_epoch"]), desc=f"{name} {epoch + 1}/{epochs[name]}",
                       unit="step", leave=False)
            for _ in bar:
                terms = phase.step(model, sampler, tcfg)
                loss = sum(terms.values())
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
                for k, v in terms.items():
                    sums[k] = sums.get(k, 0.0) + v.item()
                bar.set_postfix(loss=f"{loss.item():.4f}")
            train_terms = {k: v / tcfg["steps_per_epoch"] for k, v in sums.items()}
            val_terms = validate(model, name, val)
            entry = {"phase": name, "epoch": epoch + 1, "seconds": round(time.time() - t0, 1),
                     "train": train_terms, "val": val_terms}
            progress["history"].append(entry)
            print(f"[{name} {epoch + 1}/{epochs[name]}] "
                  + " ".join(f"{k}={v:.5f}" for k, v in train_terms.items())
                  + " | val " + " ".join(f"{k}={v:.5f}" for k, v in val_terms.items())
                  + f" | {entry['seconds']:.0f}s", flush=True)
            progress.update(phase=pi, epoch=epoch + 1)
            _save_atomic(lambda p: checkpoint.save(model, p, meta), run_dir / "model.safetensors")
            _save_atomic(lambda p: torch.save(opt.state_dict(), p), run_dir / "optim.pt")
            _save_atomic(lambda p: p.write_text(json.dumps(progress, indent=1)), prog_path)
        progress.update(phase=pi + 1, epoch=0)
        _save_atomic(lambda p: p.write_text(json.dumps(progress, indent=1)), prog_path)
    return progress["history"]
