#!/usr/bin/env bash
# The README's second command: lint, format check and the test suite, in the virtualenv.
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
if [ ! -x "$PY" ]; then echo "error: no $VENV; run 'make setup' first" >&2; exit 1; fi

"$PY" -m ruff check . || exit 1
"$PY" -m ruff format --check . || exit 1

"$PY" -m pytest "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "error: pytest collected no tests; that is a failure, not a pass" >&2
  exit 1
fi
exit $rc
