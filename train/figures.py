"""The figures of docs/: the jaw over a real English sentence, and one utterance's intensity curve.

Run: ``python -m train.figures --data CORPUS --out docs/`` (default model, or ``--checkpoint``).
Writes ``jaw_real_english.png`` (waveform, transcript words and CTRL_C_jaw-translateY of
``/usr/share/codec2/raw/speech_orig_16k.wav``) and ``intensity_curve.png`` (FIM's I_hat against the
ground-truth intensity label of a held-out utterance, with its words).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from medtalk_core import rig

REAL_ENGLISH = Path("/usr/share/codec2/raw/speech_orig_16k.wav")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _words(ax, spans, words, y):
    for (a, b), w in zip(spans, words):
        ax.axvspan(a, b, color="0.92", zorder=0)
        ax.text((a + b) / 2, y, w, ha="center", va="bottom", fontsize=7, rotation=45)


def _save(fig, path: Path) -> None:
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.tight_layout()
    fig.savefig(tmp, dpi=110)
    tmp.replace(path)


def jaw_figure(animator, out: Path, seconds: float = 5.0) -> None:
    """Waveform, words and jaw opening over the first ``seconds`` of the real English clip."""
    from medtalk_core.audio import load_audio

    plt = _plt()
    audio = load_audio(REAL_ENGLISH)[: int(seconds * 16000)]
    anim = animator.animate(audio, "neutral")
    t_audio = np.arange(len(audio)) / 16000
    jaw = anim.frames[:, rig.INDEX["CTRL_C_jaw-translateY"]]
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(10, 5), sharex=True)
    a1.plot(t_audio, audio, lw=0.4, color="0.3")
    a1.set_ylabel("waveform")
    a1.set_title(f"{REAL_ENGLISH.name} (real speech, codec2-examples): jaw opening, emotion neutral")
    a2.plot(np.arange(len(jaw)) / rig.FPS, jaw, color="tab:red")
    _words(a2, anim.transcript.spans, anim.transcript.words, max(jaw.max(), 0.05) * 1.02)
    a2.set_ylabel("CTRL_C_jaw-translateY")
    a2.set_xlabel("time (s)")
    _save(fig, out)
    plt.close(fig)


def intensity_figure(model, utt, spans, words, out: Path) -> None:
    """Predicted intensity I_hat and the ground-truth label of one corpus utterance."""
    from .scoring import predict

    plt = _plt()
    pred, i_hat = predict(model, utt)
    t = np.arange(len(i_hat)) / rig.FPS
    fig, ax = plt.subplots(figsize=(10, 3.6))
    ax.plot(t, rig.intensity(utt.rig), color="black", label="ground-truth label (0.1·Σ|r| over S_int)")
    ax.plot(t, i_hat, color="tab:blue", label="FIM I_hat")
    ax.plot(t, rig.intensity(pred), color="tab:orange", ls="--", label="intensity of predicted rig")
    _words(ax, spans, words, ax.get_ylim()[1])
    ax.set_title(f"{utt.id} ({rig.EMOTIONS[utt.emotion]}, held-out voice)", pad=28)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("intensity")
    ax.legend(fontsize=7, loc="lower right")
    _save(fig, out)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="corpus (for the intensity figure)")
    p.add_argument("--out", type=Path, default=Path("docs"))
    p.add_argument("--checkpoint", type=Path)
    p.add_argument("--utterance", default="flite-slt_s005_angry", help="corpus id to plot")
    args = p.parse_args()

    from medtalk_core.config import load_config
    from medtalk_core.corpus import read_alignment
    from medtalk_core.frontend import trained_features
    from medtalk_core.inference import Animator

    from .dataset import load_corpus

    animator = Animator.load(args.checkpoint)
    jaw_figure(animator, args.out / "jaw_real_english.png")
    features = trained_features(load_config().features, animator.meta)
    utt = next(u for u in load_corpus(args.data, features) if u.id == args.utterance)
    ws = read_alignment(args.data, utt.id)["words"]
    intensity_figure(animator.model, utt, [(w["start"], w["end"]) for w in ws],
                     [w["word"] for w in ws], args.out / "intensity_curve.png")
    print(f"wrote {args.out / 'jaw_real_english.png'} and {args.out / 'intensity_curve.png'}")


if __name__ == "__main__":
    main()
