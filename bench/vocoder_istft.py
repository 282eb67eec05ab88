"""Vocoder time with the ISTFT in the graph vs on the host (``flowaudio export --vocoder-istft``).

Rebuilds a voice's vocoder from its vocoder.onnx (:mod:`flowaudio.export.from_voice`), exports
it twice into a temporary folder, as the audio form (ISTFT in the graph) and the spectrum form
(the graph stops at the spectrum; numpy's inverse FFT finishes it, as the runtime does), with
the voice's weight format where that is float32 or float16, and times ``--seconds`` of random
log-mel through each with the runtime's session options. The machine may be shared: the two
forms run alternately (A, B, A, B, ...) so both see the same load, and the report gives each
form's median and the median of the per-pair ratios host / graph. Printed only; timings never
live in tests.

Example::

    OMP_NUM_THREADS=1 .venv/bin/python bench/vocoder_istft.py --voice default --threads 2 \\
        --seconds 10 --runs 15
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from flowaudio.audio.istft import spectrum_to_audio
from flowaudio.export.from_voice import load_voice_models
from flowaudio.export.onnx_io import Weights, export_graph
from flowaudio.export.vocoder import VocoderGraph, VocoderSpectrumGraph
from flowaudio.runtime import contract as C
from flowaudio.runtime.session import CPU, make_session

WARMUP_RUNS = 3


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example: .venv/bin/python bench/vocoder_istft.py --voice default --threads 2 "
        "--seconds 10 --runs 15",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--voice", default="default", help="voice directory or 'default'")
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads (default 2)")
    parser.add_argument("--seconds", type=float, default=10.0, help="audio length (default 10)")
    parser.add_argument("--runs", type=int, default=15, help="timed A/B pairs (default 15)")
    args = parser.parse_args(argv)
    if args.threads < 1 or args.runs < 1 or args.seconds <= 0:
        parser.error("--threads and --runs must be >= 1 and --seconds > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    models = load_voice_models(args.voice)
    if models.vocoder is None:
        raise SystemExit(f"{args.voice} has no neural vocoder")
    vocoder, audio = models.vocoder, models.vocoder.audio
    stored = models.meta.provenance.get("weights", "float32")
    weights = Weights.parse(stored if stored in ("float32", "float16") else "float32")
    frames = round(args.seconds * audio.sample_rate / audio.hop_length)
    rng = np.random.default_rng(0)
    mel = (
        models.meta.mel_mean + models.meta.mel_std * rng.standard_normal((1, audio.n_mels, frames))
    ).astype(np.float32)
    example = (torch.zeros(2, audio.n_mels, 64),)
    with tempfile.TemporaryDirectory() as tmp:
        graph_path = export_graph(
            VocoderGraph(vocoder),
            example,
            Path(tmp) / "audio.onnx",
            [C.VOC_MEL],
            [C.VOC_AUDIO],
            {C.VOC_MEL: {0: "b", 2: "t"}, C.VOC_AUDIO: {0: "b", 1: "n"}},
            weights=weights,
        )
        host_path = export_graph(
            VocoderSpectrumGraph(vocoder),
            example,
            Path(tmp) / "spectrum.onnx",
            [C.VOC_MEL],
            [C.VOC_SPECTRUM],
            {C.VOC_MEL: {0: "b", 2: "t"}, C.VOC_SPECTRUM: {0: "b", 3: "t"}},
            weights=weights,
        )
        in_graph = make_session(graph_path, [CPU], args.threads)
        on_host = make_session(host_path, [CPU], args.threads)

    def run_graph() -> np.ndarray:
        return in_graph.run([C.VOC_AUDIO], {C.VOC_MEL: mel})[0]

    istft_times: list[float] = []

    def run_host() -> np.ndarray:
        spectrum = on_host.run([C.VOC_SPECTRUM], {C.VOC_MEL: mel})[0]
        start = time.perf_counter()
        audio_out = spectrum_to_audio(spectrum, audio)
        istft_times.append(time.perf_counter() - start)
        return audio_out

    diff = float(np.abs(run_graph() - run_host()).max())
    for _ in range(WARMUP_RUNS):
        run_graph(), run_host()
    istft_times.clear()
    graph_t, host_t, ratios = [], [], []
    for k in range(args.runs):
        pair = {}
        for name, fn in (("graph", run_graph), ("host", run_host))[:: 1 if k % 2 else -1]:
            start = time.perf_counter()
            fn()
            pair[name] = time.perf_counter() - start
        graph_t.append(pair["graph"])
        host_t.append(pair["host"])
        ratios.append(pair["host"] / pair["graph"])
    scale = 10.0 / args.seconds
    print(
        f"voice {args.voice} ({weights.value} vocoder), {args.seconds:g} s of audio "
        f"({frames} frames), {args.threads} threads, {args.runs} interleaved pairs\n"
        f"  graph ISTFT: median {1e3 * statistics.median(graph_t) * scale:.1f} ms per 10 s\n"
        f"  host ISTFT:  median {1e3 * statistics.median(host_t) * scale:.1f} ms per 10 s "
        f"(numpy ISTFT {1e3 * statistics.median(istft_times) * scale:.1f} ms of it)\n"
        f"  host / graph: median ratio {statistics.median(ratios):.3f} "
        f"(min {min(ratios):.3f}, max {max(ratios):.3f})\n"
        f"  max |audio difference| {diff:.2e}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
