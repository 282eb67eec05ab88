"""Shared blocks: rotary attention is padding-independent, length-free and relative."""

from __future__ import annotations

import pytest
import torch

from flowaudio.models.layers import (
    ChannelLayerNorm,
    MultiHeadAttention,
    RotaryEmbedding,
    SinusoidalTimeEmbedding,
    apply_rotary,
)


@pytest.fixture
def attention() -> MultiHeadAttention:
    torch.manual_seed(0)
    return MultiHeadAttention(channels=16, n_heads=2, dropout=0.1).eval()


def test_attention_output_is_independent_of_padding(attention: MultiHeadAttention) -> None:
    torch.manual_seed(1)
    x = torch.randn(1, 16, 10)
    alone = attention(x, torch.ones(1, 1, 10))
    # The same sequence padded with garbage to 17 steps, next to a longer item.
    padded = torch.cat([x, 100.0 * torch.randn(1, 16, 7)], dim=2)
    batch = torch.cat([padded, torch.randn(1, 16, 17)])
    mask = torch.ones(2, 1, 17)
    mask[0, :, 10:] = 0.0
    out = attention(batch, mask)
    torch.testing.assert_close(out[0, :, :10], alone[0], atol=1e-5, rtol=1e-5)


def test_attention_equals_the_boolean_mask_and_exports_without_where(
    attention: MultiHeadAttention, tmp_path
) -> None:
    """The additive mask gives the boolean mask's numbers, and its graph has no Where/IsNaN."""
    import onnx

    torch.manual_seed(2)
    x = torch.randn(2, 16, 9)
    mask = torch.ones(2, 1, 9)
    mask[1, :, 5:] = 0.0
    out = attention(x, mask)
    qkv = attention.qkv(x.transpose(1, 2)).reshape(2, 9, 3, 2, 8).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)
    cos, sin = attention.rotary.for_sequence(x)
    q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
    keep = mask.bool().unsqueeze(1)
    ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=keep)
    ref = attention.out(ref.transpose(1, 2).reshape(2, 9, 16)).transpose(1, 2)
    torch.testing.assert_close(out, ref, atol=1e-6, rtol=1e-5)
    path = tmp_path / "attention.onnx"
    torch.onnx.export(attention, (x, mask), str(path), dynamo=False, opset_version=17)
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert not ops & {"Where", "IsNaN"}, ops


def test_attention_works_at_lengths_never_seen(attention: MultiHeadAttention) -> None:
    for length in (1, 3000):
        x = torch.randn(2, 16, length)
        out = attention(x, torch.ones(2, 1, length))
        assert out.shape == (2, 16, length)
        assert torch.isfinite(out).all()


def test_rotary_scores_depend_on_relative_position_only() -> None:
    torch.manual_seed(2)
    rope = RotaryEmbedding(32).double()
    q = torch.randn(32, dtype=torch.float64)
    k = torch.randn(32, dtype=torch.float64)

    def score(m: int, n: int) -> torch.Tensor:
        cos, sin = rope(torch.tensor([m, n]))
        rotated_q = apply_rotary(q[None], cos[:1], sin[:1])[0]
        rotated_k = apply_rotary(k[None], cos[1:], sin[1:])[0]
        return rotated_q @ rotated_k

    for m, n, shift in [(0, 5, 7), (3, 1, 100), (10, 10, 2990), (250, 40, 2750)]:
        torch.testing.assert_close(score(m, n), score(m + shift, n + shift), atol=1e-9, rtol=0)
    # ...and it does depend on the offset itself.
    assert not torch.isclose(score(0, 5), score(0, 6))


def test_rotary_is_a_rotation() -> None:
    rope = RotaryEmbedding(8)
    cos, sin = rope(torch.arange(50))
    x = torch.randn(3, 50, 8)
    torch.testing.assert_close(apply_rotary(x, cos, sin).norm(dim=-1), x.norm(dim=-1))
    torch.testing.assert_close(apply_rotary(x, cos[:1], sin[:1])[:, :1], x[:, :1])  # position 0
    with pytest.raises(ValueError, match="even"):
        RotaryEmbedding(7)


def test_rotary_makes_attention_order_aware() -> None:
    # Without positions, self-attention is permutation-equivariant: reversing the input
    # reverses the output. Rotary positions break that symmetry.
    torch.manual_seed(3)
    x = torch.randn(1, 16, 12)
    mask = torch.ones(1, 1, 12)
    plain = MultiHeadAttention(16, 2, rotary=False).eval()
    torch.testing.assert_close(plain(x.flip(-1), mask).flip(-1), plain(x, mask))
    rotary = MultiHeadAttention(16, 2, rotary=True).eval()
    assert not torch.allclose(rotary(x.flip(-1), mask).flip(-1), rotary(x, mask), atol=1e-4)


def test_channel_layer_norm_matches_layer_norm_over_channels() -> None:
    norm = ChannelLayerNorm(6)
    reference = torch.nn.LayerNorm(6)
    x = torch.randn(2, 6, 9)
    torch.testing.assert_close(norm(x), reference(x.transpose(1, 2)).transpose(1, 2))


def test_time_embedding_distinguishes_nearby_times() -> None:
    emb = SinusoidalTimeEmbedding(32)
    out = emb(torch.tensor([0.0, 0.001, 1.0]))
    assert out.shape == (3, 32)
    assert (out[0] - out[1]).abs().max() > 0.1
