"""``medtalk eval``: MLE, MEE, EIE and FRD of a checkpoint on a corpus split, and a plot.

The held-out split of a ``medtalk synth`` corpus is ``test`` (the voice family kept out of
training). Transcripts are the corpus's own word alignments, so the scores measure the model and
not the speech recogniser; the real-speech checks (docs/results.md) use faster-whisper.
Both go through the one forward pass (:mod:`medtalk_core.forward`), with the FIM parts the
checkpoint was trained without removed; ``--audio`` scores exactly the frames ``medtalk infer``
writes for the recording (:func:`medtalk_core.infer.animate_file`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from medtalk_core import rig
from medtalk_core.metrics import METRICS

from .ablations import add_arguments as add_ablation_arguments
from .scoring import mean_pose_score, predict, score


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, help="corpus folder (medtalk synth) to score a split of")
    p.add_argument("--audio", type=Path,
                   help="instead of --data: one recording to score against --rig (transcribed "
                        "with faster-whisper, as medtalk infer does)")
    p.add_argument("--rig", type=Path, help="ground-truth rig of --audio (EmoFace TXT, CSV, JSON)")
    p.add_argument("--emotion", help="emotion label of --audio (with --arkit: default neutral)")
    p.add_argument("--arkit", type=Path,
                   help="with --audio: real mouth curves of it in ARKit blendshape names (CSV with "
                        "time_s or Timecode, or give --fps), scored as Pearson r per channel; "
                        "--data DIR of audio + curve pairs scores each take (docs/arkit.md)")
    p.add_argument("--english-check", type=Path, nargs="?", const=Path("/usr/share/codec2"),
                   metavar="DIR", help="ROC AUCs of lip closure, rounding and opening on real "
                   "English sentences forced-aligned with pocketsphinx (DIR: codec2-examples' "
                   "speech, default /usr/share/codec2)")
    p.add_argument("--fps", type=float, help="frame rate of the --arkit rows (or their timecode)")
    p.add_argument("--language", help="spoken language of --audio (en, zh, auto, ...)")
    p.add_argument("--checkpoint", type=Path, help="model (default: the shipped default model)")
    p.add_argument("--split", default="test", help="manifest split to score (default: test)")
    p.add_argument("--plot", type=Path, default=Path("eval_curves.png"),
                   help="with --data: where to save predicted vs. ground-truth curves "
                        "(PNG; default: eval_curves.png)")
    p.add_argument("--json", type=Path, help="also write the scores as JSON here")
    add_ablation_arguments(p)


def plot_curves(model, utt, path: Path, ablate: dict | None = None) -> None:
    """Predicted (:func:`predict`) against ground-truth curves of the jaw, a brow and a mouth
    corner (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pred, _ = predict(model, utt, ablate)
    names = ["CTRL_C_jaw-translateY", "CTRL_L_brow_down-translateY",
             "CTRL_L_mouth_cornerPull-translateY"]
    t = np.arange(len(pred)) / rig.FPS
    fig, axes = plt.subplots(len(names), 1, figsize=(9, 6.5), sharex=True)
    for ax, n in zip(axes, names):
        ax.plot(t, utt.rig[:, rig.INDEX[n]], label="ground truth", color="black")
        ax.plot(t, pred[:, rig.INDEX[n]], label="predicted", color="tab:red")
        ax.set_ylabel(n.replace("CTRL_", "").replace("-translateY", ""), fontsize=8)
    axes[0].legend(loc="upper right", fontsize=8)
    axes[0].set_title(f"{utt.id} ({rig.EMOTIONS[utt.emotion]}, voice {utt.voice})")
    axes[-1].set_xlabel("time (s)")
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)


def score_recording(args) -> dict[str, float]:
    """MLE, MEE, EIE, FRD and the jaw's Pearson correlation of one real recording: the frames
    ``medtalk infer AUDIO --emotion E`` writes against ``--rig``, over the frames both have.

    Raises:
        MedtalkError: no ``--rig`` or ``--emotion``, an unknown emotion or language, unreadable
            files, frame counts more than 2 apart.
    """
    from medtalk_core.errors import MedtalkError
    from medtalk_core.infer import animate_file
    from medtalk_core.metrics import clip_metrics, jaw_correlation
    from medtalk_core.rigio import read_rig
    from medtalk_core.steering import spec_from_args

    if not (args.rig and args.emotion):
        raise MedtalkError("--audio needs --rig (ground truth) and --emotion")
    spec = spec_from_args(args.emotion, None, None)
    gt = read_rig(args.rig)
    anim = animate_file(args.audio, spec, args.config, args.language, args.checkpoint).animation
    n = min(len(gt), len(anim.frames))
    if abs(len(gt) - len(anim.frames)) > 2:
        raise MedtalkError(f"{args.rig} has {len(gt)} frames, the audio gives {len(anim.frames)}")
    scores = clip_metrics(anim.frames[:n], gt[:n])
    scores["jaw_r"] = jaw_correlation(anim.frames[:n], gt[:n])
    print(f"{args.audio.name} ({args.emotion}, {n} frames; transcript: "
          f"{' '.join(anim.transcript.words) or '(none)'})")
    print("  ".join(f"{k} {v:.5f}" for k, v in scores.items()))
    return scores


def run(args) -> int:
    from medtalk_core.errors import MedtalkError

    if args.ablations or args.disentangle:
        from .ablations import run_evidence

        return run_evidence(args)
    if args.english_check:
        scores = score_english(args)
    elif args.arkit or (args.data and is_curve_folder(args.data)):
        scores = score_arkit(args)
    elif args.audio:
        scores = score_recording(args)
    elif args.data:
        scores = score_corpus(args)
    else:
        raise MedtalkError("give --data DIR (a corpus split or audio + ARKit curve pairs), "
                           "--audio WAV --rig TXT or --audio WAV --arkit CSV")
    if args.json:
        from medtalk_core.rigio import atomic_write_text

        atomic_write_text(args.json, json.dumps(scores, indent=1))
    return 0


def is_curve_folder(folder: Path) -> bool:
    """True for a folder of audio + ARKit curve files rather than a corpus (no manifest.csv)."""
    return folder.is_dir() and not (folder / "manifest.csv").exists() and any(folder.glob("*.csv"))


def score_arkit(args) -> dict:
    """``--audio A --arkit CSV`` or ``--data DIR`` of such pairs: per take and ARKit channel the
    model's and the RMS envelope's Pearson r (:mod:`train.lipsync`), printed as a table; returns
    the JSON figures. Every curve file is read and checked before any audio is animated.

    Raises:
        MedtalkError: ``--arkit`` without ``--audio`` (or with ``--data``), a bad curve file
            (:func:`medtalk_core.arkit_csv.read_arkit_csv`), no channel with a counterpart,
            unreadable audio, an unknown emotion or language, no overlap in time.
    """
    from medtalk_core.arkit_csv import read_arkit_csv
    from medtalk_core.audio import load_audio
    from medtalk_core.errors import MedtalkError
    from medtalk_core.infer import animate_file
    from medtalk_core.steering import spec_from_args

    from .lipsync import as_json, find_pairs, format_table, score_take, scored_channels

    if args.arkit and (args.data or not args.audio):
        raise MedtalkError("--arkit CSV goes with --audio AUDIO (--data DIR finds the pairs itself)")
    pairs = [(args.audio.stem, args.audio, args.arkit)] if args.arkit else find_pairs(args.data)
    curves = {stem: read_arkit_csv(csv_path, args.fps) for stem, _, csv_path in pairs}
    for c in curves.values():
        scored_channels(c)
    spec = spec_from_args(args.emotion or "neutral", None, None)
    takes = {}
    for stem, audio, _ in pairs:
        frames = animate_file(audio, spec, args.config, args.language,
                              args.checkpoint).animation.frames
        takes[stem] = score_take(frames, load_audio(audio), curves[stem])
    print(format_table(takes))
    return as_json(takes)


def score_english(args) -> dict:
    """``--english-check DIR``: the closure / rounding / opening AUCs of the model and the RMS
    envelope on the codec2 sentences (:mod:`train.english_check`), printed; returns the JSON
    figures.

    Raises:
        MedtalkError: no sentences in DIR, unreadable audio, a bad checkpoint, an unknown emotion.
    """
    from medtalk_core.infer import animate_file
    from medtalk_core.steering import spec_from_args

    from .english_check import as_json, find_sentences, format_table, run_check

    sentences = find_sentences(args.english_check)
    spec = spec_from_args(args.emotion or "neutral", None, None)
    results = run_check(sentences, lambda path: animate_file(
        path, spec, args.config, "en", args.checkpoint).animation.frames)
    print(format_table(results))
    return as_json(results)


def score_corpus(args) -> dict:
    """Scores of the model and the mean-pose baseline on a corpus split, and the curve plot."""
    from medtalk_core.baselines import load_checkpoint
    from medtalk_core.config import load_config
    from medtalk_core.errors import MedtalkError
    from medtalk_core.frontend import trained_features

    from .dataset import load_corpus

    cfg = load_config(args.config)
    model, meta = load_checkpoint(args.checkpoint)
    utts = load_corpus(args.data, trained_features(cfg.features, meta))
    split = [u for u in utts if u.split == args.split]
    if not split:
        raise MedtalkError(f"{args.data}: no utterances in split {args.split!r}")
    scores = {"model": score(model, split, meta.get("ablate")),
              "mean_pose": mean_pose_score([u for u in utts if u.split == "train"], split)}
    print(f"{len(split)} utterances of split {args.split!r} in {args.data}")
    print(f"{'':12}" + "".join(f"{m:>10}" for m in METRICS))
    for name, s in scores.items():
        print(f"{name:12}" + "".join(f"{s[m]:10.5f}" for m in METRICS))
    plot_curves(model, split[0], args.plot, meta.get("ablate"))
    print(f"curves: {args.plot}")
    return scores
