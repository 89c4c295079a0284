"""Synthetic training corpus: text -> emotional speech -> phone timings -> 60 fps face-board rig.

Entry point: ``medtalk synth --out DIR`` (:mod:`train.corpus.synth`). See ``docs/corpus.md``.
"""
