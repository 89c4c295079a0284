"""``medtalk eval --disentangle``: evidence that the emotion encoder E_e carries the emotion and
the content encoder E_c does not, on held-out utterances.

    * Projections: per-clip time means of ``E_e(r)`` and ``E_c(r)`` of the ground-truth rig,
      projected to 2-D (PCA and t-SNE, scikit-learn) and coloured by emotion -> a PNG.
    * Linear probes: a logistic regression (scikit-learn, standardised inputs) predicts the
      emotion from each clip-mean embedding; trained on the ``train`` split, accuracy on the
      held-out split. Chance is 1/7 (the corpus has every sentence in all seven emotions). The
      same probe for the sentence (on held-out clips of sentences the train split has) shows
      what the content embedding carries instead.
    * Swap test: for a clip x (sentence s, emotion a) and a clip y of another sentence in
      another emotion b (same voice), decode ``D(E_c(x), E_e(y))``, y's emotion embedding
      resampled in time to x's length. The corpus holds the answer: z, sentence s in emotion b
      by the same voice, time-warped onto x (:func:`train.batches.warp`). The swapped upper face
      (rig.S_UP) should be nearer z's than x's (mean squared error over S_UP); its lips
      (rig.S_LIP) should be x's sentence in emotion b, within ``[ablations] swap_lip_mle`` of
      z's lips, and nearer them than y's (whose words they must not take), all measured with
      the MLE of :mod:`medtalk_core.metrics` (per frame the largest squared lip error). The MLE
      to x's own lips is reported beside the ground truth's, MLE(z, x): in this corpus the
      emotions drive lip controls too (mouth corners, upper-lip raise, stretch), so the lips
      *should* move away from x's by about that much.

The results go between ``<!-- disentangle:begin -->`` and ``<!-- disentangle:end -->`` of
``--results``, the figure to ``--figure``.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from medtalk_core import rig
from medtalk_core.metrics import clip_metrics

CHANCE = 1 / len(rig.EMOTIONS)
NEAR_CHANCE = 2.0
"""A probe accuracy below ``NEAR_CHANCE * CHANCE`` counts as "near chance" in the text."""


def clip_means(motion, utts) -> tuple[np.ndarray, np.ndarray]:
    """Per-clip time means of ``E_e(rig)`` and ``E_c(rig)``: float32 ``(N, E)`` and ``(N, C)``.
    ``motion``: anything with ``encode_emotion`` / ``encode_content`` of ``(1, T, 174)``."""
    import torch

    e, c = [], []
    with torch.inference_mode():
        for u in utts:
            r = torch.from_numpy(np.asarray(u.rig, np.float32))[None]
            e.append(motion.encode_emotion(r)[0].mean(0).numpy())
            c.append(motion.encode_content(r)[0].mean(0).numpy())
    return np.stack(e).astype(np.float32), np.stack(c).astype(np.float32)


def probe_accuracy(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                   y_test: np.ndarray) -> float:
    """Held-out accuracy of a linear probe: logistic regression on standardised features
    ``(N, D)`` with integer labels ``(N,)``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    probe.fit(x_train, y_train)
    return float(probe.score(x_test, y_test))


def project_2d(x: np.ndarray, method: str, seed: int = 0) -> np.ndarray:
    """``(N, D) -> (N, 2)`` by ``"pca"`` or ``"tsne"`` (scikit-learn) of standardised features."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from sklearn.preprocessing import StandardScaler

    z = StandardScaler().fit_transform(x)
    if method == "pca":
        return PCA(2, random_state=seed).fit_transform(z)
    return TSNE(2, init="pca", perplexity=min(30.0, (len(z) - 1) / 3), random_state=seed
                ).fit_transform(z)


def swap_scores(swapped: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray
                ) -> dict[str, float]:
    """One swap ``D(E_c(x), E_e(y))`` against x, y and the answer z (x's sentence in y's
    emotion), all ``(T, 174)`` on x's timeline: ``up_to_z`` / ``up_to_x``: mean squared error over
    S_UP to z's / x's upper face; ``lip_mle_z`` / ``lip_mle_x`` / ``lip_mle_y``: MLE of the swapped
    lips against z's, x's, y's; ``lip_mle_zx``: MLE of z's lips against x's (ground truth)."""
    up = rig.S_UP
    return {"up_to_z": float(((swapped[:, up] - z[:, up]) ** 2).mean()),
            "up_to_x": float(((swapped[:, up] - x[:, up]) ** 2).mean()),
            "lip_mle_z": clip_metrics(swapped, z)["MLE"],
            "lip_mle_x": clip_metrics(swapped, x)["MLE"],
            "lip_mle_y": clip_metrics(swapped, y)["MLE"],
            "lip_mle_zx": clip_metrics(z, x)["MLE"]}


def resample(seq, frames: int):
    """Linear resampling in time of a ``(B, T, D)`` tensor to ``(B, frames, D)``."""
    import torch.nn.functional as F

    return F.interpolate(seq.transpose(1, 2), size=frames, mode="linear",
                         align_corners=True).transpose(1, 2)


def swap_test(motion, utts, bound: float, seed: int = 0) -> dict:
    """The swap test: for every clip x of ``utts`` and every other emotion b, one clip y of
    another sentence in emotion b by the same voice (drawn with ``seed``), whose answer z (x's
    sentence, emotion b, same voice) is in ``utts``.

    Returns:
        Means over pairs of :func:`swap_scores`; ``toward_z``: the share of pairs whose upper face
        is nearer z's than x's; ``pairs``; ``bound``; ``passed``: on average the upper face is
        nearer z's than x's, the lip MLE to z is within ``bound`` and below the one to y.
    """
    import torch

    from .batches import warp

    by_key = {(u.sentence, u.voice, u.emotion): u for u in utts}
    pool = defaultdict(list)
    for u in utts:
        pool[(u.voice, u.emotion)].append(u)
    rng = np.random.default_rng(seed)
    rows = []
    with torch.inference_mode():
        for x in utts:
            trio = []
            for b in range(len(rig.EMOTIONS)):
                z = by_key.get((x.sentence, x.voice, b))
                others = [u for u in pool[(x.voice, b)] if u.sentence != x.sentence]
                if b != x.emotion and z is not None and others:
                    trio.append((others[rng.integers(len(others))], warp(z, x)))
            if not trio:
                continue
            T = len(x.rig)
            xr = torch.from_numpy(np.asarray(x.rig, np.float32))[None]
            c = motion.encode_content(xr)
            for y, z_w in trio:
                yr = torch.from_numpy(np.asarray(y.rig, np.float32))[None]
                swapped = motion.decode(c, resample(motion.encode_emotion(yr), T))[0].numpy()
                sc = swap_scores(swapped, xr[0].numpy(), resample(yr, T)[0].numpy(), z_w)
                rows.append({**sc, "toward_z": float(sc["up_to_z"] < sc["up_to_x"])})
    out = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]} if rows else {}
    out.update(pairs=len(rows), bound=bound)
    out["passed"] = (bool(rows) and out["up_to_z"] < out["up_to_x"]
                     and out["lip_mle_z"] <= bound and out["lip_mle_z"] < out["lip_mle_y"])
    return out


def sentence_probes(e_tr, c_tr, e_te, c_te, train, test) -> dict:
    """Sentence-probe accuracies of E_e and E_c clip means (held-out clips of train sentences):
    ``{"sentence_e", "sentence_c", "sentences", "sentence_clips"}``."""
    ids = {s: i for i, s in enumerate(sorted({u.sentence for u in train}))}
    keep = np.array([u.sentence in ids for u in test])
    y_tr = np.array([ids[u.sentence] for u in train])
    y_te = np.array([ids[u.sentence] for u, k in zip(test, keep) if k])
    return {"sentence_e": probe_accuracy(e_tr, y_tr, e_te[keep], y_te),
            "sentence_c": probe_accuracy(c_tr, y_tr, c_te[keep], y_te),
            "sentences": len(ids), "sentence_clips": int(keep.sum())}


def plot_projections(points: dict[str, np.ndarray], labels: np.ndarray, path: Path) -> None:
    """Scatter plots of 2-D projections (``{"E_e, PCA": (N, 2), ...}``) coloured by emotion,
    saved as a PNG (atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 2
    rows = (len(points) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(9, 4.2 * rows))
    colors = plt.get_cmap("tab10")
    for ax, (title, p) in zip(np.ravel(axes), points.items()):
        for e, name in enumerate(rig.EMOTIONS):
            sel = labels == e
            ax.scatter(p[sel, 0], p[sel, 1], s=7, color=colors(e), label=name, alpha=0.8)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    np.ravel(axes)[0].legend(fontsize=7, markerscale=2, loc="best")
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)


def _probe_sentence(pe: float, pc: float, swap_passed: bool) -> str:
    """What the two probe accuracies say, generated from them."""
    if pe < NEAR_CHANCE * CHANCE:
        return "E_e does not carry the emotion linearly: the disentanglement failed."
    if pc < NEAR_CHANCE * CHANCE:
        return "The emotion is in E_e and hardly in E_c, as the disentanglement intends."
    return ("The emotion is in E_e, but E_c is not free of it: a linear read-out recovers the "
            "emotion from the content embedding too" + (
                ", although the decoder takes the expression from E_e (swap test below)."
                if swap_passed else ", and the swap test below fails as well."))


def report(res: dict, figure: Path, results: Path, command: str, ctx) -> str:
    """The markdown of the disentanglement section, its sentences generated from ``res``."""
    pe, pc, sw = res["probe_e"], res["probe_c"], res["swap"]

    def level(acc):
        return ("near chance" if acc < NEAR_CHANCE * CHANCE
                else f"{acc / CHANCE:.1f}× chance")

    fig = os.path.relpath(figure, results.parent)
    toward = ("is nearer z's (y's emotion) than x's" if sw["up_to_z"] < sw["up_to_x"]
              else "is not nearer z's (y's emotion) than x's")
    lips = "within" if sw["lip_mle_z"] <= sw["bound"] else "outside"
    verdict = "passes" if sw["passed"] else "fails"
    return "\n".join([
        "## Disentanglement evidence",
        "",
        (f"Written by `{command}` ({time.strftime('%Y-%m-%d %H:%M')}) for `{ctx.ref_path.name}` "
         f"on the ground-truth rig of split `{ctx.split}` ({len(ctx.test)} utterances; the "
         f"probes train on the {len(ctx.train)} `train` utterances)."),
        "",
        f"![E_e and E_c clip means, PCA and t-SNE, coloured by emotion]({fig})",
        "",
        "| embedding | width | emotion probe accuracy (held-out) | sentence probe accuracy |",
        "| --- | ---: | ---: | ---: |",
        f"| E_e (emotion) | {res['dim_e']} | {pe:.3f} | {res['sentence_e']:.3f} |",
        f"| E_c (content) | {res['dim_c']} | {pc:.3f} | {res['sentence_c']:.3f} |",
        f"| chance | | {CHANCE:.3f} | {1 / res['sentences']:.3f} |",
        "",
        (f"Probe: logistic regression on each clip's time-mean embedding (standardised); the "
         f"sentence probe on the {res['sentence_clips']} held-out clips of the "
         f"{res['sentences']} sentences the train split has. E_e's emotion accuracy is {pe:.3f} "
         f"({level(pe)}), E_c's {pc:.3f} ({level(pc)}; \"near chance\" = below "
         f"{NEAR_CHANCE:g}× chance). " + _probe_sentence(pe, pc, sw["passed"])
         + f" The sentence is read from E_c with accuracy {res['sentence_c']:.3f} and from E_e "
         f"with {res['sentence_e']:.3f}."),
        "",
        (f"Swap test, `D(E_c(x), E_e(y))` over {sw['pairs']} pairs: x and y of different "
         "sentences and emotions by the same voice, y's emotion embedding resampled to x's "
         "length; z = x's sentence in y's emotion by the same voice (in the corpus), time-warped "
         "onto x, is the answer:"),
        "",
        "| quantity | value |",
        "| --- | ---: |",
        f"| upper-face (S_up) MSE of the swap to z's | {sw['up_to_z']:.5f} |",
        f"| upper-face (S_up) MSE of the swap to x's | {sw['up_to_x']:.5f} |",
        f"| pairs whose upper face is nearer z's than x's | {100 * sw['toward_z']:.1f} % |",
        f"| lip MLE of the swap against z's lips | {sw['lip_mle_z']:.5f} |",
        f"| bound on that MLE (`[ablations] swap_lip_mle`) | {sw['bound']:.5f} |",
        f"| lip MLE of the swap against y's lips (y's words) | {sw['lip_mle_y']:.5f} |",
        f"| lip MLE of the swap against x's lips | {sw['lip_mle_x']:.5f} |",
        f"| ground truth: lip MLE of z against x | {sw['lip_mle_zx']:.5f} |",
        "",
        (f"The swapped upper face {toward} on average ({100 * sw['toward_z']:.1f} % of the pairs); "
         f"the swapped lips are {lips} the stated bound of z's (MLE {sw['lip_mle_z']:.5f} against "
         f"{sw['bound']:g}) and {'nearer' if sw['lip_mle_z'] < sw['lip_mle_y'] else 'not nearer'} "
         f"z's than y's ({sw['lip_mle_y']:.5f}): the swap test {verdict}. Against x's own lips "
         f"the MLE is {sw['lip_mle_x']:.5f}, where the ground truth's change of emotion alone "
         f"gives {sw['lip_mle_zx']:.5f}."),
    ])


def run_disentangle(args, ctx) -> dict:
    """Compute the evidence for ``ctx.ref_path``, save the figure, write the results section."""
    from medtalk_core.checkpoint import load_model
    from medtalk_core.errors import MedtalkError

    from .results import write_section

    model, _ = load_model(ctx.ref_path)
    t0 = time.time()
    e_tr, c_tr = clip_means(model.motion, ctx.train)
    e_te, c_te = clip_means(model.motion, ctx.test)
    y_tr = np.array([u.emotion for u in ctx.train])
    y_te = np.array([u.emotion for u in ctx.test])
    if len(set(y_tr)) < 2:
        raise MedtalkError("the train split has fewer than two emotions: no probe possible")
    res = {"probe_e": probe_accuracy(e_tr, y_tr, e_te, y_te),
           "probe_c": probe_accuracy(c_tr, y_tr, c_te, y_te),
           "dim_e": e_te.shape[1], "dim_c": c_te.shape[1],
           **sentence_probes(e_tr, c_tr, e_te, c_te, ctx.train, ctx.test),
           "swap": swap_test(model.motion, ctx.test, ctx.cfg.ablations.swap_lip_mle)}
    points = {f"{name}, {method.upper() if method == 'pca' else 't-SNE'}": project_2d(x, method)
              for method in ("pca", "tsne") for name, x in (("E_e", e_te), ("E_c", c_te))}
    plot_projections(points, y_te, args.figure)
    command = "medtalk " + shlex.join(sys.argv[1:])
    text = report(res, args.figure, args.results, command, ctx)
    write_section(args.results, "disentangle", text)
    print(text)
    print(f"disentanglement evidence in {time.time() - t0:.0f} s: {args.figure}, {args.results}")
    return res
