"""`flowaudio evaluate`: the metric math against hand-computed cases, test-set parsing, and
one end-to-end run on the tiny exported voice with teacher clips as references."""

import itertools
import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from flowaudio.audio import log_mel_spectrogram
from flowaudio.audio.config import AUDIO_PRESETS
from flowaudio.cli import main
from flowaudio.eval.dnsmos import DnsmosScore
from flowaudio.eval.metrics import (
    MCD_DB,
    Pace,
    SimilarityBar,
    dtw,
    mean_embedding,
    mel_cepstral_distortion,
    mel_cepstrum,
    similarity_matrix,
    speech_span,
    wer_bar,
)
from flowaudio.eval.render import write_report
from flowaudio.eval.report import (
    COPY,
    REFERENCE,
    Clip,
    EvalOptions,
    EvalSetInfo,
    Measurements,
    RowResult,
    Setting,
    SkippedSetting,
    SpeakerBars,
    _grid,
    summarise,
)
from flowaudio.eval.testset import EvalItem, load_test_set

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
# Pace, the settings grid, summaries and the report on made-up clips


def test_speech_span_and_pace():
    sr = 16000
    tone = 0.5 * np.sin(2 * np.pi * 220 * np.arange(sr) / sr)
    quiet = np.zeros(sr // 2)
    clip = np.concatenate([quiet, tone, np.zeros(sr // 4), tone, quiet])  # 3.25 s, 2.25 s speech
    assert speech_span(clip, sr) == pytest.approx(2.25, abs=0.03)
    # low noise 60 dB down stays silence; a lone click 20 dB down counts as sound
    rng = np.random.default_rng(0)
    noisy = clip + rng.normal(0, 5e-4, len(clip))
    assert speech_span(noisy, sr) == pytest.approx(2.25, abs=0.03)
    noisy[100] = 0.2
    assert speech_span(noisy, sr) == pytest.approx(3.25 - 0.5 - 100 / sr, abs=0.03)
    assert speech_span(np.zeros(sr), sr) == 0.0 and speech_span(np.ones(10), sr) == 0.0
    p = Pace(seconds=6.0, reference_seconds=5.0, speech_seconds=4.0, reference_speech_seconds=4.0)
    assert (p.ratio, p.speech_ratio) == (pytest.approx(1.2), pytest.approx(1.0))
    with pytest.raises(ValueError, match="positive"):
        Pace(1.0, 0.0, 1.0, 1.0)


def test_setting_counts_network_evaluations():
    assert Setting(4, 1.0).evaluations == 4 and Setting(4, 1.5).evaluations == 8
    assert Setting(1, 0.0).evaluations == 2  # unconditional only still runs the pair
    assert sorted([Setting(2, 1.5), Setting(1, 2.0), Setting(2, 1.0)]) == [
        Setting(1, 2.0), Setting(2, 1.0), Setting(2, 1.5)
    ]  # fmt: skip
    assert Setting(2, 1.5).name == "steps=2,guidance=1.5"


class _Student:
    """A voice that refuses guidance != 1, like a distilled one."""

    meta = SimpleNamespace(defaults=SimpleNamespace(steps=1, guidance_scale=1.0))

    def __init__(self):
        self.calls = []

    def synthesize(self, text, speaker, steps, guidance_scale, seed):
        self.calls.append((steps, guidance_scale))
        if "%" in text:
            raise ValueError("unpronounceable")
        if guidance_scale != 1.0:
            raise ValueError(f"guidance_scale must be 1 for this voice, got {guidance_scale}")


def test_grid_skips_guidance_a_distilled_voice_refuses():
    options = EvalOptions(steps=(2, 4), guidance=(1.0, 1.5))
    item = EvalItem(line=2, text="Hello there.", speaker=None, audio_path=None)
    settings, skipped = _grid(_Student(), options, item, "rms")
    assert settings == [Setting(1, 1.0), Setting(2, 1.0), Setting(4, 1.0)]  # default added
    assert [s.setting for s in skipped] == [Setting(2, 1.5), Setting(4, 1.5)]
    assert "guidance_scale must be 1" in skipped[0].reason
    # a first row that cannot be said at all is the row's fault, not the settings'
    bad = EvalItem(line=2, text="%%%", speaker=None, audio_path=None)
    settings, skipped = _grid(_Student(), options, bad, "rms")
    assert len(settings) == 5 and skipped == []


def _clip(words: dict, ovrl: float, seconds: float, mcd=None, rtf=None) -> Clip:
    score = DnsmosScore(p808=ovrl + 0.5, sig=ovrl + 0.25, bak=4.0, ovrl=ovrl)
    return Clip(words, score, mcd, seconds, seconds - 0.5, rtf)


def test_summary_and_render(tmp_path):
    """Two speakers, references, copy synthesis and two settings, with known numbers: the
    summary's WER per ASR, DNSMOS differences, pace, MCD, similarity and bars, and the files."""
    texts = {"a": ["one two three four", "five six"], "b": ["seven eight nine ten"]}
    g1, g2 = Setting(1, 1.0), Setting(2, 1.5)
    rows = []
    for line, (spk, text) in enumerate(((s, t) for s in texts for t in texts[s]), start=2):
        both = {"pocketsphinx": text, "whisper": text}
        wrong = {"pocketsphinx": "x " + text, "whisper": text}  # one insertion for sphinx
        clips = {
            REFERENCE: _clip(both, 3.0, 2.0),
            COPY: _clip(both, 2.9, 2.0, mcd=1.0),
            g1.name: _clip(wrong, 2.5, 2.5, mcd=5.0, rtf=0.01),
            g2.name: _clip(both, 2.75, 3.0, mcd=4.0, rtf=0.02),
        }
        rows.append(RowResult(line, spk, text, clips))
    emb = {"a": [np.array([1.0, 0.1])], "b": [np.array([0.1, 1.0])]}
    m = Measurements(
        voice={"name": "made-up", "path": None, "speakers": ["a", "b"], "sample_rate": 16000,
               "hop_length": 256, "vocoder": "onnx", "provenance": {},
               "defaults": {"solver": "euler", "temperature": 0.667}},
        test_set=EvalSetInfo(Path("t.csv"), 3, ("a", "b"), ()),
        options=EvalOptions(steps=(1, 2), guidance=(1.0, 1.5), asr=("pocketsphinx", "whisper")),
        asr_models={"pocketsphinx": "pocketsphinx", "whisper": "whisper (dir, int8)"},
        settings=(g1, g2),
        default=g2,
        skipped_settings=(SkippedSetting(Setting(1, 1.5), "refused"),),
        rows=tuple(rows),
        embeddings=dict.fromkeys((REFERENCE, COPY, g1.name, g2.name), emb),
        mel_samples=(),
        seconds=1.0,
    )  # fmt: skip
    r = summarise(m)
    one = r.system(g1)
    assert one.wer["pocketsphinx"].overall.wer == pytest.approx(3 / 10)
    assert one.wer["pocketsphinx"].groups["b"].wer == pytest.approx(1 / 4)
    assert one.wer["whisper"].overall.wer == 0.0 and r.reference.wer["whisper"].overall.wer == 0.0
    assert one.dnsmos.overall.ovrl == pytest.approx(2.5)
    assert one.dnsmos_minus_reference.speakers["a"].ovrl == pytest.approx(-0.5)
    assert r.copy_synthesis.dnsmos_minus_reference.overall.p808 == pytest.approx(-0.1)
    assert r.reference.dnsmos_minus_reference is None and r.reference.pace is None
    assert one.pace.speakers["a"].ratio == pytest.approx(5.0 / 4.0)
    assert one.pace.overall.speech_ratio == pytest.approx(6.0 / 4.5)
    assert one.mcd.overall == pytest.approx(5.0) and r.copy_synthesis.rtf is None
    assert one.rtf.median == pytest.approx(0.01)
    assert r.system(g2).similarity.bar("a").passed is True
    # bars on the first ASR at the default setting (2 steps, guidance 1.5: also the 2-step bar)
    assert r.bars["a"].wer_default.steps == 2 and r.bars["a"].wer_default.passed is True
    assert r.passed is True

    files = write_report(r, tmp_path)
    data = json.loads(files.json.read_text())
    assert data["schema_version"] == 2 and data["bars"]["passed"] is True
    assert data["skipped_settings"] == [
        {"setting": {"steps": 1, "guidance": 1.5, "evaluations": 2}, "reason": "refused"}
    ]
    assert [s["setting"]["evaluations"] for s in data["synthesized"]] == [1, 4]
    assert data["synthesized"][0]["dnsmos_minus_reference"]["overall"]["ovrl"] == pytest.approx(
        -0.5
    )
    assert "mel_samples" not in data
    assert data["plots"] == ["plots/quality_vs_evaluations.png"]
    md = files.markdown.read_text()
    assert "- skipped 1 step, guidance 1.5: refused" in md
    assert (
        "| steps=1,guidance=1 | 1 | 30.0% | 0.0% | 3.00 (-0.50) | 2.50 (-0.50) | 5.00 | 0.010 |"
        in md
    )
    assert "| a | 1.25 (1.33) |" in md  # pace at 1 step: 5 s for 4 s, speech 4 s for 3 s


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
    # Whisper and DNSMOS cost seconds a clip: they run in the text-only test below, and their
    # numbers' way into the report is tested on made-up clips (test_summary_and_render).
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
        ["evaluate", "--test-set", str(test_set), "--voice", str(tiny_voice), "--steps", "2",
         "--guidance", "1,1.5", "--asr", "pocketsphinx", "--no-dnsmos", "--out", str(out),
         "--save-audio", "-q"]
    )  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    assert "evaluated 2 rows (2 skipped) at 3 settings" in capsys.readouterr().out
    data = json.loads((out / "report.json").read_text())
    assert data["schema_version"] == 2
    # the grid: 2 steps x guidance 1 and 1.5, plus the voice's default (4 steps, guidance 1)
    grid = [(s["steps"], s["guidance"], s["evaluations"]) for s in data["settings"]]
    assert grid == [(2, 1.0, 2), (2, 1.5, 4), (4, 1.0, 4)]
    assert data["default"] == {"steps": 4, "guidance": 1.0, "evaluations": 4}
    assert data["skipped_settings"] == []
    assert data["test_set"]["rows"] == 2 and data["test_set"]["speakers"] == ["rms", "slt"]
    # No path of the machine that measured (tmp_path lies outside the working directory).
    assert data["test_set"]["path"] == test_set.name and data["voice"]["path"] == tiny_voice.name
    skipped = data["test_set"]["skipped"]
    assert [s["source"].rsplit(":", 1)[1] for s in skipped] == ["5", "4"]
    assert "reference audio unusable" in skipped[1]["reason"]
    assert data["asr_models"] == {"pocketsphinx": "pocketsphinx"}
    systems = [data["reference"], data["copy_synthesis"], *data["synthesized"]]
    assert [s["name"] for s in systems] == [
        "reference", "copy synthesis",
        "steps=2,guidance=1", "steps=2,guidance=1.5", "steps=4,guidance=1",
    ]  # fmt: skip
    for system in systems:
        table = system["wer"]["pocketsphinx"]
        assert _is_finite_number(table["overall"]["wer"])
        assert set(table["groups"]) == {"rms", "slt"}
        assert table["overall"]["words"] == sum(s["words"] for s in table["groups"].values())
        assert system["dnsmos"] is None and system["dnsmos_minus_reference"] is None
    assert data["reference"]["mcd"] is None and data["reference"]["pace"] is None
    for system in systems[1:]:
        assert all(_is_finite_number(v) and v > 0 for v in system["mcd"]["speakers"].values())
        pace = system["pace"]["speakers"]["rms"]
        assert pace["ratio"] == pytest.approx(pace["seconds"] / pace["reference_seconds"])
        assert 0 < pace["speech_seconds"] <= pace["seconds"]
        sim = system["similarity"]
        assert sim["rows"] == ["rms", "slt"] and sim["columns"] == ["rms", "slt"]
        assert all(_is_finite_number(v) and -1 <= v <= 1 for row in sim["values"] for v in row)
    # copy synthesis keeps the references' length; only the settings have an RTF
    assert data["copy_synthesis"]["pace"]["overall"]["ratio"] == pytest.approx(1.0, abs=0.01)
    assert data["copy_synthesis"]["rtf"] is None
    assert all(s["rtf"]["median"] > 0 for s in data["synthesized"])
    bars = data["bars"]
    assert set(bars["speakers"]) == {"rms", "slt"}
    for b in bars["speakers"].values():
        assert b["wer_default"]["steps"] == 4 and b["wer_two_steps"]["steps"] == 2
        assert b["wer_default"]["margin"] == 0.10 and b["wer_two_steps"]["margin"] == 0.15
        assert b["wer_default"]["passed"] in (True, False)
        assert b["similarity"]["passed"] in (True, False)
        assert b["passed"] in (True, False)
    assert bars["passed"] in (True, False)
    assert [r["line"] for r in data["rows"]] == [2, 3]
    clips = data["rows"][0]["clips"]
    assert set(clips) == {"reference", "copy synthesis", "steps=2,guidance=1",
                          "steps=2,guidance=1.5", "steps=4,guidance=1"}  # fmt: skip
    assert set(clips["reference"]["transcripts"]) == {"pocketsphinx"}
    # plots and audio (3 settings + copy synthesis per row)
    assert "plots/quality_vs_evaluations.png" in data["plots"]
    assert sum(p.startswith("plots/mel_") for p in data["plots"]) == 2
    for rel in data["plots"]:
        assert (out / rel).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(list((out / "audio").glob("*.wav"))) == 2 * 4
    md = (out / "report.md").read_text()
    for section in ("## Quality against network evaluations", "## Bars",
                    "## Intelligibility (pocketsphinx WER)", "## Mel-cepstral distortion",
                    "## Pace",
                    "## Speaker similarity", "## Real-time factor", "## Skipped rows"):  # fmt: skip
        assert section in md


def test_evaluate_text_only_without_torch_and_cli_errors(
    tiny_voice, tmp_path, capsys, run_without_torch, monkeypatch
):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # Whisper assembled here
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("The cat sat on the mat.\n")
    out = tmp_path / "wer-only"
    args = ["evaluate", "--voice", str(tiny_voice), "--steps", "4", "--out", str(out), "-q"]
    # WER (both ASRs), DNSMOS, RTF and the report need no torch (only resemblyzer does)
    argv = [*args, "--test-set", str(sentences), "--asr", "both"]
    proc = run_without_torch(f"from flowaudio.cli import main\nraise SystemExit(main({argv!r}))")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((out / "report.json").read_text())
    assert data["test_set"]["speakers"] == ["rms"]  # no speaker column: the voice's first
    assert data["reference"] is None and data["copy_synthesis"] is None
    (system,) = data["synthesized"]
    assert system["mcd"] is None and system["similarity"] is None and system["pace"] is None
    assert system["dnsmos_minus_reference"] is None
    assert all(1.0 <= v <= 5.0 for v in system["dnsmos"]["overall"].values())
    assert data["bars"]["passed"] is None  # nothing to compare against
    assert set(data["asr_models"]) == {"pocketsphinx", "whisper"}
    assert "whisper-base" in data["asr_models"]["whisper"]  # the packaged model, assembled
    for asr in ("pocketsphinx", "whisper"):
        assert _is_finite_number(system["wer"][asr]["overall"]["wer"])
    args += ["--asr", "pocketsphinx", "--no-dnsmos"]
    capsys.readouterr()

    assert main([*args, "--test-set", str(tmp_path / "nope.csv")]) == 1
    assert "nope.csv not found" in capsys.readouterr().err
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("speaker|text\nbob|Hello.\n")
    assert main([*args, "--test-set", str(unknown)]) == 1
    err = capsys.readouterr().err
    assert "'bob'" in err and "its speakers are: rms, slt" in err
    assert main([*args, "--test-set", str(sentences), "--grid-steps", "0,x"]) == 1
    assert "--grid-steps" in capsys.readouterr().err
    assert main([*args, "--test-set", str(sentences), "--guidance", "1,x"]) == 1
    assert "--guidance" in capsys.readouterr().err
    missing = tmp_path / "no-model"
    assert main([*args, "--test-set", str(sentences), "--asr", "whisper",
                 "--whisper-model", str(missing)]) == 1  # fmt: skip
    assert f"--whisper-model {missing} not found" in capsys.readouterr().err
    bad_audio = tmp_path / "bad.csv"
    bad_audio.write_text(f"audio_path|speaker|text\n{sentences}|rms|Not audio at all.\n")
    assert main([*args, "--test-set", str(bad_audio)]) == 1
    assert "no row of" in capsys.readouterr().err
