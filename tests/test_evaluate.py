"""`flowaudio evaluate`: the metric math against hand-computed cases, test-set parsing, and
one end-to-end run on the tiny exported voice with teacher clips as references."""

import itertools
import json
import math

import numpy as np
import pytest

from flowaudio.audio import log_mel_spectrogram
from flowaudio.cli import main
from flowaudio.config import AUDIO_PRESETS
from flowaudio.eval.metrics import (
    MCD_DB,
    SimilarityBar,
    dtw,
    mean_embedding,
    mel_cepstral_distortion,
    mel_cepstrum,
    similarity_matrix,
    wer_bar,
)
from flowaudio.eval.report import SpeakerBars
from flowaudio.eval.testset import load_test_set

CFG = AUDIO_PRESETS["16k"]


def _cos_basis(m: int, n_bands: int) -> np.ndarray:
    return np.cos(np.pi * m * (np.arange(n_bands) + 0.5) / n_bands)


def _sweep(seconds: float, f0: float, f1: float, sr: int = 16000) -> np.ndarray:
    """An exponential sine sweep with one harmonic: a time-stretchable test signal."""
    t = np.arange(int(seconds * sr)) / sr
    phase = 2 * np.pi * np.cumsum(f0 * (f1 / f0) ** (t / seconds)) / sr
    return (0.5 * np.sin(phase) + 0.15 * np.sin(2 * phase)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# MCD and DTW


def test_mel_cepstrum_recovers_a_cosine():
    # x[n] = a + 2 b cos(pi * 3 * (n + 1/2) / N)  ->  c0 = a, c3 = b, every other c = 0
    n_bands = 80
    x = (1.5 + 2 * 0.25 * _cos_basis(3, n_bands))[:, None].repeat(4, axis=1)
    c = mel_cepstrum(x, order=10)
    assert c.shape == (11, 4)
    expected = np.zeros(11)
    expected[0], expected[3] = 1.5, 0.25
    np.testing.assert_allclose(c[:, 0], expected, atol=1e-12)
    with pytest.raises(ValueError, match="order"):
        mel_cepstrum(x, order=80)


def test_mcd_hand_computed():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 30))
    assert mel_cepstral_distortion(x, x).mcd == 0.0
    # loudness (c0) is not part of the distance
    assert mel_cepstral_distortion(x + 3.0, x).mcd == pytest.approx(0.0, abs=1e-9)
    # a change of delta in c1 on every frame: MCD = 10 sqrt(2) / ln 10 * delta exactly
    delta = 0.3
    y = x + 2 * delta * _cos_basis(1, 80)[:, None]
    result = mel_cepstral_distortion(y, x)
    assert abs(MCD_DB - 6.14185) < 1e-5
    assert result.mcd == pytest.approx(MCD_DB * delta, rel=1e-9)
    assert result.frames == (30, 30)
    # beyond the order the change is invisible
    z = x + 2 * delta * _cos_basis(30, 80)[:, None]
    assert mel_cepstral_distortion(z, x, order=24).mcd == pytest.approx(0.0, abs=1e-9)
    assert mel_cepstral_distortion(z, x, order=30).mcd == pytest.approx(MCD_DB * delta)


def _brute_force_dtw(a: np.ndarray, b: np.ndarray) -> float:
    n, m = a.shape[1], b.shape[1]
    acc = np.full((n + 1, m + 1), math.inf)
    acc[0, 0] = 0.0
    for i, j in itertools.product(range(1, n + 1), range(1, m + 1)):
        d = float(np.linalg.norm(a[:, i - 1] - b[:, j - 1]))
        acc[i, j] = d + min(acc[i - 1, j], acc[i, j - 1], acc[i - 1, j - 1])
    return float(acc[n, m])


@pytest.mark.parametrize(("n", "m"), [(1, 1), (1, 5), (6, 1), (7, 7), (9, 13), (15, 4)])
def test_dtw_matches_brute_force(n, m):
    rng = np.random.default_rng(n * 100 + m)
    a, b = rng.normal(size=(3, n)), rng.normal(size=(3, m))
    result = dtw(a, b)
    assert result.cost == pytest.approx(_brute_force_dtw(a, b), rel=1e-9)
    path = result.path
    assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (n - 1, m - 1)
    steps = {tuple(s) for s in np.diff(path, axis=0)}
    assert steps <= {(0, 1), (1, 0), (1, 1)}
    along = sum(np.linalg.norm(a[:, i] - b[:, j]) for i, j in path)
    assert along == pytest.approx(result.cost, rel=1e-9)


def test_dtw_aligns_a_time_stretched_copy():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, 20))
    stretched = np.repeat(x, 2, axis=1)  # every frame twice: a perfect 2x slower copy
    assert mel_cepstral_distortion(stretched, x).mcd == pytest.approx(0.0, abs=1e-9)
    assert mel_cepstral_distortion(x, stretched).path_length == 40


def test_mcd_of_audio_small_for_stretched_speech_like_signal_large_for_another():
    short = log_mel_spectrogram(_sweep(1.0, 200, 3000), CFG)
    slow = log_mel_spectrogram(_sweep(1.5, 200, 3000), CFG)  # the same sweep, 1.5x slower
    other = log_mel_spectrogram(_sweep(1.5, 3000, 200), CFG)  # the sweep backwards
    stretched = mel_cepstral_distortion(slow, short).mcd
    different = mel_cepstral_distortion(other, short).mcd
    # without alignment (frame by frame over the common length) the stretch looks large
    n = short.shape[1]
    naive = (
        MCD_DB
        * np.linalg.norm(mel_cepstrum(slow)[1:, :n] - mel_cepstrum(short)[1:, :n], axis=0).mean()
    )
    assert stretched < 3.0  # measured 2.1 dB
    assert different > 3 * stretched  # measured 19.8 dB
    assert naive > 3 * stretched  # measured 15.0 dB


def test_dtw_and_mcd_reject_bad_shapes():
    with pytest.raises(ValueError, match="same feature count"):
        dtw(np.zeros((3, 4)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="non-empty"):
        dtw(np.zeros((3, 0)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="same mel bands"):
        mel_cepstral_distortion(np.zeros((80, 4)), np.zeros((40, 4)))


# ---------------------------------------------------------------------------------------------
# Speaker similarity and bars


def test_mean_embedding_normalises_utterances_first():
    e = mean_embedding(np.array([[4.0, 0.0], [0.0, 0.5]]))
    np.testing.assert_allclose(e, [1 / math.sqrt(2), 1 / math.sqrt(2)])
    with pytest.raises(ValueError, match="non-zero"):
        mean_embedding(np.array([[0.0, 0.0]]))


def test_similarity_matrix_and_its_bar():
    teachers = {"a": np.array([1.0, 0, 0]), "b": np.array([0, 1.0, 0]), "c": np.array([0, 0, 1.0])}
    synth = {
        "a": np.array([2.0, 1.0, 0]),  # closest to its own teacher
        "b": np.array([0.9, 0.5, 0]),  # closer to a than to b: fails
        "d": np.array([0, 0, 1.0]),  # no teacher "d": not measured
    }
    m = similarity_matrix(synth, teachers)
    assert m.rows == ("a", "b", "d") and m.columns == ("a", "b", "c")
    np.testing.assert_allclose(m.values[0], [2 / math.sqrt(5), 1 / math.sqrt(5), 0])
    ok = m.bar("a")
    assert ok.passed is True and ok.best_other_speaker == "b"
    assert ok.own == pytest.approx(2 / math.sqrt(5)) and ok.best_other == pytest.approx(
        1 / math.sqrt(5)
    )
    bad = m.bar("b")
    assert bad.passed is False and bad.best_other_speaker == "a"
    assert m.bar("d") == SimilarityBar(None, None, None, None)
    # one teacher only: nothing to compare against
    single = similarity_matrix({"a": np.array([1.0, 0])}, {"a": np.array([1.0, 0])})
    assert single.bar("a") == SimilarityBar(1.0, None, None, None)
    # a tie is not "higher than every other teacher"
    tie = similarity_matrix(
        {"a": np.array([1.0, 1.0])}, {"a": np.array([1.0, 0]), "b": np.array([0, 1.0])}
    )
    assert tie.bar("a").passed is False
    assert json.dumps(m.to_dict())


def test_wer_bars_and_their_combination():
    assert wer_bar(4, 0.10, 0.30, 0.20).passed is True  # exactly 10 points (float rounding)
    assert wer_bar(4, 0.10, 0.31, 0.20).passed is False
    assert wer_bar(2, 0.15, 0.34, 0.20).passed is True
    assert wer_bar(2, 0.15, None, 0.20).passed is None
    good, bad = wer_bar(4, 0.1, 0.1, 0.1), wer_bar(4, 0.1, 0.5, 0.1)
    unmeasured = SimilarityBar(None, None, None, None)
    passing = SimilarityBar(0.9, 0.5, "x", True)
    assert SpeakerBars(good, good, passing).passed is True
    assert SpeakerBars(good, bad, passing).passed is False
    assert SpeakerBars(good, good, unmeasured).passed is None
    assert SpeakerBars(bad, good, unmeasured).passed is False


# ---------------------------------------------------------------------------------------------
# Test-set parsing


def test_heldout_csv_with_bad_rows_skipped_and_reported(tmp_path):
    path = tmp_path / "heldout.csv"
    path.write_text(
        "audio_path|speaker|text\n"
        "wavs/a1.wav|a|The cat sat on the mat.\n"
        "wavs/a2.wav|a|A second sentence.\n"
        "only|two fields\n"
        "\n"
        "wavs/b1.wav|b|...\n"  # no words
        "wavs/b2.wav||Empty speaker.\n"
        f"{tmp_path / 'abs.wav'}|b|Absolute paths stay.\n"
    )
    ts = load_test_set(path)
    assert [(i.line, i.speaker) for i in ts.items] == [(2, "a"), (3, "a"), (8, "b")]
    assert ts.items[0].audio_path == tmp_path / "wavs" / "a1.wav"
    assert ts.items[2].audio_path == tmp_path / "abs.wav"
    assert [p.source for p in ts.problems] == [f"{path}:4", f"{path}:6", f"{path}:7"]
    assert "expected 3 fields" in ts.problems[0].reason
    assert "no words" in ts.problems[1].reason
    assert ts.speakers == ("a", "b") and ts.has_references
    assert [i.line for i in load_test_set(path, per_speaker=1).items] == [2, 8]


def test_other_layouts(tmp_path):
    reordered = tmp_path / "r.csv"
    reordered.write_text("text|speaker\nHello there.|slt\n")
    ts = load_test_set(reordered)
    assert ts.items[0].speaker == "slt" and ts.items[0].audio_path is None
    assert not ts.has_references
    headerless = tmp_path / "h.csv"
    headerless.write_text("x.wav|rms|Hello there.\n")
    assert load_test_set(headerless).items[0].audio_path == tmp_path / "x.wav"
    plain = tmp_path / "plain.txt"
    plain.write_text("First sentence.\n\nSecond one, with a comma.\n")
    ts = load_test_set(plain)
    assert [(i.line, i.text, i.speaker) for i in ts.items] == [
        (1, "First sentence.", None),
        (3, "Second one, with a comma.", None),
    ]
    assert ts.speakers == (None,)


def test_test_set_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_test_set(tmp_path / "missing.csv")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n")
    with pytest.raises(ValueError, match="empty"):
        load_test_set(empty)
    unknown = tmp_path / "u.csv"
    unknown.write_text("audio|speaker|text\nx.wav|a|Hi.\n")
    with pytest.raises(ValueError, match=r"u.csv:1: bad header.*unknown column 'audio'"):
        load_test_set(unknown)
    all_bad = tmp_path / "bad.csv"
    all_bad.write_text("audio_path|speaker|text\nx.wav|a\n")
    with pytest.raises(ValueError, match=r"no usable row.*bad.csv:2"):
        load_test_set(all_bad)
    with pytest.raises(ValueError, match="per_speaker"):
        load_test_set(all_bad, per_speaker=0)


# ---------------------------------------------------------------------------------------------
# End to end (tiny voice: 2 speakers, rms and slt; teacher clips of the same speakers)


def _is_finite_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def test_evaluate_end_to_end(tiny_voice, teacher_cache, tmp_path, capsys):
    corpus = teacher_cache.parent / "corpus"
    rows = (corpus / "heldout.csv").read_text().splitlines()[1:]
    first = {line.split("|")[1]: line for line in reversed(rows)}  # first row of each speaker
    test_set = tmp_path / "test.csv"
    test_set.write_text(
        "audio_path|speaker|text\n"
        + "\n".join(
            f"{corpus / line.split('|')[0]}|{line.split('|')[1]}|{line.split('|')[2]}"
            for line in (first["rms"], first["slt"])
        )
        + "\nmissing.wav|slt|This reference does not exist.\n"
        + "broken line\n"
    )
    out = tmp_path / "report"
    rc = main(
        ["evaluate", "--test-set", str(test_set), "--voice", str(tiny_voice), "--steps", "1,2",
         "--out", str(out), "--save-audio", "-q"]
    )  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    assert "evaluated 2 rows (2 skipped)" in capsys.readouterr().out
    data = json.loads((out / "report.json").read_text())
    assert data["settings"]["steps"] == [1, 2, 4]  # the voice's default (4) is added
    assert data["settings"]["default_steps"] == 4
    assert data["test_set"]["rows"] == 2 and data["test_set"]["speakers"] == ["rms", "slt"]
    assert [s["where"].rsplit(":", 1)[1] for s in data["test_set"]["skipped"]] == ["5", "4"]
    assert "reference audio unusable" in data["test_set"]["skipped"][1]["reason"]
    for key in ("reference", "synthesized"):
        assert data["wer"][key] is not None
    assert set(data["wer"]["synthesized"]) == {"1", "2", "4"}
    for table in [data["wer"]["reference"], *data["wer"]["synthesized"].values()]:
        assert _is_finite_number(table["overall"]["wer"])
        assert set(table["speakers"]) == {"rms", "slt"}
        assert table["overall"]["words"] == sum(s["words"] for s in table["speakers"].values())
    for steps in ("1", "2", "4"):
        assert all(_is_finite_number(v) and v > 0 for v in data["mcd"][steps]["speakers"].values())
        assert _is_finite_number(data["rtf"][steps]["median"]) and data["rtf"][steps]["median"] > 0
        sim = data["similarity"][steps]
        assert sim["rows"] == ["rms", "slt"] and sim["columns"] == ["rms", "slt"]
        assert all(_is_finite_number(v) and -1 <= v <= 1 for row in sim["values"] for v in row)
    bars = data["bars"]
    assert set(bars["speakers"]) == {"rms", "slt"}
    for b in bars["speakers"].values():
        assert b["wer_default_steps"]["steps"] == 4 and b["wer_two_steps"]["steps"] == 2
        assert b["wer_default_steps"]["margin"] == 0.10 and b["wer_two_steps"]["margin"] == 0.15
        assert b["wer_default_steps"]["passed"] in (True, False)
        assert b["similarity"]["passed"] in (True, False)
        assert b["passed"] in (True, False)
    assert bars["passed"] in (True, False)
    assert [r["line"] for r in data["rows"]] == [2, 3]
    assert all(r["reference_transcript"] is not None for r in data["rows"])
    # plots and audio
    assert "plots/wer_vs_steps.png" in data["plots"]
    assert sum(p.startswith("plots/mel_") for p in data["plots"]) == 2
    for rel in data["plots"]:
        assert (out / rel).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(list((out / "audio").glob("*.wav"))) == 2 * 3
    md = (out / "report.md").read_text()
    for section in ("## Bars", "## Intelligibility", "## Mel-cepstral distortion",
                    "## Speaker similarity", "## Real-time factor", "## Skipped rows"):  # fmt: skip
        assert section in md


def test_evaluate_text_only_without_torch_and_cli_errors(
    tiny_voice, tmp_path, capsys, run_without_torch
):
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("The cat sat on the mat.\n")
    out = tmp_path / "wer-only"
    args = ["evaluate", "--voice", str(tiny_voice), "--steps", "4", "--out", str(out), "-q"]
    # WER, RTF and the report need no torch (only resemblyzer's similarity does)
    argv = [*args, "--test-set", str(sentences)]
    proc = run_without_torch(f"from flowaudio.cli import main\nraise SystemExit(main({argv!r}))")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((out / "report.json").read_text())
    assert data["test_set"]["speakers"] == ["rms"]  # no speaker column: the voice's first
    assert data["wer"]["reference"] is None and data["mcd"] == {} and data["similarity"] == {}
    assert data["bars"]["passed"] is None  # nothing to compare against
    assert _is_finite_number(data["wer"]["synthesized"]["4"]["overall"]["wer"])
    capsys.readouterr()

    assert main([*args, "--test-set", str(tmp_path / "nope.csv")]) == 1
    assert "nope.csv not found" in capsys.readouterr().err
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("speaker|text\nbob|Hello.\n")
    assert main([*args, "--test-set", str(unknown)]) == 1
    err = capsys.readouterr().err
    assert "'bob'" in err and "its speakers are: rms, slt" in err
    assert main([*args, "--test-set", str(sentences), "--steps", "0,x"]) == 1
    assert "--steps" in capsys.readouterr().err
    bad_audio = tmp_path / "bad.csv"
    bad_audio.write_text(f"audio_path|speaker|text\n{sentences}|rms|Not audio at all.\n")
    assert main([*args, "--test-set", str(bad_audio)]) == 1
    assert "no row of" in capsys.readouterr().err
