"""Fine-tuning a vocoder: --init from a voice or run, and training on the acoustic model's own
(teacher-forced) mels instead of the recordings'."""

import json

import numpy as np
import pytest
import torch

from flowaudio.cli import main
from flowaudio.config import ConfigError
from flowaudio.train.acoustic_mels import (
    AcousticMelSettings,
    acoustic_mels_dir,
    generate_acoustic_mels,
    load_acoustic_source,
)
from flowaudio.train.checkpoint import latest_checkpoint, load_checkpoint
from flowaudio.train.config import VOCODER_RUN_PRESETS
from flowaudio.train.dataset import TTSDataset
from flowaudio.train.vocoder import VocoderTask, train_vocoder


def _voice_vocoder(voice):
    from flowaudio.export.voice import load_vocoder

    return load_vocoder(voice).model


def test_init_starts_the_generator_from_the_voices_vocoder(teacher_cache, tiny_voice):
    source = _voice_vocoder(tiny_voice).state_dict()
    task = VocoderTask(VOCODER_RUN_PRESETS["tiny"], teacher_cache, init=tiny_voice)
    state = task.generator.state_dict()
    assert set(state) == set(source)
    for key, value in source.items():
        torch.testing.assert_close(state[key], value, rtol=0, atol=0, msg=key)
    assert task.metadata()["init"]["source"] == "voice:tiny"
    fresh = VocoderTask(VOCODER_RUN_PRESETS["tiny"], teacher_cache)
    assert any(not torch.equal(fresh.generator.state_dict()[k], v) for k, v in source.items()), (
        "without --init the generator is not the voice's"
    )
    assert fresh.metadata()["init"] is None and fresh.metadata()["mels"] == "recordings"


def test_init_with_another_generator_shape_is_a_clear_error(teacher_cache, tiny_voice):
    with pytest.raises(ConfigError, match="does not have the shape"):
        VocoderTask(VOCODER_RUN_PRESETS["small"], teacher_cache, init=tiny_voice)


def test_acoustic_mels_match_the_recordings_frames_and_are_deterministic(
    teacher_cache, tiny_acoustic_run, tmp_path
):
    import shutil

    cache = tmp_path / "cache"
    shutil.copytree(teacher_cache, cache)
    model, settings, name = load_acoustic_source(tiny_acoustic_run)
    # A run that is not a one-step student samples like the teacher's shipped default.
    assert (settings.steps, settings.guidance_scale) == (2, 1.5)
    assert name.startswith("run:")
    folder = generate_acoustic_mels(model, cache, settings, name, progress=False)
    assert folder == acoustic_mels_dir(model, settings, cache)
    manifest = json.loads((folder / "complete.json").read_text())
    assert manifest["source"] == name and set(manifest["splits"]) == {"train", "val"}
    data = TTSDataset(cache, "train")
    for i in range(len(data)):
        item = data[i]
        mel = np.load(folder / f"{item['id']}.npy")
        assert mel.shape == tuple(item["mel"].shape)
        assert np.isfinite(mel).all()
        assert not np.allclose(mel, item["mel"].numpy(), atol=0.1)  # the model's, not the cache's
    # Resume: a lost file is regenerated bit for bit (each item's noise has its own seed).
    victim = folder / f"{data[3]['id']}.npy"
    before = victim.read_bytes()
    victim.unlink()
    (folder / "complete.json").unlink()
    generate_acoustic_mels(model, cache, settings, name, progress=False)
    assert victim.read_bytes() == before
    # Other settings live in another folder.
    other = AcousticMelSettings(steps=1, guidance_scale=1.0)
    assert acoustic_mels_dir(model, other, cache) != folder


def test_train_vocoder_on_acoustic_mels_and_resume_keeps_them(
    teacher_cache, tiny_voice, tiny_acoustic_run, tmp_path
):
    import shutil

    torch.set_num_threads(1)
    cache = tmp_path / "cache"
    shutil.copytree(teacher_cache, cache)
    run = tmp_path / "run"
    train_vocoder(
        cache, run, "tiny", max_steps=2, progress=False, init=tiny_voice, acoustic_mels=tiny_voice
    )
    record = json.loads((run / "mels.json").read_text())
    assert record["source"] == "voice:tiny@3"  # the voice and its steps trained
    meta = load_checkpoint(latest_checkpoint(run))["metadata"]
    assert meta["mels"] == "acoustic:voice:tiny@3" and meta["init"]["source"] == "voice:tiny"

    # The training items carry the generated mels.
    task = VocoderTask(
        VOCODER_RUN_PRESETS["tiny"],
        cache,
        mel_dir=cache / "acoustic-mels" / record["key"],
        mel_source="x",
    )
    item = task.train_dataset().items[0]
    stored = np.load(cache / "acoustic-mels" / record["key"] / f"{item['id']}.npy")
    np.testing.assert_array_equal(item["mel"].numpy(), stored.astype(np.float32))

    # Resuming without the flag keeps the run's mels; asking for other mels is refused.
    base = ["train-vocoder", "--data", str(cache), "--out", str(run), "-q"]
    assert main([*base, "--max-steps", "3"]) == 0
    assert load_checkpoint(latest_checkpoint(run))["metadata"]["mels"] == "acoustic:voice:tiny@3"
    with pytest.raises(ConfigError, match="was started on mels"):
        train_vocoder(cache, run, max_steps=4, progress=False, acoustic_mels=tiny_acoustic_run)


def test_start_t_keeps_the_recordings_structure(teacher_cache, tiny_acoustic_run, tmp_path):
    import dataclasses
    import shutil

    cache = tmp_path / "cache"
    shutil.copytree(teacher_cache, cache)
    model, settings, name = load_acoustic_source(tiny_acoustic_run, start_t=0.8)
    assert settings.start_t == 0.8
    from_noise = generate_acoustic_mels(
        model, cache, dataclasses.replace(settings, start_t=0.0), name, splits=("val",),
        progress=False,
    )  # fmt: skip
    from_recording = generate_acoustic_mels(model, cache, settings, name, splits=("val",),
                                            progress=False)  # fmt: skip
    assert from_noise != from_recording
    val = TTSDataset(cache, "val")
    for i in range(len(val)):
        item = val[i]
        ref = item["mel"].numpy().ravel()
        corr = {
            folder: np.corrcoef(ref, np.load(folder / f"{item['id']}.npy").ravel())[0, 1]
            for folder in (from_noise, from_recording)
        }
        # Started at t = 0.8 of the path, the recording's own frames dominate the result.
        assert corr[from_recording] > 0.9 and corr[from_recording] > corr[from_noise] + 0.1, corr
    with pytest.raises(ValueError, match="start_t"):
        AcousticMelSettings(start_t=1.0)


def test_export_records_where_a_fine_tuned_vocoder_came_from(
    teacher_cache, tiny_voice, tiny_acoustic_run, tmp_path
):
    from tests.conftest import import_export

    torch.set_num_threads(1)
    run = tmp_path / "run"
    train_vocoder(teacher_cache, run, "tiny", max_steps=2, progress=False, init=tiny_voice)
    out = tmp_path / "voice"
    import_export("voice").export_voice(tiny_acoustic_run, run, out, name="ft")
    text = (out / "voice.json").read_text()
    vocoder = json.loads(text)["provenance"]["vocoder"]
    assert vocoder["init"]["source"] == "voice:tiny" and vocoder["mels"] == "recordings"
    assert vocoder["steps_trained"] == 2
    assert str(tmp_path) not in text and str(teacher_cache) not in text  # names, not paths
