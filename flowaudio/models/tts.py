"""FlowTTS: text encoder + duration predictor + monotonic alignment + OT-CFM decoder (Matcha-TTS).

Training (:meth:`FlowTTS.loss`), on full utterances (no random segments: simpler, and the
decoder's attention sees whole sentences, as at synthesis)::

    spk           = speaker vector (id table or projected external embedding)       (B, S)
    h, mu         = encoder(ids, spk)                                   (B, C, L), (B, n_mels, L)
    y             = (mel - mel_mean) / mel_std                                      (B, n_mels, T)
    A             = MAS over log N(y_f; mu_j, I), no gradient                       (B, L, T)
    d             = sum_f A                                                         (B, L)
    L_duration    = masked MSE(duration(h.detach(), spk), log d)          per real token
    L_prior       = masked mean of 0.5 ((y - mu A)^2 + log 2 pi)           per real (frame, band)
    t ~ U(0, 1), x0 ~ N(0, I), x_t = (1 - (1 - sigma_min) t) x0 + t y, u = y - (1 - sigma_min) x0
    cond          = (mu A, spk), replaced per item with probability cfg_dropout by (0, null)
    L_flow        = cfm_loss(decoder(x_t, t, cond), u)
    total         = duration_weight L_duration + prior_weight L_prior + L_flow

Synthesis (:meth:`FlowTTS.synthesize`): d = the duration rule
(:func:`flowaudio.runtime.contract.frames_per_token`) on log d + log length_scale,
x0 = temperature * N(0, I) from a generator seeded by ``seed``, solve dx/dt = v from t = 0
to 1 with a fixed-step solver, then de-normalise. Classifier-free guidance combines
v = v_uncond + g (v_cond - v_uncond).

The model works in normalised mel space; ``mel_mean`` and ``mel_std`` are scalar buffers (saved
in the state dict) set from the prepared cache statistics with :meth:`FlowTTS.set_normalization`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from flowaudio.audio.config import AudioConfig
from flowaudio.flow import CondOTPath, Schedule, Solver, cfm_loss, solve, time_grid
from flowaudio.runtime.contract import frames_per_token

from .alignment import durations_from_path, maximum_path, path_from_durations
from .batch import TTSBatch
from .config import SpeakerConfig, TTSConfig
from .decoder import VelocityUNet
from .duration import DurationPredictor
from .encoder import TextEncoder
from .layers import sequence_mask

__all__ = [
    "MEL_PAD_VALUE",
    "EncoderOutput",
    "FlowTTS",
    "MatchTargets",
    "SpeakerConditioner",
    "SynthesisOutput",
    "TTSLoss",
    "TargetLoss",
    "expand_prior",
]

MEL_PAD_VALUE = math.log(AudioConfig.log_floor)
"""Value of the padded frames of a synthesised mel: log of the mel floor (silence), taken from
:class:`flowaudio.audio.config.AudioConfig` (the one source), as training pads target mels."""

_LOG_2PI = math.log(2.0 * math.pi)


def _exporting() -> bool:
    """True while tracing or exporting: value checks (which read tensors back) are skipped then;
    an exported graph cannot raise anyway, and the checks would be frozen into it."""
    if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
        return True
    # torch.compiler.is_exporting is newer than the oldest torch we support.
    checks = (getattr(torch.compiler, n, None) for n in ("is_compiling", "is_exporting"))
    return any(check() for check in checks if check is not None)


@dataclass(frozen=True)
class TTSLoss:
    """Training losses, each a 0-dim tensor; ``total`` is the one to back-propagate."""

    total: Tensor
    """duration_loss_weight * duration + prior_loss_weight * prior + flow."""
    duration: Tensor
    """Mean squared error of log durations over real tokens."""
    prior: Tensor
    """Gaussian NLL of the normalised mel under N(expanded mu, I), per real (frame, band)."""
    flow: Tensor
    """Conditional flow-matching loss (:func:`flowaudio.flow.cfm_loss`)."""
    total_duration: Tensor
    """Mean over items of (log sum_k exp(l_k) - log sum_k d_k)^2 (the utterance's length, as in
    :class:`TargetLoss`); in ``total`` only with a ``total_duration_weight``."""
    match: Tensor | None = None
    """Distance to a frozen model's outputs (:class:`MatchTargets`), when some were given."""


@dataclass(frozen=True)
class MatchTargets:
    """What a frozen model (:meth:`FlowTTS.match_targets`) computes for B items of text and
    speaker, for :meth:`FlowTTS.loss` to keep a model being fine-tuned close to it on speakers
    it has no recordings of (the old speakers of a voice that gains one).

    The inputs are the text (ids, id_lengths, speakers), the frozen model's frame durations
    (B, L) and a point of its flow: x (B, n_mels, T) at time t (B,) with step size dt (B,) for
    an interval student (else None). The targets are its velocity there (B, n_mels, T), its prior
    mean (B, n_mels, L) and its log durations (B, L).
    """

    ids: Tensor
    id_lengths: Tensor
    speakers: Tensor
    durations: Tensor
    x: Tensor
    t: Tensor
    dt: Tensor | None
    velocity: Tensor
    mu: Tensor
    log_durations: Tensor


def expand_prior(mu: Tensor, durations: Tensor, n_frames: int) -> tuple[Tensor, Tensor]:
    """The prior mean per frame (B, n_mels, T) and the frame mask (B, 1, T) of ``mu`` (B, n_mels,
    L) repeated ``durations`` (B, L) integer frames per token, over ``n_frames`` = T frames."""
    path = path_from_durations(durations, n_frames).to(mu.dtype)  # (B, L, T)
    mel_mask = sequence_mask(durations.sum(1), n_frames).unsqueeze(1).to(mu.dtype)
    return torch.bmm(mu, path), mel_mask


@dataclass(frozen=True)
class TargetLoss:
    """Losses of :meth:`FlowTTS.target_loss`, each a 0-dim tensor."""

    total: Tensor
    """flow + duration_weight * duration + total_weight * total_duration."""
    flow: Tensor
    """Masked MSE of the velocity against the given target."""
    duration: Tensor
    """Mean squared error of log durations over real tokens."""
    total_duration: Tensor
    """Mean over items of (log sum_k exp(l_k) - log sum_k d_k)^2: the utterance's length."""


@dataclass(frozen=True)
class EncoderOutput:
    """What :meth:`FlowTTS.encode` returns: everything synthesis needs from the text side."""

    mu: Tensor
    """(B, n_mels, L) prior mean per token, in normalised mel space, zero on padding."""
    log_durations: Tensor
    """(B, 1, L) predicted log d (frames) plus log(length_scale), zero on padding."""
    id_mask: Tensor
    """(B, 1, L) float, 1 on real tokens."""
    speaker: Tensor
    """(B, S) speaker conditioning vector, for :meth:`FlowTTS.velocity`."""


@dataclass(frozen=True)
class SynthesisOutput:
    """What :meth:`FlowTTS.synthesize` returns."""

    mel: Tensor
    """(B, n_mels, T) log-mel (de-normalised); frames past ``mel_lengths`` hold MEL_PAD_VALUE."""
    mel_lengths: Tensor
    """(B,) int64 number of real frames."""
    durations: Tensor
    """(B, L) int64 frames per token, 0 on padded tokens."""


class SpeakerConditioner(nn.Module):
    """Speaker id or external embedding -> one conditioning vector (B, S) per utterance.

    Holds the id table (n_speakers, S), the optional linear projection of external embeddings
    (external_dim -> S), and the learned null vector that replaces the speaker in the
    unconditional pass of classifier-free guidance.
    """

    def __init__(self, config: SpeakerConfig):
        super().__init__()
        self.config = config
        self.table = nn.Embedding(config.n_speakers, config.embedding_dim)
        nn.init.normal_(self.table.weight, 0.0, 1.0)
        self.external = (
            nn.Linear(config.external_dim, config.embedding_dim)
            if config.external_dim > 0
            else None
        )
        self.null = nn.Parameter(torch.zeros(config.embedding_dim))

    @property
    def dim(self) -> int:
        """S, the width of the conditioning vector."""
        return self.config.embedding_dim

    def forward(
        self,
        reference: Tensor,
        speakers: Tensor | None = None,
        speaker_embedding: Tensor | None = None,
    ) -> Tensor:
        """Validate the speaker inputs and return the conditioning vector (B, S).

        Args:
            reference: any (B, ...) tensor of the batch (e.g. the id lengths); gives B and the
                device, and speaker 0 when a single-speaker model gets no speaker.
            speakers: (B,) int64 ids in [0, n_speakers), or None.
            speaker_embedding: (B, external_dim) finite floats, or None.

        Raises:
            ValueError: if both or (with n_speakers > 1) neither input is given, on a wrong
                shape, an id out of range, a non-finite embedding, or an embedding given to a
                model built with external_dim = 0.
        """
        cfg = self.config
        batch = reference.shape[0]
        checking = not _exporting()  # an exported graph cannot raise; skip checks when tracing
        if speakers is not None and speaker_embedding is not None:
            raise ValueError("give either speakers (ids) or speaker_embedding, not both; got both")
        if speaker_embedding is not None:
            if self.external is None:
                raise ValueError(
                    "this model was built without external speaker embeddings "
                    "(speaker.external_dim = 0); pass speakers (ids) instead"
                )
            if checking and tuple(speaker_embedding.shape) != (batch, cfg.external_dim):
                raise ValueError(
                    f"speaker_embedding must be (B, external_dim) = ({batch}, "
                    f"{cfg.external_dim}), got {tuple(speaker_embedding.shape)}"
                )
            if checking and not bool(torch.isfinite(speaker_embedding).all()):
                bad = (~torch.isfinite(speaker_embedding)).any(1).nonzero().flatten().tolist()
                raise ValueError(
                    f"speaker_embedding contains NaN or inf in batch items {bad}; pass finite "
                    "embeddings"
                )
            return self.external(speaker_embedding.to(self.null.dtype))
        if speakers is None:
            if cfg.n_speakers > 1:
                expected = f"speakers (B,) int64 ids in [0, {cfg.n_speakers - 1}]"
                if cfg.external_dim > 0:
                    expected += f" or speaker_embedding (B, {cfg.external_dim})"
                raise ValueError(f"this model has {cfg.n_speakers} speakers: pass {expected}")
            speakers = torch.zeros(batch, dtype=torch.long, device=reference.device)
        if checking and (speakers.dim() != 1 or speakers.shape[0] != batch):
            raise ValueError(
                f"speakers must be (B,) = ({batch},) ids, got shape {tuple(speakers.shape)}"
            )
        if speakers.dtype.is_floating_point or speakers.dtype == torch.bool:
            raise ValueError(f"speakers must be integer ids, got dtype {speakers.dtype}")
        if checking and speakers.numel():
            low, high = int(speakers.min()), int(speakers.max())
            if low < 0 or high >= cfg.n_speakers:
                bad = speakers[(speakers < 0) | (speakers >= cfg.n_speakers)].tolist()
                raise ValueError(
                    f"speaker ids {bad} are out of range; valid ids are 0 .. {cfg.n_speakers - 1}"
                )
        return self.table(speakers.to(torch.long))

    def null_condition(self, batch: int) -> Tensor:
        """(batch, S) copies of the null speaker vector (unconditional pass of CFG)."""
        return self.null.unsqueeze(0).expand(batch, -1)


def _check_lengths(name: str, lengths: Tensor, batch: int, max_len: int) -> None:
    if _exporting():
        return
    if lengths.dim() != 1 or lengths.shape[0] != batch:
        raise ValueError(f"{name} must be (B,) = ({batch},), got shape {tuple(lengths.shape)}")
    low, high = int(lengths.min()), int(lengths.max())
    if low < 1 or high > max_len:
        raise ValueError(
            f"{name} must lie in [1, {max_len}] (the padded length), got values {lengths.tolist()}"
        )


class FlowTTS(nn.Module):
    """The acoustic model: token ids (+ speaker) -> log-mel frames, by conditional flow matching.

    Args:
        config: :class:`TTSConfig`.
        n_vocab: size of the symbol table the ids index (``len(SymbolTable)``).
    """

    def __init__(self, config: TTSConfig, n_vocab: int):
        super().__init__()
        if n_vocab <= 0:
            raise ValueError(f"n_vocab must be positive, got {n_vocab!r}")
        self.config = config
        self.n_vocab = n_vocab
        self.n_mels = config.n_mels
        self.speaker = SpeakerConditioner(config.speaker)
        s = self.speaker.dim
        self.encoder = TextEncoder(config.encoder, n_vocab, config.n_mels, s)
        self.duration = DurationPredictor(config.duration, config.encoder.channels, s)
        self.decoder = VelocityUNet(config.decoder, config.n_mels, s)
        self.path = CondOTPath(config.sigma_min)
        self.register_buffer("mel_mean", torch.tensor(0.0))
        self.register_buffer("mel_std", torch.tensor(1.0))

    # ------------------------------------------------------------------ helpers

    def count_parameters(self, trainable_only: bool = True) -> int:
        """Number of parameters (only those that require grad, by default)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def set_normalization(self, mean: float, std: float) -> None:
        """Set the scalar mel statistics (from the prepared cache's ``stats.json``)."""
        mean, std = float(mean), float(std)
        if not math.isfinite(mean) or not math.isfinite(std) or std <= 0:
            raise ValueError(
                f"mel normalisation needs a finite mean and a finite std > 0, got mean={mean}, "
                f"std={std}"
            )
        self.mel_mean.fill_(mean)
        self.mel_std.fill_(std)

    def normalize(self, mel: Tensor) -> Tensor:
        """Log-mel -> model space: (mel - mel_mean) / mel_std, any shape."""
        return (mel - self.mel_mean) / self.mel_std

    def denormalize(self, y: Tensor) -> Tensor:
        """Model space -> log-mel: y * mel_std + mel_mean, any shape."""
        return y * self.mel_std + self.mel_mean

    def speaker_condition(
        self,
        reference: Tensor,
        speakers: Tensor | None = None,
        speaker_embedding: Tensor | None = None,
    ) -> Tensor:
        """(B, S) speaker vector; see :meth:`SpeakerConditioner.forward` for the rules."""
        return self.speaker(reference, speakers, speaker_embedding)

    def null_condition(self, batch: int) -> Tensor:
        """(batch, S) null speaker vector of the unconditional (CFG) pass; its mu is zeros."""
        return self.speaker.null_condition(batch)

    # ------------------------------------------------------------------ text side

    def encode(
        self,
        ids: Tensor,
        id_lengths: Tensor,
        speakers: Tensor | None = None,
        speaker_embedding: Tensor | None = None,
        length_scale: float | Tensor = 1.0,
    ) -> EncoderOutput:
        """Encode token ids: prior mean, log durations, mask and speaker vector.

        Args:
            ids: (B, L) int64 token ids, padded.
            id_lengths: (B,) real tokens per item, in [1, L].
            speakers: (B,) speaker ids, or None (see :class:`SpeakerConditioner`).
            speaker_embedding: (B, external_dim) external embedding, or None.
            length_scale: > 0, scales the durations (> 1 slower); a float, a 0-dim tensor or
                a (B,) tensor. Added to the output as log(length_scale).

        Returns:
            :class:`EncoderOutput`. The body is pure tensor code (no data-dependent Python
            control flow), so a wrapper around this method exports with dynamic L.
        """
        if ids.dim() != 2:
            raise ValueError(f"ids must be (B, L) token ids, got shape {tuple(ids.shape)}")
        if ids.dtype.is_floating_point:
            raise ValueError(f"ids must be integer token ids, got dtype {ids.dtype}")
        _check_lengths("id_lengths", id_lengths, ids.shape[0], ids.shape[1])
        if not _exporting() and ids.numel():
            low, high = int(ids.min()), int(ids.max())
            if low < 0 or high >= self.n_vocab:
                raise ValueError(
                    f"token ids must lie in [0, {self.n_vocab - 1}] (the symbol table), got "
                    f"min {low}, max {high}"
                )
        if isinstance(length_scale, Tensor):
            if not _exporting() and not bool(
                (torch.isfinite(length_scale) & (length_scale > 0)).all()
            ):
                raise ValueError(
                    f"length_scale must be finite and > 0, got {length_scale.tolist()}"
                )
            log_scale = torch.log(length_scale.to(torch.float32)).reshape(-1, 1, 1)
        else:
            if not math.isfinite(length_scale) or length_scale <= 0:
                raise ValueError(f"length_scale must be finite and > 0, got {length_scale!r}")
            log_scale = torch.tensor(math.log(length_scale), device=ids.device)
        speaker = self.speaker(id_lengths, speakers, speaker_embedding)
        id_mask = sequence_mask(id_lengths, ids.shape[1]).unsqueeze(1).to(speaker.dtype)
        h, mu = self.encoder(ids, id_mask, speaker)
        log_d = self.duration(h, id_mask, speaker)
        return EncoderOutput(
            mu=mu,
            log_durations=(log_d + log_scale) * id_mask,
            id_mask=id_mask,
            speaker=speaker,
        )

    # ------------------------------------------------------------------ flow side

    def velocity(
        self,
        x_t: Tensor,
        t: Tensor,
        mu_frames: Tensor,
        mel_mask: Tensor,
        spk_cond: Tensor,
        guidance_scale: float | Tensor = 1.0,
        dt: Tensor | None = None,
    ) -> Tensor:
        """Velocity v(x_t, t) (B, n_mels, T), optionally with classifier-free guidance.

        Args:
            x_t: (B, n_mels, T) current state.
            t: (B,) times, or a 0-dim time shared by the batch.
            mu_frames: (B, n_mels, T) expanded prior mean.
            mel_mask: (B, 1, T) float frame mask.
            spk_cond: (B, S) speaker vector from :meth:`encode`.
            guidance_scale: g. With the Python number 1.0, one conditional pass. Otherwise (any
                other number, or a tensor) the conditional and the unconditional (mu = 0, null
                speaker) passes run as one doubled batch and v = v_u + g (v_c - v_u).
            dt: (B,) or 0-dim step size, only for an interval student (``decoder.dt_input``):
                the mean velocity over [t, t + dt] (None: dt = 0).
        """
        t = t.reshape(-1).expand(x_t.shape[0]) if t.dim() == 0 else t
        if dt is not None and dt.dim() == 0:
            dt = dt.reshape(-1).expand(x_t.shape[0])
        if not isinstance(guidance_scale, Tensor) and guidance_scale == 1.0:
            return self.decoder(x_t, t, mu_frames, mel_mask, spk_cond, dt)
        null = self.null_condition(x_t.shape[0]).to(spk_cond.dtype)
        v = self.decoder(
            torch.cat([x_t, x_t]),
            torch.cat([t, t]),
            torch.cat([mu_frames, torch.zeros_like(mu_frames)]),
            torch.cat([mel_mask, mel_mask]),
            torch.cat([spk_cond, null]),
            None if dt is None else torch.cat([dt, dt]),
        )
        v_cond, v_uncond = v.chunk(2, dim=0)
        return v_uncond + guidance_scale * (v_cond - v_uncond)

    # ------------------------------------------------------------------ training

    @torch.no_grad()
    def _alignment(self, y: Tensor, mu: Tensor, id_mask: Tensor, mel_mask: Tensor) -> Tensor:
        """MAS path (B, L, T) under log N(y_f; mu_j, I), both normalised (B, n_mels, *)."""
        # log N(y; mu, I) = -0.5 sum_c (y - mu)^2 - C/2 log 2pi, expanded to avoid (B, L, C, T).
        y2 = (y * y).sum(1, keepdim=True)  # (B, 1, T)
        mu2 = (mu * mu).sum(1).unsqueeze(-1)  # (B, L, 1)
        cross = torch.bmm(mu.transpose(1, 2), y)  # (B, L, T)
        log_p = -0.5 * (y2 - 2.0 * cross + mu2) - 0.5 * self.n_mels * _LOG_2PI
        attn_mask = id_mask.transpose(1, 2) * mel_mask  # (B, L, T)
        return maximum_path(log_p, attn_mask)

    def _check_batch(self, batch: TTSBatch) -> None:
        ids, mels = batch.ids, batch.mels
        if mels.dim() != 3 or mels.shape[1] != self.n_mels:
            raise ValueError(
                f"batch.mels must be (B, n_mels={self.n_mels}, T), got {tuple(mels.shape)}"
            )
        if ids.dim() != 2 or ids.shape[0] != mels.shape[0]:
            raise ValueError(
                f"batch.ids must be (B, L) with the B of mels ({mels.shape[0]}), got "
                f"{tuple(ids.shape)}"
            )
        _check_lengths("batch.mel_lengths", batch.mel_lengths, mels.shape[0], mels.shape[2])
        too_short = (batch.mel_lengths < batch.id_lengths).nonzero().flatten().tolist()
        if too_short:
            raise ValueError(
                f"batch items {too_short} have fewer mel frames than tokens "
                f"(frames {batch.mel_lengths[too_short].tolist()}, tokens "
                f"{batch.id_lengths[too_short].tolist()}); alignment needs at least one frame "
                "per token: drop these utterances or disable blank interspersing"
            )

    @torch.no_grad()
    def align(self, batch: TTSBatch, speaker_embedding: Tensor | None = None) -> Tensor:
        """(B, L) int64 MAS durations of a batch under the current model (e.g. to export
        durations, or for teacher-forced synthesis)."""
        self._check_batch(batch)
        speakers = batch.speakers if speaker_embedding is None else None
        enc = self.encode(batch.ids, batch.id_lengths, speakers, speaker_embedding)
        y = self.normalize(batch.mels) * batch.mel_mask
        path = self._alignment(y, enc.mu, enc.id_mask, batch.mel_mask.to(y.dtype))
        return durations_from_path(path)

    def loss(
        self,
        batch: TTSBatch,
        generator: torch.Generator | None = None,
        speaker_embedding: Tensor | None = None,
        total_duration_weight: float = 0.0,
        match: MatchTargets | None = None,
        match_weight: float = 1.0,
    ) -> TTSLoss:
        """Training losses of one batch of full utterances (see the module docstring).

        Args:
            batch: padded :class:`~flowaudio.models.batch.TTSBatch` (log-mels, not normalised).
            generator: source of t, x0 and the CFG dropout draws (on the model's device), or
                None for the global RNG.
            speaker_embedding: (B, external_dim) external speaker embeddings to use instead of
                ``batch.speakers`` (models with speaker.external_dim > 0).
            total_duration_weight: weight of the utterance-level duration term in ``total``
                (fine-tuning uses it so a new voice keeps its speaking rate; 0 by default).
            match, match_weight: a frozen model's outputs (:meth:`match_targets`); ``total``
                gains ``match_weight`` times the squared distance to them (velocity, prior mean
                and log durations, each a masked mean). Computed in this same forward pass, so
                it works under DDP.
        """
        self._check_batch(batch)
        speakers = batch.speakers if speaker_embedding is None else None
        enc = self.encode(batch.ids, batch.id_lengths, speakers, speaker_embedding)
        id_mask = enc.id_mask
        mel_mask = batch.mel_mask.to(enc.mu.dtype)
        y = self.normalize(batch.mels) * mel_mask
        batch_size, n_mels, _ = y.shape

        path = self._alignment(y, enc.mu, id_mask, mel_mask)  # (B, L, T), no grad
        durations = path.sum(-1).unsqueeze(1)  # (B, 1, L)
        log_d_target = torch.log(durations.clamp(min=1.0)) * id_mask
        duration_loss = ((enc.log_durations - log_d_target) ** 2 * id_mask).sum() / id_mask.sum()
        predicted_total = (enc.log_durations.exp() * id_mask).sum((1, 2)).clamp(min=1e-3)
        total_duration = ((predicted_total.log() - durations.sum((1, 2)).log()) ** 2).mean()

        mu_frames = torch.bmm(enc.mu, path)  # (B, n_mels, T)
        nll = 0.5 * ((y - mu_frames) ** 2 + _LOG_2PI) * mel_mask
        prior_loss = nll.sum() / (mel_mask.sum() * n_mels)

        device = y.device
        gen_device = generator.device if generator is not None else device
        t = torch.rand(batch_size, generator=generator, device=gen_device).to(device, y.dtype)
        x0 = torch.randn(y.shape, generator=generator, device=gen_device).to(device, y.dtype)
        drop = torch.rand(batch_size, generator=generator, device=gen_device).to(device)
        drop = drop < self.config.cfg_dropout  # (B,) True: train this item unconditionally
        mu_cond = torch.where(drop[:, None, None], torch.zeros_like(mu_frames), mu_frames)
        spk_cond = torch.where(drop[:, None], self.null_condition(batch_size), enc.speaker)

        sample = self.path.sample(x0, y, t)
        v = self.decoder(sample.x_t, t, mu_cond, mel_mask, spk_cond)
        flow_loss = cfm_loss(v, sample.u_t, mel_mask)

        total = (
            self.config.duration_loss_weight * duration_loss
            + self.config.prior_loss_weight * prior_loss
            + flow_loss
        )
        if total_duration_weight:  # 0 * an overflowed term would still be NaN
            total = total + total_duration_weight * total_duration
        match_loss = None
        if match is not None:
            match_loss = self._match_loss(match)
            total = total + match_weight * match_loss
        return TTSLoss(
            total=total,
            duration=duration_loss,
            prior=prior_loss,
            flow=flow_loss,
            total_duration=total_duration,
            match=match_loss,
        )

    @torch.no_grad()
    def match_targets(
        self,
        ids: Tensor,
        id_lengths: Tensor,
        speakers: Tensor,
        temperature: float = 0.667,
        generator: torch.Generator | None = None,
    ) -> MatchTargets:
        """This (frozen) model's outputs for :class:`MatchTargets`, at random points of its flow.

        The durations are the model's own (the duration rule); x0 = temperature * N(0, I); x1 is
        the model's one-step estimate x0 + v(x0, 0) (with dt = 1 for an interval student, which
        is its sample); x = (1 - t) x0 + t x1 with t ~ U(0, 1). For an interval student, half
        the items are the one-step jump itself (x0, t = 0, dt = 1) and the rest dt = 0.
        """
        enc = self.encode(ids, id_lengths, speakers)
        id_mask = enc.id_mask[:, 0]
        durations = frames_per_token(enc.log_durations[:, 0], id_mask, torch).long()
        n_frames = int(durations.sum(1).max())
        mu_frames, mel_mask = expand_prior(enc.mu, durations, n_frames)
        batch, device = ids.shape[0], ids.device
        gen_device = generator.device if generator is not None else device

        def rand(*shape: int) -> Tensor:
            return torch.rand(shape, generator=generator, device=gen_device).to(device)

        x0 = temperature * torch.randn(
            (batch, self.config.n_mels, n_frames), generator=generator, device=gen_device
        ).to(device, mu_frames.dtype)
        x0 = x0 * mel_mask
        interval = self.config.decoder.dt_input
        zeros, ones = torch.zeros(batch, device=device), torch.ones(batch, device=device)
        jump = self.decoder(x0, zeros, mu_frames, mel_mask, enc.speaker, ones if interval else None)
        t = rand(batch)
        x = (x0 + t[:, None, None] * jump) * mel_mask
        dt = None
        if interval:
            endpoint = rand(batch) < 0.5
            t = torch.where(endpoint, zeros, t)
            x = torch.where(endpoint[:, None, None], x0, x)
            dt = endpoint.to(x.dtype)
        velocity = self.decoder(x, t, mu_frames, mel_mask, enc.speaker, dt)
        return MatchTargets(
            ids=ids,
            id_lengths=id_lengths,
            speakers=speakers,
            durations=durations,
            x=x,
            t=t,
            dt=dt,
            velocity=velocity,
            mu=enc.mu,
            log_durations=enc.log_durations[:, 0],
        )

    def _match_loss(self, m: MatchTargets) -> Tensor:
        """Squared distance of this model's velocity, prior mean and log durations to ``m``."""
        enc = self.encode(m.ids, m.id_lengths, m.speakers)
        mu_frames, mel_mask = expand_prior(enc.mu, m.durations, m.x.shape[-1])
        v = self.decoder(m.x, m.t, mu_frames, mel_mask, enc.speaker, m.dt)
        id_mask = enc.id_mask
        prior = ((enc.mu - m.mu) ** 2 * id_mask).sum() / (id_mask.sum() * self.config.n_mels)
        log_d = enc.log_durations[:, 0]
        duration = ((log_d - m.log_durations) ** 2 * id_mask[:, 0]).sum() / id_mask[:, 0].sum()
        return cfm_loss(v, m.velocity, mel_mask) + prior + duration

    def target_loss(
        self,
        ids: Tensor,
        id_lengths: Tensor,
        speakers: Tensor | None,
        durations: Tensor,
        x: Tensor,
        t: Tensor,
        target: Tensor,
        dt: Tensor | None = None,
        duration_weight: float = 1.0,
        total_weight: float = 1.0,
    ) -> TargetLoss:
        """Regression of the velocity onto given targets (distillation), plus duration losses.

        The text encoder and the speaker vector run without gradient (a student keeps its
        teacher's prior); the velocity network and the duration predictor learn.

        Args:
            ids, id_lengths, speakers: the text and speakers of B items.
            durations: (B, L) int64 frames per token (alignment durations, >= 1 on real tokens);
                mu is expanded by them, and they are the duration targets.
            x: (B, n_mels, T) network input, T = max sum(durations).
            t: (B,) times; dt: (B,) step sizes for an interval student, else None.
            target: (B, n_mels, T) the velocity to regress onto.
            duration_weight, total_weight: weights of the per-token and the utterance-level
                duration losses in ``total``.
        """
        with torch.no_grad():
            speaker = self.speaker(id_lengths, speakers)
            id_mask = sequence_mask(id_lengths, ids.shape[1]).unsqueeze(1).to(speaker.dtype)
            h, mu = self.encoder(ids, id_mask, speaker)
            frames = durations.sum(1)
            durations = durations * id_mask[:, 0].long()
            mu_frames, mel_mask = expand_prior(mu, durations, x.shape[-1])
        v = self.decoder(x, t, mu_frames, mel_mask, speaker, dt)
        flow = cfm_loss(v, target, mel_mask)
        log_d = self.duration(h, id_mask, speaker)[:, 0]  # (B, L)
        mask = id_mask[:, 0]
        target_log_d = torch.log(durations.clamp(min=1).to(log_d.dtype)) * mask
        duration = ((log_d - target_log_d) ** 2 * mask).sum() / mask.sum()
        predicted_total = (log_d.exp() * mask).sum(1).clamp(min=1e-3)
        total_duration = ((predicted_total.log() - frames.to(log_d).log()) ** 2).mean()
        return TargetLoss(
            total=flow + duration_weight * duration + total_weight * total_duration,
            flow=flow,
            duration=duration,
            total_duration=total_duration,
        )

    # ------------------------------------------------------------------ synthesis

    @torch.no_grad()
    def synthesize(
        self,
        ids: Tensor,
        id_lengths: Tensor,
        speakers: Tensor | None = None,
        speaker_embedding: Tensor | None = None,
        steps: int = 4,
        solver: Solver | str = "euler",
        schedule: Schedule | str = "uniform",
        temperature: float = 0.667,
        length_scale: float = 1.0,
        guidance_scale: float = 1.0,
        seed: int | None = None,
        durations: Tensor | None = None,
    ) -> SynthesisOutput:
        """Token ids -> log-mel frames. Call ``model.eval()`` first (dropout off).

        Args:
            ids: (B, L) token ids; id_lengths: (B,) real tokens per item.
            speakers / speaker_embedding: see :class:`SpeakerConditioner`.
            steps: solver steps (>= 1); solver: "euler", "midpoint", "heun" or "rk4";
                schedule: "uniform" or "sway" (:func:`flowaudio.flow.time_grid`).
            temperature: standard deviation of the initial noise x0.
            length_scale: > 0, multiplies the predicted durations (> 1 speaks slower).
            guidance_scale: classifier-free guidance strength g (1.0: no guidance).
            seed: seeds the noise generator; the same seed gives the same mel. None draws
                from the global RNG.
            durations: optional (B, L) integer frames per token that replace the predicted
                ones (teacher forcing, e.g. from :meth:`align`); ``length_scale`` is then not
                applied. Padded tokens are ignored; every item needs at least one frame.

        Returns:
            :class:`SynthesisOutput` with d from the duration rule
            (:func:`~flowaudio.runtime.contract.frames_per_token`) on the length-scaled
            predictions (or the given durations) and mel_lengths = sum(d).
        """
        if not math.isfinite(temperature) or temperature < 0:
            raise ValueError(f"temperature must be finite and >= 0, got {temperature!r}")
        if not math.isfinite(guidance_scale):
            raise ValueError(f"guidance_scale must be finite, got {guidance_scale!r}")
        grid = time_grid(steps, schedule)  # validates steps and schedule, float64 numpy
        solver = Solver.parse(solver)
        enc = self.encode(ids, id_lengths, speakers, speaker_embedding, length_scale)
        id_mask = enc.id_mask[:, 0]  # (B, L)
        if durations is None:
            d = frames_per_token(enc.log_durations[:, 0], id_mask, torch)
        else:
            if tuple(durations.shape) != tuple(ids.shape):
                raise ValueError(
                    f"durations must be (B, L) = {tuple(ids.shape)}, got {tuple(durations.shape)}"
                )
            if durations.dtype.is_floating_point or bool((durations < 0).any()):
                raise ValueError("durations must be non-negative integer frame counts")
            d = durations.to(device=ids.device, dtype=torch.long) * id_mask.to(torch.long)
            empty = (d.sum(1) < 1).nonzero().flatten().tolist()
            if empty:
                raise ValueError(f"durations give batch items {empty} no frame at all")
        mel_lengths = d.sum(1)
        mu_frames, mel_mask = expand_prior(enc.mu, d, int(mel_lengths.max()))

        generator = None
        if seed is not None:
            generator = torch.Generator(device=mu_frames.device).manual_seed(int(seed))
        x0 = torch.randn(
            mu_frames.shape, generator=generator, device=mu_frames.device, dtype=mu_frames.dtype
        )
        x0 = temperature * x0 * mel_mask

        if self.config.decoder.dt_input:
            # An interval student jumps from grid point to grid point with its mean velocity.
            if solver is not Solver.EULER:
                raise ValueError(
                    f"an interval student (decoder.dt_input) samples with solver 'euler', got "
                    f"{solver.value!r}"
                )
            # The solver calls at grid points only; each call gets the size of its step.
            step_size = {float(a): float(b - a) for a, b in itertools.pairwise(grid)}

            def velocity(x: Tensor, t: float) -> Tensor:
                dt = x.new_full((x.shape[0],), step_size[t])
                t_b = x.new_full((x.shape[0],), t)
                return self.velocity(x, t_b, mu_frames, mel_mask, enc.speaker, guidance_scale, dt)

        else:

            def velocity(x: Tensor, t: float) -> Tensor:
                t_b = x.new_full((x.shape[0],), t)
                return self.velocity(x, t_b, mu_frames, mel_mask, enc.speaker, guidance_scale)

        y = solve(velocity, x0, grid, solver)
        mel = torch.where(mel_mask.bool(), self.denormalize(y), MEL_PAD_VALUE)
        return SynthesisOutput(mel=mel, mel_lengths=mel_lengths, durations=d)
