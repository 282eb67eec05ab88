#!/usr/bin/env bash
# Fine-tuning the default voice on MINUTES of a teacher it never heard (espeak-ng en-us+f3), then
# measuring the new speaker (held-out WER and speaker similarity to the teacher and to each base
# speaker) and the old speakers (WER and similarity before/after), at STEPS (default: 1, the
# shipped one-step voice's default; the fine-tuned voice keeps the source voice's defaults).
#
# example (2 CPU cores; one run per amount of audio, 35 passes over it, 200 steps at least):
#   OMP_NUM_THREADS=1 bash bench/finetune.sh work/finetune "2 5 10 20"
#   ADAPT=--full bash bench/finetune.sh work/finetune-full 10      # full fine-tuning instead
#   SOURCE=voices/mine STEPS=2 bash bench/finetune.sh work/ft-mine 10   # another source voice
#
# Needs espeak-ng and the eval extra; BASE_HELDOUT is the default voice's held-out corpus CSV
# (`flowaudio corpus build --out work/corpus`, as examples/default_voice/build.sh makes it).
set -euo pipefail

ROOT=${1:?usage: finetune.sh WORK_DIR "MINUTES..."}
MINUTES=${2:-10}
TEACHER=${TEACHER:-espeak:en-us+f3}
BASE_HELDOUT=${BASE_HELDOUT:-work/corpus/heldout.csv}
ADAPT=${ADAPT:-}
STEPS=${STEPS:-1}
SOURCE=${SOURCE:-default}
HERE=$(cd "$(dirname "$0")" && pwd)

for m in $MINUTES; do
    clips=$((m * 14))   # ~4.3 s a fortune sentence: ~14 clips a minute
    flowaudio corpus build --out "$ROOT/corpus-$m" --voices "$TEACHER" --sentences fortunes \
        --per-voice "$clips" --heldout 20 --seed 7 -q
    # the held-out rows name the fine-tuned speaker
    awk -F"|" -v OFS="|" 'NR == 1 {print; next} {$2 = "new"; print}' \
        "$ROOT/corpus-$m/heldout.csv" > "$ROOT/corpus-$m/heldout-new.csv"
    /usr/bin/time -v flowaudio finetune --from "$SOURCE" --data "$ROOT/corpus-$m/metadata.csv" \
        --speaker new --out "$ROOT/run-$m" $ADAPT -q 2> "$ROOT/run-$m.time"
    flowaudio export "$ROOT/run-$m" --out "$ROOT/voice-$m" --fp16
    flowaudio evaluate --voice "$ROOT/voice-$m" --test-set "$ROOT/corpus-$m/heldout-new.csv" \
        --steps "$STEPS" --out "$ROOT/report-new-$m" -q
    flowaudio evaluate --voice "$ROOT/voice-$m" --test-set "$BASE_HELDOUT" --per-speaker 5 \
        --steps "$STEPS" --out "$ROOT/report-old-$m" -q
    python "$HERE/finetune_similarity.py" "$ROOT/voice-$m" new \
        "$ROOT/corpus-$m/heldout-new.csv" "$BASE_HELDOUT" "${STEPS%%,*}" | tee "$ROOT/similarity-$m.txt"
done
flowaudio evaluate --voice "$SOURCE" --test-set "$BASE_HELDOUT" --per-speaker 5 --steps "$STEPS" \
    --out "$ROOT/report-old-base" -q
