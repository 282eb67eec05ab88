"""flowaudio distill: teacher targets, the two student families, resume, export and runtime."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from flowaudio.cli import main
from flowaudio.models.alignment import path_from_durations
from flowaudio.models.layers import sequence_mask
from flowaudio.runtime import contract as C
from flowaudio.train.config import DISTILL_PRESETS
from flowaudio.train.distill import (
    DistillTask,
    TargetSet,
    collate_targets,
    distill,
    generate_targets,
    student_config,
    targets_key,
)
from flowaudio.train.loop import Trainer
from tests.conftest import import_export
from tests.runtime.test_synthesizer import _record_velocity_calls

TINY = DISTILL_PRESETS["tiny"]


@pytest.fixture(scope="module")
def teacher(tiny_acoustic_run):
    """The tiny run as a teacher, its output layer scaled up 5x: a barely trained network's
    paths are almost straight (one step is already as good as many), which would leave a
    student nothing to learn; a larger velocity bends them (one teacher step then misses the
    eight-step sample by ~0.05, measured)."""
    teacher = import_export("from_voice").load_teacher(tiny_acoustic_run)
    with torch.no_grad():
        teacher.model.decoder.proj.weight.mul_(5.0)
    return teacher


@pytest.fixture(scope="module")
def student_runs(teacher, teacher_cache, tmp_path_factory):
    """One tiny student per method, distilled from the tiny teacher on its own cache (the
    targets are generated once and shared: same teacher, same settings)."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("students")
    runs = {}
    for method in ("reflow", "interval"):
        out = root / method
        distill(
            teacher.model, teacher.metadata, teacher.name, teacher_cache, out / "run",
            config="tiny", method=method, targets=root / "targets", progress=False,
        )  # fmt: skip
        runs[method] = out
    return runs


def _one_step_errors(run, teacher, teacher_cache) -> tuple[float, float]:
    """Mean squared distance to the teacher's many-step guided samples (normalised mel) of
    the student's one step and of the teacher's own guided one step, from the same noise."""
    load_acoustic = import_export("voice").load_acoustic
    student = load_acoustic(run / "run").model
    items = TargetSet(run.parent / "targets", teacher_cache, "train")
    batch = collate_targets([items[i] for i in range(len(items))])
    model = teacher.model
    with torch.no_grad():
        enc = model.encode(batch.ids, batch.id_lengths, batch.speakers)
        t_max = batch.states.shape[-1]
        mu = torch.bmm(enc.mu, path_from_durations(batch.durations, t_max).float())
        mask = sequence_mask(batch.mel_lengths, t_max).unsqueeze(1)
        x0, x1 = batch.states[:, 0], batch.states[:, -1]
        zero, one = torch.zeros(len(x0)), torch.ones(len(x0))
        dt = one if student.config.decoder.dt_input else None
        ours = x0 + student.velocity(x0, zero, mu, mask, enc.speaker, 1.0, dt)
        theirs = x0 + model.velocity(x0, zero, mu, mask, enc.speaker, TINY.teacher.guidance_scale)
    n = mask.sum() * x0.shape[1]
    return float(((ours - x1) ** 2 * mask).sum() / n), float(((theirs - x1) ** 2 * mask).sum() / n)


@pytest.mark.parametrize("method", ["reflow", "interval"])
def test_one_student_step_is_closer_to_the_teacher_than_its_own_one_step(
    method, student_runs, teacher, teacher_cache
):
    student_error, teacher_error = _one_step_errors(student_runs[method], teacher, teacher_cache)
    assert student_error < 0.7 * teacher_error, (student_error, teacher_error)


def test_targets_are_cached_resumable_and_keyed_by_the_teacher(teacher, teacher_cache, tmp_path):
    cfg = TINY.teacher
    folder = tmp_path / "targets"
    generate_targets(teacher.model, teacher_cache, folder, cfg, splits=("train",), progress=False)
    shards = sorted(folder.glob("train_*.pt"))
    first = TargetSet(folder, teacher_cache, "train")
    # A kill mid-way: the last shard and the completion mark are gone; generation resumes.
    shards[-1].unlink()
    (folder / "complete.json").unlink()
    generate_targets(teacher.model, teacher_cache, folder, cfg, splits=("train",), progress=False)
    again = TargetSet(folder, teacher_cache, "train")
    assert len(again) == len(first) > 0
    for a, b in zip(first.items, again.items, strict=True):
        assert torch.equal(a["states"], b["states"]) and torch.equal(a["durations"], b["durations"])
    item = first[0]
    k = cfg.snapshots
    assert (
        item["states"].shape[0] == k + 1
        and int(item["durations"].sum()) == item["states"].shape[-1]
    )  # alignment durations: the recording's length
    # Other settings or another teacher (one weight changed): another key; batching: the same.
    key = targets_key(teacher.model, cfg, teacher_cache)
    other = student_config(teacher.model.config, "reflow")
    changed = type(teacher.model)(other, teacher.model.n_vocab)
    changed.load_state_dict(teacher.model.state_dict())
    with torch.no_grad():
        changed.decoder.proj.bias[0] += 1e-3
    assert targets_key(changed, cfg, teacher_cache) != key
    assert targets_key(teacher.model, dataclasses.replace(cfg, steps=16), teacher_cache) != key
    assert (
        targets_key(teacher.model, dataclasses.replace(cfg, max_frames=999), teacher_cache) == key
    )


def test_resume_after_a_kill_gives_the_same_next_losses(teacher, teacher_cache, student_runs):
    torch.set_num_threads(1)
    targets = student_runs["reflow"].parent / "targets"
    cfg = dataclasses.replace(
        TINY,
        model=student_config(teacher.model.config, "reflow"),
        train=dataclasses.replace(TINY.train, checkpoint_every=4, log_every=1, val_every=100),
    )
    assert cfg.train.warmup_steps >= 8  # inside the warm-up the schedule ignores max_steps

    def trainer(run_dir, steps):
        task = DistillTask(cfg, teacher.model, teacher.metadata, targets, teacher_cache, {})
        train = dataclasses.replace(cfg.train, max_steps=steps)
        return Trainer(task, train, run_dir, {}, progress=False)

    def losses(run_dir):
        rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
        return {r["step"]: r["loss"] for r in rows if r["split"] == "train"}

    trainer(student_runs["reflow"] / "a", 8).fit()
    trainer(student_runs["reflow"] / "b", 4).fit()  # "killed" after its checkpoint at step 4
    resumed = trainer(student_runs["reflow"] / "b", 8)
    assert resumed.step == 4
    resumed.fit()
    a, b = losses(student_runs["reflow"] / "a"), losses(student_runs["reflow"] / "b")
    assert [a[s] for s in range(5, 9)] == [b[s] for s in range(5, 9)]


@pytest.mark.parametrize("method", ["reflow", "interval"])
def test_a_student_exports_verified_and_speaks_in_one_pass(
    method, student_runs, tiny_vocoder_run, tiny_voice, teacher_cache, tmp_path
):
    from flowaudio.runtime.synthesizer import Voice

    voice_dir = tmp_path / "voice"
    export = import_export("voice")
    # The vocoder from a run, or rebuilt from a voice's vocoder.onnx.
    vocoder = tiny_vocoder_run if method == "reflow" else tiny_voice
    meta = export.export_voice(student_runs[method] / "run", vocoder, voice_dir)
    assert meta.schema_version >= 2 and meta.is_student  # 3 with the (default) host ISTFT
    assert meta.distillation["method"] == method and meta.distillation["teacher"].startswith("run:")
    assert meta.defaults.steps == 1 and meta.defaults.guidance_scale == 1.0
    assert meta.provenance["acoustic"]["corpus"] == teacher_cache.name  # a name, not a path
    voice = Voice.load(voice_dir)
    calls = _record_velocity_calls(voice)
    audio = voice.synthesize("The cat sat on the mat.", seed=0)
    assert calls == [1] and np.isfinite(audio.samples).all() and audio.duration > 0.2
    assert len(voice.synthesize("The cat sat.", seed=0, steps=4).samples) > 0
    with pytest.raises(ValueError, match="guidance_scale must be 1"):
        voice.synthesize("The cat sat.", guidance_scale=1.5)
    if method == "interval":
        names = [i.name for i in voice.backend.velocity_session.get_inputs()]
        assert C.VEL_DT in names
        with pytest.raises(ValueError, match="euler"):
            voice.synthesize("The cat sat.", solver="midpoint")


def test_a_student_voice_fine_tunes_and_stays_a_one_step_student(
    student_runs, tiny_voice, teacher_cache, tmp_path
):
    """finetune --from a student voice (as the shipped default is) -> export -> one pass."""
    from flowaudio.cli import main
    from flowaudio.runtime.synthesizer import Voice

    torch.set_num_threads(1)
    student = tmp_path / "student"
    import_export("voice").export_voice(student_runs["interval"] / "run", tiny_voice, student)
    run, tuned = tmp_path / "run", tmp_path / "tuned"
    args = ["--data", str(teacher_cache), "--mode", "replace", "--config", "tiny"]
    assert (
        main(
            ["finetune", "--from", str(student), *args, "--max-steps", "2", "--out", str(run), "-q"]
        )
        == 0
    )
    assert main(["export", str(run), "--out", str(tuned), "--no-verify"]) == 0
    voice = Voice.load(tuned)
    assert voice.meta.is_student and voice.meta.defaults.steps == 1
    calls = _record_velocity_calls(voice)
    audio = voice.synthesize("The cat sat on the mat.", seed=0)
    assert calls == [1] and np.isfinite(audio.samples).all() and audio.duration > 0.2


def test_cli_distill_help_and_bad_teacher(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["distill", "--help"])
    assert "flowaudio distill runs/acoustic --out runs/student" in capsys.readouterr().out
    assert main(["distill", str(tmp_path / "nothing"), "--out", str(tmp_path / "s")]) == 1
    assert "acoustic run not found" in capsys.readouterr().err


def test_schema_one_voices_still_load_and_newer_ones_are_refused(tiny_voice, tmp_path):
    data = json.loads((tiny_voice / C.VOICE_JSON).read_text())
    old = {k: v for k, v in data.items() if k != "distillation"}
    assert C.VoiceMeta.from_json(json.dumps({**old, "schema_version": 1})).distillation is None
    with pytest.raises(C.VoiceFormatError, match="newer"):
        C.VoiceMeta.from_json(
            json.dumps({**data, "schema_version": max(C.SUPPORTED_SCHEMA_VERSIONS) + 1})
        )
    with pytest.raises(C.VoiceFormatError, match="schema 2"):
        C.VoiceMeta.from_json(json.dumps({**old, "schema_version": 1, "distillation": {}}))
