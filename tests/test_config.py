import pytest

from flowaudio.audio.config import AUDIO_PRESETS, AudioConfig
from flowaudio.config import ConfigError, from_dict, load_config, to_dict
from flowaudio.data.config import DataConfig


def test_round_trip_nested():
    cfg = DataConfig(audio=AUDIO_PRESETS["22k"], min_seconds=0.3)
    assert from_dict(DataConfig, to_dict(cfg)) == cfg


def test_unknown_keys_are_errors_with_their_path():
    with pytest.raises(ConfigError, match=r"unknown key\(s\) audio\.hop; allowed keys"):
        from_dict(DataConfig, {"audio": {"hop": 256}})


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"sample_rate": "16000"}, "expected an integer"),
        ({"sample_rate": True}, "expected an integer"),
        ({"f_max": "x"}, "expected a number"),
        ({"hop_length": 2000}, "hop_length"),
        ({"f_max": 12000.0}, "f_max"),
        ({"n_fft": 1024, "hop_length": 255}, "even"),
    ],
)
def test_bad_values(data, match):
    with pytest.raises(ConfigError, match=match):
        from_dict(AudioConfig, data)


def test_frozen():
    with pytest.raises(AttributeError):
        AudioConfig().sample_rate = 1  # type: ignore[misc]


@pytest.mark.parametrize("suffix", [".yaml", ".toml", ".json"])
def test_load_from_files(tmp_path, suffix):
    body = {
        ".yaml": "audio:\n  sample_rate: 22050\nmin_seconds: 0.25\n",
        ".toml": "min_seconds = 0.25\n[audio]\nsample_rate = 22050\n",
        ".json": '{"audio": {"sample_rate": 22050}, "min_seconds": 0.25}',
    }[suffix]
    path = tmp_path / f"data{suffix}"
    path.write_text(body)
    cfg = load_config(DataConfig, path)
    assert cfg.audio.sample_rate == 22050 and cfg.min_seconds == 0.25


def test_load_errors(tmp_path):
    presets = {"16k": DataConfig()}
    assert load_config(DataConfig, "16k", presets) is presets["16k"]
    with pytest.raises(ConfigError, match="neither a config file nor a preset"):
        load_config(DataConfig, "nope", presets)
    bad = tmp_path / "bad.yaml"
    bad.write_text("audio: [unclosed")
    with pytest.raises(ConfigError, match="cannot parse"):
        load_config(DataConfig, bad)
    lst = tmp_path / "list.yaml"
    lst.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="top level"):
        load_config(DataConfig, lst)
