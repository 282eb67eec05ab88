"""Evaluation: intelligibility (pocketsphinx WER) and, later, speaker similarity and MCD.

Needs the ``eval`` extra (pocketsphinx, jiwer, ...); nothing here downloads anything: the
pocketsphinx wheel ships its English acoustic model and dictionary.
"""
