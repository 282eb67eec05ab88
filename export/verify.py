"""Parity of an exported voice with the torch modules it came from (onnxruntime vs torch).

Two kinds of check, each a row of the :class:`VerifyReport`:

- per graph, at two sizes (a short batch of two padded items, and one long item: 2,000 tokens
  for the encoder, 1,000 frames for the velocity network and the vocoder), the same random
  inputs go through onnxruntime and through the wrapper module that was exported; the row holds
  the largest absolute difference over all outputs.
- end to end, :class:`flowaudio.runtime.synthesizer.Voice` synthesizes the same text with the
  same seed twice: once on the exported graphs (``Voice.load``) and once on the torch modules
  (:class:`TorchBackend`); the row holds the largest absolute difference of the audio (for an
  int8 voice, the mean difference of its log-mel spectrogram: see :data:`INT8_BOUNDS`).

A row passes when ``max_abs_error <= bound * max(1, max |reference|)``: outputs are O(1) (mel
in normalised units, audio in [-1, 1]), and the scale only loosens the bound for a graph whose
outputs are larger. Default bounds (:data:`FP32_BOUNDS`, :data:`FP16_BOUNDS`) sit 10 to 100
times above what the ``tiny`` and ``small`` presets measure, so they catch broken exports (wrong
weights, frozen shapes, a missing mask), not rounding noise.

With float16 weights a duration within rounding error of an integer may round the other way in
the end-to-end check, giving the two syntheses different lengths; that row is then reported
(not failed), and the per-graph rows carry the guarantee. With float32 it fails.

This module imports torch: it belongs to the export side, never to :mod:`flowaudio.runtime`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import Tensor

from flowaudio.audio.config import AudioConfig
from flowaudio.audio.istft import spectrum_to_audio
from flowaudio.audio.mel import log_mel_spectrogram
from flowaudio.config import from_dict
from flowaudio.export.vocoder import VocoderGraph
from flowaudio.export.wrappers import EncoderGraph, FusedGraph, VelocityGraph
from flowaudio.models.layers import sequence_mask
from flowaudio.models.tts import FlowTTS
from flowaudio.models.vocoder import Vocoder
from flowaudio.runtime import contract as C
from flowaudio.runtime.contract import VoiceMeta

__all__ = [
    "DEFAULT_TEXT",
    "FP16_BOUNDS",
    "FP32_BOUNDS",
    "INT8_BOUNDS",
    "ParityBounds",
    "ParityRow",
    "TorchBackend",
    "VerifyError",
    "VerifyReport",
    "verify_voice",
]

logger = logging.getLogger(__name__)

DEFAULT_TEXT = "The quick brown fox jumps over the lazy dog. Is it seven o'clock yet?"
"""Two sentences of the end-to-end check (exercises sentence batching and padding)."""

LONG_TOKENS = 2000
"""Token count of the long encoder check: far beyond any sentence, so positional code and
attention are exercised at lengths the traced example never had."""
LONG_FRAMES = 1000
"""Frame count of the long velocity and vocoder checks (16 s at 16 kHz with hop 256)."""


@dataclass(frozen=True)
class ParityBounds:
    """Largest accepted ``max |onnx - torch| / max(1, max |torch|)`` per check."""

    encoder: float
    velocity: float
    vocoder: float
    fused: float
    end_to_end: float


FP32_BOUNDS = ParityBounds(encoder=1e-4, velocity=1e-4, vocoder=1e-3, fused=1e-3, end_to_end=1e-3)
"""float32: measured ~1e-6 for encoder and velocity (also at 2,000 tokens / 1,000 frames),
~1e-7 to 2e-5 for vocoder and end-to-end audio (the larger value for a vocoder that clips)."""
FP16_BOUNDS = ParityBounds(encoder=2e-2, velocity=2e-2, vocoder=2e-2, fused=5e-2, end_to_end=5e-2)
"""float16 weights (relative rounding ~5e-4): measured ~1e-3 for encoder, ~4e-4 for velocity,
~3e-4 for vocoder audio at speech level (up to 1e-2 for a random vocoder driven into clipping)."""
INT8_BOUNDS = ParityBounds(encoder=5e-2, velocity=1e-1, vocoder=2e-2, fused=1e-3, end_to_end=1e-1)
"""int8 velocity, vocoder and the encoder's transformer layers (``flowaudio.export.optimize``:
``INT8_GRAPHS``, ``INT8_ONLY``; the fused graph stays float32, hence its float32 bound). The
encoder's bound covers mu and the log-durations: measured on the default voice 1.9e-2 to 2.8e-2
(max abs, against limits of 0.12-0.14 with its output scale). Dynamic int8 quantization costs ~2%
of the velocity's mean magnitude per evaluation: measured on the ``tiny`` preset 1.3e-2 to 1.7e-2
for velocity, 3e-4 for vocoder and end-to-end audio (on ``small``: velocity 1.5e-2, vocoder
8e-4), with 8-bit weights on a VNNI CPU. The weights are 7-bit since
(``flowaudio.export.optimize``: 8-bit ones saturated on AVX2 CPUs without VNNI, 0.11-0.14 for
velocity): 1.6e-2 to 2.0e-2 on VNNI and AVX2 alike, so the velocity bound holds 5x margin on any
x86-64 CPU.

The end-to-end row of an int8 voice compares the two syntheses' log-mel spectrograms (mean
absolute difference, natural-log units), not their samples: int8 moves the vocoder's phase
where the spectrum barely moves, so sample differences say little about what is heard. Measured
on the one-step default voice (2 sentences): sample max 0.09-0.18 but log-mel 0.031-0.033 with
the sensitive MatMuls kept float32 and the encoder float32, 0.036-0.051 with the encoder's
layers int8 too (0.044-0.049 velocity all int8; float16 weights: 0.0005); a voice with a wrong
weight is off by whole log units."""


@dataclass(frozen=True)
class ParityRow:
    """One check: which graph, on what input, the error and the bound it was held to."""

    graph: str
    size: str
    max_abs_error: float
    reference_scale: float
    """max |torch output| (at least 1): the bound is ``bound * reference_scale``."""
    bound: float
    note: str = ""

    @property
    def limit(self) -> float:
        return self.bound * self.reference_scale

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.max_abs_error)) and self.max_abs_error <= self.limit


@dataclass(frozen=True)
class VerifyReport:
    """Every check of :func:`verify_voice`, in the order they ran."""

    voice_dir: str
    weights: str
    """``"float32"``, ``"float16"`` or ``"int8"`` (which bounds applied)."""
    rows: tuple[ParityRow, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows)

    def max_error(self, graph: str) -> float:
        """Largest error over the rows of ``graph`` (``-inf`` when there is none)."""
        errors = [row.max_abs_error for row in self.rows if row.graph == graph]
        return max(errors, default=float("-inf"))

    def table(self) -> str:
        """A plain-text table: graph, size, max abs error, limit, status."""
        header = ("graph", "size", "max abs error", "limit", "")
        lines = [
            (
                row.graph,
                row.size,
                f"{row.max_abs_error:.2e}",
                f"{row.limit:.1e}",
                ("ok" if row.ok else "FAIL") + (f"  {row.note}" if row.note else ""),
            )
            for row in self.rows
        ]
        widths = [max(len(r[i]) for r in [header, *lines]) for i in range(4)]
        out = []
        for r in [header, *lines]:
            cells = [r[i].ljust(widths[i]) if i < 2 else r[i].rjust(widths[i]) for i in range(4)]
            out.append("  ".join([*cells, r[4]]).rstrip())
        return "\n".join(out)


class VerifyError(RuntimeError):
    """An exported graph disagrees with torch beyond its bound; ``report`` has every number."""

    def __init__(self, report: VerifyReport):
        failed = [row for row in report.rows if not row.ok]
        names = ", ".join(f"{row.graph} ({row.size})" for row in failed)
        super().__init__(
            f"exported voice {report.voice_dir} does not match torch for {names}:\n"
            f"{report.table()}\nThe export is broken (not rounding noise): please report it "
            "with this table."
        )
        self.report = report


# ---------------------------------------------------------------------------------------------
# torch backend


def _t(array: np.ndarray | None) -> Tensor | None:
    return None if array is None else torch.from_numpy(np.ascontiguousarray(array))


class TorchBackend:
    """The :class:`flowaudio.runtime.synthesizer.Backend` protocol on the torch modules.

    It runs the same wrapper modules that were exported, so ``Voice(meta, TorchBackend(...))``
    is the reference the exported voice is compared with. ``vocoder`` is None for Griffin-Lim
    voices (the runtime then vocodes in numpy and never calls :meth:`vocode`).
    """

    def __init__(self, model: FlowTTS, vocoder: Vocoder | None = None) -> None:
        self.encoder = EncoderGraph(model).eval()
        self.velocity_net = VelocityGraph(model).eval()
        self.vocoder = VocoderGraph(vocoder).eval() if vocoder is not None else None

    @torch.no_grad()
    def encode(
        self,
        ids: np.ndarray,
        id_lengths: np.ndarray,
        length_scale: np.ndarray,
        speakers: np.ndarray | None,
        speaker_embedding: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.encoder.speaker_mode == "embedding":
            speaker = _t(speaker_embedding)
        else:
            speaker = _t(speakers if speakers is not None else np.zeros(len(ids), np.int64))
        mu, log_d, spk = self.encoder(_t(ids), _t(id_lengths), _t(length_scale), speaker)
        return mu.numpy(), log_d.numpy(), spk.numpy()

    @torch.no_grad()
    def velocity(
        self,
        x: np.ndarray,
        t: np.ndarray,
        mu_frames: np.ndarray,
        mel_mask: np.ndarray,
        speaker_cond: np.ndarray,
        dt: np.ndarray | None = None,
    ) -> np.ndarray:
        args = (_t(x), _t(t), _t(mu_frames), _t(mel_mask), _t(speaker_cond), _t(dt))
        return self.velocity_net(*args).numpy()

    @property
    def has_dt(self) -> bool:
        return self.velocity_net.has_dt

    @torch.no_grad()
    def vocode(self, mel: np.ndarray) -> np.ndarray:
        if self.vocoder is None:
            raise RuntimeError("this backend has no neural vocoder (the voice uses griffin-lim)")
        return self.vocoder(_t(mel)).numpy()


# ---------------------------------------------------------------------------------------------
# checks


def _session(path: Path) -> ort.InferenceSession:
    from flowaudio.runtime.session import CPU, make_session

    return make_session(path, [CPU])


def _compare(
    graph: str,
    size: str,
    reference: Sequence[Tensor | np.ndarray],
    exported: Sequence[np.ndarray],
    bound: float,
) -> ParityRow:
    error = 0.0
    scale = 1.0
    for ref, out in zip(reference, exported, strict=True):
        ref = ref.numpy() if isinstance(ref, Tensor) else ref
        if ref.shape != out.shape:
            return ParityRow(
                graph, size, float("inf"), scale, bound, f"shape {out.shape} != torch {ref.shape}"
            )
        diff = np.abs(ref.astype(np.float64) - out.astype(np.float64))
        error = max(error, float(diff.max()) if diff.size else 0.0)
        if ref.size and np.issubdtype(ref.dtype, np.floating):
            scale = max(scale, float(np.abs(ref).max()))
    return ParityRow(graph, size, error, scale, bound)


def _encoder_inputs(
    model: FlowTTS, lengths: Sequence[int], gen: torch.Generator
) -> tuple[Tensor, ...]:
    b, n = len(lengths), max(lengths)
    ids = (
        torch.randint(0, model.n_vocab, (b, n), generator=gen)
        * sequence_mask(torch.tensor(lengths)).long()
    )
    id_lengths = torch.tensor(lengths, dtype=torch.long)
    length_scale = 0.8 + 0.5 * torch.rand(b, generator=gen)
    cfg = model.config.speaker
    if cfg.external_dim > 0:
        speaker = torch.randn(b, cfg.external_dim, generator=gen)
    else:
        speaker = torch.randint(0, cfg.n_speakers, (b,), generator=gen)
    return ids, id_lengths, length_scale, speaker


def _encoder_feed(meta: VoiceMeta, inputs: Sequence[Tensor]) -> dict[str, np.ndarray]:
    ids, id_lengths, length_scale, speaker = (x.numpy() for x in inputs)
    key = C.ENC_SPEAKER_EMBEDDING if meta.speaker_mode == "embedding" else C.ENC_SPEAKERS
    return {
        C.ENC_IDS: ids,
        C.ENC_ID_LENGTHS: id_lengths,
        C.ENC_LENGTH_SCALE: length_scale,
        key: speaker,
    }


@torch.no_grad()
def _check_encoder(
    voice_dir: Path, meta: VoiceMeta, model: FlowTTS, bound: float, gen: torch.Generator
) -> list[ParityRow]:
    session = _session(voice_dir / C.ENCODER_ONNX)
    graph = EncoderGraph(model).eval()
    rows = []
    for lengths in ([23, 11], [LONG_TOKENS]):
        inputs = _encoder_inputs(model, lengths, gen)
        reference = graph(*inputs)
        outputs = [C.ENC_MU, C.ENC_LOG_DURATIONS, C.ENC_SPEAKER_COND]
        exported = session.run(outputs, _encoder_feed(meta, inputs))
        size = f"B={len(lengths)} L={max(lengths)}"
        rows.append(_compare("encoder", size, reference, exported, bound))
    return rows


@torch.no_grad()
def _check_velocity(
    voice_dir: Path, model: FlowTTS, bound: float, gen: torch.Generator
) -> list[ParityRow]:
    session = _session(voice_dir / C.VELOCITY_ONNX)
    graph = VelocityGraph(model).eval()
    rows = []
    for lengths in ([57, 30], [LONG_FRAMES]):
        b, n = len(lengths), max(lengths)
        mask = sequence_mask(torch.tensor(lengths))[:, None, :]
        x = torch.randn(b, model.n_mels, n, generator=gen) * mask
        t = torch.rand(b, generator=gen)
        mu = torch.randn(b, model.n_mels, n, generator=gen) * mask
        spk = torch.randn(b, model.speaker.dim, generator=gen)
        dt = (1 - t) * torch.rand(b, generator=gen) if graph.has_dt else None
        reference = graph(x, t, mu, mask, spk, dt)
        feed = {
            C.VEL_X: x.numpy(),
            C.VEL_T: t.numpy(),
            C.VEL_MU_FRAMES: mu.numpy(),
            C.VEL_MEL_MASK: mask.numpy(),
            C.VEL_SPEAKER_COND: spk.numpy(),
        }
        if dt is not None:
            feed[C.VEL_DT] = dt.numpy()
        exported = session.run([C.VEL_V], feed)
        rows.append(_compare("velocity", f"B={b} T={n}", [reference], exported, bound))
    return rows


@torch.no_grad()
def _check_vocoder(
    voice_dir: Path, meta: VoiceMeta, vocoder: Vocoder, bound: float, gen: torch.Generator
) -> list[ParityRow]:
    session = _session(voice_dir / C.VOCODER_ONNX)
    graph = VocoderGraph(vocoder).eval()
    rows = []
    for b, n in ((2, 57), (1, LONG_FRAMES)):
        # Random log-mels with the corpus statistics: the range the vocoder sees in use.
        mel = meta.mel_mean + meta.mel_std * torch.randn(b, vocoder.audio.n_mels, n, generator=gen)
        reference = graph(mel)
        if meta.vocoder_output == "spectrum":
            # The audio the runtime makes of the graph's spectrum (host ISTFT) against torch's
            # audio: the spectrum itself runs to exp(7) and says less about what is heard.
            spectrum = session.run([C.VOC_SPECTRUM], {C.VOC_MEL: mel.numpy()})[0]
            exported = [spectrum_to_audio(spectrum, vocoder.audio)]
        else:
            exported = session.run([C.VOC_AUDIO], {C.VOC_MEL: mel.numpy()})
        rows.append(_compare("vocoder", f"B={b} T={n}", [reference], exported, bound))
    return rows


@torch.no_grad()
def _check_fused(
    voice_dir: Path,
    meta: VoiceMeta,
    model: FlowTTS,
    vocoder: Vocoder,
    bound: float,
    gen: torch.Generator,
) -> list[ParityRow]:
    steps = int(meta.fused_steps or 0)
    session = _session(voice_dir / C.FUSED_ONNX)
    graph = FusedGraph(model, vocoder, steps).eval()
    rows = []
    for lengths in ([23, 11], [120]):
        inputs = _encoder_inputs(model, lengths, gen)
        # Enough noise frames for ~10 frames per token (longer utterances are capped).
        noise = 0.667 * torch.randn(len(lengths), model.n_mels, 10 * max(lengths), generator=gen)
        reference = graph(*inputs, noise)
        feed = {**_encoder_feed(meta, inputs), C.FUSED_NOISE: noise.numpy()}
        exported = session.run([C.FUSED_AUDIO, C.FUSED_AUDIO_LENGTHS], feed)
        size = f"B={len(lengths)} L={max(lengths)} steps={steps}"
        rows.append(_compare("fused", size, reference, exported, bound))
    return rows


def _check_end_to_end(
    voice_dir: Path,
    meta: VoiceMeta,
    model: FlowTTS,
    vocoder: Vocoder | None,
    bound: float,
    text: str,
    seed: int,
    steps: int,
    strict_lengths: bool,
    spectral: bool = False,
) -> list[ParityRow]:
    from flowaudio.runtime.synthesizer import Voice

    exported_voice = Voice.load(voice_dir, providers="cpu")
    torch_voice = Voice(meta, TorchBackend(model, vocoder), voice_dir)
    settings: list[dict] = [{}]
    # A second run through the guided path: the null speaker vector of voice.json must be
    # the model's, and the last speaker's row must be exported too.
    last = len(meta.speakers) - 1 if meta.speaker_mode == "id" else None
    # A student has no guided path (its guidance is folded in): its second run is 2 steps.
    settings.append({"steps": 2, "speaker": last} if meta.is_student else
                    {"guidance_scale": 2.0, "speaker": last})  # fmt: skip
    rows = []
    for extra in settings:
        kwargs: dict = {"seed": seed, "steps": steps, **extra}
        if meta.speaker_mode == "embedding":
            rng = np.random.default_rng(seed)
            kwargs["speaker_embedding"] = rng.standard_normal(meta.speaker_embedding_dim)
            kwargs.pop("speaker", None)
        ours = exported_voice.synthesize(text, **kwargs).samples
        ref = torch_voice.synthesize(text, **kwargs).samples
        label = f"{len(ref)} samples" + (" g=2" if "guidance_scale" in extra else "")
        if ours.shape != ref.shape:
            # A duration within rounding error of an integer rounds differently: with float16
            # weights that is expected now and then, the graph rows above carry the guarantee.
            note = f"durations rounded differently: {len(ours)} vs {len(ref)} samples"
            error = float("inf") if strict_lengths else 0.0
            rows.append(ParityRow("end-to-end", label, error, 1.0, bound, note))
            continue
        if spectral:
            # int8 moves the waveform's phase where the mel barely moves: compare what is heard.
            cfg = from_dict(AudioConfig, meta.audio)
            error = float(
                np.abs(log_mel_spectrogram(ours, cfg) - log_mel_spectrogram(ref, cfg)).mean()
            )
            rows.append(ParityRow("end-to-end", label + " log-mel", error, 1.0, bound))
            continue
        rows.append(_compare("end-to-end", label, [ref], [ours], bound))
    return rows


def verify_voice(
    voice_dir: str | Path,
    model: FlowTTS,
    vocoder: Vocoder | None,
    *,
    bounds: ParityBounds | None = None,
    text: str = DEFAULT_TEXT,
    seed: int = 0,
    steps: int = 4,
    end_to_end: bool = True,
    log: Callable[[str], None] | None = None,
) -> VerifyReport:
    """Check every graph of ``voice_dir`` against ``model`` / ``vocoder`` (see module docstring).

    Args:
        voice_dir: an exported voice.
        model: the acoustic model the voice was exported from (eval mode is set here).
        vocoder: its neural vocoder, or None for a Griffin-Lim voice.
        bounds: error bounds; default by the weight format in voice.json's provenance:
            :data:`FP16_BOUNDS` (float16), :data:`INT8_BOUNDS` (int8), :data:`FP32_BOUNDS`.
        text / seed / steps: the end-to-end synthesis.
        end_to_end: also run the end-to-end check (needs the voice's phonemizer).
        log: called with the finished table (e.g. ``print``); the report is returned either way.

    Returns:
        the :class:`VerifyReport`.

    Raises:
        VerifyError: a check is over its bound (the message holds the whole table).
    """
    voice_dir = Path(voice_dir)
    meta = VoiceMeta.load(voice_dir)
    weights = str(meta.provenance.get("weights", "float32"))
    if bounds is None:
        bounds = {"float16": FP16_BOUNDS, "int8": INT8_BOUNDS}.get(weights, FP32_BOUNDS)
    if (meta.vocoder == "onnx") != (vocoder is not None):
        raise ValueError(
            f"{voice_dir} uses vocoder {meta.vocoder!r}; pass "
            + ("its Vocoder module" if meta.vocoder == "onnx" else "vocoder=None")
        )
    model.eval()
    if vocoder is not None:
        vocoder.eval()
    gen = torch.Generator().manual_seed(seed)
    rows = [
        *_check_encoder(voice_dir, meta, model, bounds.encoder, gen),
        *_check_velocity(voice_dir, model, bounds.velocity, gen),
    ]
    if vocoder is not None:
        rows += _check_vocoder(voice_dir, meta, vocoder, bounds.vocoder, gen)
        if meta.fused_steps is not None:
            rows += _check_fused(voice_dir, meta, model, vocoder, bounds.fused, gen)
    if end_to_end:
        rows += _check_end_to_end(
            voice_dir,
            meta,
            model,
            vocoder,
            bounds.end_to_end,
            text,
            seed,
            steps,
            # float16 and int8 move a duration within rounding error of an integer to the
            # next frame now and then; the encoder rows bound their log-durations.
            strict_lengths=weights == "float32",
            spectral=weights == "int8",
        )
    report = VerifyReport(str(voice_dir), weights, tuple(rows))
    if log is not None:
        log(report.table())
    if not report.ok:
        raise VerifyError(report)
    return report
