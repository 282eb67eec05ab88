"""onnxruntime sessions: provider choice, threads, and device-resident inputs on GPUs."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

logger = logging.getLogger(__name__)

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"


def pick_providers(providers: Sequence[str] | str | None = None) -> list[str]:
    """Execution providers to use.

    ``None`` or ``"auto"``: CUDA when onnxruntime-gpu is installed and sees a GPU (the
    ``flowaudio[gpu]`` extra), else CPU. ``"cpu"`` / ``"cuda"`` force one; a list is used as
    given (after checking each is available).
    """
    available = ort.get_available_providers()
    if providers is None or providers == "auto":
        return [CUDA, CPU] if CUDA in available and _cuda_device_present() else [CPU]
    if isinstance(providers, str):
        wanted = {"cpu": [CPU], "cuda": [CUDA, CPU]}.get(providers.lower())
        if wanted is None:
            raise ValueError(
                f"providers must be 'auto', 'cpu', 'cuda' or a list, got {providers!r}"
            )
        providers = wanted
    missing = [p for p in providers if p not in available]
    if missing:
        hint = " (install the gpu extra: pip install 'flowaudio[gpu]')" if CUDA in missing else ""
        raise ValueError(
            f"onnxruntime provider(s) {missing} not available; available: {available}{hint}"
        )
    return list(providers)


def _cuda_device_present() -> bool:
    # onnxruntime-gpu lists the CUDA provider even on machines without a GPU.
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) == "":
        return False
    return any(Path(p).exists() for p in ("/dev/nvidia0", "/dev/nvidiactl"))


_arena_lock = threading.Lock()
_arena_shared = False


def share_cpu_arena() -> None:
    """Register one CPU memory arena in onnxruntime's environment for every session to use.

    Each session otherwise keeps its own arena, grown to that graph's largest run and never
    returned, so the peak memory of a voice is the *sum* of its three graphs' peaks; with one
    shared arena it is the largest of them (measured on the ``small`` voice: peak RSS over a
    medium text, a long text and a batch of 8 283 -> 216 MB, same speed). Once per process.
    """
    global _arena_shared
    with _arena_lock:
        if not _arena_shared:
            info = ort.OrtMemoryInfo(
                "Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT
            )
            # Defaults (-1): onnxruntime's growth policy. "Same as requested" growth fragments
            # the arena and measured a higher peak (264 vs 216 MB).
            ort.create_and_register_allocator(info, ort.OrtArenaCfg(0, -1, -1, -1))
            _arena_shared = True


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """The options every flowaudio session is created with (one place, so a test can read them).

    Args:
        threads: intra-op threads (None: onnxruntime's default, one per core).
    """
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    opts = ort.SessionOptions()
    # All graph rewrites at load (fusions, layout and transpose elimination). Saving the result
    # (optimized_model_filepath) and loading that instead only saves load time (velocity graph
    # 0.44 -> 0.28 s), and onnxruntime warns that such a file may hold optimisations for this
    # CPU only, so a voice ships the portable graph.
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # The graphs are chains: no branch worth a second inter-op thread.
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.inter_op_num_threads = 1
    if threads is not None:
        opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    # A voice runs three sessions one after another; idle worker threads that spin-wait for
    # more work would steal the cores the next session needs (measured: each graph 2-3x slower
    # inside the pipeline than alone on 2 cores).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # No memory pattern: onnxruntime would plan one block per input shape for all of a run's
    # activations and keep it; without, they come from the arena as needed. Measured on the
    # int8 default voice, long text, 2 threads: peak RSS 152-153 -> 143-145 MB, time the same
    # (106-111 vs 110-115 ms, interleaved).
    opts.enable_mem_pattern = False
    # The arena registered by share_cpu_arena instead of one per session.
    opts.add_session_config_entry("session.use_env_allocators", "1")
    return opts


def make_session(
    path: str | Path, providers: Sequence[str], threads: int | None = None
) -> ort.InferenceSession:
    """One session per graph, created once per voice and reused for every call."""
    opts = session_options(threads)
    share_cpu_arena()
    return ort.InferenceSession(str(path), sess_options=opts, providers=list(providers))


class BoundRunner:
    """Runs a session repeatedly with some inputs fixed (the ODE loop's constant inputs).

    On CUDA the fixed inputs are copied to the device once and stay there for every step
    (IO binding), so each step only moves the changing state; on CPU this is a plain ``run``
    with a cached feed dict.
    """

    def __init__(self, session: ort.InferenceSession, fixed: dict[str, np.ndarray]):
        self.session = session
        self.output = session.get_outputs()[0].name
        self.on_gpu = session.get_providers()[0] == CUDA
        self.fixed = fixed
        if self.on_gpu:
            self.binding = session.io_binding()
            for name, value in fixed.items():
                self.binding.bind_ortvalue_input(
                    name, ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(value), "cuda", 0)
                )

    def __call__(self, changing: dict[str, np.ndarray]) -> np.ndarray:
        if not self.on_gpu:
            return self.session.run([self.output], {**self.fixed, **changing})[0]
        for name, value in changing.items():
            self.binding.bind_cpu_input(name, np.ascontiguousarray(value))
        self.binding.bind_output(self.output, "cpu")
        self.session.run_with_iobinding(self.binding)
        return self.binding.copy_outputs_to_cpu()[0]
