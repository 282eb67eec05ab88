"""The exported computations: one explicit ``nn.Module`` per ONNX graph of the voice contract.

Each wrapper holds the trained module and exposes exactly the inputs and outputs that
:mod:`flowaudio.runtime.contract` names, in that order, as plain tensors. Nothing is patched:
the wrappers call the model's public methods (:meth:`FlowTTS.encode`, :meth:`FlowTTS.velocity`,
``Vocoder.forward``), whose bodies are pure tensor code with value checks skipped while
exporting. Export each wrapper in ``eval()`` mode (set on the wrapper, which reaches the model).

Graphs (B batch, L tokens, T frames, C = n_mels, S = speaker vector size)::

    EncoderGraph   ids (B, L) int64, id_lengths (B,) int64, length_scale (B,),
                   speakers (B,) int64 | speaker_embedding (B, E)
                   -> mu (B, C, L), log_durations (B, 1, L), speaker_cond (B, S)
    VelocityGraph  x (B, C, T), t (B,), mu_frames (B, C, T), mel_mask (B, 1, T),
                   speaker_cond (B, S) [, dt (B,) for an interval student] -> v (B, C, T)
    VocoderGraph   mel (B, C, T) -> audio (B, T * hop)          (export/vocoder.py)
    VocoderSpectrumGraph  mel (B, C, T) -> spectrum (B, 2, F, T)  (export/vocoder.py; the
                   host runs the ISTFT)
    FusedGraph     encoder inputs + noise (B, C, T_max) -> audio (B, T * hop),
                   audio_lengths (B,) int64; Euler over a uniform grid, unrolled
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from flowaudio.flow.schedules import time_grid
from flowaudio.flow.solvers import Solver, solve
from flowaudio.models.tts import FlowTTS
from flowaudio.models.vocoder import Vocoder
from flowaudio.runtime.contract import frames_per_token

__all__ = ["EncoderGraph", "FusedGraph", "VelocityGraph", "speaker_mode"]


def speaker_mode(model: FlowTTS) -> str:
    """``"embedding"`` when the model projects external speaker embeddings, else ``"id"``."""
    return "embedding" if model.config.speaker.external_dim > 0 else "id"


class EncoderGraph(nn.Module):
    """Text side: token ids (+ speaker) -> prior mean, log durations and speaker vector.

    The fourth input is ``speakers`` (B,) int64 ids for speaker mode ``"id"`` (a single-speaker
    model still takes it; pass zeros), or ``speaker_embedding`` (B, E) for mode
    ``"embedding"``. ``length_scale`` (B,) is applied inside: the graph's log durations are
    log(d) + log(length_scale), zero on padded tokens.
    """

    def __init__(self, model: FlowTTS) -> None:
        super().__init__()
        self.model = model
        self.speaker_mode = speaker_mode(model)

    def forward(
        self, ids: Tensor, id_lengths: Tensor, length_scale: Tensor, speaker: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Returns mu (B, C, L), log_durations (B, 1, L), speaker_cond (B, S)."""
        if self.speaker_mode == "embedding":
            enc = self.model.encode(ids, id_lengths, None, speaker, length_scale)
        else:
            enc = self.model.encode(ids, id_lengths, speaker, None, length_scale)
        return enc.mu, enc.log_durations, enc.speaker


class VelocityGraph(nn.Module):
    """One conditional velocity evaluation v(x, t | mu_frames, speaker_cond).

    Guidance is left to the host (it adds the unconditional pass to the batch: zeros for
    ``mu_frames`` and the voice's null speaker vector), so the graph is the plain conditional
    pass with guidance scale 1.
    """

    def __init__(self, model: FlowTTS) -> None:
        super().__init__()
        self.model = model

    @property
    def has_dt(self) -> bool:
        """True for an interval student: the graph takes a sixth input, the step size dt."""
        return bool(self.model.config.decoder.dt_input)

    def forward(
        self,
        x: Tensor,
        t: Tensor,
        mu_frames: Tensor,
        mel_mask: Tensor,
        speaker_cond: Tensor,
        dt: Tensor | None = None,
    ) -> Tensor:
        """(B, C, T) state, (B,) time [, (B,) step] -> (B, C, T) velocity, 0 on padding."""
        return self.model.velocity(x, t, mu_frames, mel_mask, speaker_cond, 1.0, dt)


class FusedGraph(nn.Module):
    """Text -> audio in one graph: encoder, durations, expansion, ``steps`` Euler steps, vocoder.

    Durations follow :func:`~flowaudio.runtime.contract.frames_per_token`, as on the host. The
    frame count T = max_b sum(d_b) is data-dependent (a ``NonZero`` in the graph); it is capped
    at the length T_max of the ``noise`` input, which must hold the initial state
    x0 = temperature * N(0, I) for at least T frames (the host draws it; frames past T are
    ignored). The time grid is uniform,
    t_k = k / steps, and the loop is unrolled. Padded frames are set to log(log_floor) before
    the vocoder; ``audio_lengths`` = min(sum(d), T_max) * hop per item.
    """

    def __init__(self, model: FlowTTS, vocoder: Vocoder, steps: int) -> None:
        super().__init__()
        if steps < 1:
            raise ValueError(f"fused steps must be >= 1, got {steps}")
        if vocoder.audio.n_mels != model.n_mels:
            raise ValueError(
                f"vocoder n_mels={vocoder.audio.n_mels} differs from the acoustic model's "
                f"{model.n_mels}"
            )
        self.encoder = EncoderGraph(model)
        self.model = model
        self.vocoder = vocoder
        self.steps = int(steps)
        self.hop = int(vocoder.audio.hop_length)
        self.pad_value = math.log(vocoder.audio.log_floor)

    def forward(
        self,
        ids: Tensor,
        id_lengths: Tensor,
        length_scale: Tensor,
        speaker: Tensor,
        noise: Tensor,
    ) -> tuple[Tensor, Tensor]:
        """Returns audio (B, T * hop) and audio_lengths (B,) int64."""
        mu, log_d, spk = self.encoder(ids, id_lengths, length_scale, speaker)
        tokens = torch.arange(ids.shape[1], device=ids.device)
        id_mask = (tokens[None, :] < id_lengths[:, None]).to(mu.dtype)  # (B, L)
        d = frames_per_token(log_d[:, 0], id_mask, torch)
        end = d.cumsum(1)  # (B, L) exclusive end frame of every token
        start = end - d
        lengths = torch.clamp(end[:, -1], max=noise.shape[2])  # (B,)
        # T = max(lengths) as a data-dependent size: the indices of the frames below it.
        frame_ids = torch.arange(noise.shape[2], device=ids.device)
        frame_ids = torch.nonzero(frame_ids < lengths.max())[:, 0]  # (T,)
        inside = (frame_ids[None, None, :] >= start[:, :, None]) & (
            frame_ids[None, None, :] < end[:, :, None]
        )  # (B, L, T)
        mu_frames = torch.bmm(mu, inside.to(mu.dtype))  # (B, C, T)
        mel_mask = (frame_ids[None, :] < lengths[:, None]).to(mu.dtype)[:, None, :]  # (B, 1, T)
        x = torch.index_select(noise, 2, frame_ids) * mel_mask
        dt = 1.0 / self.steps
        step = None
        if self.model.config.decoder.dt_input:  # interval student: its mean velocity per step
            step = torch.full((ids.shape[0],), dt, dtype=mu.dtype, device=ids.device)

        def velocity(x: Tensor, t: float) -> Tensor:
            t_b = torch.full((ids.shape[0],), t, dtype=mu.dtype, device=ids.device)
            return self.model.velocity(x, t_b, mu_frames, mel_mask, spk, 1.0, step)

        # The one solver of flowaudio.flow, unrolled by the tracer into ``steps`` Euler steps.
        x = solve(velocity, x, time_grid(self.steps), Solver.EULER)
        mel = torch.where(mel_mask > 0, self.model.denormalize(x), self.pad_value)
        audio = self.vocoder(mel)
        return audio, lengths * self.hop
