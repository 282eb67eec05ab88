"""Session settings of the runtime: what every graph is loaded with, and the shared CPU arena."""

import onnxruntime as ort
import pytest

from flowaudio.runtime import contract as C
from flowaudio.runtime.session import CPU, make_session, session_options, share_cpu_arena


def test_session_options_are_the_measured_ones():
    opts = session_options(threads=2)
    assert not opts.enable_mem_pattern  # measured: less peak memory, same speed
    assert opts.intra_op_num_threads == 2
    assert opts.inter_op_num_threads == 1
    assert opts.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    assert opts.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert opts.get_session_config_entry("session.use_env_allocators") == "1"
    assert session_options().intra_op_num_threads == 0  # onnxruntime's default
    with pytest.raises(ValueError, match="threads must be >= 1, got 0"):
        session_options(threads=0)


def test_sessions_share_one_cpu_arena(tiny_voice):
    encoder = make_session(tiny_voice / C.ENCODER_ONNX, [CPU], threads=1)
    vocoder = make_session(tiny_voice / C.VOCODER_ONNX, [CPU], threads=1)
    share_cpu_arena()  # registered by the first session; later calls change nothing
    assert encoder.get_providers() == [CPU] == vocoder.get_providers()
