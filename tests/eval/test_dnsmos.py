"""DNSMOS (speechmos' models) as an artifact alarm: clean speech scores above the same speech
with heavy noise or clipping."""

import subprocess

import numpy as np
import pytest
import soundfile as sf

from flowaudio.eval.dnsmos import Dnsmos, DnsmosScore

pytest.importorskip("speechmos", reason="speechmos is not installed (the eval extra)")


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    wav = tmp_path_factory.mktemp("dnsmos") / "slt.wav"
    text = "The doctor said that the patient would be fine in the morning."
    subprocess.run(["flite", "-voice", "slt", "-t", text, "-o", str(wav)], check=True)
    return sf.read(wav, dtype="float32")


def test_clean_speech_beats_noisy_and_clipped(speech):
    audio, sr = speech
    dnsmos = Dnsmos()
    clean = dnsmos.score(audio, sr)
    rng = np.random.default_rng(0)
    noisy = dnsmos.score(audio + rng.normal(0, 0.1, len(audio)).astype(np.float32), sr)
    clipped = dnsmos.score(np.clip(8 * audio, -0.2, 0.2), sr)
    # measured: clean P.808 3.20, OVRL 2.61; noisy 2.40, 1.50; clipped 2.57, 2.26
    assert clean.p808 > noisy.p808 + 0.5 and clean.ovrl > noisy.ovrl + 0.8, (clean, noisy)
    assert clean.bak > noisy.bak + 1.5  # the noise is in the background
    assert clean.p808 > clipped.p808 + 0.4 and clean.ovrl > clipped.ovrl + 0.2, (clean, clipped)
    assert all(1.0 <= v <= 5.0 for v in vars(clean).values())
    # deterministic, and any sample rate is resampled to 16 kHz
    assert dnsmos.score(audio, sr) == clean
    up = dnsmos.score(np.repeat(audio, 2), 2 * sr)
    assert abs(up.ovrl - clean.ovrl) < 0.15


def test_score_arithmetic_and_errors():
    a, b = DnsmosScore(3.0, 3.5, 4.0, 2.5), DnsmosScore(2.0, 2.5, 3.0, 1.5)
    assert DnsmosScore.mean([a, b]) == DnsmosScore(2.5, 3.0, 3.5, 2.0)
    assert b.minus(a) == DnsmosScore(-1.0, -1.0, -1.0, -1.0)
    with pytest.raises(ValueError, match="at least one"):
        DnsmosScore.mean([])
    with pytest.raises(ValueError, match="mono"):
        Dnsmos().score(np.zeros((2, 100), np.float32), 16000)
