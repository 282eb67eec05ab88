"""Fixtures with generated datasets for the data tests."""

import pytest
from datagen import write_ljspeech, write_multispeaker


@pytest.fixture
def ljspeech_dir(tmp_path):
    return write_ljspeech(tmp_path / "lj")


@pytest.fixture
def multi_dir(tmp_path):
    return write_multispeaker(tmp_path / "multi")
