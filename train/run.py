"""``medtalk train``: MEDTalk stages 1-4 (or the end-to-end baseline) on a corpus.

Resumable: run it again with the same ``--run`` folder and it continues after the last finished
epoch. With ``--export PATH.safetensors`` the final model is copied there with a JSON card beside
it (corpus, phases, epochs, validation history, held-out metrics, the command).

``--plan stream --init CHECKPOINT`` fine-tunes a trained model for the live stream:
the model gets the limited lookahead of ``[live] model_lookahead_frames`` (same weights, other
padding), the features are computed with the live window geometry of ``[live]`` (``window_s``,
``hop_s``, ``lookahead_s``; a new feature cache), word features see only the words before them
(:func:`medtalk_core.streaming.prefix_word_features`) and words reach a frame only once the live
transcript would have committed them. Live features cost about 50 encoder runs per second of
audio, so the fine-tune reads a view of the corpus (``DIR/cache/stream-view-<fraction>-<seed>``): a
``[live] finetune_fraction`` of the train utterances, :data:`STREAM_VAL` (32) validation and
:data:`STREAM_TEST` (24) held-out ones.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import shutil
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from medtalk_core.config import Config, FeaturesConfig, LiveConfig, ModelConfig

from .plans import PLANS, faceformer_schedule


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, type=Path,
                   help="corpus folder (medtalk synth); with --plan finetune a folder of takes, "
                        "audio + ARKit curve CSV pairs (docs/arkit.md)")
    p.add_argument("--run", type=Path, default=Path("runs/default"),
                   help="run folder for checkpoints and progress (default: runs/default)")
    p.add_argument("--plan", choices=sorted(PLANS), default="medtalk",
                   help="medtalk = stages 1-4; guide = stage 4 on --init; e2e = baseline "
                        "without disentanglement; stream = live fine-tune of --init; "
                        "finetune = fine-tune of --init on a folder of takes; "
                        "faceformer = FaceFormer-style baseline ([ablations])")
    p.add_argument("--export", type=Path,
                   help="copy the final model here (.safetensors) with a card (.json) beside it")
    p.add_argument("--steps-per-epoch", type=int, help="override [train] steps_per_epoch")
    p.add_argument("--epochs", type=int, help="override every phase's epoch count")
    p.add_argument("--jobs", type=int, default=2,
                   help="processes for feature extraction (default 2)")
    p.add_argument("--init", type=Path,
                   help="start from this checkpoint's weights, or a shipped model by name "
                        "(default, stream, ...); needed by --plan stream, guide and finetune")
    p.add_argument("--language", help="--plan finetune: spoken language of the takes, for their "
                                      "transcript (en, zh, auto, ...; default [features] language)")
    p.add_argument("--fps", type=float, help="--plan finetune: frame rate of curve files without "
                                             "time_s or Timecode (or their timecode rate)")
    p.add_argument("--guidance-images", type=Path, metavar="DIR",
                   help="stage 4 also trains P_image on the reference images of the (image, "
                        "description, rig) triples under DIR (RAVDESS layout; needs CLIP)")


STREAM_VAL, STREAM_TEST = 32, 24
"""Validation and held-out utterances in the stream fine-tune's view of the corpus."""


def stream_view(data: Path, fraction: float, seed: int) -> Path:
    """A corpus folder holding ``fraction`` of the train utterances of ``data`` (drawn with
    ``seed``), :data:`STREAM_VAL` validation and :data:`STREAM_TEST` held-out ones (every k-th),
    whose wav/, rig/ and align/ are symbolic links to ``data``'s. Made once."""
    import csv

    import numpy as np

    from medtalk_core.corpus import read_manifest

    view = data / "cache" / f"stream-view-{fraction:g}-{seed}"
    if (view / "manifest.csv").is_file():
        return view
    rows = read_manifest(data)
    rng = np.random.default_rng(seed)
    pick = []
    for split, share in (("train", None), ("val", STREAM_VAL), ("test", STREAM_TEST)):
        part = [r for r in rows if r["split"] == split]
        if share is None:
            keep = rng.random(len(part)) < fraction
            pick += [r for r, k in zip(part, keep) if k]
        else:
            pick += part[::max(1, len(part) // share)][:share]
    view.mkdir(parents=True, exist_ok=True)
    for sub in ("wav", "rig", "align"):
        if not (view / sub).exists():
            (view / sub).symlink_to((data / sub).resolve(), target_is_directory=True)
    tmp = view / ".manifest.csv.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(pick)
    tmp.replace(view / "manifest.csv")
    return view


def sibling_caches(view: Path, features: FeaturesConfig) -> tuple[Path, ...]:
    """Feature caches of the other stream views of the same corpus with the same front-end
    settings: a view of a larger fraction copies the utterances they hold (live features cost
    about 50 encoder runs per second of audio)."""
    from .dataset import cache_file

    own = cache_file(view, features)
    return tuple(p for p in sorted(view.parent.glob(f"stream-view-*/cache/{own.name}"))
                 if p != own)


def stream_config(cfg: Config) -> Config:
    """``cfg`` with the live front-end (``[live]`` window_s, hop_s, lookahead_s) and the model
    lookahead (``[live] model_lookahead_frames``) of the stream fine-tune."""
    live = cfg.live
    return replace(cfg, features=replace(cfg.features, window_s=live.window_s, hop_s=live.hop_s,
                                         lookahead_s=live.lookahead_s),
                   model=replace(cfg.model, lookahead_frames=live.model_lookahead_frames))


def stream_words(live: LiveConfig):
    """When words reach frames live, as :class:`train.stages.StreamWords` (commit delay, fade,
    horizon, the stream's lookahead)."""
    from medtalk_core.streaming import ahead_s

    from .stages import StreamWords

    return StreamWords(live.commit_delay_s, live.word_fade_s, live.word_horizon_s,
                       ahead_s(live.hop_s, live.lookahead_s, live.model_lookahead_frames))


@dataclass
class Guidance:
    """Stage 4's guidance: ``tables`` to train on (the corpus descriptions, and reference images
    if given), ``heldout`` the held-out descriptions, ``meta`` the encoder settings for the
    checkpoint."""

    tables: tuple
    heldout: object
    meta: dict


def guidance_setup(cfg: Config, images: Path | None) -> Guidance:
    """The corpus descriptions through ``[guidance] text_encoder`` (and CLIP image embeddings of
    ``images`` if given), as :class:`Guidance`."""
    from medtalk_core.guidance import load_guidance

    from .guide import description_table, image_table

    g = cfg.guidance
    text_encoder = load_guidance(g.text_encoder, g, cfg.features.text_model)
    tables = [description_table(text_encoder)]
    if images:
        clip = text_encoder if g.text_encoder == "clip" else load_guidance("clip", g)
        tables.append(image_table(clip, images))
    return Guidance(tuple(tables), description_table(text_encoder, "test"),
                    {**asdict(g), "image_encoder": "clip" if images else ""})


def guide_widths(model: ModelConfig, tables) -> ModelConfig:
    """``model`` with P_text / P_image widths of the guidance ``tables``."""
    return replace(model, **{f"guide_{t.kind}_dim": int(t.embeddings.shape[1]) for t in tables})


def input_widths(cfg: Config, utts) -> ModelConfig:
    """``[model]`` with audio_dim, emotion_audio_dim and text_dim of the cached features of the
    configured backbones (``[features]`` content, emotion and text backends)."""
    width = int(utts[0].audio.shape[1])
    emotion = 0
    if cfg.features.emotion_backend != "whisper":
        from medtalk_core.frontend import AudioFrontEnd

        emotion = AudioFrontEnd(cfg.features).emotion_dim
    return replace(cfg.model, audio_dim=width - emotion, emotion_audio_dim=emotion,
                   text_dim=int(utts[0].words.shape[1]))


def use_prefix_words(cfg: Config, data: Path, utts) -> None:
    """Replace each utterance's word features by :func:`prefix_word_features` (as live)."""
    import numpy as np

    from medtalk_core.backbones import text_encoder
    from medtalk_core.corpus import read_alignment
    from medtalk_core.streaming import prefix_word_features

    encoder = text_encoder(cfg.features)
    done: dict[tuple, np.ndarray] = {}
    for u in utts:
        words = tuple(w["word"] for w in read_alignment(data, u.id)["words"])
        if words not in done:
            done[words] = prefix_word_features(encoder, list(words), cfg.live.word_context)
        u.words = done[words].astype(np.float16)


def shipped(init: Path | None) -> Path | None:
    """``--init``: a checkpoint path, or the name of a shipped model (``default``, ``stream``,
    ...: ``medtalk_core/weights/<name>.safetensors``) when no such file exists."""
    from medtalk_core.checkpoint import DEFAULT_CHECKPOINT

    if init is None or init.exists() or init.suffix or len(init.parts) > 1:
        return init
    named = DEFAULT_CHECKPOINT.with_name(f"{init}.safetensors")
    return named if named.is_file() else init


def finetune_setup(cfg: Config, args) -> tuple[Config, list]:
    """``--plan finetune``: ``cfg`` with the model sizes and ``[features]`` of the ``--init``
    checkpoint (its language overridden by ``--language``), and the takes of ``--data`` as
    utterances (:func:`train.takes.load_takes`)."""
    from medtalk_core.arkit_map import load_mapping
    from medtalk_core.asr import check_language
    from medtalk_core.checkpoint import read_metadata
    from medtalk_core.frontend import trained_features

    from .takes import load_takes

    init = read_metadata(args.init)
    features = trained_features(cfg.features, init)
    if args.language:
        check_language(args.language)
        features = replace(features, language=args.language)
    cfg = replace(cfg, features=features, model=ModelConfig.from_dict(init["model"], "model"))
    utts = load_takes(args.data, features, load_mapping(cfg.arkit.mapping), cfg.train.clip_frames,
                      args.fps)
    return cfg, utts


def _takes_info(data: Path, utts) -> dict:
    train = [u for u in utts if u.split == "train"]
    return {"path": str(data), "takes": sorted({u.voice for u in utts}),
            "train_minutes": round(sum(len(u.rig) for u in train) / 60 / 60, 2),
            "val_windows": len(utts) - len(train)}


def _corpus_info(data: Path, utts) -> dict:
    manifest = (data / "manifest.csv").read_bytes()
    splits = {}
    for u in utts:
        splits[u.split] = splits.get(u.split, 0) + 1
    return {"path": str(data), "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
            "utterances": splits, "hours": round(sum(len(u.rig) for u in utts) / 60 / 3600, 3),
            "voices": sorted({u.voice for u in utts})}


def run(args) -> int:
    """Train; under ``torchrun`` every process runs this as one rank (:mod:`train.distributed`)."""
    from . import distributed

    distributed.setup()
    try:
        return _train(args)
    finally:
        distributed.cleanup()


def _train(args) -> int:
    import torch

    from medtalk_core.backbones import KEYS
    from medtalk_core.config import load_config
    from medtalk_core.errors import MedtalkError

    from . import distributed
    from .dataset import load_corpus
    from .models import new_model
    from .scoring import mean_pose_score, score
    from .stages import StepSettings
    from .trainer import train_plan

    cfg = load_config(args.config)
    tcfg = cfg.train
    if args.plan == "faceformer":  # the baseline's schedule lives in [ablations]
        tcfg = faceformer_schedule(tcfg, cfg.ablations)
    if args.steps_per_epoch:
        tcfg = replace(tcfg, steps_per_epoch=args.steps_per_epoch)
    plan = PLANS[args.plan]
    epochs = {k: args.epochs or v for k, v in tcfg.epochs.items()}
    torch.manual_seed(tcfg.seed)
    torch.set_num_threads(tcfg.threads)
    if args.export and args.export.suffix != ".safetensors":
        raise MedtalkError(f"--export {args.export}: use a .safetensors path")

    if args.plan in ("stream", "guide", "finetune") and not args.init:
        raise MedtalkError(f"--plan {args.plan} fine-tunes a trained model: give --init CHECKPOINT")
    args.init = shipped(args.init)
    t0 = time.time()
    if args.plan == "stream":
        cfg = stream_config(cfg)
    takes = None
    if args.plan == "finetune":
        cfg, takes = finetune_setup(cfg, args)
    guide = guidance_setup(cfg, args.guidance_images) if "guide" in plan else None
    guidance = guide.meta if guide else None
    if args.init and guide is None:  # keep the stage-4 projections of the model fine-tuned
        from medtalk_core.checkpoint import read_metadata

        init = read_metadata(args.init)
        cfg = replace(cfg, model=replace(cfg.model, **{
            k: init["model"].get(k, 0) for k in ("guide_text_dim", "guide_image_dim")}))
        guidance = init.get("guidance")
    elif guide:
        cfg = replace(cfg, model=guide_widths(cfg.model, guide.tables))
    with distributed.main_first():  # rank 0 writes the corpus view and feature cache once
        data = (stream_view(args.data, cfg.live.finetune_fraction, tcfg.seed)
                if args.plan == "stream" else args.data)
        reuse = sibling_caches(data, cfg.features) if args.plan == "stream" else ()
        utts = takes or load_corpus(data, cfg.features, args.jobs, reuse)
    if args.plan == "stream":
        use_prefix_words(cfg, data, utts)
    train = [u for u in utts if u.split == "train"]
    val = [u for u in utts if u.split == "val"] or train[:32]
    test = [u for u in utts if u.split == "test"]
    if not train:
        raise MedtalkError(f"{args.data}: the manifest has no 'train' utterances")
    if distributed.is_main():
        print(f"corpus {args.data}: {len(train)} train, {len(val)} val, {len(test)} test "
              f"utterances (features ready in {time.time() - t0:.0f} s)", flush=True)

    model = new_model(plan, input_widths(cfg, utts), cfg.ablations.faceformer)
    if args.init:
        from medtalk_core.checkpoint import GUIDANCE_PREFIX, load_weights

        load_weights(model, args.init, allow_missing=GUIDANCE_PREFIX)
    feat_keys = ("whisper_encoder_model", "window_s", "hop_s", "lookahead_s", "text_model", *KEYS)
    meta = {"features": {k: getattr(cfg.features, k) for k in feat_keys}, "plan": args.plan}
    if guidance:
        meta["guidance"] = guidance
    settings = StepSettings(tcfg, guidance=guide.tables if guide else ())
    if args.plan == "stream":
        settings = replace(settings, stream=stream_words(cfg.live))
        meta["stream"] = {**asdict(settings.stream), "init": str(args.init),
                          "word_context": cfg.live.word_context}
    if args.plan == "finetune":
        import copy

        settings = replace(settings, reference=copy.deepcopy(model).eval().requires_grad_(False))
        meta["finetune"] = {"init": str(args.init), "takes": sorted({u.voice for u in utts}),
                            "language": cfg.features.language}
    t1 = time.time()
    history = train_plan(model, plan, epochs, tcfg.lr, train, val, settings, args.run, meta)
    if not distributed.is_main():
        return 0
    print(f"training finished in {(time.time() - t1) / 60:.1f} min", flush=True)

    if args.export:
        model.cpu().eval()
        metrics = {"model": score(model, test)} if test else {}
        if test:
            metrics["mean_pose"] = mean_pose_score(train, test)
        if "guide" in plan:
            from .guide import nearest_label_accuracy, upper_face_accuracy

            held = guide.heldout
            metrics["guidance"] = {
                "heldout_descriptions": len(held.texts),
                "nearest_label_accuracy": nearest_label_accuracy(model, held),
                "upper_face_accuracy": upper_face_accuracy(model, held, test) if test else None}
        if metrics:
            print("held-out " + json.dumps(metrics))
        card = {
            "name": args.export.stem, "plan": args.plan, "phases": list(plan),
            "epochs": {p: epochs[p] for p in plan}, "steps_per_epoch": tcfg.steps_per_epoch,
            "batch_size": tcfg.batch_size, "clip_frames": tcfg.clip_frames,
            "corpus": _takes_info(data, utts) if takes else _corpus_info(data, utts),
            "features": meta["features"],
            "model": model.cfg.to_dict(), "heldout_metrics": metrics,
            "history": [{k: h[k] for k in ("phase", "epoch", "val", "seconds", "best") if k in h}
                        for h in history],
            "train_minutes": round(sum(h["seconds"] for h in history) / 60, 1),
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
