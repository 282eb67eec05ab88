"""Fine-tuning a trained voice on a few minutes of new recordings (``flowaudio finetune``).

The starting point is a trained acoustic model: a voice directory or the embedded default voice
(rebuilt from its ONNX graphs, :mod:`flowaudio.export.from_voice`), or an acoustic run. The data is
prepared with the voice's own audio and text settings, so its features and token ids are the
ones the voice was trained on. Training is :meth:`FlowTTS.loss` (monotonic alignment inside, so
the new speaker's durations are learnt from the recordings) with the utterance-level duration
term ``(log sum_k exp(l_k) - log sum_k d_k)^2`` added: the per-token log-duration MSE alone
predicts the geometric mean of d, which speeds a voice up; speaking rate is part of a voice.

Speakers (:class:`SpeakerMode`):

``add``
    the data's speakers join the voice's speaker table (new rows, initialised at the mean of the
    existing rows); the existing rows are kept frozen, so the old speakers keep their vectors.
    The weights the speakers share still move (adapters or full training), so every step also
    keeps the old speakers' outputs at the source's (``retention_weight``): the new data's texts,
    each with a random old speaker, run through a frozen copy of the source
    (:meth:`FlowTTS.match_targets`), and the model's velocity, prior mean and log durations are
    pulled to it (learning without forgetting, with the source as the only record of the old
    speakers: their recordings are not part of a voice).
``replace``
    the voice becomes the data's speakers only (a single new speaker for a folder of clips);
    a data speaker with a name the voice already has starts from that speaker's row.

Weights (:class:`Adaptation`):

``lora``
    low-rank adapters (:mod:`flowaudio.models.lora`) on every linear and convolution projection
    of the text encoder, the duration predictor and the velocity network (attention, feed-forward,
    resnet, speaker projections; not the time-embedding MLPs), plus the new speaker rows; the
    rest stays frozen. At export the adapters fold into the weights (no run-time cost); the
    run also writes them as a small adapter file (:func:`save_adapter`, :func:`load_adapter`).
    The adapters change weights every speaker shares; without the retention term the old
    speakers of an ``add`` run moved far enough to become unintelligible (README).
``full``
    every weight trains (the speaker table too).

Training length, learning rate, batch size, validation interval and early stopping are derived
from the amount of training audio (:func:`derive_train_config`) unless a config is given.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from flowaudio.config import ConfigError, from_dict, to_dict
from flowaudio.data.cache import CacheInfo
from flowaudio.data.config import DataConfig
from flowaudio.models.lora import GrownEmbedding, apply_lora, merge_lora
from flowaudio.models.tts import FlowTTS
from flowaudio.train.acoustic import AcousticTask
from flowaudio.train.config import (
    AUTO,
    FINETUNE_PRESETS,
    Adaptation,
    FinetuneConfig,
    FinetuneRunConfig,
    SpeakerMode,
    TrainConfig,
)
from flowaudio.train.dataset import TTSDataset
from flowaudio.train.loop import StepContext, Trainer
from flowaudio.train.run import check_run_data, fit_run, resolve_run_config

__all__ = [
    "ADAPTER_FILE",
    "FinetuneTask",
    "build_model",
    "derive_train_config",
    "finetune",
    "load_adapter",
    "prepare_data",
    "save_adapter",
]

logger = logging.getLogger(__name__)

ADAPTER_FILE = "adapter.pt"
ADAPTER_FORMAT = 1


# ---------------------------------------------------------------------------------------------
# settings from the amount of data


def derive_train_config(train_frames: int, adaptation: Adaptation | str):
    """Training settings for ``train_frames`` mel frames of training audio.

    - batch: a quarter of the data's frames, within [1000, 6000] (at least ~4 updates per pass);
    - steps: 35 passes over the data, within [200, 3000] (2 to 10 min: 200 steps, measured 23
      min at 10 on 2 CPU cores; 20 min: 407 steps, 44 min). Measured on the default voice:
      the validation loss flattened after ~40 passes at 5 minutes and after ~32 at 10 minutes
      (45 passes, 240 steps, 33 min: past the 30-minute budget), so more passes only cost
      time; early stopping ends a run sooner when it stops improving;
    - learning rate: 1e-3 for LoRA (small zero-started adapters), 1e-4 for full fine-tuning
      (every weight of a trained model moves), 5% warm-up, cosine decay to 10%;
    - validation (and checkpoint) every tenth of the run; weight average over ~a tenth too.
    """
    max_frames = int(min(max(train_frames // 4, 1000), 6000))
    passes = 35
    max_steps = int(min(max(math.ceil(passes * train_frames / max_frames), 200), 3000))
    lora = Adaptation(adaptation) is Adaptation.LORA
    every = max(20, max_steps // 10)
    return TrainConfig(
        max_steps=max_steps,
        max_frames=max_frames,
        lr=1e-3 if lora else 1e-4,
        warmup_steps=max(10, max_steps // 20),
        min_lr_ratio=0.1,
        ema_decay=min(max(1.0 - 10.0 / max_steps, 0.9), 0.995),
        checkpoint_every=every,
        val_every=every,
        keep_checkpoints=2,
        log_every=10,
        num_samples=1,
    )


# ---------------------------------------------------------------------------------------------
# data


def _is_cache(path: Path) -> bool:
    config = path / "config.json"
    if not config.is_file():
        return False
    try:
        return "format_version" in json.loads(config.read_text(encoding="utf-8"))
    except ValueError:
        return False


def prepare_data(
    data: str | Path,
    run_dir: str | Path,
    metadata: dict[str, Any],
    fmt: str = "auto",
    workers: int | None = None,
    progress: bool = True,
) -> CacheInfo:
    """The cache to fine-tune on: ``data`` itself when it is a prepared cache (checked against
    the voice), else ``data`` prepared into ``RUN_DIR/cache`` with the voice's audio and text
    settings (resumable; 10% of each speaker's clips held out for validation).

    Raises:
        ValueError: the cache's features or symbol table differ from the voice's.
    """
    from flowaudio.audio.config import AudioConfig
    from flowaudio.data.prepare import little_data_warning, prepare_dataset
    from flowaudio.text.frontend import stored_text_config
    from flowaudio.text.normalize import NORMALIZER_VERSION

    data = Path(data)
    audio = from_dict(AudioConfig, metadata["audio"], where="audio")
    if _is_cache(data):
        cache = data
    else:
        text = stored_text_config(dict(metadata["text"]))
        if text.normalizer_version != NORMALIZER_VERSION:
            # Only the installed rules can read text; the voice's symbols are what must match.
            logger.info(
                "the voice read its text with normaliser rules v%d; the clips are read with v%d",
                text.normalizer_version, NORMALIZER_VERSION,
            )  # fmt: skip
            text = dataclasses.replace(text, normalizer_version=NORMALIZER_VERSION)
        config = DataConfig(audio=audio, text=text, val_fraction=0.1)
        cache = Path(run_dir) / "cache"
        prepare_dataset(data, cache, config, fmt=fmt, workers=workers, progress=progress)
    info = CacheInfo.load(cache)
    if to_dict(info.config.audio) != to_dict(audio):
        raise ValueError(
            f"the cache {cache} was prepared with other audio settings than the voice "
            f"({to_dict(info.config.audio)} vs {to_dict(audio)}); pass the clips themselves as "
            "--data (they are prepared with the voice's settings)"
        )
    if info.symbols.to_dict() != metadata["symbols"]:
        raise ValueError(
            f"the cache {cache} uses another symbol table than the voice; pass the clips "
            "themselves as --data (they are prepared with the voice's symbol table)"
        )
    if _is_cache(data):  # a freshly prepared cache warned already
        warning = little_data_warning(info.stats.get("seconds_by_speaker", {}))
        if warning:
            logger.warning("%s", warning)
    return info


class _SpeakerRows(TTSDataset):
    """A cache split whose speaker ids are the fine-tuned model's rows."""

    def __init__(self, root: Path, split: str, rows: list[int]):
        super().__init__(root, split)
        self.rows_of_speaker = rows

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = super().__getitem__(index)
        item["speaker"] = torch.tensor(self.rows_of_speaker[int(item["speaker"])])
        return item


# ---------------------------------------------------------------------------------------------
# the model


def _speaker_names(
    base: tuple[str, ...], data: tuple[str, ...], mode: SpeakerMode, rename: str | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the data's speakers as named in the model, the model's speaker table)."""
    names = data
    if rename is not None:
        if len(data) != 1:
            raise ValueError(
                f"--speaker names one speaker, but the data has {len(data)} ({', '.join(data)}); "
                "leave it out (the data's names are used)"
            )
        names = (rename,)
    if mode is SpeakerMode.REPLACE:
        return names, names
    taken = sorted(set(names) & set(base))
    if taken:
        raise ValueError(
            f"the voice already has speaker(s) {', '.join(taken)}; name the new speaker with "
            "--speaker NAME, or use --mode replace to make a voice of the data's speakers only"
        )
    return names, base + names


def build_model(source: FlowTTS, cfg: FinetuneRunConfig) -> FlowTTS:
    """The model a run trains: the source's weights, the speaker table of ``cfg.finetune``
    (new rows at the mean of the source's), and the adapters / frozen parts of the mode.

    A ``lora`` model holds :class:`~flowaudio.models.lora.LoRA` wrappers (and, in ``add`` mode,
    a :class:`~flowaudio.models.lora.GrownEmbedding`); :func:`~flowaudio.models.lora.merge_lora`
    turns it into a plain :class:`FlowTTS`.
    """
    ft = cfg.finetune
    if len(ft.base_speakers) != source.config.speaker.n_speakers:
        raise ValueError(
            f"the source has {source.config.speaker.n_speakers} speakers, the run was made for "
            f"{len(ft.base_speakers)} ({', '.join(ft.base_speakers)})"
        )
    old = source.speaker.table.weight.detach().float()
    rows = []
    for name in ft.speakers:
        if name in ft.base_speakers:
            rows.append(old[ft.base_speakers.index(name)])
        else:
            rows.append(old.mean(0))
    table = torch.stack(rows)
    model = FlowTTS(cfg.model, n_vocab=source.n_vocab)
    state = {k: v for k, v in source.state_dict().items() if k != "speaker.table.weight"}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or missing != ["speaker.table.weight"]:
        raise ValueError(
            f"the run's model config does not fit the source's weights (missing {missing}, "
            f"unexpected {unexpected})"
        )
    with torch.no_grad():
        model.speaker.table.weight.copy_(table)
    if Adaptation(ft.adaptation) is Adaptation.FULL:
        return model.requires_grad_(True)
    model.requires_grad_(False)
    apply_lora(model, ft.lora_targets, ft.lora_rank, ft.lora_alpha)
    n_old = len(ft.base_speakers)
    if SpeakerMode(ft.speaker_mode) is SpeakerMode.ADD:
        model.speaker.table = GrownEmbedding(table[:n_old], table[n_old:])
    else:
        model.speaker.table.requires_grad_(True)
    return model


# ---------------------------------------------------------------------------------------------
# the task


class FinetuneTask(AcousticTask):
    """:class:`~flowaudio.train.acoustic.AcousticTask` on a model that starts trained.

    The data side (datasets, collate, validation losses, TensorBoard samples) is the acoustic
    task's; the model, its speaker rows and the loss's duration term are fine-tuning's.
    """

    name = "finetune"

    def __init__(
        self,
        cfg: FinetuneRunConfig,
        source: FlowTTS,
        source_metadata: dict[str, Any],
        cache: CacheInfo,
        run_dir: str | Path,
        vocoder: str | None,
    ):
        # Not AcousticTask.__init__: that builds a fresh model with the cache's statistics.
        self.cfg = cfg  # type: ignore[assignment]
        self.cache_dir = Path(cache.root)
        self.info = cache
        self.run_dir = Path(run_dir)
        self.source_metadata = dict(source_metadata)
        self.vocoder = vocoder
        self.model = build_model(source, cfg)
        self.model.set_normalization(source.mel_mean.item(), source.mel_std.item())
        self._log_floor = math.log(cache.config.audio.log_floor)
        # The data's speakers are the last rows of the table (all of it in replace mode).
        n_table, n_data = len(cfg.finetune.speakers), len(cache.speakers)
        self.rows = list(range(n_table - n_data, n_table))
        self._best: float | None = None
        self._stale = 0
        ft: FinetuneConfig = cfg.finetune  # type: ignore[attr-defined]
        self.n_old = len(ft.base_speakers)
        self.anchor: FlowTTS | None = None
        if SpeakerMode(ft.speaker_mode) is SpeakerMode.ADD and ft.retention_weight > 0:
            self.anchor = copy.deepcopy(source).eval().requires_grad_(False)

    def train_dataset(self) -> TTSDataset:
        return _SpeakerRows(self.cache_dir, "train", self.rows)

    def val_dataset(self) -> TTSDataset | None:
        val = _SpeakerRows(self.cache_dir, "val", self.rows)
        return val if len(val) else None

    def train_step(self, step: int, batch: Any, ctx: StepContext) -> dict[str, float]:
        ft: FinetuneConfig = self.cfg.finetune  # type: ignore[attr-defined]
        match = None
        if self.anchor is not None:
            self.anchor.to(batch.ids.device)
            old = torch.randint(0, self.n_old, (batch.ids.shape[0],)).to(batch.ids.device)
            match = self.anchor.match_targets(batch.ids, batch.id_lengths, old)
        losses = ctx.call(
            "model",
            "loss",
            batch,
            total_duration_weight=ft.total_duration_weight,
            match=match,
            match_weight=ft.retention_weight,
        )
        ctx.optimize("model", losses.total)
        logged = {
            "loss": float(losses.total.detach()),
            "flow": float(losses.flow.detach()),
            "prior": float(losses.prior.detach()),
            "duration": float(losses.duration.detach()),
            "total_duration": float(losses.total_duration.detach()),
        }
        if losses.match is not None:
            logged["retention"] = float(losses.match.detach())
        return logged

    def should_stop(self, step: int, val_metrics: dict[str, float]) -> bool:
        """Early stopping on the validation loss (the history survives a resume: it is read
        back from metrics.jsonl)."""
        ft: FinetuneConfig = self.cfg.finetune  # type: ignore[attr-defined]
        if ft.patience == 0 or "loss" not in val_metrics:
            return False
        if self._best is None:
            for row in self._history(step):
                self._record(row["loss"])
        self._record(val_metrics["loss"])
        if self._stale >= ft.patience:
            logger.info(
                "early stop at step %d: the validation loss has not improved on %.4f for %d "
                "validations",
                step, self._best, self._stale,
            )  # fmt: skip
            return True
        return False

    def _record(self, loss: float) -> None:
        ft: FinetuneConfig = self.cfg.finetune  # type: ignore[attr-defined]
        if self._best is None or loss < self._best - ft.min_improvement * abs(self._best):
            self._best, self._stale = loss, 0
        else:
            self._stale += 1

    def _history(self, step: int) -> list[dict[str, Any]]:
        """The validation rows of metrics.jsonl before ``step`` (a resumed run's past)."""
        path = self.run_dir / "metrics.jsonl"
        rows = []
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if row.get("split") == "val" and "loss" in row and row.get("step", step) < step:
                    rows.append(row)
        return rows

    def metadata(self) -> dict[str, Any]:
        ft: FinetuneConfig = self.cfg.finetune  # type: ignore[attr-defined]
        seconds = self.info.stats.get("seconds_by_speaker", {})
        return {
            **self.source_metadata,
            "speakers": list(ft.speakers),
            "corpus": str(self.cache_dir.resolve()),
            "n_parameters": self.model.count_parameters(trainable_only=False),
            "finetune": {
                "source": ft.source,
                "vocoder": self.vocoder,
                "speaker_mode": ft.speaker_mode,
                "adaptation": ft.adaptation,
                "trainable_parameters": self.model.count_parameters(),
                "minutes_by_speaker": {k: round(v / 60, 2) for k, v in seconds.items()},
            },
        }


# ---------------------------------------------------------------------------------------------
# adapter files


def _adapter_key(key: str) -> bool:
    """What a LoRA run changes: the adapters and the trained speaker rows."""
    leaf = key.rpartition(".")[2]
    return leaf in ("lora_a", "lora_b", "lora_scale") or key in (
        "speaker.table.extra",  # add: the new rows
        "speaker.table.weight",  # replace: the whole table
    )


def save_adapter(model: nn.Module, cfg: FinetuneRunConfig, path: str | Path) -> Path:
    """Write what a LoRA run trained (adapters, new speaker rows) with the run's config.

    The file is a ``torch.save`` dict of tensors and plain values (loaded with
    ``weights_only=True``); apply it to the source voice with :func:`load_adapter`.
    """
    from flowaudio.train.checkpoint import save_checkpoint

    if Adaptation(cfg.finetune.adaptation) is not Adaptation.LORA:
        raise ValueError("a full fine-tuning changes every weight: export the run as a voice")
    tensors = {
        k: v.detach().cpu().clone() for k, v in model.state_dict().items() if _adapter_key(k)
    }
    path = Path(path)
    save_checkpoint(
        path,
        {
            "format": ADAPTER_FORMAT,
            "kind": "flowaudio-lora",
            "config": to_dict(cfg),
            "tensors": tensors,
        },
    )
    return path


def load_adapter(source: FlowTTS, path: str | Path, merge: bool = True) -> FlowTTS:
    """The source model with the adapter file ``path`` applied (merged into plain weights by
    default, ready to export or synthesise).

    Raises:
        ValueError: not an adapter file, or made for another source model.
    """
    from flowaudio.train.checkpoint import load_checkpoint

    state = load_checkpoint(Path(path))
    if state.get("kind") != "flowaudio-lora" or state.get("format") != ADAPTER_FORMAT:
        raise ValueError(f"{path} is not a flowaudio LoRA adapter file (format {ADAPTER_FORMAT})")
    cfg = from_dict(FinetuneRunConfig, state["config"])
    if to_dict(dataclasses.replace(cfg.model, speaker=source.config.speaker)) != to_dict(
        source.config
    ):
        raise ValueError(f"{path} was made for another model than the source (its config differs)")
    model = build_model(source, cfg)
    missing, unexpected = model.load_state_dict(state["tensors"], strict=False)
    lacking = [k for k in missing if _adapter_key(k)]
    if unexpected or lacking:
        raise ValueError(
            f"{path} does not fit the source (unexpected {unexpected[:3]}, missing {lacking[:3]})"
        )
    model.set_normalization(source.mel_mean.item(), source.mel_std.item())
    return merge_lora(model).eval() if merge else model.eval()


# ---------------------------------------------------------------------------------------------
# the command


def finetune(
    source: FlowTTS,
    source_metadata: dict[str, Any],
    source_name: str,
    data: str | Path,
    out: str | Path,
    *,
    vocoder: str | None = None,
    speaker: str | None = None,
    mode: SpeakerMode | str | None = None,
    adaptation: Adaptation | str | None = None,
    lora_rank: int | None = None,
    config: str | Path | None = None,
    max_steps: int | None = None,
    data_format: str = "auto",
    allow_new_data: bool = False,
    progress: bool = True,
) -> Trainer:
    """``flowaudio finetune``: prepare ``data`` (unless it is a cache), then fine-tune
    ``source`` into the run ``out`` (resumes when it holds a checkpoint); a LoRA run also
    writes ``out/adapter.pt``.

    Args:
        source: the trained acoustic model (float32, eval).
        source_metadata: its checkpoint-style metadata (symbols, speakers, audio, text, mel
            statistics; ``distillation`` for a distilled student).
        source_name: where it came from, recorded with the run (a resume must name the same).
        data: clips (LJSpeech layout, multi-speaker CSV, NAME.wav + NAME.txt folder) or a cache.
        vocoder: the voice whose vocoder the export reuses (``"default"`` or a voice path), or
            None (export then needs ``--vocoder``).
        speaker: the new speaker's name (single-speaker data; default: the data's name).
        mode: ``add`` (default) or ``replace`` (:class:`SpeakerMode`).
        adaptation: ``lora`` (default) or ``full``; lora_rank: r (default 8).
        config: a preset (``auto``, ``tiny``) or a config file; default ``auto`` (settings
            derived from the data) for a new run, the stored config when resuming.
    """
    out = Path(out)
    info = prepare_data(data, out, source_metadata, fmt=data_format, progress=progress)
    check_run_data(out, info, allow_new_data)
    stored = _stored_config(out)
    # On resume, what is not asked for again is what the run was started with.
    before = stored.finetune if stored is not None else FinetuneConfig()
    mode = SpeakerMode(mode or before.speaker_mode)
    adaptation = Adaptation(adaptation or before.adaptation)
    lora_rank = lora_rank or before.lora_rank
    if speaker is None and stored is not None and len(info.speakers) == 1:
        speaker = before.speakers[-1]
    base = tuple(source_metadata["speakers"])
    _, table = _speaker_names(base, info.speakers, mode, speaker)
    train_rows = TTSDataset(info.root, "train").rows
    train_seconds = sum(float(r["seconds"]) for r in train_rows)
    train_frames = sum(int(r["n_frames"]) for r in train_rows)
    requested = config if config is not None else (None if stored is not None else AUTO)

    def adapt(cfg: FinetuneRunConfig) -> FinetuneRunConfig:
        ft = dataclasses.replace(
            cfg.finetune,
            source=source_name,
            base_speakers=base,
            speakers=table,
            speaker_mode=mode.value,
            adaptation=adaptation.value,
            lora_rank=lora_rank,
        )
        speaker_cfg = dataclasses.replace(source.config.speaker, n_speakers=len(table))
        model = dataclasses.replace(source.config, speaker=speaker_cfg)
        train = cfg.train
        if requested == AUTO:
            train = derive_train_config(train_frames, adaptation)
        return dataclasses.replace(cfg, model=model, finetune=ft, train=train)

    if stored is not None and adapt(stored).finetune != stored.finetune:
        now, was = to_dict(adapt(stored).finetune), to_dict(stored.finetune)
        changed = ", ".join(f"{k}: {was[k]!r} -> {now[k]!r}" for k in now if now[k] != was[k])
        raise ConfigError(
            f"{out} holds another fine-tuning ({changed}); resume it with the same --from, "
            "--speaker, --mode and --lora-rank/--full, or choose a new --out"
        )
    cfg = resolve_run_config(
        FinetuneRunConfig, out, requested, FINETUNE_PRESETS, AUTO, max_steps, adapt
    )
    task = FinetuneTask(cfg, source, source_metadata, info, out, vocoder)
    trainable = task.model.count_parameters()
    total = task.model.count_parameters(trainable_only=False)
    trainer = fit_run(
        task,
        cfg,
        out,
        progress,
        f"fine-tuning {source_name} ({cfg.finetune.adaptation}, {trainable / 1e6:.3f}M of "
        f"{total / 1e6:.2f}M parameters train) on {train_seconds / 60:.1f} min of "
        f"{', '.join(info.speakers)}; speakers {', '.join(cfg.finetune.speakers)}",
    )
    if mode is SpeakerMode.ADD and trainer.dist.is_main:
        logger.warning(
            "the voice's old speakers (%s) share the weights this run changed: check them with "
            "`flowaudio evaluate` before shipping (on the default voice, 200 LoRA steps took their "
            "pocketsphinx WER from 18%% to 60%%); --mode replace makes a voice of the new "
            "speaker only",
            ", ".join(base),
        )
    if adaptation is Adaptation.LORA and trainer.dist.is_main:
        path = save_adapter(trainer.eval_modules()["model"], cfg, out / ADAPTER_FILE)
        logger.info("adapter: %s (%.2f MB)", path, path.stat().st_size / 1e6)
    return trainer


def _stored_config(run_dir: Path) -> FinetuneRunConfig | None:
    path = run_dir / "config.json"
    if not path.is_file():
        return None
    try:
        return from_dict(FinetuneRunConfig, json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ConfigError) as exc:
        raise ConfigError(
            f"{path} is not a fine-tuning run's config ({exc}); use a new --out"
        ) from exc
