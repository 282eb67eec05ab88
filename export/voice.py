"""Training runs -> a voice directory (``flowaudio export``): graphs, voice.json, parity check.

::

    export_voice(ACOUSTIC_RUN, VOCODER_RUN | "griffin-lim", VOICE_DIR)

1. loads the latest checkpoint of each run (the EMA weights when the run kept them) and rebuilds
   the modules from the config stored with the weights (:func:`load_acoustic`,
   :func:`load_vocoder`);
2. checks that the vocoder was trained on the acoustic model's features (same audio config);
3. builds the :class:`~flowaudio.runtime.contract.VoiceMeta` (:func:`build_voice_meta`);
4. writes encoder.onnx, velocity.onnx, vocoder.onnx (not for Griffin-Lim), optionally
   fused.onnx, and voice.json into a temporary folder next to VOICE_DIR; every graph carries
   voice.json in its ``metadata_props``;
5. verifies the graphs against torch (:func:`flowaudio.export.verify.verify_voice`), and only then
   renames the folder to VOICE_DIR, so a failed export never leaves a half-written voice behind.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import torch

from flowaudio.audio.config import AudioConfig
from flowaudio.config import ConfigError, from_dict, parse_choice, to_dict
from flowaudio.export.onnx_io import Weights, export_graph
from flowaudio.export.optimize import INT8_GRAPHS, INT8_ONLY
from flowaudio.export.verify import VerifyError, verify_voice
from flowaudio.export.vocoder import VocoderGraph, VocoderSpectrumGraph, vocoder_metadata
from flowaudio.export.wrappers import EncoderGraph, FusedGraph, VelocityGraph, speaker_mode
from flowaudio.models.config import TTSConfig, VocoderConfig
from flowaudio.models.lora import merge_state_dict
from flowaudio.models.tts import FlowTTS
from flowaudio.models.vocoder import Vocoder
from flowaudio.runtime import contract as C
from flowaudio.runtime.contract import SynthesisDefaults, VoiceMeta
from flowaudio.runtime.graphcheck import file_sha256
from flowaudio.train.checkpoint import latest_valid_checkpoint, load_checkpoint
from flowaudio.version import __version__

__all__ = [
    "DEFAULT_VOCODER_ISTFT",
    "GRIFFIN_LIM",
    "AcousticRun",
    "IstftPlace",
    "VocoderRun",
    "build_voice_meta",
    "export_voice",
    "load_acoustic",
    "load_vocoder",
    "voice_size",
]

logger = logging.getLogger(__name__)

GRIFFIN_LIM = "griffin-lim"


class IstftPlace(str, Enum):
    """Where a voice's vocoder runs its inverse STFT (``flowaudio export --vocoder-istft``).

    ``graph``: inside vocoder.onnx (a ConvTranspose over windowed DFT bases), which then gives
    audio; voice schema 2, readable by every runtime. ``host``: vocoder.onnx stops at the complex
    spectrum and the runtime finishes it with numpy's inverse FFT
    (:mod:`flowaudio.audio.istft`); voice schema 3 (``vocoder_output: "spectrum"``), which
    runtimes before it refuse.
    """

    HOST = "host"
    GRAPH = "graph"

    @classmethod
    def parse(cls, value: IstftPlace | str) -> IstftPlace:
        """``value`` as an :class:`IstftPlace`; ValueError naming the choices otherwise."""
        return parse_choice(cls, value, "vocoder ISTFT place")

    @property
    def vocoder_output(self) -> str:
        """voice.json's ``vocoder_output`` for this place."""
        return "spectrum" if self is IstftPlace.HOST else "audio"


#: The ISTFT place of new exports: the host. Measured with bench/vocoder_istft.py on the shipped
#: voice's vocoder (float16, n_fft 1024, hop 256), 2 threads, a 2-core machine busy with other
#: jobs, A/B runs interleaved: per 10 s of audio 80-84 ms with the ISTFT in the graph against
#: 71-77 ms with it on the host (of which numpy's ISTFT 5 ms); median ratio host / graph 0.81 and
#: 0.87 in two runs of 15 and 40 pairs. The audio differs by at most 1.5e-5.
DEFAULT_VOCODER_ISTFT = IstftPlace.HOST


@dataclass(frozen=True)
class AcousticRun:
    """The acoustic model of a run's checkpoint, ready to export (eval mode, float32, CPU)."""

    model: FlowTTS
    metadata: dict[str, Any]
    """The checkpoint's metadata: symbols, speakers, audio, text, mel_mean, mel_std, corpus."""
    config: dict[str, Any]
    """The run config as stored: {"model": TTSConfig dict, "train": TrainConfig dict}."""
    step: int
    checkpoint: Path


@dataclass(frozen=True)
class VocoderRun:
    """The vocoder generator of a run's checkpoint (eval mode, float32, CPU)."""

    model: Vocoder
    metadata: dict[str, Any]
    """The checkpoint's metadata: audio (and, from the trainer, corpus and n_parameters)."""
    config: dict[str, Any]
    """The run config as stored: {"model": VocoderConfig dict, "train": TrainConfig dict, ...}."""
    step: int
    checkpoint: Path


# ---------------------------------------------------------------------------------------------
# loading runs


def _resolve_checkpoint(run: str | Path, what: str) -> Path:
    """A checkpoint file as given, or the latest one of a run directory."""
    run = Path(run)
    if run.is_file():
        return run
    if not run.is_dir():
        hint = " or griffin-lim" if what == "vocoder" else ""
        raise FileNotFoundError(f"{what} run not found: {run} (pass a run directory{hint})")
    found = latest_valid_checkpoint(run)  # a damaged newest one: the previous, with a warning
    if found is None:
        raise FileNotFoundError(
            f"{run} has no checkpoint ({run / 'checkpoints'} holds no step_XXXXXXXX.pt); "
            f"pass the run directory of a trained {what} model"
        )
    return found[0]


def _load(path: Path, task: str, module_key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(checkpoint dict, the weights to export) after checking the checkpoint's shape."""
    state = load_checkpoint(path)  # ValueError for unreadable or foreign files
    # A distilled student and a fine-tuned model are acoustic models too.
    if state.get("task") != task and not (
        task == "acoustic" and state.get("task") in ("distill", "finetune")
    ):
        raise ValueError(
            f"{path} is a checkpoint of task {state.get('task')!r}, expected {task!r}; pass the "
            f"{task} run"
        )
    missing = [k for k in ("config", "metadata", "modules", "step") if k not in state]
    if missing or not isinstance(state.get("modules"), Mapping):
        raise ValueError(
            f"{path} lacks checkpoint entries {missing or ['modules']}; is it complete?"
        )
    weights = state.get("ema")
    if weights is None:
        if module_key not in state["modules"]:
            raise ValueError(
                f"{path} has no {module_key!r} weights (modules: {sorted(state['modules'])})"
            )
        weights = state["modules"][module_key]
    return state, weights


def _load_weights(module: torch.nn.Module, weights: Mapping[str, Any], path: Path) -> None:
    try:
        module.load_state_dict(weights)
    except RuntimeError as exc:
        raise ValueError(
            f"{path}: the weights do not fit the model built from the stored config ({exc})"
        ) from exc


def load_acoustic(run: str | Path) -> AcousticRun:
    """Load the latest checkpoint of an acoustic run (or the checkpoint file ``run``).

    The EMA weights are used when the checkpoint has them. The model is rebuilt from the stored
    config with ``n_vocab = len(symbols)`` and the mel statistics of the metadata.

    Raises:
        FileNotFoundError: no run or no checkpoint there.
        ValueError: the checkpoint is unreadable, of another task, or inconsistent.
    """
    path = _resolve_checkpoint(run, "acoustic")
    state, weights = _load(path, "acoustic", "model")
    meta = state["metadata"]
    try:
        config = from_dict(TTSConfig, state["config"]["model"], where="model")
        symbols = meta["symbols"]["symbols"]
        mel_mean, mel_std = float(meta["mel_mean"]), float(meta["mel_std"])
        missing = [k for k in ("audio", "text", "speakers") if k not in meta]
        if missing:
            raise KeyError(", ".join(missing))
    except (KeyError, TypeError, ConfigError) as exc:
        raise ValueError(f"{path}: incomplete acoustic checkpoint ({exc!r})") from exc
    model = FlowTTS(config, n_vocab=len(symbols))
    # A LoRA fine-tuning's adapters fold into the weights here: no run-time cost.
    _load_weights(model, merge_state_dict(weights), path)
    model.set_normalization(mel_mean, mel_std)
    return AcousticRun(
        model=model.float().eval(),
        metadata=dict(meta),
        config=dict(state["config"]),
        step=int(state["step"]),
        checkpoint=path,
    )


def load_vocoder(run: str | Path) -> VocoderRun:
    """Load the latest checkpoint of a vocoder run (or the checkpoint file ``run``); the EMA
    generator when the checkpoint has one. A voice directory (or ``"default"``) works too: its
    vocoder is rebuilt from vocoder.onnx (:mod:`flowaudio.export.from_voice`), so a student or a
    fine-tuned model exports with the vocoder of the voice it came from.

    Raises:
        FileNotFoundError: no run or no checkpoint there.
        ValueError: the checkpoint is unreadable, of another task, or inconsistent.
    """
    if C.is_voice_source(run):
        return _vocoder_of_voice(run)
    path = _resolve_checkpoint(run, "vocoder")
    state, weights = _load(path, "vocoder", "generator")
    try:
        config = from_dict(VocoderConfig, state["config"]["model"], where="model")
        audio = from_dict(AudioConfig, state["metadata"]["audio"], where="audio")
    except (KeyError, TypeError, ConfigError) as exc:
        raise ValueError(f"{path}: incomplete vocoder checkpoint ({exc!r})") from exc
    model = Vocoder(config, audio)
    _load_weights(model, weights, path)
    return VocoderRun(
        model=model.float().eval(),
        metadata=dict(state["metadata"]),
        config=dict(state["config"]),
        step=int(state["step"]),
        checkpoint=path,
    )


def _vocoder_of_voice(voice: str | Path) -> VocoderRun:
    from flowaudio.export.from_voice import load_voice_models

    models = load_voice_models(voice)
    if models.vocoder is None:
        raise ValueError(
            f"{voice} has no neural vocoder (it uses griffin-lim); pass --vocoder griffin-lim"
        )
    info = models.meta.provenance.get("vocoder") or {}
    return VocoderRun(
        model=models.vocoder,
        metadata={"audio": dict(models.meta.audio), "corpus": info.get("corpus")},
        config={"model": info.get("config")},
        step=int(info.get("steps_trained") or 0),
        checkpoint=models.voice_dir / C.VOCODER_ONNX,
    )


def _check_audio(acoustic: AcousticRun, vocoder: VocoderRun) -> None:
    ours = to_dict(from_dict(AudioConfig, acoustic.metadata["audio"]))
    theirs = to_dict(vocoder.model.audio)
    diff = [
        f"{k}: vocoder {theirs[k]!r} vs acoustic {ours[k]!r}" for k in ours if ours[k] != theirs[k]
    ]
    if diff:
        raise ValueError(
            f"the vocoder ({vocoder.checkpoint}) was trained on other features than the acoustic "
            f"model ({acoustic.checkpoint}): {'; '.join(diff)}. Train the vocoder with the "
            "acoustic model's audio config, or export with --vocoder griffin-lim"
        )


# ---------------------------------------------------------------------------------------------
# voice.json


def _corpus_name(path: Any) -> str | None:
    """The training cache's folder name: a voice records nothing of the machine that made it."""
    return Path(str(path)).name if path else None


def _checkpoint_name(path: Path) -> str:
    """A checkpoint by its run folder and file (``default-cpu/checkpoints/step_00003323.pt``), a
    voice's vocoder.onnx by its voice folder (``default/vocoder.onnx``): names, never the
    machine's path (the run may have been given as an absolute path, the voice may sit in
    site-packages)."""
    keep = 3 if path.parent.name == "checkpoints" else 2
    return "/".join(path.parts[-keep:])


def _vocoder_origin(metadata: dict[str, Any]) -> dict[str, Any]:
    """A fine-tuned vocoder's ``init`` (where its generator started) and ``mels`` (what it
    learned on), with corpus folders by name only."""
    out: dict[str, Any] = {}
    init = metadata.get("init")
    if isinstance(init, dict):
        out["init"] = {**init, "corpus": _corpus_name(init.get("corpus"))}
    if metadata.get("mels"):
        out["mels"] = str(metadata["mels"])
    return out


def default_settings(acoustic: AcousticRun) -> SynthesisDefaults:
    """The synthesis defaults a voice starts from: those of the voice a run was fine-tuned from,
    one step for a distilled student (guidance folded in), the contract's defaults otherwise."""
    inherited = acoustic.metadata.get("voice_defaults")
    if inherited is not None:
        return SynthesisDefaults().with_settings(inherited)
    if acoustic.metadata.get("distillation") is not None:
        return SynthesisDefaults(steps=1)
    return SynthesisDefaults()


def build_voice_meta(
    acoustic: AcousticRun,
    vocoder: VocoderRun | None,
    *,
    name: str,
    fused_steps: int | None = None,
    weights: Weights | str = Weights.FLOAT32,
    defaults: SynthesisDefaults | None = None,
    vocoder_istft: IstftPlace | str = DEFAULT_VOCODER_ISTFT,
) -> VoiceMeta:
    """The voice.json of ``acoustic`` + ``vocoder`` (None: Griffin-Lim, whose ISTFT is numpy's
    anyway: ``vocoder_istft`` is then ignored)."""
    weights = Weights.parse(weights)
    output = IstftPlace.parse(vocoder_istft).vocoder_output if vocoder is not None else "audio"
    model, meta = acoustic.model, acoustic.metadata
    mode = speaker_mode(model)
    with torch.no_grad():
        null = model.null_condition(1)[0].float().tolist()
    exported_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    distillation = meta.get("distillation")
    defaults = defaults or default_settings(acoustic)
    if distillation is not None and defaults.guidance_scale != 1.0:
        raise ValueError(
            "a distilled student folds the teacher's guidance in; export it with "
            f"guidance_scale 1, not {defaults.guidance_scale}"
        )
    provenance: dict[str, Any] = {
        "acoustic": {
            "checkpoint": _checkpoint_name(acoustic.checkpoint),
            "steps_trained": acoustic.step,
            "config": acoustic.config.get("model"),
            "train": acoustic.config.get("train"),
            "corpus": _corpus_name(meta.get("corpus")),
            "n_parameters": model.count_parameters(),
        },
        "vocoder": GRIFFIN_LIM
        if vocoder is None
        else {
            "checkpoint": _checkpoint_name(vocoder.checkpoint),
            "steps_trained": vocoder.step,
            "config": vocoder.config.get("model"),
            "corpus": _corpus_name(vocoder.metadata.get("corpus")),
            "n_parameters": vocoder.model.num_parameters(),
            # A fine-tuned vocoder: where its generator started and which mels it learned on.
            **_vocoder_origin(vocoder.metadata),
        },
        "weights": weights.value,
        "exporter": f"torch {torch.__version__} TorchScript exporter (dynamo=False), "
        f"opset {C.OPSET}",
        "flowaudio_version": __version__,
        "exported_at": exported_at,
    }
    return VoiceMeta(
        schema_version=VoiceMeta.schema_for(output),
        name=name,
        audio=to_dict(from_dict(AudioConfig, meta["audio"])),
        text=dict(meta["text"]),
        symbols=dict(meta["symbols"]),
        speakers=tuple(meta["speakers"]),
        speaker_mode=mode,
        speaker_embedding_dim=model.config.speaker.external_dim if mode == "embedding" else 0,
        speaker_cond_dim=model.speaker.dim,
        null_speaker_cond=tuple(float(x) for x in null),
        mel_mean=float(meta["mel_mean"]),
        mel_std=float(meta["mel_std"]),
        vocoder="onnx" if vocoder is not None else GRIFFIN_LIM,
        defaults=defaults or SynthesisDefaults(),
        fused_steps=fused_steps,
        provenance=provenance,
        distillation=distillation,
        vocoder_output=output,
    )


# ---------------------------------------------------------------------------------------------
# graphs


def _encoder_example(model: FlowTTS) -> tuple[torch.Tensor, ...]:
    # Two items of different lengths, so nothing batch- or length-specific gets traced in.
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, model.n_vocab, (2, 16), generator=gen)
    id_lengths = torch.tensor([16, 9])
    length_scale = torch.tensor([1.0, 1.2])
    cfg = model.config.speaker
    if cfg.external_dim > 0:
        speaker = torch.randn(2, cfg.external_dim, generator=gen)
    else:
        speaker = torch.tensor([0, cfg.n_speakers - 1])
    return ids, id_lengths, length_scale, speaker


def _encoder_names(model: FlowTTS) -> tuple[list[str], dict[str, dict[int, str]]]:
    spk = C.ENC_SPEAKER_EMBEDDING if speaker_mode(model) == "embedding" else C.ENC_SPEAKERS
    inputs = [C.ENC_IDS, C.ENC_ID_LENGTHS, C.ENC_LENGTH_SCALE, spk]
    axes = {
        C.ENC_IDS: {0: "batch", 1: "tokens"},
        C.ENC_ID_LENGTHS: {0: "batch"},
        C.ENC_LENGTH_SCALE: {0: "batch"},
        spk: {0: "batch"},
    }
    return inputs, axes


def _write_graphs(
    folder: Path,
    meta: VoiceMeta,
    model: FlowTTS,
    vocoder: Vocoder | None,
    fused_steps: int | None,
    weights: Weights,
) -> None:
    def stored_as(graph: str) -> Weights:
        # int8 reaches only the graphs where it pays and is safe (INT8_GRAPHS); the fused
        # graph holds the encoder's duration path, so it stays float32.
        if weights is Weights.INT8 and graph not in INT8_GRAPHS:
            return Weights.FLOAT32
        return weights

    def metadata(graph: str) -> dict[str, str]:
        return {
            C.METADATA_VOICE_KEY: meta.to_json(),
            C.METADATA_SCHEMA_KEY: str(meta.schema_version),
            "flowaudio.graph": graph,
            "flowaudio.version": __version__,
        }

    enc_inputs, enc_axes = _encoder_names(model)
    export_graph(
        EncoderGraph(model),
        _encoder_example(model),
        folder / C.ENCODER_ONNX,
        enc_inputs,
        [C.ENC_MU, C.ENC_LOG_DURATIONS, C.ENC_SPEAKER_COND],
        {
            **enc_axes,
            C.ENC_MU: {0: "batch", 2: "tokens"},
            C.ENC_LOG_DURATIONS: {0: "batch", 2: "tokens"},
            C.ENC_SPEAKER_COND: {0: "batch"},
        },
        metadata("encoder"),
        stored_as("encoder"),
        int8_only=INT8_ONLY["encoder"],  # what feeds the rounded durations stays float32
    )
    frames = 45  # odd, not a multiple of the U-Net's stride: the padding path is traced
    mask = (torch.arange(frames)[None, :] < torch.tensor([frames, 30])[:, None]).float()
    gen = torch.Generator().manual_seed(0)
    velocity = VelocityGraph(model)
    example = [
        torch.randn(2, model.n_mels, frames, generator=gen),
        torch.tensor([0.25, 0.5]),
        torch.randn(2, model.n_mels, frames, generator=gen),
        mask[:, None, :],
        torch.randn(2, model.speaker.dim, generator=gen),
    ]
    names = [C.VEL_X, C.VEL_T, C.VEL_MU_FRAMES, C.VEL_MEL_MASK, C.VEL_SPEAKER_COND]
    if velocity.has_dt:  # an interval student's step size
        example.append(torch.tensor([0.75, 0.5]))
        names.append(C.VEL_DT)
    export_graph(
        velocity,
        tuple(example),
        folder / C.VELOCITY_ONNX,
        names,
        [C.VEL_V],
        {
            C.VEL_X: {0: "batch", 2: "frames"},
            C.VEL_T: {0: "batch"},
            C.VEL_MU_FRAMES: {0: "batch", 2: "frames"},
            C.VEL_MEL_MASK: {0: "batch", 2: "frames"},
            C.VEL_SPEAKER_COND: {0: "batch"},
            **({C.VEL_DT: {0: "batch"}} if velocity.has_dt else {}),
            C.VEL_V: {0: "batch", 2: "frames"},
        },
        metadata("velocity"),
        stored_as("velocity"),
        int8_keep_sensitive=True,  # a one-step student adds its velocity error to the mel
    )
    if vocoder is None:
        return
    if meta.vocoder_output == "spectrum":  # the host runs the ISTFT
        graph: torch.nn.Module = VocoderSpectrumGraph(vocoder)
        output, output_axes = C.VOC_SPECTRUM, {0: "batch", 3: "frames"}
    else:
        graph, output, output_axes = VocoderGraph(vocoder), C.VOC_AUDIO, {0: "batch", 1: "samples"}
    export_graph(
        graph,
        (torch.zeros(2, vocoder.audio.n_mels, 64),),
        folder / C.VOCODER_ONNX,
        [C.VOC_MEL],
        [output],
        {C.VOC_MEL: {0: "batch", 2: "frames"}, output: output_axes},
        {**vocoder_metadata(vocoder), **metadata("vocoder")},
        stored_as("vocoder"),
    )
    if fused_steps is None:
        return
    example = _encoder_example(model)
    noise = torch.randn(2, model.n_mels, 120, generator=gen)
    export_graph(
        FusedGraph(model, vocoder, fused_steps),
        (*example, noise),
        folder / C.FUSED_ONNX,
        [*enc_inputs, C.FUSED_NOISE],
        [C.FUSED_AUDIO, C.FUSED_AUDIO_LENGTHS],
        {
            **enc_axes,
            C.FUSED_NOISE: {0: "batch", 2: "max_frames"},
            C.FUSED_AUDIO: {0: "batch", 1: "samples"},
            C.FUSED_AUDIO_LENGTHS: {0: "batch"},
        },
        metadata("fused"),
        stored_as("fused"),
    )


# ---------------------------------------------------------------------------------------------
# export


def voice_size(voice_dir: str | Path) -> int:
    """Bytes on disk of the files of a voice directory."""
    return sum(p.stat().st_size for p in Path(voice_dir).iterdir() if p.is_file())


def _check_target(out: Path) -> None:
    # Replacing a previous export is fine; deleting a folder of other files is not.
    if out.exists() and (
        not out.is_dir() or (any(out.iterdir()) and not (out / C.VOICE_JSON).is_file())
    ):
        raise ValueError(
            f"{out} exists and is not a flowaudio voice; choose another --out (an existing "
            "voice directory is replaced)"
        )


def _replace_dir(new: Path, out: Path) -> None:
    """Rename ``new`` to ``out``, replacing an existing voice directory there."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    try:
        os.replace(new, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def export_voice(
    acoustic_run: str | Path,
    vocoder: str | Path | None,
    out: str | Path,
    *,
    weights: Weights | str = Weights.FLOAT32,
    fp16: bool = False,
    fused_steps: int | None = None,
    name: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    vocoder_istft: IstftPlace | str | None = None,
    verify: bool = True,
    log: Callable[[str], None] | None = None,
) -> VoiceMeta:
    """Export an acoustic run and a vocoder run (or ``"griffin-lim"``) as the voice ``out``.

    Args:
        acoustic_run: run directory of ``flowaudio train`` (or one of its checkpoint files).
        vocoder: run directory of a vocoder training (or a checkpoint file), or
            ``"griffin-lim"`` for a voice without neural vocoder (no vocoder.onnx); None for
            a run of ``flowaudio finetune``: the vocoder of the voice it was fine-tuned from.
        out: the voice directory to write; an existing voice there is replaced.
        weights: ``"float32"``, ``"float16"`` (large weights stored as float16: half the size
            on disk, float32 inputs and arithmetic) or ``"int8"`` (MatMul weights of the
            velocity network, the vocoder and the encoder's transformer layers as int8, the
            MatMuls int8 hurts most kept float32: 0.64-0.8x the CPU time of float32, about a
            third of their memory, a small measured error; see :mod:`flowaudio.export.optimize`).
            int8 is for CPU inference: onnxruntime's CUDA provider may lack its dynamic-quantization
            kernels and fall back to the CPU for them; export float32 or float16 for GPUs.
        fp16: the same as ``weights="float16"`` (kept for existing callers).
        fused_steps: also write fused.onnx (text -> audio, this many Euler steps); needs a
            neural vocoder.
        name: the voice's name (default: the directory name of ``out``).
        defaults: synthesis settings the voice recommends, stored in voice.json and used when
            a call leaves them out (``{"steps": 2, "guidance_scale": 1.5}``; names and ranges
            of :class:`SynthesisDefaults`, strings converted); the rest keep their defaults.
        vocoder_istft: ``"host"`` (vocoder.onnx gives the spectrum, the runtime runs the
            inverse STFT in numpy; voice schema 3) or ``"graph"`` (vocoder.onnx gives audio;
            schema 2, for runtimes that predate schema 3); None: :data:`DEFAULT_VOCODER_ISTFT`. See
            :class:`IstftPlace`. The fused graph keeps its ISTFT either way.
        verify: check every graph against torch before the voice is put in place
            (:func:`flowaudio.export.verify.verify_voice`).
        log: called with the verification table (e.g. ``print``).

    Returns:
        the :class:`VoiceMeta` written to ``out/voice.json``.

    Raises:
        FileNotFoundError: a run or checkpoint is missing.
        ValueError: unreadable or mismatched checkpoints (e.g. different audio configs), a bad
            argument, or ``out`` exists and is not a voice.
        VerifyError: an exported graph disagrees with torch (nothing is written then).
    """
    out = Path(out)
    weights = Weights.parse(weights)
    vocoder_istft = IstftPlace.parse(vocoder_istft or DEFAULT_VOCODER_ISTFT)
    if fp16:
        if weights not in (Weights.FLOAT32, Weights.FLOAT16):
            raise ValueError(f"fp16=True contradicts weights={weights.value!r}; pass one of them")
        weights = Weights.FLOAT16
    griffin_lim = isinstance(vocoder, str) and vocoder == GRIFFIN_LIM
    if fused_steps is not None:
        if isinstance(fused_steps, bool) or not isinstance(fused_steps, int) or fused_steps < 1:
            raise ValueError(f"fused_steps must be a positive integer, got {fused_steps!r}")
        if griffin_lim:
            raise ValueError(
                "a fused graph needs a neural vocoder (Griffin-Lim runs in numpy); drop "
                "--fused or pass --vocoder VOCODER_RUN"
            )
    _check_target(out)
    acoustic = load_acoustic(acoustic_run)
    if vocoder is None:  # a fine-tuned run: the vocoder of the voice it came from
        vocoder = (acoustic.metadata.get("finetune") or {}).get("vocoder")
        if vocoder is None:
            raise ValueError(
                f"{acoustic_run} does not name a vocoder (only a run fine-tuned from a voice "
                "does); pass --vocoder VOCODER_RUN, a voice directory, or griffin-lim"
            )
        griffin_lim = vocoder == GRIFFIN_LIM
    synthesis_defaults = default_settings(acoustic).with_settings(defaults or {})
    voc = None if griffin_lim else load_vocoder(vocoder)
    if voc is not None:
        _check_audio(acoustic, voc)
    meta = build_voice_meta(
        acoustic,
        voc,
        name=name or out.resolve().name,
        fused_steps=fused_steps,
        weights=weights,
        defaults=synthesis_defaults,
        vocoder_istft=vocoder_istft,
    )
    vocoder_model = voc.model if voc is not None else None

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    # mkdtemp makes 0700 folders; a voice is shared data like the shipped one (0755, files 0644).
    tmp.chmod(0o755)
    try:
        _write_graphs(tmp, meta, acoustic.model, vocoder_model, fused_steps, weights)
        # The text every graph carries in its metadata, plus each graph's SHA-256 (which
        # cannot be inside the file it hashes), checked when the voice loads.
        meta = dataclasses.replace(
            meta, graph_sha256={f.name: file_sha256(f) for f in sorted(tmp.glob("*.onnx"))}
        )
        (tmp / C.VOICE_JSON).write_text(meta.to_json(), encoding="utf-8")
        if verify:
            try:
                verify_voice(tmp, acoustic.model, vocoder_model, log=log)
            except VerifyError as exc:
                raise VerifyError(dataclasses.replace(exc.report, voice_dir=str(out))) from None
        _check_target(out)
        _replace_dir(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    logger.debug("wrote voice %s (%.1f MB)", out, voice_size(out) / 1e6)
    return meta
