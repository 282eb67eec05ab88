"""pocketsphinx on real teacher speech (flite) versus noise: the WER tool can tell them apart."""

import subprocess

import numpy as np
import pytest
import soundfile as sf

from flowaudio.eval.asr import Transcriber, normalize_for_wer, word_error_rate

SENTENCE = "The doctor said that the patient would be fine in the morning."


@pytest.fixture(scope="module")
def transcriber():
    return Transcriber()


def test_normalize_for_wer():
    assert normalize_for_wer("Dr. Smith's dog-house cost $5!") == (
        "doctor smith's dog house cost five dollars"
    )
    # quotation marks are not part of a word; an apostrophe inside one is
    assert normalize_for_wer("A writer in 'Life' magazine ... ' don't") == (
        "a writer in life magazine don't"
    )


def test_teacher_speech_is_recognised_and_noise_is_not(transcriber, tmp_path):
    wav = tmp_path / "slt.wav"
    subprocess.run(["flite", "-voice", "slt", "-t", SENTENCE, "-o", str(wav)], check=True)
    speech, sr = sf.read(wav, dtype="float32")
    good = word_error_rate([SENTENCE], [transcriber.transcribe(speech, sr)])
    noise = np.random.default_rng(0).uniform(-0.3, 0.3, len(speech)).astype(np.float32)
    bad = word_error_rate([SENTENCE], [transcriber.transcribe(noise, sr)])
    assert good.wer <= 0.35, good  # measured 0.0-0.2 for flite slt on such sentences
    assert bad.wer >= 0.8, bad
    # any sample rate works (resampled to 16 kHz)
    up = transcriber.transcribe(np.repeat(speech, 2), 2 * sr)
    assert word_error_rate([SENTENCE], [up]).wer <= 0.35


def test_a_transcript_does_not_depend_on_what_was_decoded_before(transcriber, tmp_path):
    # Noisy speech is where pocketsphinx's carried-over noise and CMN estimates changed the words.
    wav = tmp_path / "slt.wav"
    subprocess.run(["flite", "-voice", "slt", "-t", SENTENCE, "-o", str(wav)], check=True)
    speech, sr = sf.read(wav, dtype="float32")
    rng = np.random.default_rng(0)
    noisy = (speech + rng.normal(0, 0.05, len(speech))).astype(np.float32)
    alone = Transcriber().transcribe(noisy, sr)
    hum = 0.9 * np.sin(2 * np.pi * 100 * np.arange(2 * sr) / sr)
    for before in (rng.normal(0, 0.3, 3 * sr), hum, speech):
        transcriber.transcribe(before.astype(np.float32), sr)
        assert transcriber.transcribe(noisy, sr) == alone


def test_wer_counts_and_errors():
    r = word_error_rate(["a b c d", "e f"], ["a x c", "e f g"])
    assert (r.substitutions, r.deletions, r.insertions, r.words) == (1, 1, 1, 6)
    assert r.wer == pytest.approx(0.5)
    with pytest.raises(ValueError, match="as many"):
        word_error_rate(["a"], [])
    with pytest.raises(ValueError, match="at least one word"):
        word_error_rate(["..."], ["a"])
