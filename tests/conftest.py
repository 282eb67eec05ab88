"""Shared test settings: deterministic hypothesis, quiet espeak, CPU only."""

import os

import pytest
from hypothesis import settings

# Deterministic property tests: the same examples on every run and machine, no example database.
settings.register_profile("flowaudio", derandomize=True, database=None, deadline=None)
settings.load_profile("flowaudio")

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


@pytest.fixture(scope="session")
def teacher_cache(tmp_path_factory):
    """A tiny real corpus: two flite teachers x 10 sentences, prepared at 16 kHz."""
    from flowaudio.data.corpus import build_corpus
    from flowaudio.data.prepare import prepare_dataset

    root = tmp_path_factory.mktemp("teacher")
    sentences = root / "sentences.txt"
    sentences.write_text(
        "\n".join(
            [
                "The cat sat on the mat.",
                "A bird in the hand is worth two in the bush.",
                "She sells sea shells by the sea shore.",
                "Every cloud has a silver lining.",
                "The quick brown fox jumps over the lazy dog.",
                "Time flies like an arrow.",
                "Never put off until tomorrow what you can do today.",
                "All that glitters is not gold.",
                "Actions speak louder than words.",
                "Beauty is in the eye of the beholder.",
                "Curiosity killed the cat.",
                "Fortune favours the bold.",
            ]
        )
        + "\n"
    )
    build_corpus(
        root / "corpus",
        ["flite:slt", "flite:rms"],
        sentences=sentences,
        per_voice=10,
        heldout=2,
        seed=0,
        progress=False,
    )
    prepare_dataset(root / "corpus", root / "cache", workers=1, progress=False)
    return root / "cache"
