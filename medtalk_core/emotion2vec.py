"""emotion2vec audio emotion features (the paper's FIM queries) through FunASR, offline.

emotion2vec (Ma et al. 2023, data2vec 2.0 style, 768-d for emotion2vec_base) ships as a FunASR
model folder: ``config.yaml`` (``model: Emotion2vec`` and its ``model_conf``) and ``model.pt``
(the state dict), sometimes with ``tokens.txt`` and a ``configuration.json`` that names other
files for them. It is loaded with ``funasr.AutoModel(model=FOLDER)`` and run with
``generate(..., granularity="frame", extract_embedding=True)``: one 768-d frame per 20 ms of
16 kHz audio (a wav2vec2-like convolution stack, 320-sample hop, 400-sample receptive field),
put on the 50 Hz grid of :class:`medtalk_core.framegrid.FrameGrid`.

FunASR (``pip install funasr``, or ``pip install -e .[backbones]``) is imported only here, when
the backend is chosen.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from pathlib import Path

import numpy as np

from .errors import MedtalkError, ModelNotFoundError
from .features import Features
from .framegrid import CONTEXT_S, RATE, WINDOW_S, FrameGrid

INSTALL_HINT = "pip install funasr==1.4.16 (or pip install -e .[backbones])"


def _model_files(folder: Path) -> tuple[str, str]:
    """The config and weight files FunASR will read from ``folder``: those that
    ``configuration.json`` names in ``file_path_metas`` if the folder has one (FunASR prefers
    it, and would start from random weights if its file were missing), else ``config.yaml`` and
    ``model.pt``."""
    metas, conf = {}, folder / "configuration.json"
    if conf.is_file():
        try:
            metas = json.loads(conf.read_text()).get("file_path_metas", {})
        except (ValueError, AttributeError):
            raise ModelNotFoundError(f"{conf} is not a FunASR configuration") from None
    return metas.get("config", "config.yaml"), metas.get("init_param", "model.pt")


@contextlib.contextmanager
def _quiet():
    """Keep FunASR's side effects out of the caller: its import sets the root logger to INFO
    with a handler and prints notices on stdout (which may carry a command's output)."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield root
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers


class Emotion2vecEncoder:
    """Frame-level emotion2vec features of a clip.

    The clip is padded onto the 50 Hz grid and run in windows of :data:`WINDOW_S` with
    :data:`CONTEXT_S` context; FunASR normalises each window (layer norm over its samples) when
    the model's config says ``normalize``.

    Args:
        model_path: a FunASR emotion2vec folder (``config.yaml`` and ``model.pt``, or the files
            its ``configuration.json`` names).
        window_s, context_s: see :meth:`medtalk_core.framegrid.FrameGrid.encode`.

    Raises:
        MedtalkError: FunASR is not installed, the folder holds another FunASR model, or its
            convolutions are not 50 Hz.
        ModelNotFoundError: the folder lacks its config or weights, or they do not load.
    """

    rate = RATE

    def __init__(self, model_path: str, window_s: float = WINDOW_S, context_s: float = CONTEXT_S):
        import torch

        folder = Path(model_path)
        missing = [f for f in _model_files(folder) if not (folder / f).is_file()]
        if missing:
            raise ModelNotFoundError(f"emotion2vec folder {folder} lacks {', '.join(missing)} "
                                     "(a FunASR model folder, e.g. emotion2vec/emotion2vec_base)")
        with _quiet() as root:
            try:
                from funasr import AutoModel
            except ImportError as e:
                raise MedtalkError(f"emotion2vec needs FunASR ({e}): {INSTALL_HINT}") from None
            root.setLevel(logging.WARNING)
            try:
                self._auto = AutoModel(model=str(folder), device="cpu", disable_update=True,
                                       disable_pbar=True, ncpu=torch.get_num_threads())
            except (AssertionError, KeyError, OSError, RuntimeError) as e:
                raise ModelNotFoundError(f"cannot load emotion2vec from {folder}: {e}") from None
        model = self._auto.model
        if type(model).__name__ != "Emotion2vec":
            raise MedtalkError(f"{folder} holds a FunASR {type(model).__name__}, not emotion2vec")
        convs = model.modality_encoders["AUDIO"].feature_enc_layers  # [(dim, kernel, stride)]
        self.grid = FrameGrid.from_convs([k for _, k, _ in convs], [s for _, _, s in convs])
        self.dim = int(model.cfg.embed_dim)
        self.window_s, self.context_s = window_s, context_s

    def _run(self, window: np.ndarray) -> np.ndarray:
        with _quiet():
            res = self._auto.generate(np.ascontiguousarray(window, np.float32),
                                      granularity="frame", extract_embedding=True)
        return np.asarray(res[0]["feats"], np.float32)

    def encode(self, audio16k: np.ndarray) -> Features:
        """float ``(N,)`` 16 kHz audio -> Features float32 ``(ceil(N / 320), dim)`` at 50 Hz."""
        x = np.asarray(audio16k, np.float32).reshape(-1)
        return Features(self.grid.encode(x, self._run, self.dim, self.window_s, self.context_s),
                        self.rate)
