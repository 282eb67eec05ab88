"""CondOTPath against its closed form and cfm_loss against a hand-written masked mean."""

from __future__ import annotations

import pytest
import torch

from flowaudio.flow import CondOTPath, PathSample, cfm_loss

SIGMA = 1e-2  # larger than the default so sigma_min terms are visible above float64 round-off


def _pair(batch: int = 3, channels: int = 4, frames: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x0 = torch.randn(batch, channels, frames, generator=gen, dtype=torch.float64)
    x1 = torch.randn(batch, channels, frames, generator=gen, dtype=torch.float64)
    return x0, x1


def test_path_end_points() -> None:
    x0, x1 = _pair()
    path = CondOTPath(sigma_min=SIGMA)
    start = path.sample(x0, x1, torch.zeros(3, dtype=torch.float64))
    end = path.sample(x0, x1, torch.ones(3, dtype=torch.float64))
    assert isinstance(start, PathSample)
    torch.testing.assert_close(start.x_t, x0, rtol=0, atol=0)
    torch.testing.assert_close(end.x_t, SIGMA * x0 + x1, rtol=0, atol=1e-15)


def test_target_velocity_is_time_derivative() -> None:
    x0, x1 = _pair()
    path = CondOTPath(sigma_min=SIGMA)
    t = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    eps = 1e-6
    ahead = path.sample(x0, x1, t + eps).x_t
    behind = path.sample(x0, x1, t - eps).x_t
    sample = path.sample(x0, x1, t)
    torch.testing.assert_close(sample.u_t, (ahead - behind) / (2 * eps), rtol=0, atol=1e-8)
    torch.testing.assert_close(sample.u_t, x1 - (1 - SIGMA) * x0, rtol=0, atol=0)
    assert sample.t is t


def test_time_broadcasts_per_example() -> None:
    x0, x1 = _pair()
    path = CondOTPath(sigma_min=SIGMA)
    t = torch.tensor([0.0, 0.25, 1.0], dtype=torch.float64)
    batched = path.sample(x0, x1, t).x_t
    for b in range(3):
        one = path.sample(x0[b : b + 1], x1[b : b + 1], t[b : b + 1]).x_t
        torch.testing.assert_close(batched[b : b + 1], one, rtol=0, atol=0)
        expected = (1 - (1 - SIGMA) * t[b]) * x0[b] + t[b] * x1[b]
        torch.testing.assert_close(batched[b], expected, rtol=0, atol=1e-15)


def test_path_keeps_float32() -> None:
    x0, x1 = (x.float() for x in _pair())
    sample = CondOTPath().sample(x0, x1, torch.rand(3, dtype=torch.float64))
    assert sample.x_t.dtype == sample.u_t.dtype == torch.float32


@pytest.mark.parametrize(
    ("x1_shape", "t_shape", "match"),
    [
        ((3, 4, 6), (3,), r"\(3, 4, 5\) and \(3, 4, 6\)"),
        ((3, 4, 5), (2,), r"got t \(2,\)"),
        ((3, 4, 5), (3, 1), r"got t \(3, 1\)"),
    ],
)
def test_path_shape_errors(x1_shape: tuple[int, ...], t_shape: tuple[int, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        CondOTPath().sample(torch.zeros(3, 4, 5), torch.zeros(x1_shape), torch.zeros(t_shape))


@pytest.mark.parametrize("sigma_min", [-0.1, 1.0])
def test_path_rejects_bad_sigma(sigma_min: float) -> None:
    with pytest.raises(ValueError, match="sigma_min"):
        CondOTPath(sigma_min=sigma_min)


def _padded_batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    v = torch.randn(2, 3, 6, generator=gen, dtype=torch.float64)
    u = torch.randn(2, 3, 6, generator=gen, dtype=torch.float64)
    lengths = [6, 4]
    mask = torch.zeros(2, 1, 6, dtype=torch.float64)
    for b, n in enumerate(lengths):
        mask[b, :, :n] = 1
    return v, u, mask


def test_loss_is_mean_over_real_entries() -> None:
    v, u, mask = _padded_batch()
    manual_sum = ((v[0] - u[0]) ** 2).sum() + ((v[1, :, :4] - u[1, :, :4]) ** 2).sum()
    expected = manual_sum / ((6 + 4) * 3)
    loss = cfm_loss(v, u, mask)
    assert loss.shape == ()
    torch.testing.assert_close(loss, expected, rtol=1e-14, atol=0)
    torch.testing.assert_close(cfm_loss(v, u, mask.bool()), expected, rtol=1e-14, atol=0)


def test_loss_ignores_padding() -> None:
    v, u, mask = _padded_batch()
    reference = cfm_loss(v, u, mask)
    v_junk, u_junk = v.clone(), u.clone()
    v_junk[1, :, 4:] = 1e6
    u_junk[1, :, 4:] = float("nan")
    torch.testing.assert_close(cfm_loss(v_junk, u_junk, mask), reference, rtol=0, atol=0)


def test_loss_unpadded_equals_mse() -> None:
    v, u, _ = _padded_batch()
    full = torch.ones(2, 1, 6)
    torch.testing.assert_close(
        cfm_loss(v, u, full), torch.nn.functional.mse_loss(v, u), rtol=1e-14, atol=0
    )


def test_loss_errors() -> None:
    v, u, mask = _padded_batch()
    with pytest.raises(ValueError, match="no frame"):
        cfm_loss(v, u, torch.zeros_like(mask))
    with pytest.raises(ValueError, match=r"\(2, 3, 6\) and \(2, 3, 5\)"):
        cfm_loss(v, u[..., :5], mask)
    with pytest.raises(ValueError, match=r"got \(2, 6\)"):
        cfm_loss(v, u, mask[:, 0])
