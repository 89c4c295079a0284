"""``medtalk train``: MEDTalk stages 1-3 (or the end-to-end baseline) on a corpus.

Resumable: run it again with the same ``--run`` folder and it continues after the last finished
epoch. With ``--export PATH.safetensors`` the final model is copied there with a JSON card beside
it (corpus, phases, epochs, validation history, held-out metrics, the command).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import shutil
import sys
import time
from pathlib import Path

from .stages import PLANS


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, type=Path, help="corpus folder (medtalk synth)")
    p.add_argument("--run", type=Path, default=Path("runs/default"),
                   help="run folder for checkpoints and progress (default: runs/default)")
    p.add_argument("--plan", choices=sorted(PLANS), default="medtalk",
                   help="medtalk = stages 1-3; e2e = baseline without disentanglement")
    p.add_argument("--export", type=Path,
                   help="copy the final model here (.safetensors) with a card (.json) beside it")
    p.add_argument("--steps-per-epoch", type=int, help="override [train] steps_per_epoch")
    p.add_argument("--epochs", type=int, help="override every phase's epoch count")
    p.add_argument("--jobs", type=int, default=2, help="processes for feature extraction")


def _corpus_info(data: Path, utts) -> dict:
    manifest = (data / "manifest.csv").read_bytes()
    splits = {}
    for u in utts:
        splits[u.split] = splits.get(u.split, 0) + 1
    return {"path": str(data), "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
            "utterances": splits, "hours": round(sum(len(u.rig) for u in utts) / 60 / 3600, 3),
            "voices": sorted({u.voice for u in utts})}


def run(args) -> int:
    import torch

    from medtalk_core.config import load_config
    from medtalk_core.errors import MedtalkError
    from medtalk_core.model import MEDTalk, ModelConfig

    from .dataset import load_corpus
    from .evaluate import mean_pose_score, score
    from .trainer import train_plan

    cfg = load_config(args.config)
    tcfg = dict(cfg["train"])
    if args.steps_per_epoch:
        tcfg["steps_per_epoch"] = args.steps_per_epoch
    plan = PLANS[args.plan]
    epochs = {k: args.epochs or v for k, v in tcfg["epochs"].items()}
    torch.manual_seed(tcfg["seed"])
    torch.set_num_threads(tcfg["threads"])
    if args.export and args.export.suffix != ".safetensors":
        raise MedtalkError(f"--export {args.export}: use a .safetensors path")

    t0 = time.time()
    utts = load_corpus(args.data, cfg, args.jobs)
    train = [u for u in utts if u.split == "train"]
    val = [u for u in utts if u.split == "val"] or train[:32]
    test = [u for u in utts if u.split == "test"]
    if not train:
        raise MedtalkError(f"{args.data}: the manifest has no 'train' utterances")
    print(f"corpus {args.data}: {len(train)} train, {len(val)} val, {len(test)} test utterances "
          f"(features ready in {time.time() - t0:.0f} s)", flush=True)

    model = MEDTalk(ModelConfig.from_dict(cfg["model"]))
    feat_keys = ("whisper_encoder_model", "window_s", "hop_s", "lookahead_s", "text_model")
    meta = {"features": {k: cfg["features"].get(k) for k in feat_keys}, "plan": args.plan}
    t1 = time.time()
    history = train_plan(model, plan, epochs, tcfg["lr"], train, val, tcfg, args.run, meta)
    print(f"training finished in {(time.time() - t1) / 60:.1f} min", flush=True)

    if args.export:
        model.eval()
        metrics = {"model": score(model, test)} if test else {}
        if test:
            metrics["mean_pose"] = mean_pose_score(train, test)
            print("held-out " + json.dumps(metrics))
        card = {
            "name": args.export.stem, "plan": args.plan, "phases": list(plan),
            "epochs": {p: epochs[p] for p in plan}, "steps_per_epoch": tcfg["steps_per_epoch"],
            "batch_size": tcfg["batch_size"], "clip_frames": tcfg["clip_frames"],
            "corpus": _corpus_info(args.data, utts), "features": meta["features"],
            "model": model.cfg.to_dict(), "heldout_metrics": metrics,
            "history": [{k: h[k] for k in ("phase", "epoch", "val", "seconds")} for h in history],
            "train_minutes": round((time.time() - t1) / 60, 1),
            "command": "medtalk " + shlex.join(sys.argv[1:]),
        }
        args.export.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.export.with_name(f".{args.export.name}.tmp")
        shutil.copyfile(args.run / "model.safetensors", tmp)
        tmp.replace(args.export)
        card_path = args.export.with_suffix(".json")
        card_tmp = card_path.with_name(f".{card_path.name}.tmp")
        card_tmp.write_text(json.dumps(card, indent=1))
        card_tmp.replace(card_path)
        print(f"exported {args.export} and {card_path}")
    return 0
