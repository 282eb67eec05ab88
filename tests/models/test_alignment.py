"""Monotonic alignment search against brute force, plus the duration <-> path helpers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from flowaudio.models.alignment import (
    durations_from_path,
    expand,
    maximum_path,
    path_from_durations,
)


def brute_force_path(log_p: np.ndarray) -> tuple[float, np.ndarray]:
    """Best total score and one best path of (L, T) log_p, over every monotonic alignment.

    A monotonic alignment giving each of L tokens >= 1 frame is a choice of L - 1 boundaries
    among the T - 1 gaps between frames: C(T-1, L-1) candidates (at most 70 for L=5, T=9).
    """
    n_tokens, n_frames = log_p.shape
    best_score, best_path = -np.inf, None
    for cuts in itertools.combinations(range(1, n_frames), n_tokens - 1):
        bounds = (0, *cuts, n_frames)
        path = np.zeros((n_tokens, n_frames))
        for j in range(n_tokens):
            path[j, bounds[j] : bounds[j + 1]] = 1.0
        score = float((path * log_p.astype(np.float64)).sum())
        if score > best_score:
            best_score, best_path = score, path
    assert best_path is not None
    return best_score, best_path


def assert_valid_alignment(path: np.ndarray, n_tokens: int, n_frames: int) -> None:
    """Every real frame on exactly one token, monotonic, every token >= 1 frame, 0 elsewhere."""
    real = path[:n_tokens, :n_frames]
    assert set(np.unique(path)) <= {0.0, 1.0}
    assert path.sum() == real.sum(), "path leaks into padding"
    assert (real.sum(0) == 1).all(), "a frame is not assigned exactly once"
    assert (real.sum(1) >= 1).all(), "a token got no frame"
    owner = real.argmax(0)
    assert owner[0] == 0 and owner[-1] == n_tokens - 1
    assert (np.diff(owner) >= 0).all() and (np.diff(owner) <= 1).all(), "not monotonic"


def _random_case(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n_tokens = int(rng.integers(1, 6))
    n_frames = int(rng.integers(n_tokens, 10))
    if seed % 4 == 3:
        # Small integers: many ties between alignments.
        return rng.integers(-3, 1, size=(n_tokens, n_frames)).astype(np.float32)
    return (3.0 * rng.standard_normal((n_tokens, n_frames))).astype(np.float32)


@pytest.mark.parametrize("seed", range(80))
def test_mas_finds_a_maximal_alignment(seed: int) -> None:
    log_p = _random_case(seed)
    n_tokens, n_frames = log_p.shape
    path = maximum_path(torch.from_numpy(log_p)[None], torch.ones(1, n_tokens, n_frames))[0]
    path = path.numpy()
    assert_valid_alignment(path, n_tokens, n_frames)
    best, _ = brute_force_path(log_p)
    score = float((path * log_p.astype(np.float64)).sum())
    assert score == pytest.approx(best, abs=1e-4)


def test_padding_is_respected_per_item() -> None:
    rng = np.random.default_rng(7)
    lengths = [(3, 7), (5, 12), (1, 4), (4, 4)]
    n_tok, n_frm = 6, 13
    log_p = torch.from_numpy(rng.standard_normal((len(lengths), n_tok, n_frm)).astype(np.float32))
    mask = torch.zeros(len(lengths), n_tok, n_frm)
    for b, (lx, ly) in enumerate(lengths):
        mask[b, :lx, :ly] = 1.0
    batched = maximum_path(log_p, mask)
    for b, (lx, ly) in enumerate(lengths):
        assert_valid_alignment(batched[b].numpy(), lx, ly)
        alone = maximum_path(log_p[b : b + 1, :lx, :ly], torch.ones(1, lx, ly))[0]
        torch.testing.assert_close(batched[b, :lx, :ly], alone)
    durations = durations_from_path(batched)
    assert durations.dtype == torch.long
    assert durations.sum(1).tolist() == [ly for _, ly in lengths]
    assert all((durations[b, :lx] >= 1).all() for b, (lx, _) in enumerate(lengths))
    assert all((durations[b, lx:] == 0).all() for b, (lx, _) in enumerate(lengths))


def test_ties_are_broken_deterministically() -> None:
    # All alignments tie: backtracking stays on the later token, so earlier tokens get 1 frame.
    path = maximum_path(torch.zeros(1, 3, 6), torch.ones(1, 3, 6))
    assert durations_from_path(path).tolist() == [[1, 1, 4]]
    again = maximum_path(torch.zeros(1, 3, 6), torch.ones(1, 3, 6))
    assert torch.equal(path, again)


def test_output_matches_input_dtype_and_has_no_grad() -> None:
    log_p = torch.randn(2, 3, 8, dtype=torch.float64, requires_grad=True)
    path = maximum_path(log_p, torch.ones(2, 3, 8))
    assert path.dtype == torch.float64 and not path.requires_grad


def test_fewer_frames_than_tokens_is_an_error() -> None:
    mask = torch.ones(2, 4, 6)
    mask[1, :, 3:] = 0.0  # item 1: 4 tokens, 3 frames
    with pytest.raises(ValueError, match=r"4 tokens and 3 frames for batch item 1"):
        maximum_path(torch.randn(2, 4, 6), mask)
    with pytest.raises(ValueError, match="must both be"):
        maximum_path(torch.randn(2, 4, 6), torch.ones(2, 4, 5))


def test_path_from_durations_round_trip_and_expand() -> None:
    durations = torch.tensor([[2, 1, 3], [1, 4, 0]])
    path = path_from_durations(durations)
    assert path.shape == (2, 3, 6)
    assert torch.equal(durations_from_path(path), durations)
    assert_valid_alignment(path[0].numpy(), 3, 6)
    assert_valid_alignment(path[1].numpy(), 2, 5)

    x = torch.randn(2, 5, 3)
    y = expand(x, durations)
    assert y.shape == (2, 5, 6)
    for b in range(2):
        reference = x[b].repeat_interleave(durations[b], dim=1)
        torch.testing.assert_close(y[b, :, : reference.shape[1]], reference)
        assert (y[b, :, reference.shape[1] :] == 0).all()
    assert expand(x, durations, n_frames=9).shape == (2, 5, 9)
    with pytest.raises(ValueError, match="expand needs"):
        expand(x, durations[:, :2])
