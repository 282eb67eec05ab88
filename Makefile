.PHONY: setup test lint format

# Everything a fresh machine needs: Debian packages, .venv, CPU torch (CUDA with a GPU), extras.
setup:
	bash scripts/setup.sh

# Lint, format check and the whole test suite (CPU-only, deterministic).
test:
	bash scripts/test.sh

format:
	.venv/bin/python -m ruff format .
	.venv/bin/python -m ruff check --fix .
