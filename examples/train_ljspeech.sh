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
#
# Time: the defaults are the CPU settings that made the embedded voice (examples/default_voice):
# on 2 CPU cores the acoustic model takes ~4.4 s a step (4,500 steps: ~5.5 h) and the vocoder,
# without the GAN, ~0.5 s a step on one thread (15,000 steps: ~2 h); both print their own
# estimate after their first steps. A GPU does far more steps in that time: raise STEPS and
# VOC_STEPS (and use --config small-gan for the vocoder there).
set -euo pipefail

DATA=${1:?usage: train_ljspeech.sh DATA_DIR RUN_ROOT}
ROOT=${2:?usage: train_ljspeech.sh DATA_DIR RUN_ROOT}
HERE=$(cd "$(dirname "$0")" && pwd)
STEPS=${STEPS:-4500}          # acoustic model steps (~5.5 h on 2 CPU cores)
VOC_STEPS=${VOC_STEPS:-15000} # vocoder steps (~2 h on 1 CPU thread, reconstruction losses only)
CONFIG=${CONFIG:-22k}         # LJSpeech is 22.05 kHz; use 16k for the flite teacher corpus
ACOUSTIC=${ACOUSTIC:-$HERE/default_voice/acoustic.yaml}   # or: small, base (GPU)
VOCODER=${VOCODER:-small}     # small: no GAN (CPU); small-gan: GAN from the first step (GPU)

# 1. phonemise, compute mels, split train/validation (bad files are listed in cache/report.tsv)
flowaudio prepare "$DATA" --out "$ROOT/cache" --config "$CONFIG"

# 2. the acoustic model (several GPUs: torchrun --nproc_per_node N -m flowaudio train ...)
flowaudio train --config "$ACOUSTIC" --data "$ROOT/cache" --out "$ROOT/acoustic" --max-steps "$STEPS"

# 3. the vocoder, on the same cache
flowaudio train-vocoder --config "$VOCODER" --data "$ROOT/cache" --out "$ROOT/vocoder" \
    --max-steps "$VOC_STEPS"

# 4. export to ONNX (checked against torch) and speak
flowaudio export "$ROOT/acoustic" --vocoder "$ROOT/vocoder" --out "$ROOT/voice"
flowaudio say "Hello from my own voice." -o "$ROOT/hello.wav" --voice "$ROOT/voice"
echo "voice in $ROOT/voice; listen to $ROOT/hello.wav"
