"""One command for issue #8: flowaudio's ONNX runtime beside Matcha-TTS and Piper, one table.

Runs, each configuration in a fresh process, median of --runs after --warmup untimed runs:
  * flowaudio (bench/runtime.py's ``measure``): RTF at 1/2/4/8 steps for a short, a medium and a
    long text, vocoder included; time to first audio with ``stream``; batch-8 throughput; peak
    RSS; the voice's size on disk;
  * the peers, in their own venv (bash bench/setup_peers.sh), each exported through its own
    exporter with random weights and pinned to ~7 s of audio (bench/peers/): Matcha-TTS
    (LJSpeech) + HiFi-GAN V1 at 2/4/10 steps, with the acoustic model and the vocoder also timed
    alone, and Piper `medium`. A peer that cannot run is listed as unavailable with the reason;
  * with --gpu and a CUDA device: onnxruntime-gpu and PyTorch throughput at batch 1/8/32 and
    batch-1 latency, with the device's name.
Writes one JSON (bench/results/run.json) and prints the table with the host (CPU model,
threads, onnxruntime version). Timings are only comparable on an otherwise idle machine.

example:
  bash bench/setup_peers.sh                 # once: the peers' venv (bench/.venv-peers)
  python bench/run.py                       # default voice, 2 threads, median of 7
  python bench/run.py --voice data/voice-small-bench --runs 2 --warmup 1 --skip-peers
  python bench/run.py --gpu --acoustic-run runs/small --vocoder-run runs/vocoder
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))  # bench/ is a folder of scripts, not a package

import runtime  # noqa: E402  (bench/runtime.py: flowaudio's measurement, reused as is)
from peers._timing import time_calls  # noqa: E402  (stdlib only; the peers' timing loop)

PEERS = BENCH / "peers"
DEFAULT_PEERS_VENV = BENCH / ".venv-peers"
DEFAULT_PEERS_OUT = BENCH / "peers-out"
MATCHA_STEPS = (2, 4, 10)
GPU_BATCHES = (1, 8, 32)
EXPORT_TIMEOUT_S = 4 * 3600  # tracing 7 Matcha graphs on 2 busy cores takes long
TIMING_TIMEOUT_S = 1800
PEER_TEXT = "~7 s"  # the peers' pinned utterance (the actual seconds are in the JSON)
# The open targets for the default voice (one step, its default) on 2 CPU cores, vocoder
# included: issue #13 (one step) and issue #15 (runtime at the limit).
TARGETS = (
    {"steps": 1, "max_rtf": 0.012, "issue": 13},
    {"steps": 1, "max_rtf": 0.008, "issue": 15},
)
TARGET_RSS_MB = 150.0
TARGET_TTFA_LONG_FIRST_S = 0.050  # issue #15: a paragraph whose first sentence has 40+ words


class PeerError(RuntimeError):
    """A peer process failed; the message is the reason reported in the results."""


# -- host ------------------------------------------------------------------------------------


def cpu_model(cpuinfo: str | None = None) -> str:
    """The first ``model name`` of /proc/cpuinfo (or of the given text); the platform's name
    where there is none (non-Linux, some VMs)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            return value.strip()
    return platform.processor() or platform.machine()


def host_info(threads: int) -> dict[str, Any]:
    import onnxruntime

    from flowaudio.version import __version__

    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "onnxruntime": onnxruntime.__version__,
        "flowaudio": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_1min": os.getloadavg()[0],
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


def write_result(path: Path | None, result: dict[str, Any], indent: int = 1) -> None:
    """``result`` as JSON at ``path`` (folders created); nothing when ``path`` is None."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=indent) + "\n", encoding="utf-8")


def script_parser(doc: str) -> argparse.ArgumentParser:
    """A bench script's parser: its docstring's first paragraph, then from 'example:' on."""
    return argparse.ArgumentParser(
        description=doc.split("\n\n")[0],
        epilog=doc[doc.index("example:") :],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


# -- peers -----------------------------------------------------------------------------------


def peer_python(venv: Path) -> tuple[Path | None, dict[str, Any]]:
    """The peer venv's interpreter and its install status (bench/setup_peers.sh writes
    peers-status.json); None and a reason when there is no usable venv."""
    python = venv / "bin" / "python"
    if not python.is_file():
        return None, {"error": f"no peer venv at {venv}: run `bash bench/setup_peers.sh`"}
    status_path = venv / "peers-status.json"
    if not status_path.is_file():
        return python, {"error": f"{status_path} missing: bench/setup_peers.sh did not finish"}
    return python, json.loads(status_path.read_text())


def run_peer(
    python: Path, script: str, args: list[str], timeout_s: float = TIMING_TIMEOUT_S
) -> dict:
    """Run ``bench/peers/SCRIPT ARGS`` with the peer interpreter in a fresh process; its last
    stdout line is the JSON result."""
    cmd = [str(python), str(PEERS / script), *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise PeerError(f"{script} {' '.join(args[:1])} ran over {timeout_s:.0f} s") from exc
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise PeerError(f"{script} {args[0]} exited {proc.returncode}: {tail[0][-500:]}")
    return json.loads(lines[-1])


def _exported(out_dir: Path, want: dict[str, Any]) -> bool:
    """Whether out_dir holds an export made with the same settings (exports take minutes, the
    graphs are deterministic: seeded weights and inputs)."""
    plan = out_dir / "plan.json"
    if not plan.is_file():
        return False
    have = json.loads(plan.read_text())
    return all(have.get(k) == v for k, v in want.items())


def measure_matcha(
    python: Path,
    out_dir: Path,
    threads: int,
    runs: int,
    warmup: int,
    reexport: bool,
    steps_list: tuple[int, ...] = MATCHA_STEPS,
) -> dict[str, Any]:
    steps_csv = ",".join(str(s) for s in steps_list)
    if reexport or not _exported(out_dir, {"steps": list(steps_list)}):
        print("Matcha-TTS: exporting (several minutes)", flush=True)
        export = ["export", "--out", str(out_dir), "--steps", steps_csv]
        run_peer(python, "matcha_export.py", export, EXPORT_TIMEOUT_S)
    plan = json.loads((out_dir / "plan.json").read_text())
    timing = ["--threads", str(threads), "--runs", str(runs), "--warmup", str(warmup)]
    rows = []
    for steps in steps_list:
        for part in ("e2e", "acoustic"):
            args = ["time", "--out", str(out_dir), "--part", part, "--steps", str(steps)]
            rows.append(run_peer(python, "matcha_export.py", args + timing))
            _progress(rows[-1])
    vocoder = ["time", "--out", str(out_dir), "--part", "vocoder", *timing]
    rows.append(run_peer(python, "matcha_export.py", vocoder))
    _progress(rows[-1])
    plan.pop("tokens", None)
    return {"available": True, "export": plan, "rows": rows}


def measure_piper(
    python: Path, out_dir: Path, threads: int, runs: int, warmup: int, reexport: bool
) -> dict[str, Any]:
    if reexport or not _exported(out_dir, {"system": "piper"}):
        print("Piper: exporting", flush=True)
        run_peer(python, "piper_export.py", ["export", "--out", str(out_dir)], EXPORT_TIMEOUT_S)
    plan = json.loads((out_dir / "plan.json").read_text())
    timing = ["--threads", str(threads), "--runs", str(runs), "--warmup", str(warmup)]
    row = run_peer(python, "piper_export.py", ["time", "--out", str(out_dir), *timing])
    _progress(row)
    plan.pop("tokens", None)
    return {"available": True, "export": plan, "rows": [row]}


def _progress(row: dict[str, Any]) -> None:
    steps = "" if row.get("steps") is None else f" steps={row['steps']}"
    print(
        f"{row['system']} {row['part']}{steps} audio={row['audio_s']:.2f}s "
        f"rtf={row['rtf']:.4f} rss={row['peak_rss_mb']:.0f}MB",
        flush=True,
    )


def measure_peers(
    venv: Path,
    out_root: Path,
    threads: int,
    runs: int,
    warmup: int,
    reexport: bool,
    matcha_steps: tuple[int, ...] = MATCHA_STEPS,
) -> dict[str, dict[str, Any]]:
    """Both peers; each one that cannot run is ``{"available": False, "reason": ...}``."""
    python, status = peer_python(venv)
    peers: dict[str, dict[str, Any]] = {}
    for name in ("matcha", "piper"):
        reason = status.get("error") or (status.get(name) or {}).get("error")
        if python is None or reason:
            peers[name] = {"available": False, "reason": reason or "peer venv unusable"}
            print(f"{name}: unavailable: {peers[name]['reason']}", flush=True)
            continue
        out_dir = out_root / name
        try:
            if name == "matcha":
                peers[name] = measure_matcha(
                    python, out_dir, threads, runs, warmup, reexport, matcha_steps
                )
            else:
                peers[name] = measure_piper(python, out_dir, threads, runs, warmup, reexport)
            peers[name]["install"] = status
        except (PeerError, OSError, json.JSONDecodeError) as exc:
            peers[name] = {"available": False, "reason": str(exc)}
            print(f"{name}: unavailable: {exc}", flush=True)
    return peers


# -- the combined result ---------------------------------------------------------------------


def table_rows(flow: dict[str, Any] | None, peers: dict[str, dict[str, Any]]) -> list[dict]:
    """One row per measured configuration: system, steps, text, audio seconds, RTF, RSS."""
    rows: list[dict[str, Any]] = []
    if flow is not None:
        name = f"flowaudio ({flow['voice_name']})"
        for r in flow["rtf"]:
            rows.append(_row(name, r["steps"], r["text"], r))
    labels = {
        ("matcha", "e2e"): "Matcha-TTS + HiFi-GAN V1",
        ("matcha", "acoustic"): "Matcha-TTS acoustic only",
        ("matcha", "vocoder"): "HiFi-GAN V1 alone",
        ("piper", "e2e"): "Piper medium",
    }
    for name in ("matcha", "piper"):
        peer = peers.get(name)
        if peer is None:
            continue
        if not peer.get("available"):
            rows.append(
                {"system": f"{name}: unavailable", "steps": None, "text": peer.get("reason", "")}
            )
            continue
        for r in peer["rows"]:
            rows.append(_row(labels[(name, r["part"])], r.get("steps"), PEER_TEXT, r))
    return rows


def _row(system: str, steps: int | None, text: str, r: dict[str, Any]) -> dict[str, Any]:
    return {
        "system": system,
        "steps": steps,
        "text": text,
        "audio_s": r["audio_s"],
        "median_s": r["median_s"],
        "rtf": r["rtf"],
        "peak_rss_mb": r["peak_rss_mb"],
    }


def check_targets(flow: dict[str, Any], is_default_voice: bool) -> list[dict[str, Any]]:
    """The targets against the worst text (highest RTF) at each step count; they are stated
    for the default voice, so another voice's check is marked as such."""
    checks = []
    for target in TARGETS:
        rtfs = [r["rtf"] for r in flow["rtf"] if r["steps"] == target["steps"]]
        if not rtfs:
            continue
        worst = max(rtfs)
        checks.append(
            {
                "what": f"RTF at {target['steps']} steps (worst text, issue #{target['issue']})",
                "value": worst,
                "limit": target["max_rtf"],
                "met": worst <= target["max_rtf"],
                "default_voice": is_default_voice,
            }
        )
    checks.append(
        {
            "what": "peak RSS MB",
            "value": flow["peak_rss_mb"],
            "limit": TARGET_RSS_MB,
            "met": flow["peak_rss_mb"] <= TARGET_RSS_MB,
            "default_voice": is_default_voice,
        }
    )
    long_first = flow.get("stream", {}).get("long_first")
    if long_first is not None:
        checks.append(
            {
                "what": "time to first audio s, 45-word first sentence",
                "value": long_first["ttfa_s"],
                "limit": TARGET_TTFA_LONG_FIRST_S,
                "met": long_first["ttfa_s"] <= TARGET_TTFA_LONG_FIRST_S,
                "default_voice": is_default_voice,
            }
        )
    return checks


def merge(
    host: dict[str, Any],
    settings: dict[str, Any],
    flow: dict[str, Any] | None,
    peers: dict[str, dict[str, Any]],
    gpu: dict[str, Any] | None,
    is_default_voice: bool,
) -> dict[str, Any]:
    """The JSON written by ``main``: everything measured, plus the table's rows."""
    return {
        "host": host,
        "settings": settings,
        "table": table_rows(flow, peers),
        "targets": check_targets(flow, is_default_voice) if flow is not None else [],
        "flowaudio": flow,
        "peers": peers,
        "gpu": gpu,
    }


def _cell(value: Any, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_table(result: dict[str, Any]) -> str:
    """The printed report: host line, the RTF table, flowaudio's extras, targets, GPU."""
    host, settings = result["host"], result["settings"]
    peer_ort = sorted(
        {
            p["install"]["onnxruntime"]
            for p in result["peers"].values()
            if p.get("available") and p.get("install", {}).get("onnxruntime")
        }
    )
    peers_note = f" (peers: {', '.join(peer_ort)})" if peer_ort else ""
    lines = [
        f"host: {host['cpu_model']} ({host['cpu_count']} cores), {host['threads']} threads, "
        f"onnxruntime {host['onnxruntime']}{peers_note}, load {host['load_average_1min']:.2f}",
        f"RTF = synthesis time / audio time (lower is better), vocoder included unless noted; "
        f"median of {settings['runs']} after {settings['warmup']} warm-ups, fresh process each",
        "",
    ]
    header = ("system", "steps", "text", "audio s", "RTF", "RSS MB")
    body = []
    for r in result["table"]:
        body.append(
            (
                r["system"],
                _cell(r["steps"], "d"),
                r["text"],
                _cell(r.get("audio_s"), ".2f"),
                _cell(r.get("rtf"), ".4f"),
                _cell(r.get("peak_rss_mb"), ".0f"),
            )
        )
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]
    right = (False, True, False, True, True, True)

    def fmt(row: tuple[str, ...]) -> str:
        cells = [
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right, strict=True)
        ]
        return " | ".join(cells).rstrip()

    lines.append(fmt(header))
    lines.append("-+-".join("-" * w for w in widths))
    lines.extend(fmt(row) for row in body)
    flow = result.get("flowaudio")
    if flow is not None:
        lines += [
            "",
            f"flowaudio: time to first audio (stream, {flow['stream'].get('steps', 4)} steps) "
            f"{flow['stream']['ttfa_s'] * 1000:.0f} ms"
            + (
                f", {flow['stream']['long_first']['ttfa_s'] * 1000:.0f} ms when the first "
                "sentence has 45 words"
                if "long_first" in flow["stream"]
                else ""
            )
            + f"; batch-8 "
            f"{flow['batch8']['audio_s_per_s']:.1f} s of audio per s; peak RSS "
            f"{flow['peak_rss_mb']:.0f} MB; voice {flow['voice_size_mb']:.1f} MB on disk",
        ]
    for t in result.get("targets", []):
        verdict = "met" if t["met"] else "NOT met"
        note = "" if t["default_voice"] else " (not the default voice)"
        lines.append(f"target {t['what']} <= {t['limit']}: {t['value']:.4g} {verdict}{note}")
    gpu = result.get("gpu")
    if gpu is not None:
        lines.append("")
        if gpu.get("skipped"):
            lines.append(f"GPU: skipped: {gpu['skipped']}")
        else:
            lines.append(f"GPU: {gpu['device']}")
            for r in gpu["rows"]:
                lines.append(
                    f"  {r['backend']:11s} batch {r['batch']:2d}: "
                    f"{r['audio_s_per_s']:.1f} s of audio per s"
                )
            for backend, latency in gpu["latency_s"].items():
                lines.append(f"  {backend:11s} batch-1 latency {latency * 1000:.1f} ms")
            for note in gpu.get("notes", []):
                lines.append(f"  {note}")
    return "\n".join(lines)


# -- GPU (--gpu) -----------------------------------------------------------------------------


def cuda_device() -> str | None:
    """The first CUDA device's name, or None when this machine has none (onnxruntime-gpu
    lists its CUDA provider even without a GPU, so the device itself is asked)."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    names = out.stdout.strip().splitlines()
    return names[0].strip() if out.returncode == 0 and names else None


def gpu_child(args: argparse.Namespace) -> dict[str, Any]:
    """onnxruntime-gpu (and PyTorch when the runs are given) on the first CUDA device; runs in
    its own process so that nothing of it touches the CPU measurements."""
    import flowaudio
    from flowaudio import SynthesisConfig

    text = runtime.TEXTS["medium"]
    rows, latency, notes = [], {}, []
    voice = flowaudio.load_voice(args.voice, providers="cuda")
    one = voice.synthesize(text, steps=4, seed=0).duration
    for batch in GPU_BATCHES:

        def ort_batch(b: int = batch) -> list:
            return voice.synthesize_batch(
                [text] * b, config=SynthesisConfig(steps=4, seed=0), batch_size=b
            )

        audio = sum(a.duration for a in ort_batch())
        median = time_calls(ort_batch, args.warmup, args.runs).median_s
        rows.append({"backend": "onnxruntime", "batch": batch, "audio_s_per_s": audio / median})
    latency["onnxruntime"] = time_calls(
        lambda: voice.synthesize(text, steps=4, seed=0), args.warmup, args.runs
    ).median_s

    if args.acoustic_run and args.vocoder_run:
        import torch

        from flowaudio.export.voice import load_acoustic, load_vocoder

        device = torch.device("cuda")
        acoustic = load_acoustic(args.acoustic_run).model.to(device)
        vocoder = load_vocoder(args.vocoder_run).model.to(device)
        ids = torch.tensor(voice.frontend.encode(text).ids, device=device)

        @torch.inference_mode()
        def torch_batch(b: int) -> None:
            out = acoustic.synthesize(
                ids.expand(b, -1).contiguous(),
                torch.full((b,), ids.numel(), device=device),
                steps=4,
                seed=0,
            )
            vocoder(out.mel)

        for batch in GPU_BATCHES:
            median = time_calls(
                lambda b=batch: torch_batch(b), args.warmup, args.runs, torch.cuda.synchronize
            ).median_s
            # Same weights and text as the ONNX graphs (export parity), so the same length.
            rows.append(
                {"backend": "pytorch", "batch": batch, "audio_s_per_s": one * batch / median}
            )
        latency["pytorch"] = time_calls(
            lambda: torch_batch(1), args.warmup, args.runs, torch.cuda.synchronize
        ).median_s
    else:
        notes.append("PyTorch skipped: pass --acoustic-run and --vocoder-run (the voice is ONNX)")
    return {"rows": rows, "latency_s": latency, "audio_s_per_item": one, "notes": notes}


def measure_gpu(args: argparse.Namespace, voice_dir: Path) -> dict[str, Any]:
    device = cuda_device()
    if device is None:
        return {"skipped": "no CUDA device (nvidia-smi finds none)"}
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        return {
            "skipped": f"{device} present but onnxruntime {onnxruntime.__version__} has no "
            "CUDA provider: pip install 'flowaudio[gpu]' (onnxruntime-gpu)"
        }
    cmd = [
        sys.executable,
        __file__,
        "--gpu-child",
        "--voice",
        str(voice_dir),
        "--runs",
        str(args.runs),
        "--warmup",
        str(args.warmup),
    ]
    if args.acoustic_run and args.vocoder_run:
        cmd += ["--acoustic-run", args.acoustic_run, "--vocoder-run", args.vocoder_run]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=BENCH.parent)
    if proc.returncode != 0:
        return {"skipped": f"GPU run failed on {device}: {proc.stderr.strip()[-500:]}"}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    # Every GPU figure carries the device it was measured on.
    for row in result["rows"]:
        row["device"] = device
    result["device"] = device
    return result


def compare_gpu_cpu(gpu: dict[str, Any], flow: dict[str, Any] | None) -> None:
    """Issue #8: GPU onnxruntime must beat CPU at batch 1 (the medium text at 4 steps, the
    configuration the GPU child times)."""
    if flow is None or gpu.get("skipped"):
        return
    cpu = [r for r in flow["rtf"] if r["steps"] == 4 and r["text"] == "medium"]
    if cpu and "onnxruntime" in gpu["latency_s"]:
        gpu["cpu_batch1_latency_s"] = cpu[0]["median_s"]
        gpu["gpu_beats_cpu_batch1"] = gpu["latency_s"]["onnxruntime"] < cpu[0]["median_s"]
        gpu.setdefault("notes", []).append(
            f"CPU batch-1 latency {cpu[0]['median_s'] * 1000:.1f} ms: GPU onnxruntime "
            + ("beats it" if gpu["gpu_beats_cpu_batch1"] else "does NOT beat it")
        )


# -- command line ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example:" + __doc__.split("example:")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--voice", default=None, help="voice directory (default: embedded voice)")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per configuration")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    parser.add_argument("--steps-list", default="1,2,4,8", help="flowaudio's step counts")
    parser.add_argument(
        "--matcha-steps", default="2,4,10", help="Matcha's step counts (one graph each)"
    )
    parser.add_argument("--skip-peers", action="store_true", help="flowaudio only")
    parser.add_argument("--skip-flowaudio", action="store_true", help="the peers only")
    parser.add_argument(
        "--peers-venv", type=Path, default=DEFAULT_PEERS_VENV, help="venv of bench/setup_peers.sh"
    )
    parser.add_argument(
        "--peers-out", type=Path, default=DEFAULT_PEERS_OUT, help="peer graphs (reused)"
    )
    parser.add_argument("--reexport", action="store_true", help="export the peers again")
    parser.add_argument("--gpu", action="store_true", help="also measure on a CUDA device")
    parser.add_argument("--acoustic-run", default=None, help="--gpu: run dir for PyTorch")
    parser.add_argument("--vocoder-run", default=None, help="--gpu: vocoder run dir for PyTorch")
    parser.add_argument(
        "--out", type=Path, default=BENCH / "results" / "run.json", help="combined JSON"
    )
    parser.add_argument("--gpu-child", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("threads", "runs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.warmup < 0:
        parser.error(f"--warmup must be >= 0, got {args.warmup}")
    if args.gpu_child:
        print(json.dumps(gpu_child(args)))
        return 0

    from flowaudio.runtime.synthesizer import default_voice_dir

    default = default_voice_dir()
    voice_dir = Path(args.voice) if args.voice else default
    if voice_dir is None:
        parser.error("this build embeds no default voice yet: pass --voice DIR")
    if not (voice_dir / "voice.json").is_file():
        parser.error(f"--voice {voice_dir}: no voice.json there (a `flowaudio export` folder)")
    try:
        steps_list = tuple(int(s) for s in args.steps_list.split(","))
        matcha_steps = tuple(int(s) for s in args.matcha_steps.split(","))
    except ValueError:
        parser.error("--steps-list and --matcha-steps take comma-separated integers")

    host = host_info(args.threads)
    settings = {"runs": args.runs, "warmup": args.warmup, "voice": runtime.recorded_path(voice_dir)}
    flow = None
    if not args.skip_flowaudio:
        flow = runtime.measure(voice_dir, args.threads, args.runs, args.warmup, steps_list)
    peers: dict[str, dict[str, Any]] = {}
    if not args.skip_peers:
        peers = measure_peers(
            args.peers_venv,
            args.peers_out,
            args.threads,
            args.runs,
            args.warmup,
            args.reexport,
            matcha_steps,
        )
    gpu = None
    if args.gpu:
        gpu = measure_gpu(args, voice_dir)
        compare_gpu_cpu(gpu, flow)
    is_default = default is not None and voice_dir.resolve() == default.resolve()
    result = merge(host, settings, flow, peers, gpu, is_default)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(format_table(result))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
