"""flowaudio.data is torch-free (the base install's data tools run without torch): every module
of it imports in a subprocess where importing torch raises ImportError."""

from __future__ import annotations

import pkgutil

import flowaudio.data


def test_every_data_module_imports_without_torch(run_without_torch) -> None:
    modules = sorted(
        info.name
        for info in pkgutil.walk_packages(flowaudio.data.__path__, prefix="flowaudio.data.")
    )
    assert {"flowaudio.data.cache", "flowaudio.data.corpus.build", "flowaudio.data.prepare"} <= set(
        modules
    )
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "assert 'torch' not in sys.modules\n"
        "print('ok')\n"
    )
    proc = run_without_torch(code)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
