#!/usr/bin/env bash
# Sets up a development machine from scratch (the README's first command, also run by CI):
#   1. Debian packages the corpus builder needs: flite, espeak-ng (teacher voices), fortunes;
#      and chromium, the headless browser of the web page's test (tests/server/test_web_page.py);
#   2. a virtualenv in .venv (override with VENV=...);
#   3. PyTorch 2.13.0: the CPU build on a machine without an NVIDIA GPU (never CUDA packages),
#      the registry's CUDA build when `nvidia-smi` sees a GPU;
#   4. flowaudio in editable mode with the train, export, eval, serve and dev extras, within the
#      tested versions of scripts/constraints.txt.
# Safe to run again: every step skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
TORCH_VERSION=2.13.0
CPU_TORCH_INDEX=${FLOWAUDIO_CPU_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}

log() { printf '\n== %s\n' "$*"; }

# --- 1. system packages ------------------------------------------------------------------
missing=()
command -v flite >/dev/null 2>&1 || missing+=(flite)
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
[ -f /usr/share/games/fortunes/fortunes ] || missing+=(fortunes)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: need root to install ${missing[*]}: run 'apt-get install ${missing[*]}' as root" >&2
    exit 1
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" </dev/null
else
  log "Debian packages present: flite espeak-ng fortunes chromium"
fi

# --- 2. virtualenv -----------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtualenv $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip)
"${PIP[@]}" install -q --upgrade pip

# --- 3. torch ------------------------------------------------------------------------------
has_gpu=0
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then has_gpu=1; fi
if "$VENV/bin/python" -c "import torch, sys; sys.exit(0 if torch.__version__.split('+')[0] == '$TORCH_VERSION' else 1)" 2>/dev/null; then
  log "torch $TORCH_VERSION already installed"
elif [ $has_gpu = 1 ]; then
  log "GPU found: installing torch==$TORCH_VERSION (CUDA build)"
  "${PIP[@]}" install "torch==$TORCH_VERSION"
else
  # Ask pip what it would install: where the plain requirement resolves to the CUDA build
  # (it drags nvidia-* packages), take the CPU build from PyTorch's CPU index instead.
  report=$(mktemp)
  "${PIP[@]}" install -q --dry-run --ignore-installed --report "$report" "torch==$TORCH_VERSION"
  if grep -qi '"name": *"nvidia-' "$report"; then
    log "no GPU: installing the CPU build of torch==$TORCH_VERSION from $CPU_TORCH_INDEX"
    "${PIP[@]}" install "torch==$TORCH_VERSION" --index-url "$CPU_TORCH_INDEX"
  else
    log "no GPU: installing torch==$TORCH_VERSION (CPU build available locally)"
    "${PIP[@]}" install "torch==$TORCH_VERSION"
  fi
  rm -f "$report"
fi

# --- 4. flowaudio ------------------------------------------------------------------------
log "installing flowaudio[train,export,eval,serve,dev] (editable, within scripts/constraints.txt)"
# The constraints hold the versions the tests' numbers were measured with (onnxruntime's int8
# kernels, the exporter); a fresh machine resolves the same ranges as CI.
"${PIP[@]}" install -e ".[train,export,eval,serve,dev]" -c scripts/constraints.txt

# --- checks ------------------------------------------------------------------------------
if [ $has_gpu = 0 ] && "${PIP[@]}" list 2>/dev/null | grep -qi nvidia; then
  echo "error: CUDA packages were installed on a machine without a GPU:" >&2
  "${PIP[@]}" list 2>/dev/null | grep -i nvidia >&2
  exit 1
fi
"$VENV/bin/python" -c "import torch, flowaudio; print('flowaudio', flowaudio.__version__, '| torch', torch.__version__)"
log "done: run 'make test'"
