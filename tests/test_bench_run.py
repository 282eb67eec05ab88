"""bench/run.py's pure parts: host parsing, merging results, targets, the table, arguments.

Nothing here times anything or starts a peer (timings never live in tests).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture(scope="module")
def run():
    spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module
    spec.loader.exec_module(module)
    return module


def _flow(rtf_by_steps: dict[int, float], rss: float = 120.0) -> dict:
    rows = [
        {"steps": s, "text": t, "audio_s": 4.0, "median_s": r * 4.0, "rtf": r, "peak_rss_mb": rss}
        for s, r in rtf_by_steps.items()
        for t in ("short", "medium", "long")
    ]
    return {
        "voice_name": "small-bench",
        "voice_size_mb": 54.4,
        "rtf": rows,
        "stream": {"ttfa_s": 0.081},
        "batch8": {"audio_s_per_s": 55.5},
        "peak_rss_mb": rss,
    }


def _peer_row(system: str, part: str, steps: int | None, rtf: float) -> dict:
    return {
        "system": system,
        "part": part,
        "steps": steps,
        "audio_s": 7.01,
        "median_s": rtf * 7.01,
        "rtf": rtf,
        "peak_rss_mb": 300.0,
    }


HOST = {
    "cpu_model": "Test CPU @ 2.0GHz",
    "cpu_count": 2,
    "threads": 2,
    "onnxruntime": "1.31.1",
    "load_average_1min": 0.1,
}
SETTINGS = {"runs": 7, "warmup": 2, "voice": "v"}


def test_cpu_model_reads_the_model_name(run):
    text = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) 8480C\n"
    assert run.cpu_model(text) == "Intel(R) Xeon(R) 8480C"
    assert run.cpu_model("processor : 0\n")  # falls back to the platform, never empty


def test_table_rows_put_peers_beside_flowaudio(run):
    peers = {
        "matcha": {
            "available": True,
            "rows": [
                _peer_row("matcha", "e2e", 4, 0.35),
                _peer_row("matcha", "acoustic", 4, 0.037),
                _peer_row("matcha", "vocoder", None, 0.31),
            ],
        },
        "piper": {"available": False, "reason": "pip install piper-tts[train] failed"},
    }
    rows = run.table_rows(_flow({2: 0.01, 4: 0.02}), peers)
    systems = [r["system"] for r in rows]
    assert systems[:6] == ["flowaudio (small-bench)"] * 6
    assert systems[6:9] == [
        "Matcha-TTS + HiFi-GAN V1",
        "Matcha-TTS acoustic only",
        "HiFi-GAN V1 alone",
    ]
    assert rows[8]["steps"] is None and rows[6]["text"] == run.PEER_TEXT
    assert rows[9]["system"] == "piper: unavailable"
    assert "failed" in rows[9]["text"] and "rtf" not in rows[9]  # no fake numbers


def test_targets_use_the_worst_text_and_flag_other_voices(run):
    flow = _flow({1: 0.0075, 2: 0.02}, rss=151.0)
    flow["rtf"][2]["rtf"] = 0.011  # the long text at 1 step: #13's bar met, #15's missed
    flow["stream"]["long_first"] = {"ttfa_s": 0.049}
    checks = {c["what"]: c for c in run.check_targets(flow, is_default_voice=False)}
    assert checks["RTF at 1 steps (worst text, issue #13)"]["met"]
    assert not checks["RTF at 1 steps (worst text, issue #15)"]["met"]
    assert checks["RTF at 1 steps (worst text, issue #15)"]["value"] == 0.011
    assert not checks["peak RSS MB"]["met"]
    assert checks["time to first audio s, 45-word first sentence"]["met"]
    flow["stream"]["long_first"] = {"ttfa_s": 0.051}
    checks = {c["what"]: c for c in run.check_targets(flow, is_default_voice=False)}
    assert not checks["time to first audio s, 45-word first sentence"]["met"]
    assert not any(c["default_voice"] for c in checks.values())


def test_merge_is_json_and_format_table_aligns(run):
    peers = {
        "matcha": {
            "available": True,
            "install": {"onnxruntime": "1.30.0"},
            "rows": [_peer_row("matcha", "e2e", 10, 0.8123)],
        }
    }
    gpu = {"skipped": "no CUDA device (nvidia-smi finds none)"}
    result = run.merge(HOST, SETTINGS, _flow({1: 0.0215}), peers, gpu, is_default_voice=True)
    assert json.loads(json.dumps(result)) == result
    text = run.format_table(result)
    assert "Test CPU @ 2.0GHz (2 cores), 2 threads, onnxruntime 1.31.1 (peers: 1.30.0)" in text
    assert "0.8123" in text and "0.0215" in text
    assert "GPU: skipped: no CUDA device" in text
    assert "target RTF at 1 steps (worst text, issue #13) <= 0.012: 0.0215 NOT met" in text
    table = [ln for ln in text.splitlines() if " | " in ln]
    header = table[0]
    assert header.split(" | ")[0].strip() == "system"
    # every row's column separators sit where the header's are
    bars = [i for i, c in enumerate(header) if c == "|"]
    for line in table[1:]:
        assert [i for i, c in enumerate(line) if c == "|"] == bars


def test_format_table_without_flowaudio_or_gpu(run):
    result = run.merge(HOST, SETTINGS, None, {}, None, is_default_voice=False)
    text = run.format_table(result)
    assert result["targets"] == [] and "GPU" not in text and "flowaudio:" not in text


def test_parser_defaults_match_the_issue(run):
    args = run.build_parser().parse_args([])
    assert (args.threads, args.runs, args.warmup) == (2, 7, 2)
    assert args.peers_venv == run.DEFAULT_PEERS_VENV
    assert not args.skip_peers and not args.gpu and args.voice is None
    assert args.out.name == "run.json"
    assert args.matcha_steps == "2,4,10"  # the issue's Matcha step counts


def test_help_shows_an_example(run, capsys):
    with pytest.raises(SystemExit):
        run.build_parser().parse_args(["--help"])
    assert "example:" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["--runs", "0"],
        ["--threads", "0"],
        ["--warmup", "-1"],
        ["--steps-list", "2,x"],
        ["--matcha-steps", "four"],
    ],
)
def test_main_rejects_bad_numbers(run, argv, tmp_path):
    voice = tmp_path / "voice"
    voice.mkdir()
    (voice / "voice.json").write_text("{}")
    with pytest.raises(SystemExit) as exc:
        run.main([*argv, "--voice", str(voice), "--out", str(tmp_path / "r.json")])
    assert exc.value.code == 2


def test_missing_peer_venv_makes_both_peers_unavailable(run, tmp_path):
    peers = run.measure_peers(tmp_path / "nope", tmp_path / "out", 2, 1, 0, reexport=False)
    assert set(peers) == {"matcha", "piper"}
    for peer in peers.values():
        assert not peer["available"] and "setup_peers.sh" in peer["reason"]


def test_install_failure_is_the_reason(run, tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    status = {"matcha": {"error": "matcha-tts does not import"}, "piper": {"error": "no wheel"}}
    (venv / "peers-status.json").write_text(json.dumps(status))
    peers = run.measure_peers(venv, tmp_path / "out", 2, 1, 0, reexport=False)
    assert peers["matcha"]["reason"] == "matcha-tts does not import"
    assert peers["piper"]["reason"] == "no wheel"


def test_exports_are_reused_only_with_the_same_settings(run, tmp_path):
    assert not run._exported(tmp_path, {"steps": [2, 4, 10]})
    (tmp_path / "plan.json").write_text(json.dumps({"steps": [2, 4, 10], "system": "matcha"}))
    assert run._exported(tmp_path, {"steps": [2, 4, 10]})
    assert not run._exported(tmp_path, {"steps": [2, 4]})


def test_a_failing_peer_process_raises_with_its_last_error_line(run, tmp_path):
    script = tmp_path / "fail.py"
    script.write_text("import sys\nprint('boom: bad export', file=sys.stderr)\nsys.exit(3)\n")
    with pytest.raises(run.PeerError, match="exited 3: boom: bad export"):
        run.run_peer(Path(sys.executable), str(script), ["export"])
