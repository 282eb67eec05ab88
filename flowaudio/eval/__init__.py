"""Evaluation of voices: ``flowaudio evaluate`` (:mod:`flowaudio.eval.report`).

- :mod:`~flowaudio.eval.asr`: intelligibility, pocketsphinx transcripts and corpus-level WER;
- :mod:`~flowaudio.eval.metrics`: the numpy math (mel-cepstra, DTW, MCD, cosine similarity
  matrix, quality bars), testable without any model;
- :mod:`~flowaudio.eval.speaker`: resemblyzer speaker embeddings (torch, imported lazily);
- :mod:`~flowaudio.eval.testset`: reading test sets (``heldout.csv`` or plain text);
- :mod:`~flowaudio.eval.report` and :mod:`~flowaudio.eval.plots`: the run and its report.

Needs the ``eval`` extra (pocketsphinx, jiwer, resemblyzer, matplotlib); nothing here downloads
anything: the pocketsphinx wheel ships its English model and resemblyzer its encoder weights.
"""
