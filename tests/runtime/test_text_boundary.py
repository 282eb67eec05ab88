"""What the synthesizer promises about its text input (README): nothing to say is a ValueError,
and every message speaks of the caller's input."""

from __future__ import annotations

import pytest

from flowaudio.runtime.contract import SynthesisConfig
from flowaudio.runtime.synthesizer import MAX_NUMBER_DIGITS, Voice


@pytest.fixture(scope="module")
def voice(tiny_voice):
    return Voice.load(tiny_voice, threads=1)


@pytest.mark.parametrize("text", ["...", "()[]{}", "«", "!?", ". " * 3000, "« » ... ( )"])
def test_punctuation_alone_is_a_value_error(voice, text):
    with pytest.raises(ValueError, match="no pronounceable text"):
        voice.synthesize(text, seed=0)
    with pytest.raises(ValueError, match="no pronounceable text"):
        next(voice.stream(text, config=SynthesisConfig(seed=0)))


def test_punctuation_between_sentences_adds_no_speech(voice):
    plain = voice.synthesize("Hello there.", seed=0, steps=2)
    dotted = voice.synthesize("Hello there. ...", seed=0, steps=2)
    # the "..." sentence only keeps its pause: no model output for it
    pause = dotted.duration - plain.duration
    assert 0 <= pause <= voice.meta.defaults.sentence_pause + 0.01


def test_a_number_too_long_to_read_is_named_in_the_message(voice):
    with pytest.raises(ValueError, match="number of 5000 digits") as err:
        voice.synthesize("Pay " + "9" * 5000 + " now.", seed=0)
    assert "set_int_max_str_digits" not in str(err.value)
    with pytest.raises(ValueError, match=f"longer than {MAX_NUMBER_DIGITS}"):
        voice.synthesize("1," * 1200 + "5", seed=0)  # separators do not split a number


@pytest.mark.parametrize("batch_size", ["2", 0, 1.5, True])
def test_batch_size_must_be_a_positive_integer(voice, batch_size):
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        voice.synthesize_batch(["Hello."], batch_size=batch_size)
