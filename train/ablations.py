"""``medtalk eval --ablations``: the MEDTalk paper's Table 1 (our model against two baselines) and
Table 3 (ablations) on the held-out voice family, written into ``docs/results.md``.

Every row is scored with :func:`train.scoring.score` (MLE, MEE, EIE, FRD) on the ``--split``
(default ``test``) of ``--data``. The reference is ``--checkpoint`` (default: the shipped default
model); its JSON card gives the phases and epochs the variants copy. The variants
(:data:`VARIANTS`):

    * ``faceformer``: the FaceFormer-style baseline (:mod:`medtalk_core.baselines`).
    * ``e2e``: our architecture trained end to end, no disentanglement (= "w/o disentangle").
    * ``no_overlap``, ``no_cycle``: the reference's phases without that stage-1 phase.
    * ``no_intensity``, ``no_text``: FIM without I_hat (constant 1) or without words
      (``StepSettings.ablate``, :data:`medtalk_core.forward.ABLATIONS`), from stage 3 on; stages 1-2
      do not depend on them.
    * ``full``: the reference's phases, trained here only under ``--budget`` below 1, so that
      every compared row has had the same fraction of the schedule.

``--budget F`` scales the epochs of every phase a variant trains (rounded, at least 1). With the
full schedule (F = 1) the reference is "ours" and "full", and ``no_intensity`` / ``no_text``
start from the reference's run folder (``--base-run``) after stage 2: its weights, with every
module trained from stage 3 on reset to a fresh same-seed model's initial values. Under a budget,
the budget-trained ``full`` variant is "ours" and "full" (the reference is shown beside it) and
those two start from ``full``'s own state after stage 2.

Run folders: each variant trains in ``RUNS/<key>-<hash>``, the hash being that of its settings
(``settings.json``: phases, epochs, learning rates, batch geometry, seed, losses, model,
features, corpus, ablation flags, start); :func:`train.trainer.train_plan` resumes it. After each
phase the run folder is copied to ``RUNS/prefix/<hash of the settings so far>``, and a new
variant whose phases begin the same way starts from the longest such copy (``no_cycle`` from
``full`` after self and overlap, and so on): the same computation as training it from scratch
(the batches of an epoch depend only on the seed, the phase index and the epoch). A ``--reuse``
checkpoint whose card matches a variant's settings (phases, epochs, steps, batch, crop, model,
features, corpus manifest) stands in for that variant.

The tables, the command, each variant's training time and a comparison with the paper's
ordering generated from the scores go between ``<!-- ablations:begin -->`` and
``<!-- ablations:end -->`` of ``--results`` (atomically).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import shutil
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from medtalk_core.config import Config, ModelConfig, TrainConfig

from .models import new_model
from .plans import faceformer_schedule
from .results import write_section

REPO = Path(__file__).resolve().parents[1]
METRICS = ("MLE", "MEE", "EIE", "FRD")
TRAIN_KEYS = ("steps_per_epoch", "batch_size", "clip_frames", "seed", "lambda_sim", "lambda_int")
"""``[train]`` settings that shape every run (threads do not); ``guide_share`` too if the plan
has stage 4."""
ABLATED_PHASES = ("fim", "guide")
"""The phases whose steps read ``StepSettings.ablate``: before them the flags change nothing."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``medtalk eval`` options of the ablations and the disentanglement evidence."""
    p.add_argument("--ablations", action="store_true",
                   help="train what is missing and write Table 1 and Table 3 into --results")
    p.add_argument("--disentangle", action="store_true",
                   help="E_e / E_c projections, emotion probes and the swap test into --results")
    p.add_argument("--runs", type=Path, default=Path("runs/ablations"),
                   help="run folders of the ablation variants (default: runs/ablations)")
    p.add_argument("--budget", type=float, default=1.0,
                   help="fraction of each trained phase's epochs (default 1: the full schedule)")
    p.add_argument("--reuse", type=Path, action="append", default=[], metavar="CHECKPOINT",
                   help="a trained checkpoint (card beside it) that may stand in for a variant "
                        "(repeatable)")
    p.add_argument("--base-run", type=Path,
                   help="run folder of --checkpoint (default: [ablations] base_run)")
    p.add_argument("--results", type=Path, default=REPO / "docs" / "results.md",
                   help="markdown file to write the sections into (default: docs/results.md)")
    p.add_argument("--figure", type=Path, default=REPO / "docs" / "disentangle.png",
                   help="where --disentangle saves the embedding projections "
                        "(PNG; default: docs/disentangle.png)")


@dataclass(frozen=True)
class Variant:
    """One trained row of the tables.

    Attributes:
        key: run-folder prefix and checkpoint ``plan`` metadata.
        label: row label.
        plan: a fixed phase sequence, or None for the reference's phases without ``drop``.
        drop: the phase removed from the reference's phases.
        ablate: ``StepSettings.ablate`` flags.
        from_stage2: with the full schedule, starts from the reference run after stage 2.
    """

    key: str
    label: str
    plan: tuple[str, ...] | None = None
    drop: str | None = None
    ablate: dict = field(default_factory=dict)
    from_stage2: bool = False


FULL = Variant("full", "MEDTalk, ours (all phases, same budget)")
VARIANTS = (
    Variant("no_cycle", "w/o cycle", drop="cycle"),
    Variant("no_overlap", "w/o overlap", drop="overlap"),
    Variant("no_intensity", "w/o intensity", ablate={"intensity": True}, from_stage2=True),
    Variant("no_text", "w/o text", ablate={"text": True}, from_stage2=True),
    Variant("e2e", "our architecture end to end, no disentanglement", plan=("e2e",)),
    Variant("faceformer", "FaceFormer-style transformer, label-conditioned", plan=("faceformer",)),
)
"""In training order, after :data:`FULL` under a budget (prefixes first)."""
TABLE3 = ("no_overlap", "no_cycle", "e2e", "no_intensity", "no_text")
"""Table 3's rows in the paper's order."""
TABLE3_E2E_LABEL = "w/o disentangle (= end to end)"


def variants(budget: float) -> tuple[Variant, ...]:
    """The variants to train: :data:`FULL` first under a budget, then :data:`VARIANTS`."""
    return ((FULL,) if budget < 1 else ()) + VARIANTS


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def scaled_epochs(epochs: int, budget: float) -> int:
    """``budget * epochs`` rounded half up, at least 1."""
    return max(1, int(budget * epochs + 0.5))


def settings_hash(settings: dict) -> str:
    return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]


# --- settings and run folders -------------------------------------------------------------------

@dataclass
class Context:
    """What every variant shares: configuration, corpus, reference model."""

    cfg: Config
    tcfg: TrainConfig
    train: list
    val: list
    test: list
    split: str
    ref_path: Path
    ref_meta: dict
    ref_card: dict
    corpus_sha: str
    budget: float
    runs: Path
    base_run: Path
    reuse: list[Path]
    guidance: object = None
    """Stage 4's :class:`train.run.Guidance`, made by the first variant that needs it."""


def variant_settings(v: Variant, ctx: Context) -> tuple[tuple[str, ...], dict]:
    """``(plan, settings)`` of a variant: what its run folder's hash and settings.json hold."""
    plan = v.plan or tuple(p for p in ctx.ref_card["phases"] if p != v.drop)
    tcfg = faceformer_schedule(ctx.tcfg, ctx.cfg.ablations)
    from_base = v.from_stage2 and ctx.budget >= 1
    fim = plan.index("fim") if from_base else 0
    epochs = {}
    for i, p in enumerate(plan):
        full = ctx.ref_card["epochs"].get(p, tcfg.epochs[p])
        epochs[p] = full if i < fim else scaled_epochs(full, ctx.budget)
    model = dict(ctx.ref_meta["model"])
    if "guide" not in plan:  # no P_text / P_image without stage 4
        model.update({k: 0 for k in ("guide_text_dim", "guide_image_dim") if k in model})
    if plan == ("faceformer",):
        model = new_model(plan, ctx.cfg.model, ctx.cfg.ablations.faceformer).cfg.to_dict()
    settings = {
        "plan": list(plan), "epochs": epochs, "lr": {p: tcfg.lr[p] for p in plan},
        **{k: getattr(ctx.tcfg, k) for k in TRAIN_KEYS + ("guide_share",) * ("guide" in plan)},
        "keep_best": sorted(set(ctx.tcfg.keep_best) & set(plan)),
        "model": model, "features": ctx.ref_meta.get("features", {}), "corpus": ctx.corpus_sha,
        "ablate": dict(v.ablate), "start": None,
    }
    if from_base:
        weights = ctx.base_run / "model.safetensors"
        settings["start"] = {"run": str(ctx.base_run.resolve()), "after": list(plan[:fim]),
                             "weights_sha256": file_sha256(weights) if weights.is_file() else None}
    return plan, settings


def prefix_settings(settings: dict, k: int) -> dict:
    """The settings of the first ``k`` phases (what a run folder after them depends on)."""
    head = settings["plan"][:k]
    out = dict(settings, plan=head, epochs={p: settings["epochs"][p] for p in head},
               lr={p: settings["lr"][p] for p in head},
               keep_best=[p for p in settings["keep_best"] if p in head])
    if not set(head) & set(ABLATED_PHASES):
        out["ablate"] = {}
    if "guide" not in head:
        out.pop("guide_share", None)
    return out


def prefix_dir(ctx: Context, settings: dict, k: int) -> Path:
    return ctx.runs / "prefix" / settings_hash(prefix_settings(settings, k))


def card_matches(card: dict, settings: dict) -> bool:
    """Whether a checkpoint card describes a run with these settings (the fields a card has)."""
    if settings["start"] or settings["ablate"] or card.get("phases") != settings["plan"]:
        return False
    return (all(card.get("epochs", {}).get(p) == e for p, e in settings["epochs"].items())
            and all(card.get(k) == settings[k] for k in ("steps_per_epoch", "batch_size",
                                                         "clip_frames"))
            and (ModelConfig.from_dict(card.get("model", {})).to_dict()
                 == ModelConfig.from_dict(settings["model"]).to_dict())
            and card.get("features") == settings["features"]
            and card.get("corpus", {}).get("manifest_sha256") == settings["corpus"])


def _copy_run(src: Path, dst: Path) -> None:
    """Copy a run folder at a phase boundary (weights and progress) to ``dst``, atomically."""
    tmp = dst.with_name(f".{dst.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in ("model.safetensors", "progress.json"):
        shutil.copyfile(src / name, tmp / name)
    if dst.exists():
        shutil.rmtree(tmp)
        return
    os.replace(tmp, dst)


def _seed(run: Path, weights: Path, progress: dict) -> None:
    shutil.copyfile(weights, run / "model.safetensors")
    (run / "progress.json").write_text(json.dumps(progress, indent=1))


def seed_from_stage2(run: Path, ctx: Context, plan: tuple[str, ...], model,
                     model_cfg: ModelConfig, meta: dict) -> None:
    """Start ``run`` from the base run after stage 2: its weights, with every module that a phase
    from ``fim`` on trains set to a fresh same-seed model's initial values, and its history of the
    phases before ``fim``.

    Raises:
        MedtalkError: the base run has not finished stage 2, or its stage 1-2 epochs differ.
    """
    import torch

    from medtalk_core import checkpoint
    from medtalk_core.errors import MedtalkError

    from .stages import PHASES
    from .trainer import _submodule

    fim = plan.index("fim")
    prog_path = ctx.base_run / "progress.json"
    if not prog_path.is_file():
        raise MedtalkError(f"{ctx.base_run}: no progress.json (give --base-run: the run folder "
                           f"of --checkpoint)")
    base = json.loads(prog_path.read_text())
    done = {}
    for h in base["history"]:
        done[h["phase"]] = max(done.get(h["phase"], 0), h["epoch"])
    want = {p: ctx.ref_card["epochs"][p] for p in plan[:fim]}
    if base["phase"] < fim or any(done.get(p) != e for p, e in want.items()):
        raise MedtalkError(f"{ctx.base_run} has not finished {', '.join(plan[:fim])} with the "
                           f"epochs of {ctx.ref_path.name}'s card ({want}; it has {done})")
    checkpoint.load_weights(model, ctx.base_run / "model.safetensors",
                            allow_missing=checkpoint.GUIDANCE_PREFIX)
    torch.manual_seed(ctx.tcfg.seed)
    fresh = new_model(plan, model_cfg, ctx.cfg.ablations.faceformer)
    for name in {n for p in plan[fim:] for n in PHASES[p].trainable}:
        _submodule(model, name).load_state_dict(_submodule(fresh, name).state_dict())
    checkpoint.save(model, run / "model.safetensors", meta)
    history = [h for h in base["history"] if h["phase"] in plan[:fim]]
    (run / "progress.json").write_text(json.dumps({"phase": fim, "epoch": 0,
                                                   "history": history}, indent=1))


def start_run(ctx: Context, plan, settings, run: Path, model, model_cfg: ModelConfig,
              meta) -> str:
    """Fill the new, empty run folder ``run``: from the base run (full schedule,
    ``from_stage2``), a matching ``--reuse`` checkpoint, or the longest finished prefix of
    another variant; or leave it empty. Returns how it started."""
    if settings["start"]:
        seed_from_stage2(run, ctx, plan, model, model_cfg, meta)
        return "base"
    for ckpt in ctx.reuse:
        card = json.loads(ckpt.with_suffix(".json").read_text())
        if card_matches(card, settings):
            _seed(run, ckpt, {"phase": len(plan), "epoch": 0, "history": card["history"]})
            return f"reused `{ckpt}` (trained by `{card.get('command', '?')}`)"
    for k in range(len(plan) - 1, 0, -1):
        src = prefix_dir(ctx, settings, k)
        if (src / "progress.json").is_file():
            _seed(run, src / "model.safetensors", json.loads((src / "progress.json").read_text()))
            return "shared"
    return "scratch"


def train_variant(v: Variant, ctx: Context) -> dict:
    """Train (or resume, or reuse) a variant; returns its row: ``run``, ``model``, ``history``
    (the run's whole history), ``copied`` (how many of its first entries came from elsewhere),
    ``source`` (:func:`start_run`), ``plan``, ``epochs``, ``ablate``."""
    import torch

    from .stages import StepSettings
    from .trainer import train_plan

    plan, settings = variant_settings(v, ctx)
    run = ctx.runs / f"{v.key}-{settings_hash(settings)}"
    info_path = run / "settings.json"  # written once the folder is started: the "started" mark
    model_cfg = (ctx.cfg.model if plan == ("faceformer",)
                 else ModelConfig.from_dict(settings["model"]))
    step = StepSettings(replace(ctx.tcfg, epochs=settings["epochs"], lr=settings["lr"]),
                        ablate=settings["ablate"])
    meta = {"features": settings["features"], "plan": v.key, "phases": list(plan),
            "ablate": settings["ablate"]}
    if "guide" in plan:
        from .run import guide_widths, guidance_setup

        if ctx.guidance is None:
            ctx.guidance = guidance_setup(ctx.cfg, None)
        meta["guidance"] = ctx.guidance.meta
        step = replace(step, guidance=ctx.guidance.tables)
        model_cfg = guide_widths(model_cfg, ctx.guidance.tables)
    torch.manual_seed(ctx.tcfg.seed)
    model = new_model(plan, model_cfg, ctx.cfg.ablations.faceformer)
    if not info_path.is_file():
        shutil.rmtree(run, ignore_errors=True)  # an interrupted start
        run.mkdir(parents=True)
        source = start_run(ctx, plan, settings, run, model, model_cfg, meta)
        prog = run / "progress.json"
        copied = len(json.loads(prog.read_text())["history"]) if prog.is_file() else 0
        tmp = run / ".settings.json.tmp"
        tmp.write_text(json.dumps({"settings": settings, "source": source, "copied": copied},
                                  indent=1))
        os.replace(tmp, info_path)
    info = json.loads(info_path.read_text())
    print(f"== {v.key}: {_schedule(plan, settings['epochs'])}; ablate={settings['ablate']}; "
          f"{run} ({info['source']})", flush=True)
    prog = run / "progress.json"
    done = json.loads(prog.read_text())["phase"] if prog.is_file() else 0
    history = []
    for k in range(max(done, 1), len(plan) + 1):  # phase by phase, keeping each prefix
        history = train_plan(model, plan[:k], settings["epochs"], settings["lr"], ctx.train,
                             ctx.val, step, run, meta)
        if k < len(plan) and not (prefix_dir(ctx, settings, k) / "progress.json").is_file():
            _copy_run(run, prefix_dir(ctx, settings, k))
    return {"run": run, "model": model.cpu().eval(), "history": history, "copied": info["copied"],
            "source": info["source"], "plan": plan, "epochs": settings["epochs"],
            "ablate": settings["ablate"]}


def cached_score(model, weights: Path, ablate: dict, ctx: Context, store: Path) -> dict:
    """Scores of ``model`` on the held-out split, cached in ``store`` under the weights' hash."""
    from .scoring import score

    key = f"{file_sha256(weights)}:{json.dumps(ablate, sort_keys=True)}:{ctx.split}:{len(ctx.test)}"
    cache = json.loads(store.read_text()) if store.is_file() else {}
    if key not in cache:
        t0 = time.time()
        cache[key] = score(model, ctx.test, ablate)
        print(f"   scored {weights} in {time.time() - t0:.0f} s: "
              + " ".join(f"{m} {cache[key][m]:.5f}" for m in METRICS), flush=True)
        tmp = store.with_name(f".{store.name}.tmp")
        tmp.write_text(json.dumps(cache, indent=1))
        os.replace(tmp, store)
    return cache[key]


# --- the report ---------------------------------------------------------------------------------

def compare(a: dict, b: dict, tie: float) -> dict[str, str]:
    """Per metric, ``a`` against ``b``: ``"lower"``, ``"higher"`` or ``"equal"`` (relative
    difference at most ``tie``). Lower is better for all four metrics."""
    out = {}
    for m in METRICS:
        rel = (a[m] - b[m]) / max(abs(b[m]), 1e-12)
        out[m] = "equal" if abs(rel) <= tie else ("lower" if rel < 0 else "higher")
    return out


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _diffs(a: dict, b: dict, metrics: list[str]) -> str:
    return _join([f"{m} ({a[m]:.4f} vs {b[m]:.4f}, {100 * (a[m] / b[m] - 1):+.0f} %)"
                  for m in metrics])


def table1_text(ours: dict, baselines: dict[str, dict], tie: float) -> str:
    """Sentences comparing our scores with each baseline's, and our ordering with the paper's
    (its Table 1: MEDTalk lowest on all four metrics)."""
    lines, lost = [], {}
    for name, s in baselines.items():
        c = compare(ours, s, tie)
        parts = []
        for rel in ("lower", "higher", "equal"):
            ms = [m for m in METRICS if c[m] == rel]
            if ms:
                parts.append(f"{rel} on {_diffs(ours, s, ms)}" if rel != "equal"
                             else f"within {100 * tie:g} % on {_join(ms)}")
        lines.append(f"Against the {name}, ours is {'; '.join(parts)}.")
        for m in METRICS:
            if c[m] != "lower":
                lost.setdefault(m, []).append(name)
    if not lost:
        lines.append("As in the paper's Table 1, where MEDTalk has the lowest error on all four "
                     "metrics, ours is the lowest here on all four.")
    else:
        won = [m for m in METRICS if m not in lost]
        where = "; ".join(f"on {m} the {_join(names)} {'is' if len(names) == 1 else 'are'} as "
                          f"good or better" for m, names in lost.items())
        lines.append("The paper's Table 1 has MEDTalk lowest on all four metrics. Our ordering "
                     + (f"agrees on {_join(won)} and " if won else "")
                     + f"differs on {_join(list(lost))}: {where}.")
    return " ".join(lines)


def table3_text(full: dict, ablations: dict[str, dict], tie: float) -> str:
    """Sentences on each ablation against the full model, and how that compares with the paper's
    Table 3 (every ablation worse than the full model)."""
    lines, all_worse, differ = [], [], []
    for name, s in ablations.items():
        c = compare(s, full, tie)
        parts = []
        for rel, word in (("higher", "worse"), ("lower", "better"), ("equal", "within")):
            ms = [m for m in METRICS if c[m] == rel]
            if ms:
                parts.append(f"{word} on {_diffs(s, full, ms)}" if rel != "equal"
                             else f"within {100 * tie:g} % on {_join(ms)}")
        lines.append(f"{name}: {'; '.join(parts)}.")
        (all_worse if all(c[m] == "higher" for m in METRICS) else differ).append(name)
    summary = (f"The paper's Table 3 has every ablation worse than the full model. Here "
               f"{len(all_worse)} of {len(ablations)} are worse on all four metrics"
               + (f" ({_join(all_worse)})" if all_worse else ""))
    summary += (f"; {_join(differ)} {'is' if len(differ) == 1 else 'are'} not, which differs "
                f"from the paper." if differ else ", as in the paper.")
    return "\n".join("- " + x for x in lines) + "\n\n" + summary


def _minutes(history: list[dict]) -> float:
    return sum(h["seconds"] for h in history) / 60


def _row(label: str, s: dict, best: dict | None, note: str) -> str:
    cells = [(f"**{s[m]:.4f}**" if best and s[m] == best[m] else f"{s[m]:.4f}") for m in METRICS]
    return f"| {label} | " + " | ".join(cells) + f" | {note} |"


def _schedule(plan, epochs) -> str:
    return ", ".join(f"{p} {epochs[p]}" for p in plan)


def _note(r: dict) -> str:
    """The training column of a trained row: schedule and minutes, and where parts came from."""
    total, own = _minutes(r["history"]), _minutes(r["history"][r["copied"]:])
    when = {"base": f"{own:.1f} min here + the reference run's stages 1-2",
            "shared": f"{total:.1f} min, {total - own:.1f} of them shared with another variant",
            "scratch": f"{total:.1f} min"}.get(r["source"], f"{total:.1f} min, {r['source']}")
    return f"{_schedule(r['plan'], r['epochs'])}; {when}"


def report(ctx: Context, ref: dict, mean_pose: dict, rows: dict[str, dict], command: str,
           tie: float) -> str:
    """The markdown of the ablations section. ``ref``: the reference's scores; ``rows``: the
    trained variants (:func:`train_variant` plus ``scores``)."""
    label = {v.key: v.label for v in (FULL,) + VARIANTS}
    card = ctx.ref_card
    ref_note = (f"{_schedule(card['phases'], card['epochs'])}; "
                f"{_minutes(card['history']):.1f} min (its card)")
    budget = ctx.budget < 1
    ours = rows["full"]["scores"] if budget else ref
    ours_note = _note(rows["full"]) if budget else ref_note
    ours_label = label["full"] if budget else f"MEDTalk, ours (`{ctx.ref_path.name}`)"
    t1 = {"ours": ours, **{k: rows[k]["scores"] for k in ("faceformer", "e2e")}}
    best1 = {m: min(s[m] for s in t1.values()) for m in METRICS}
    t3 = {"full": ours, **{k: rows[k]["scores"] for k in TABLE3}}
    best3 = {m: min(s[m] for s in t3.values()) for m in METRICS}
    voices = sorted({u.voice for u in ctx.test})
    unseen = ("none of them heard in training" if not set(voices) & {u.voice for u in ctx.train}
              else "some of them also in the train split")
    schedule = ("the full schedule: the reference's epochs" if not budget else
                f"**`--budget {ctx.budget:g}`: every phase a variant trains has {ctx.budget:g}× "
                f"the reference's epochs (rounded, at least 1)**. The rows compared with each "
                f"other all had that budget (*ours* and *full* are the reference's phases "
                f"trained here with it); the shipped reference, trained with the whole schedule, "
                f"is shown for scale")
    threads = ctx.tcfg.threads
    out = [
        "## Table 1 and Table 3 on the held-out voice family",
        "",
        (f"Written by `{command}` ({time.strftime('%Y-%m-%d %H:%M')}). All rows are scored on "
         f"split `{ctx.split}` of the corpus ({len(ctx.test)} utterances, voices "
         f"{', '.join(voices)}: {unseen}), with the corpus's word "
         f"alignments as transcripts. Training: {schedule}. The last column gives each row's "
         f"phases with their epochs ({ctx.tcfg.steps_per_epoch} steps of "
         f"{ctx.tcfg.batch_size} crops of {ctx.tcfg.clip_frames} frames) and its training "
         f"time; rows trained here ran with {threads} torch thread{'s' * (threads != 1)} on a "
         "CPU shared with other work. Lower is better; the best of each table in bold."),
        "",
        "### Table 1: comparison with baselines (paper Table 1)",
        "",
        "| model | MLE | MEE | EIE | FRD | training |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
        _row(ours_label, ours, best1, ours_note),
        _row(label["faceformer"], t1["faceformer"], best1, _note(rows["faceformer"])),
        _row(label["e2e"], t1["e2e"], best1, _note(rows["e2e"])),
    ]
    if budget:
        out.append(_row(f"MEDTalk, shipped reference `{ctx.ref_path.name}` (whole schedule)",
                        ref, None, ref_note))
    out += [
        _row("mean pose (the mean training frame, every frame)", mean_pose, None, "—"),
        "",
        table1_text(ours, {"FaceFormer-style baseline": t1["faceformer"],
                           "end-to-end model": t1["e2e"]}, tie),
        "",
        "### Table 3: ablations (paper Table 3)",
        "",
        "| variant | MLE | MEE | EIE | FRD | training |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
        _row("full model (= ours)", ours, best3, ours_note),
    ]
    named = {}
    for key in TABLE3:
        name = TABLE3_E2E_LABEL if key == "e2e" else label[key]
        named[name] = rows[key]["scores"]
        out.append(_row(name, rows[key]["scores"], best3, _note(rows[key])))
    out += [
        "",
        ("How the variants differ: *w/o overlap* and *w/o cycle* run the reference's phases "
         "without that stage-1 phase; *w/o disentangle* is the end-to-end model of Table 1; "
         "*w/o intensity* replaces FIM's Î by the constant 1 (eq. 9 then gives the label "
         "embedding's direction at unit norm) and *w/o text* masks every word out of FIM's "
         "cross-attention, in training and scoring alike (`StepSettings.ablate` in "
         "`train/stages.py`); both retrain FIM (and any later phase) from its initial weights "
         "on the stages 1-2 of the model they are compared with. In our FIM the fused "
         "audio-text features enter E_fuse beside f~ (eq. 10-12), so *w/o intensity* removes "
         "the explicit norm scaling only, while *w/o text* takes the words out of both. Each "
         "row is one training run (seed 0); the spread between seeds was not measured."),
        "",
        table3_text(ours, named, tie),
        "",
        (f"Scores within {100 * tie:g} % of each other count as equal in these sentences "
         "(`[ablations] tie`); the sentences are generated from the scores above."),
    ]
    return "\n".join(out)


# --- commands -----------------------------------------------------------------------------------

def load_context(args, cfg: Config) -> Context:
    """Configuration, corpus splits and reference model for ``args``.

    Raises:
        MedtalkError: no --data, a budget outside (0, 1], a reference without its card, or a
            corpus without the splits.
    """
    import torch

    from medtalk_core.checkpoint import DEFAULT_CHECKPOINT, read_metadata
    from medtalk_core.errors import MedtalkError
    from medtalk_core.frontend import trained_features

    from .dataset import load_corpus

    if not args.data:
        raise MedtalkError("--ablations and --disentangle need --data CORPUS")
    if not 0 < args.budget <= 1:
        raise MedtalkError(f"--budget {args.budget}: give a fraction in (0, 1]")
    ref_path = Path(args.checkpoint or DEFAULT_CHECKPOINT)
    card_path = ref_path.with_suffix(".json")
    if not card_path.is_file():
        raise MedtalkError(f"{ref_path}: no card {card_path.name} beside it (its phases and "
                           "epochs are what the variants copy)")
    for ckpt in args.reuse:
        if not ckpt.with_suffix(".json").is_file():
            raise MedtalkError(f"--reuse {ckpt}: no card {ckpt.with_suffix('.json').name} "
                               "beside it")
    ref_meta = read_metadata(ref_path)
    cfg = replace(cfg, features=trained_features(cfg.features, ref_meta))
    torch.set_num_threads(cfg.train.threads)
    utts = load_corpus(args.data, cfg.features)
    split = {s: [u for u in utts if u.split == s] for s in ("train", "val", args.split)}
    if not split[args.split] or not split["train"]:
        raise MedtalkError(f"{args.data}: needs 'train' and {args.split!r} utterances")
    return Context(
        cfg=cfg, tcfg=cfg.train, train=split["train"], val=split["val"] or split["train"][:32],
        test=split[args.split], split=args.split, ref_path=ref_path, ref_meta=ref_meta,
        ref_card=json.loads(card_path.read_text()),
        corpus_sha=hashlib.sha256((args.data / "manifest.csv").read_bytes()).hexdigest(),
        budget=args.budget, runs=args.runs,
        base_run=Path(args.base_run or cfg.ablations.base_run), reuse=list(args.reuse))


def estimate(ctx: Context) -> float:
    """Print what each variant will train and an estimate of its time from the epoch times in
    the reference's card (and the ``--reuse`` cards); returns the total in seconds."""
    per_epoch: dict[str, list] = {}
    for card in [ctx.ref_card] + [json.loads(c.with_suffix(".json").read_text())
                                  for c in ctx.reuse]:
        for h in card["history"]:
            per_epoch.setdefault(h["phase"], []).append(h["seconds"])
    trained, total = set(), 0.0
    for v in variants(ctx.budget):
        plan, settings = variant_settings(v, ctx)
        reused = any(card_matches(json.loads(c.with_suffix(".json").read_text()), settings)
                     for c in ctx.reuse)
        start = len(plan) if reused else plan.index("fim") if settings["start"] else 0
        for k in range(len(plan) - 1, start, -1):
            if settings_hash(prefix_settings(settings, k)) in trained:
                start = k
                break
        trained |= {settings_hash(prefix_settings(settings, k)) for k in range(1, len(plan))}
        todo = plan[start:]
        sec = sum(settings["epochs"][p] * sum(per_epoch[p]) / len(per_epoch[p])
                  for p in todo if p in per_epoch)
        unknown = [p for p in todo if p not in per_epoch]
        total += sec
        print(f"  {v.key:13} trains {_schedule(todo, settings['epochs']) or 'nothing':42} "
              f"~{sec / 60:5.1f} min" + (f" + {', '.join(unknown)} (no epoch time known)"
                                         if unknown else ""), flush=True)
    print(f"  total ~{total / 60:.1f} min at the cards' speed", flush=True)
    return total


def run_ablations(args, ctx: Context) -> None:
    """Train the missing variants, score every row and write the ablations section."""
    from medtalk_core.baselines import load_checkpoint

    from .scoring import mean_pose_score

    ctx.runs.mkdir(parents=True, exist_ok=True)
    print(f"variants (budget {ctx.budget:g}, {ctx.tcfg.threads} thread(s)):", flush=True)
    estimate(ctx)
    store = ctx.runs / "scores.json"
    ref_model, _ = load_checkpoint(ctx.ref_path)
    ref = cached_score(ref_model, ctx.ref_path, ctx.ref_meta.get("ablate", {}), ctx, store)
    rows = {}
    for v in variants(ctx.budget):
        t0 = time.time()
        r = train_variant(v, ctx)
        r["scores"] = cached_score(r["model"], r["run"] / "model.safetensors", r["ablate"], ctx,
                                   store)
        print(f"== {v.key} done in {(time.time() - t0) / 60:.1f} min", flush=True)
        rows[v.key] = r
    command = "medtalk " + shlex.join(sys.argv[1:])
    text = report(ctx, ref, mean_pose_score(ctx.train, ctx.test), rows, command,
                  ctx.cfg.ablations.tie)
    write_section(args.results, "ablations", text)
    print(text)
    print(f"wrote the ablations section of {args.results}")


def run_evidence(args) -> int:
    """``medtalk eval --ablations`` and / or ``--disentangle``."""
    from medtalk_core.config import load_config

    ctx = load_context(args, load_config(args.config))
    if args.ablations:
        run_ablations(args, ctx)
    if args.disentangle:
        from .disentangle import run_disentangle

        run_disentangle(args, ctx)
    return 0
