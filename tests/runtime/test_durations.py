"""The one duration rule (contract.frames_per_token), in numpy and in torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from flowaudio.runtime.contract import MAX_FRAMES_PER_TOKEN, frames_per_token


def _case(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    log_d = rng.normal(0.8, 0.7, size=(3, 40)).astype(np.float32)
    lengths = np.array([40, 17, 1])
    mask = (np.arange(40)[None, :] < lengths[:, None]).astype(np.float32)
    return log_d, mask


@pytest.mark.parametrize("seed", range(5))
def test_total_is_the_rounded_sum_and_numpy_equals_torch(seed: int) -> None:
    log_d, mask = _case(seed)
    d = frames_per_token(log_d, mask, np)
    d_torch = frames_per_token(torch.from_numpy(log_d), torch.from_numpy(mask), torch)
    assert d.dtype == np.int64 and d_torch.dtype == torch.int64
    np.testing.assert_array_equal(d, d_torch.numpy())
    w = np.exp(log_d.astype(np.float64)) * mask
    # The rounded total, not the sum of rounded-up tokens (which grows by ~0.5 a token).
    np.testing.assert_array_equal(d.sum(1), np.maximum(np.floor(w.sum(1) + 0.5), 1))
    assert (d[mask == 0] == 0).all() and (d >= 0).all()
    assert np.abs(d.cumsum(1) - w.cumsum(1))[mask > 0].max() <= 0.5 + 1e-4


def test_cap_nan_and_minimum_one_frame() -> None:
    log_d = np.array([[math.log(10 * MAX_FRAMES_PER_TOKEN), np.nan, -5.0]], dtype=np.float32)
    d = frames_per_token(log_d, np.ones_like(log_d), np)
    assert d.tolist() == [[MAX_FRAMES_PER_TOKEN, 0, 0]]
    tiny = np.full((1, 4), -6.0, dtype=np.float32)  # every token far under one frame
    assert frames_per_token(tiny, np.ones_like(tiny), np).tolist() == [[1, 0, 0, 0]]


def test_old_rounding_up_would_be_slower() -> None:
    # Tokens of 1.2 frames each: rounding up doubles nothing but adds 0.8 a token.
    log_d = np.full((1, 10), math.log(1.2), dtype=np.float32)
    d = frames_per_token(log_d, np.ones_like(log_d), np)
    assert d.sum() == 12
    assert np.ceil(np.exp(log_d)).sum() == 20


def test_the_estimate_a_server_bounds_requests_by_is_the_real_length(tiny_voice) -> None:
    from flowaudio.runtime.synthesizer import Voice

    voice = Voice.load(tiny_voice, threads=1)
    for text in ("The cat sat on the mat.", "Hello there. A second, longer sentence follows."):
        audio = voice.synthesize(text, seed=0, steps=1)
        assert voice.estimate_seconds(text) == pytest.approx(audio.duration, abs=1e-6)
