#!/usr/bin/env bash
# Train a voice end to end on an LJSpeech-layout dataset (metadata.csv + wavs/), export it, say.
#
# example:
#   bash examples/train_ljspeech.sh /data/LJSpeech-1.1 runs/lj
#
# No dataset? Make one from teacher voices first (a few hours, built in a couple of minutes):
#   flowaudio corpus build --out corpus      # the default-voice recipe: 4 flite voices
#   bash examples/train_ljspeech.sh corpus runs/teacher
# Every step resumes if you run it again; Ctrl-C during training saves a checkpoint first.
set -euo pipefail

DATA=${1:?usage: train_ljspeech.sh DATA_DIR RUN_ROOT}
ROOT=${2:?usage: train_ljspeech.sh DATA_DIR RUN_ROOT}
STEPS=${STEPS:-100000}        # acoustic model steps; a GPU gets there in hours, 2 CPU cores in days
VOC_STEPS=${VOC_STEPS:-200000}
CONFIG=${CONFIG:-22k}         # LJSpeech is 22.05 kHz; use 16k for the flite teacher corpus

# 1. phonemise, compute mels, split train/validation (bad files are listed in cache/report.tsv)
flowaudio prepare "$DATA" --out "$ROOT/cache" --config "$CONFIG"

# 2. the acoustic model (several GPUs: torchrun --nproc_per_node N -m flowaudio train ...)
flowaudio train --config small --data "$ROOT/cache" --out "$ROOT/acoustic" --max-steps "$STEPS"

# 3. the vocoder, on the same cache
flowaudio train-vocoder --config small --data "$ROOT/cache" --out "$ROOT/vocoder" \
    --max-steps "$VOC_STEPS"

# 4. export to ONNX (checked against torch) and speak
flowaudio export "$ROOT/acoustic" --vocoder "$ROOT/vocoder" --out "$ROOT/voice"
flowaudio say "Hello from my own voice." -o "$ROOT/hello.wav" --voice "$ROOT/voice"
echo "voice in $ROOT/voice; listen to $ROOT/hello.wav"
