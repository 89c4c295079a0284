"""How low can lip error go with L seconds of lookahead? A floor for ``medtalk bench skew``.

Run: ``python benchmarks/lookahead_floor.py --data corpus [--lookahead-ms 40 57 90 140]``.

The corpus's lips are a dominance-weighted blend of phone targets (``train/corpus/face.py``),
and a phone's dominance starts rising ``TAU_ANTICIPATE`` before it (anticipatory
coarticulation). A live model that emits frame ``t`` with audio up to ``t + L`` cannot know the
phones that start after ``t + L``. Two phone-level oracles show what that costs, without any
audio model in the way:

* truncated: the corpus's own lower face built from the phones that started by ``t + L`` only
  (the exact timings and targets of every phone heard, nothing of the next);
* learned: a causal GRU that reads the exact phone timeline up to ``t + L`` (phone identity,
  prominence, onset, emotion's jaw scale) and is trained on the train split to predict the
  lips, so it also learns the best guess of what comes next.

Both are scored with MLE (paper eq. 15) against the corpus's lower face on the held-out split.
Prominence uses the acoustic cue only (no engine lexical stress) for truth and oracles alike.
An audio model can also hear acoustic transitions into the next phone, so these are estimates of
the floor, not strict bounds. The learned oracle at a long lookahead checks that the GRU can fit
the lips at all (it must come close to 0).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from medtalk_core import rig
from medtalk_core.corpus import evenly_spaced, read_alignment, read_manifest
from medtalk_core.metrics import clip_metrics
from train.corpus import face

FPS = rig.FPS


def load_split(data: Path, split: str, count: int | None) -> list[dict]:
    """Manifest rows of one split; with ``count``, the ones ``medtalk bench skew`` picks."""
    rows = [r for r in read_manifest(data) if r["split"] == split]
    return evenly_spaced(rows, count) if count else rows


def utterance(data: Path, row: dict) -> dict:
    """Phones, prominence and the true lower face float32 ``(T, 174)`` of one utterance."""
    align = read_alignment(data, row["id"])
    phones = [(p["phone"], p["start"], p["end"]) for p in align["phones"]]
    audio, sr = sf.read(data / "wav" / f"{row['id']}.wav", dtype="float32")
    t = np.arange(len(audio) * FPS // sr) / FPS
    prom = face.prominence(audio, sr, phones, None)
    jaw = face.JAW_SCALE[row["emotion"]]
    return {"phones": phones, "prom": prom, "jaw": jaw, "t": t,
            "lips": face.lower_face(phones, prom, t, jaw)}


def truncated(u: dict, lookahead: float) -> np.ndarray:
    """float32 ``(T, 174)``: frame ``t``'s lower face from the phones started by ``t + L``."""
    starts = np.array([p[1] for p in u["phones"]])
    out = np.zeros_like(u["lips"])
    for i, t in enumerate(u["t"]):
        k = int((starts <= t + lookahead).sum())
        out[i] = face.lower_face(u["phones"][:k], u["prom"][:k], u["t"][i:i + 1], u["jaw"])[0]
    return out


def mle(pred: np.ndarray, true: np.ndarray) -> float:
    """MLE (paper eq. 15) of ``(T, 174)`` clips, as :func:`medtalk_core.metrics.clip_metrics`."""
    return clip_metrics(pred, true)["MLE"]


def timeline(u: dict, lookahead: float, phone_index: dict[str, int]) -> np.ndarray:
    """float32 ``(T, P + 3)``: row ``t`` describes time ``t / 60 + L``: one-hot of the phone
    active then, its prominence, 1 if a phone began since the previous row, the jaw scale."""
    n_p = len(phone_index)
    x = np.zeros((len(u["t"]), n_p + 3), np.float32)
    starts = np.array([p[1] for p in u["phones"]])
    when = u["t"] + lookahead
    k = np.clip(np.searchsorted(starts, when, side="right") - 1, 0, len(starts) - 1)
    x[np.arange(len(k)), [phone_index[u["phones"][j][0]] for j in k]] = 1.0
    x[:, n_p] = u["prom"][k]
    x[1:, n_p + 1] = (k[1:] != k[:-1]).astype(np.float32)
    x[:, n_p + 2] = u["jaw"]
    return x


class CausalOracle(torch.nn.Module):
    """A 2-layer GRU from phone-timeline rows ``(B, T, D)`` to lip controls ``(B, T, |S_LIP|)``."""

    def __init__(self, dim: int, hidden: int = 128):
        super().__init__()
        self.gru = torch.nn.GRU(dim, hidden, num_layers=2, batch_first=True)
        self.out = torch.nn.Linear(hidden, len(rig.S_LIP))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.gru(x)[0])


def _batch(items: list[tuple[np.ndarray, np.ndarray]]) -> tuple[torch.Tensor, ...]:
    n = max(len(x) for x, _ in items)
    x = torch.zeros(len(items), n, items[0][0].shape[1])
    y = torch.zeros(len(items), n, items[0][1].shape[1])
    mask = torch.zeros(len(items), n, 1)
    for i, (a, b) in enumerate(items):
        x[i, :len(a)], y[i, :len(b)], mask[i, :len(a)] = torch.from_numpy(a), torch.from_numpy(b), 1
    return x, y, mask


def learned(train: list[dict], test: list[dict], lookahead: float, phone_index: dict[str, int],
            epochs: int, seed: int = 0) -> float:
    """Held-out MLE of a :class:`CausalOracle` trained on ``train`` at lookahead ``L`` (s)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    pairs = [(timeline(u, lookahead, phone_index), u["lips"][:, rig.S_LIP]) for u in train]
    net = CausalOracle(pairs[0][0].shape[1])
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * (-(-len(pairs) // 32)))
    for _ in range(epochs):
        order = rng.permutation(len(pairs))
        for b in range(0, len(order), 32):
            x, y, mask = _batch([pairs[i] for i in order[b:b + 32]])
            loss = (((net(x) - y) ** 2) * mask).sum() / (mask.sum() * y.shape[-1])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    scores = []
    with torch.no_grad():
        for u in test:
            pred = u["lips"].copy()
            pred[:, rig.S_LIP] = net(torch.from_numpy(timeline(u, lookahead, phone_index))[None])[0]
            scores.append(mle(pred, u["lips"]))
    return float(np.mean(scores))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True,
                   help="corpus folder (manifest.csv, align/, wav/)")
    p.add_argument("--count", type=int, default=40, help="held-out utterances (as bench skew)")
    p.add_argument("--lookahead-ms", type=float, nargs="+", default=[0, 40, 57, 90, 140, 300])
    p.add_argument("--epochs", type=int, default=12, help="learned-oracle training epochs")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    test = [utterance(args.data, r) for r in load_split(args.data, "test", args.count)]
    train = [utterance(args.data, r) for r in load_split(args.data, "train", None)]
    names = sorted({ph[0] for u in train + test for ph in u["phones"]})
    phone_index = {n: i for i, n in enumerate(names)}
    print(f"{len(train)} train, {len(test)} held-out utterances; MLE of the lips")
    print(" lookahead   truncated   learned")
    for ms in args.lookahead_ms:
        L = ms / 1000
        trunc = np.mean([mle(truncated(u, L), u["lips"]) for u in test])
        fit = learned(train, test, L, phone_index, args.epochs)
        print(f"{ms:7.0f} ms   {trunc:9.4f}   {fit:7.4f}", flush=True)


if __name__ == "__main__":
    main()
