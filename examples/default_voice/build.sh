#!/usr/bin/env bash
# Rebuild the voice that ships inside the package (flowaudio/voices/default), from nothing.
#
# example:
#   bash examples/default_voice/build.sh work/default-voice
#   (the shipped voice is this run stopped with Ctrl-C at acoustic step 3,323 of 4,500)
#   STEPS=20000 VOC_STEPS=100000 bash examples/default_voice/build.sh work/default-voice  # longer
#
# Needs the apt packages of `make setup` (flite) and the train/export/eval extras. Every step
# resumes when run again (Ctrl-C during training saves a checkpoint first). The two trainings
# run side by side: the acoustic model on the cores it finds, the vocoder on one thread.
set -euo pipefail

ROOT=${1:?usage: build.sh WORK_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
STEPS=${STEPS:-}          # empty: the configs' own max_steps (acoustic 4500, vocoder 30000)
VOC_STEPS=${VOC_STEPS:-}
DISTILL_STEPS=${DISTILL_STEPS:-}

# 1. the corpus recipe: flite slt, rms, awb, kal16 x 650 fortunes + 20 shared held-out, seed 1234
flowaudio corpus build --out "$ROOT/corpus"
flowaudio prepare "$ROOT/corpus" --out "$ROOT/cache" --config 16k

# 2. acoustic model and vocoder (the configs used for the shipped voice)
flowaudio train --config "$HERE/acoustic.yaml" --data "$ROOT/cache" --out "$ROOT/acoustic" \
    ${STEPS:+--max-steps "$STEPS"} -q &
acoustic=$!
OMP_NUM_THREADS=1 flowaudio train-vocoder --config "$HERE/vocoder.yaml" --data "$ROOT/cache" \
    --out "$ROOT/vocoder" ${VOC_STEPS:+--max-steps "$VOC_STEPS"} -q &
vocoder=$!
wait "$acoustic"
kill -INT "$vocoder" 2>/dev/null || true   # the vocoder stops (and saves) with the acoustic model
wait "$vocoder" || true

# 3. the teacher voice: float16 weights (checked against torch) and its defaults (2 steps,
#    guidance 1.5: picked on the validation clips)
flowaudio export "$ROOT/acoustic" --vocoder "$ROOT/vocoder" --out "$ROOT/teacher" --fp16 \
    --name default --default steps=2 --default guidance_scale=1.5

# 4. the one-step student (guidance folded in): teacher targets (16 guided steps) cached under
#    the cache, then the interval student; DISTILL_STEPS empty: the preset's 2000 (the shipped
#    voice stopped at 1709)
OMP_NUM_THREADS=1 flowaudio distill "$ROOT/teacher" --data "$ROOT/cache" --out "$ROOT/student" \
    --method interval ${DISTILL_STEPS:+--max-steps "$DISTILL_STEPS"} -q
# int8 (the shipped form since 2026-12-01: 0.72x the float16 export's time, the same WER, DNSMOS
# and similarity on the 40 held-out clips; the sensitive matmuls and the duration path float32)
flowaudio export "$ROOT/student" --vocoder "$ROOT/teacher" --out "$ROOT/voice" --int8 --name default
flowaudio evaluate --voice "$ROOT/voice" --test-set "$ROOT/corpus/heldout.csv" \
    --steps 1,2,4 --out "$ROOT/report"
echo "voice in $ROOT/voice (copy it to flowaudio/voices/default); report in $ROOT/report"
