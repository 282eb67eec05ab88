#!/usr/bin/env bash
# Create the benchmark-only venv for the peer systems (Matcha-TTS, Piper) of bench/run.py.
#
# The peers are never dependencies of flowaudio: they live in their own venv, with torch pinned
# to 2.13.0 CPU so that no CUDA packages arrive. A peer that fails to install is reported (here
# and, later, by bench/run.py as "unavailable" with the reason); the script goes on with the other.
#
# example:
#   bash bench/setup_peers.sh                     # creates bench/.venv-peers
#   PEERS_VENV=/tmp/peers bash bench/setup_peers.sh
#   PYTHON=python3.11 bash bench/setup_peers.sh
set -uo pipefail

case "${1:-}" in
-h | --help)
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
esac

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${PEERS_VENV:-$ROOT/bench/.venv-peers}"
PYTHON="${PYTHON:-python3}"
TORCH_VERSION="2.13.0"
MATCHA_VERSION="0.0.7.2"
PIPER_VERSION="1.8.0"
STATUS="$VENV/peers-status.json"

# Matcha's requirements.txt also pins its web demo, notebooks and dev tools (gradio==3.43.2,
# notebook, pre-commit, hydra-optuna-sweeper, ...), none of which building, exporting or timing
# the model touches; these are the modules its model, HiFi-GAN and ONNX-export code import.
MATCHA_DEPS=(
    "lightning>=2" "hydra-core==1.3.2" omegaconf rich einops "conformer==0.3.2" diffusers
    numpy scipy matplotlib soundfile phonemizer inflect Unidecode gdown wget librosa
    onnx onnxruntime Cython
)

pip_() { nice -n 19 "$VENV/bin/python" -m pip "$@"; }

if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating $VENV with $("$PYTHON" --version)"
    "$PYTHON" -m venv "$VENV" || { echo "cannot create $VENV" >&2; exit 1; }
fi
pip_ install --quiet --upgrade pip setuptools wheel

echo "== torch==$TORCH_VERSION (CPU build)"
# torch==2.13.0 also matches the local CPU build 2.13.0+cpu, which pip prefers when it is offered
# (find-links); the check below is the real guard against CUDA wheels.
if ! pip_ install --quiet "torch==$TORCH_VERSION"; then
    echo "torch==$TORCH_VERSION failed to install: no peer can run" >&2
    exit 1
fi

matcha_reason=""
echo "== matcha-tts==$MATCHA_VERSION"
if ! pip_ install --quiet "${MATCHA_DEPS[@]}"; then
    matcha_reason="installing Matcha's runtime dependencies failed (see the pip output above)"
# --no-build-isolation: its build requirements pin numpy==1.24.3, and a Cython extension built
# against numpy 1 does not import under the numpy 2 the other packages need ("numpy.dtype size
# changed"); build it against the numpy installed here (and not from pip's wheel cache). --no-deps leaves pip listing
# matcha's unmet demo/dev requirements as "conflicts": expected, nothing imports them.
elif ! pip_ install --quiet --no-deps --no-build-isolation --force-reinstall --no-cache-dir \
    "matcha-tts==$MATCHA_VERSION"; then
    matcha_reason="pip install matcha-tts==$MATCHA_VERSION failed (its sdist builds a Cython extension)"
elif ! "$VENV/bin/python" -c "import matcha.onnx.export, matcha.hifigan.models" 2>"$VENV/matcha-import.err"; then
    matcha_reason="matcha-tts installed but does not import: $(tail -n 1 "$VENV/matcha-import.err")"
fi

piper_reason=""
echo "== piper-tts[train]==$PIPER_VERSION"
# The [train] extra carries the VITS training code's dependencies (lightning, onnx, ...); the
# code itself (piper.train, including export_onnx) ships in the piper-tts wheel.
if ! pip_ install --quiet "piper-tts[train]==$PIPER_VERSION"; then
    piper_reason="pip install piper-tts[train]==$PIPER_VERSION failed (see the pip output above)"
elif ! "$VENV/bin/python" -c "import piper.train.export_onnx, piper.train.vits.lightning" 2>"$VENV/piper-import.err"; then
    piper_reason="piper-tts installed but does not import: $(tail -n 1 "$VENV/piper-import.err")"
fi

# Pip may have moved torch while resolving the peers' dependencies: put the pin back.
pip_ install --quiet "torch==$TORCH_VERSION"
cuda="$(pip_ list 2>/dev/null | grep -i nvidia || true)"
if [ -n "$cuda" ]; then
    echo "CUDA packages arrived in $VENV (they must not):" >&2
    echo "$cuda" >&2
    exit 1
fi

"$VENV/bin/python" - "$STATUS" "$matcha_reason" "$piper_reason" <<'EOF'
import importlib.metadata as md
import json
import sys

path, matcha_reason, piper_reason = sys.argv[1:4]


def version(name):
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


status = {
    "torch": version("torch"),
    "onnxruntime": version("onnxruntime"),
    "onnx": version("onnx"),
    "matcha": {"version": version("matcha-tts"), "error": matcha_reason or None},
    "piper": {"version": version("piper-tts"), "error": piper_reason or None},
}
with open(path, "w") as f:
    json.dump(status, f, indent=2)
print(json.dumps(status, indent=2))
EOF

[ -z "$matcha_reason" ] || echo "Matcha-TTS unavailable: $matcha_reason" >&2
[ -z "$piper_reason" ] || echo "Piper unavailable: $piper_reason" >&2
echo "peer venv ready: $VENV (status in $STATUS)"
