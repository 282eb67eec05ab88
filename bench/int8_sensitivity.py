r"""Which MatMuls of a voice's velocity graph int8 hurts, and what keeping them float buys back.

Issue #15's int8 lever: the whole-graph dynamic int8 of ``flowaudio export --int8`` fails
verification on the one-step default voice (end-to-end 0.06-0.20 against a 0.05 bound): a
one-step student adds its velocity error straight to the mel. This measures, on the velocity
graph's real inputs (recorded while the float32 voice synthesizes held-out sentences):

1. each quantizable MatMul alone in int8 (every other float32): its share of the error
   (:func:`flowaudio.export.optimize.int8_errors`, what the export ranks);
2. the whole graph in int8 with the k most sensitive MatMuls kept float32, for growing k:
   the error and the graph's time (median of --runs passes over the recorded inputs).

Error: mean and max |v_int8 - v_float32| over the frames inside the mask, and the mean relative
to mean |v_float32|. One Euler step of length 1 adds v to the noise, so this is the mel error
in normalised mel units. Writes JSON (``--out``) and prints the table.

example:
  python bench/int8_sensitivity.py --voice work/voices/cand-fp32 \
      --test-set work/corpus/heldout.csv --sentences 12 --out bench/results/int8_sensitivity.json
"""

from __future__ import annotations

import csv
import logging
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import host_info, script_parser, write_result


class Recorder:
    """Delegates to a runtime backend and keeps every velocity call's full feed."""

    def __init__(self, backend):
        self.backend = backend
        self.feeds: list[dict[str, np.ndarray]] = []

    def bind_velocity(self, mu_frames, mel_mask, speaker_cond):
        run = self.backend.bind_velocity(mu_frames, mel_mask, speaker_cond)

        def recorded(x, t, dt=None):
            feed = {"x": x, "t": t, "mu_frames": mu_frames, "mel_mask": mel_mask}
            feed["speaker_cond"] = speaker_cond
            if dt is not None:
                feed["dt"] = dt
            self.feeds.append({k: np.array(v) for k, v in feed.items()})
            return run(x, t, dt)

        return recorded

    def __getattr__(self, name):
        return getattr(self.backend, name)


def record_feeds(voice_dir: Path, texts: list[str], steps: int) -> list[dict[str, np.ndarray]]:
    from flowaudio.runtime.synthesizer import Voice

    loaded = Voice.load(voice_dir, threads=2, providers="cpu")
    recorder = Recorder(loaded.backend)
    voice = Voice(loaded.meta, recorder, loaded.path)
    speakers = loaded.meta.speakers
    for i, text in enumerate(texts):
        voice.synthesize(text, seed=i, steps=steps, speaker=speakers[i % len(speakers)])
    return recorder.feeds


def session(proto, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def outputs(sess, feeds) -> list[np.ndarray]:
    names = {i.name for i in sess.get_inputs()}
    return [sess.run(None, {k: v for k, v in f.items() if k in names})[0] for f in feeds]


def error(out: list[np.ndarray], ref: list[np.ndarray], feeds) -> dict[str, float]:
    diffs, mags, worst = [], [], 0.0
    for o, r, f in zip(out, ref, feeds, strict=True):
        inside = np.broadcast_to(f["mel_mask"] > 0.5, r.shape)
        d = np.abs(o - r)[inside]
        diffs.append(d.mean())
        mags.append(np.abs(r)[inside].mean())
        worst = max(worst, float(d.max()))
    mean = float(np.mean(diffs))
    return {"mean_abs": mean, "max_abs": worst, "relative": mean / float(np.mean(mags))}


def timing(sess, feeds, runs: int) -> float:
    outputs(sess, feeds)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        outputs(sess, feeds)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    p = script_parser(__doc__)
    p.add_argument("--voice", required=True, type=Path, help="a float32 voice directory")
    p.add_argument("--test-set", required=True, type=Path, help="CSV audio_path|speaker|text")
    p.add_argument("--sentences", type=int, default=12, help="sentences whose inputs are recorded")
    p.add_argument("--steps", type=int, default=1, help="solver steps while recording")
    p.add_argument("--threads", type=int, default=2, help="onnxruntime threads for the timings")
    p.add_argument("--runs", type=int, default=5, help="timed passes per configuration")
    p.add_argument("--keep", default="0,1,2,3,4,6,8,12,16", help="k values of step 2")
    p.add_argument("--out", type=Path, help="JSON result")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import onnx

    from flowaudio.export.optimize import (
        conv1d_as_matmul,
        int8_errors,
        quantizable_matmuls,
        quantize_int8,
    )

    with args.test_set.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="|"))
    texts = [r["text"] for r in rows[:: max(1, len(rows) // args.sentences)]][: args.sentences]
    feeds = record_feeds(args.voice, texts, args.steps)
    base = conv1d_as_matmul(onnx.load(str(args.voice / "velocity.onnx")))
    names = quantizable_matmuls(base)
    ref_sess = session(base, args.threads)
    ref = outputs(ref_sess, feeds)
    print(f"{len(feeds)} velocity calls, {len(names)} quantizable MatMuls")

    alone = int8_errors(base, feeds)  # what the export's rule ranks (int8_sensitive)
    for name, err in alone.items():
        print(f"  alone {err:.5f} {name}")
    order = sorted(names, key=lambda n: -alone[n])

    float_time = timing(ref_sess, feeds, args.runs)
    rows_out = [{"keep_float": "all", "k": len(names), **error(ref, ref, feeds)}]
    rows_out[0]["seconds"] = float_time
    for k in [int(x) for x in args.keep.split(",")]:
        keep = order[:k]
        q = quantize_int8(onnx.ModelProto.FromString(base.SerializeToString()), keep)
        sess = session(q, args.threads)
        row = {"k": k, "keep_float": keep, **error(outputs(sess, feeds), ref, feeds)}
        row["seconds"] = timing(sess, feeds, args.runs)
        rows_out.append(row)
        print(
            f"k={k:2d} mean {row['mean_abs']:.5f} rel {row['relative']:.4f} max "
            f"{row['max_abs']:.3f} time {row['seconds'] / float_time:.2f}x float32"
        )
    result = {
        "voice": str(args.voice),
        "sentences": len(texts),
        "velocity_calls": len(feeds),
        "host": host_info(args.threads),
        "float32_seconds": float_time,
        "alone": alone,
        "order": order,
        "keep": rows_out,
    }
    write_result(args.out, result)


if __name__ == "__main__":
    main()
