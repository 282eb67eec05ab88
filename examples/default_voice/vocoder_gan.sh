#!/usr/bin/env bash
# The vocoder's adversarial stage, as measured for the default voice (issue: "sound as clean as
# the recordings"), and the curves that judge it.
#
# example:
#   bash examples/default_voice/vocoder_gan.sh work/default-voice
#   GAN_STEPS=20000 AM_STEPS=10000 bash examples/default_voice/vocoder_gan.sh work/default-voice
#
# WORK_DIR is build.sh's: it needs WORK_DIR/cache and WORK_DIR/corpus/heldout.csv. Every step
# resumes when run again. On CPU each training runs on one thread (0.56-0.73 s a step, ~0.7 GB).
# 1. GAN fine-tuning from the shipped vocoder on the recordings' mels: multi-period
#    discriminators at half HiFi-GAN's width, no multi-resolution ones (2.7-6.9 s a step on
#    CPU; bench/vocoder_gan_cost.py), mel L1 + multi-resolution STFT + LSGAN + feature matching.
# 2. Then on the acoustic model's own mels, teacher-forced to the recordings and started from
#    the recording's mel noised to t = 0.5 (pitch and formants stay the recording's).
# 3. DNSMOS (copy and full synthesis) and PESQ against GAN steps and CPU time.
# 4. Export a voice with the chosen vocoder: VOCODER=WORK_DIR/voc-gan (or voc-gan-am).
set -euo pipefail
ROOT=${1:?usage: vocoder_gan.sh WORK_DIR}
GAN_STEPS=${GAN_STEPS:-6000}
AM_STEPS=${AM_STEPS:-2500}
VOICE=${VOICE:-default}

OMP_NUM_THREADS=1 flowaudio train-vocoder --config gan-finetune --init "$VOICE" \
    --data "$ROOT/cache" --out "$ROOT/voc-gan" --max-steps "$GAN_STEPS" -q
OMP_NUM_THREADS=1 flowaudio train-vocoder --config gan-finetune --init "$ROOT/voc-gan" \
    --acoustic-mels "$VOICE" --acoustic-start-t 0.5 --data "$ROOT/cache" \
    --out "$ROOT/voc-gan-am" --max-steps "$AM_STEPS" -q
python "$(dirname "$0")/../../bench/vocoder_curve.py" "$ROOT/voc-gan" "$ROOT/voc-gan-am" \
    --voice "$VOICE" --test-set "$ROOT/corpus/heldout.csv" --per-speaker 5 \
    --out "$ROOT/vocoder-curve"
echo "curves in $ROOT/vocoder-curve.png; export a voice with the better run, e.g.:"
echo "  flowaudio export $ROOT/student --vocoder $ROOT/voc-gan-am --out $ROOT/voice --fp16 --name default"
