"""Low-rank adapters (LoRA, Hu et al. 2021) for ``nn.Linear`` and ``nn.Conv1d``, and speaker
tables that grow by rows: the trainable parts of ``flowaudio finetune``.

A :class:`LoRA` wrapper keeps the wrapped layer frozen and adds a low-rank update::

    y = base(x) + (alpha / r) * B(A(x))        A: in -> r, B: r -> out, B = 0 at the start

For ``nn.Linear`` A is (r, in) and B (out, r). For ``nn.Conv1d`` (C_in -> C_out, kernel k) A is a
convolution (r, C_in, k) with the base's stride, padding and dilation and B a 1x1 convolution
(C_out, r): both are linear, so the update folds into the base weight exactly::

    W' = W + (alpha / r) * B A        (Linear: (out, r) @ (r, in); Conv1d: sum over r per tap)

B starts at zero, so a freshly wrapped model computes exactly what the base did. The scale is a
buffer of the wrapper, so a state dict alone says how to merge it
(:func:`merge_state_dict`): a fine-tuning checkpoint exports without knowing the run's config.

:class:`GrownEmbedding` is an embedding table whose first rows are frozen and whose last rows
train (a new speaker joins a voice without moving the others' vectors; AdamW's weight decay
would shrink frozen rows that merely get a zero gradient).

State-dict keys (``P`` a wrapped module's path): ``P.base.weight``, ``P.base.bias``,
``P.lora_a``, ``P.lora_b``, ``P.lora_scale``; a grown table: ``P.frozen``, ``P.extra``. Merging
turns them back into ``P.weight`` (and ``P.bias``), the plain model's keys.

This module imports torch only (no training code, no data).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "GrownEmbedding",
    "LoRA",
    "apply_lora",
    "lora_modules",
    "merge_lora",
    "merge_state_dict",
]


class LoRA(nn.Module):
    """A frozen ``nn.Linear`` or ``nn.Conv1d`` (groups = 1) plus a trainable low-rank update.

    Args:
        base: the layer to adapt; its parameters are frozen here.
        rank: r >= 1.
        alpha: the update is scaled by alpha / r (so changing r keeps the update's size).
    """

    def __init__(self, base: nn.Linear | nn.Conv1d, rank: int, alpha: float):
        super().__init__()
        if rank < 1:
            raise ValueError(f"LoRA rank must be >= 1, got {rank}")
        if isinstance(base, nn.Conv1d):
            if base.groups != 1 or base.padding_mode != "zeros":
                raise ValueError(
                    f"LoRA adapts plain convolutions (groups 1, zero padding), got {base}"
                )
            fan_in = base.in_channels * base.kernel_size[0]
            a = torch.empty(rank, base.in_channels, base.kernel_size[0])
            out = base.out_channels
        elif isinstance(base, nn.Linear):
            fan_in = base.in_features
            a = torch.empty(rank, base.in_features)
            out = base.out_features
        else:
            raise TypeError(f"LoRA wraps nn.Linear or nn.Conv1d, got {type(base).__name__}")
        self.base = base.requires_grad_(False)
        # A like a default layer init (Kaiming-uniform), B zero: the update starts at zero.
        bound = 1.0 / math.sqrt(fan_in)
        self.lora_a = nn.Parameter(a.uniform_(-bound, bound).to(base.weight))
        self.lora_b = nn.Parameter(torch.zeros(out, rank).to(base.weight))
        self.register_buffer("lora_scale", torch.tensor(float(alpha) / rank))

    @property
    def rank(self) -> int:
        return self.lora_a.shape[0]

    def forward(self, x: Tensor) -> Tensor:
        """Linear: x (..., in) -> (..., out); Conv1d: x (B, C_in, T) -> (B, C_out, T')."""
        base = self.base
        if isinstance(base, nn.Conv1d):
            low = F.conv1d(
                x, self.lora_a, None, base.stride, base.padding, base.dilation
            )  # (B, r, T')
            update = F.conv1d(low, self.lora_b.unsqueeze(-1))
        else:
            update = F.linear(F.linear(x, self.lora_a), self.lora_b)
        return base(x) + self.lora_scale * update

    def delta(self) -> Tensor:
        """The update of the base weight, shaped like it."""
        return _delta(self.lora_a, self.lora_b, self.lora_scale)

    def merged(self) -> nn.Linear | nn.Conv1d:
        """The base layer with the update folded into its weight (a new module, no grad)."""
        import copy

        layer = copy.deepcopy(self.base)
        with torch.no_grad():
            layer.weight.add_(self.delta().to(layer.weight))
        return layer.requires_grad_(True)


def _delta(a: Tensor, b: Tensor, scale: Tensor) -> Tensor:
    if a.dim() == 3:  # conv: (out, r) x (r, in, k) -> (out, in, k)
        return scale * torch.einsum("or,rik->oik", b, a)
    return scale * (b @ a)


class GrownEmbedding(nn.Module):
    """An embedding table of frozen rows followed by trainable ones (the same lookup).

    Args:
        frozen: (N, D) the existing rows (kept, never trained).
        extra: (M, D) the initial new rows (trained).
    """

    def __init__(self, frozen: Tensor, extra: Tensor):
        super().__init__()
        if frozen.dim() != 2 or extra.dim() != 2 or frozen.shape[1] != extra.shape[1]:
            raise ValueError(
                f"rows must be (N, D) and (M, D), got {tuple(frozen.shape)} and "
                f"{tuple(extra.shape)}"
            )
        self.register_buffer("frozen", frozen.detach().clone())
        self.extra = nn.Parameter(extra.detach().clone())

    @property
    def weight(self) -> Tensor:
        """(N + M, D) the whole table."""
        return torch.cat([self.frozen, self.extra])

    def forward(self, ids: Tensor) -> Tensor:
        return F.embedding(ids, self.weight)

    def merged(self) -> nn.Embedding:
        table = nn.Embedding(*self.weight.shape)
        with torch.no_grad():
            table.weight.copy_(self.weight)
        return table


def lora_modules(model: nn.Module) -> dict[str, LoRA]:
    """The LoRA wrappers inside ``model`` by their paths."""
    return {name: m for name, m in model.named_modules() if isinstance(m, LoRA)}


def apply_lora(model: nn.Module, targets: Sequence[str], rank: int, alpha: float) -> list[str]:
    """Wrap every ``nn.Linear`` / ``nn.Conv1d`` whose path matches one of the regular
    expressions ``targets`` (``re.fullmatch``) in :class:`LoRA`, in place.

    Returns:
        the wrapped paths, sorted.

    Raises:
        ValueError: no layer matches (a typo in ``targets`` would otherwise train nothing).
    """
    patterns = [re.compile(t) for t in targets]
    chosen = [
        name
        for name, m in model.named_modules()
        if isinstance(m, nn.Linear | nn.Conv1d)
        and not isinstance(m, nn.ConvTranspose1d)
        and any(p.fullmatch(name) for p in patterns)
    ]
    if not chosen:
        raise ValueError(f"no nn.Linear / nn.Conv1d path matches the LoRA targets {list(targets)}")
    for name in chosen:
        parent_name, _, attr = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, attr, LoRA(getattr(parent, attr), rank, alpha))
    return sorted(chosen)


def merge_lora(model: nn.Module) -> nn.Module:
    """Replace every :class:`LoRA` and :class:`GrownEmbedding` inside ``model`` by the plain
    layer it stands for (the update folded in), in place; returns ``model``."""
    for name, module in list(model.named_modules()):
        if isinstance(module, LoRA | GrownEmbedding):
            parent_name, _, attr = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, attr, module.merged())
    return model


def merge_state_dict(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """A state dict with LoRA and grown-table keys -> the plain model's state dict (the update
    folded into each weight, see the module docstring). Other keys pass through."""
    out: dict[str, Tensor] = {}
    wrapped = {k.removesuffix(".lora_a") for k in state if k.endswith(".lora_a")}
    grown = {k.removesuffix(".frozen") for k in state if k.endswith(".frozen")}
    for key, value in state.items():
        prefix, _, leaf = key.rpartition(".")
        owner = prefix.removesuffix(".base")
        if prefix in wrapped and leaf == "lora_a":
            base = state[f"{prefix}.base.weight"]
            delta = _delta(value, state[f"{prefix}.lora_b"], state[f"{prefix}.lora_scale"])
            out[f"{prefix}.weight"] = base + delta.to(base)
        elif prefix.endswith(".base") and owner in wrapped:
            if leaf == "bias":
                out[f"{owner}.bias"] = value
        elif prefix in wrapped:
            continue  # lora_b, lora_scale: folded in above
        elif prefix in grown:
            if leaf == "frozen":
                out[f"{prefix}.weight"] = torch.cat([value, state[f"{prefix}.extra"]])
        else:
            out[key] = value
    return out
