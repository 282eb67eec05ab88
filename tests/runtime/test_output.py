"""What leaves the runtime: never a clipped sample, files in the format their name says, a
word about text in another language than the voice's."""

import logging

import numpy as np
import pytest
import soundfile as sf

from flowaudio.audio.io import file_formats
from flowaudio.audio.level import OUTPUT_PEAK
from flowaudio.runtime.synthesizer import Voice


@pytest.fixture(scope="module")
def voice(tiny_voice):
    return Voice.load(tiny_voice, threads=1)


def test_a_vocoder_past_full_scale_is_turned_down_not_clipped(voice, monkeypatch):
    vocode = voice.backend.vocode
    quiet = voice.synthesize("The cat sat on the mat.", seed=3)
    gain = 4.0 / float(np.abs(quiet.samples).max())  # 4x full scale
    monkeypatch.setattr(voice.backend, "vocode", lambda mel: gain * vocode(mel))
    loud = voice.synthesize("The cat sat on the mat.", seed=3)
    peak = float(np.abs(loud.samples).max())
    assert peak == pytest.approx(OUTPUT_PEAK, abs=1e-6)  # at the ceiling, not clipped at it:
    assert np.mean(np.abs(loud.samples) >= OUTPUT_PEAK - 1e-6) < 0.001
    # the same waveform, scaled: correlation 1 with the unclipped one
    assert np.corrcoef(loud.samples, quiet.samples)[0, 1] > 0.9999
    chunks = list(voice.stream("The cat sat on the mat.", chunk_frames=8, context_frames=4,
                               config=None))  # fmt: skip
    assert max(float(np.abs(c.samples).max()) for c in chunks) <= OUTPUT_PEAK + 1e-6


def test_quiet_speech_keeps_its_level(voice, monkeypatch):
    vocode = voice.backend.vocode
    made = []

    def quiet(mel):  # peak under 0.1
        made.append(0.1 * np.tanh(vocode(mel)))
        return made[-1]

    monkeypatch.setattr(voice.backend, "vocode", quiet)
    audio = voice.synthesize("Hello there.", seed=1)
    [whole] = made
    np.testing.assert_array_equal(audio.samples, whole[0, : len(audio.samples)])


@pytest.mark.parametrize("fmt", file_formats())
def test_audio_save_writes_the_format_of_the_suffix(voice, tmp_path, fmt):
    audio = voice.synthesize("Hi.", seed=1)
    path = tmp_path / f"hi.{fmt}"
    audio.save(path)
    assert sf.info(path).frames > 0
    with pytest.raises(ValueError, match=r"use one of \.wav"):
        audio.save(tmp_path / "hi.xyz")


def test_text_in_another_language_is_named_or_refused(voice, caplog):
    from flowaudio.runtime.contract import SettingError, SynthesisConfig
    from flowaudio.text.language import LanguageCheck, LanguageMismatchError

    with pytest.raises(ValueError, match=r"no pronounceable .* looks like Cyrillic script"):
        voice.synthesize("Привет, как дела?", config=SynthesisConfig(language_check="off"))
    russian = "Hello, Москва! Как дела?"
    with caplog.at_level(logging.WARNING, logger="flowaudio.text.language"):
        voice.estimate_seconds(russian)  # an estimate does not warn; the synthesis does, once
        assert not _language_warnings(caplog)
        voice.synthesize(russian, seed=1)
    [record] = _language_warnings(caplog)
    assert "Cyrillic script" in record.getMessage() and "voice 'tiny'" in record.getMessage()
    strict = SynthesisConfig(language_check="strict")
    assert strict.language_check is LanguageCheck.STRICT
    with pytest.raises(LanguageMismatchError, match="Cyrillic"):
        voice.synthesize(russian, config=strict)
    with pytest.raises(LanguageMismatchError, match="French"):
        next(voice.stream("Le chat est sur la table et il dort.", config=strict))
    voice.synthesize("Hello there, general.", config=strict)  # English: fine
    with pytest.raises(SettingError, match="unknown language_check"):
        SynthesisConfig(language_check="sometimes")


def _language_warnings(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "flowaudio.text.language"]
