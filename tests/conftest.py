"""Shared test settings: deterministic hypothesis, quiet espeak, CPU only."""

import os

import pytest
from hypothesis import settings

# Deterministic property tests: the same examples on every run and machine, no example database.
settings.register_profile("flowaudio", derandomize=True, database=None, deadline=None)
settings.load_profile("flowaudio")

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# One math thread per process (this one and the subprocesses it starts): CI is a 2-core machine
# shared with other jobs, where two torch threads wait on each other's preempted core. Measured
# there (load 8): 6 steps of the tiny acoustic model took 13 s on 1 thread and 64 s on 2.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")


@pytest.fixture(autouse=True)
def _torch_threads_restored():
    """A test that changes torch's thread count (torch.set_num_threads is process-wide) must not
    change it for the tests after it."""
    import sys

    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    yield
    torch = sys.modules.get("torch")
    if torch is not None and before is not None and torch.get_num_threads() != before:
        torch.set_num_threads(before)


@pytest.fixture(scope="session")
def teacher_cache(tmp_path_factory):
    """A tiny real corpus: two flite teachers x 10 sentences, prepared at 16 kHz."""
    from flowaudio.data.corpus import build_corpus
    from flowaudio.data.prepare import prepare_dataset

    root = tmp_path_factory.mktemp("teacher")
    sentences = root / "sentences.txt"
    sentences.write_text(
        "\n".join(
            [
                "The cat sat on the mat.",
                "A bird in the hand is worth two in the bush.",
                "She sells sea shells by the sea shore.",
                "Every cloud has a silver lining.",
                "The quick brown fox jumps over the lazy dog.",
                "Time flies like an arrow.",
                "Never put off until tomorrow what you can do today.",
                "All that glitters is not gold.",
                "Actions speak louder than words.",
                "Beauty is in the eye of the beholder.",
                "Curiosity killed the cat.",
                "Fortune favours the bold.",
            ]
        )
        + "\n"
    )
    build_corpus(
        root / "corpus",
        ["flite:slt", "flite:rms"],
        sentences=sentences,
        per_voice=10,
        heldout=2,
        seed=0,
        progress=False,
    )
    prepare_dataset(root / "corpus", root / "cache", workers=1, progress=False)
    return root / "cache"


# ---------------------------------------------------------------------------------------------
# Exported voices


def import_export(module: str):
    """``flowaudio.export.<module>`` (imported lazily: it needs torch and onnx)."""
    import importlib

    return importlib.import_module(f"flowaudio.export.{module}")


@pytest.fixture(scope="session")
def tiny_acoustic_run(teacher_cache, tmp_path_factory):
    """A real acoustic run: the tiny preset trained 3 steps on ``teacher_cache`` (2 speakers)."""
    from flowaudio.train.acoustic import train_acoustic

    run = tmp_path_factory.mktemp("acoustic_run")
    train_acoustic(teacher_cache, run, "tiny", max_steps=3, progress=False)
    return run


@pytest.fixture(scope="session")
def tiny_vocoder_run(teacher_cache, tmp_path_factory):
    """A real vocoder run: the tiny preset trained (GAN) 3 steps on ``teacher_cache``."""
    from flowaudio.train.vocoder import train_vocoder

    run = tmp_path_factory.mktemp("vocoder_run")
    train_vocoder(teacher_cache, run, "tiny", max_steps=3, progress=False)
    return run


def save_vocoder_run(run, config, audio, step: int = 0, seed: int = 0):
    """Write a random-init vocoder checkpoint into ``run`` (the trainer's layout)."""
    import torch

    from flowaudio.config import to_dict
    from flowaudio.models.vocoder import Vocoder
    from flowaudio.train.checkpoint import checkpoint_path, save_checkpoint
    from flowaudio.train.config import TrainConfig

    torch.manual_seed(seed)
    vocoder = Vocoder(config, audio)
    save_checkpoint(
        checkpoint_path(run, step),
        {
            "task": "vocoder",
            "config": {"model": to_dict(config), "train": to_dict(TrainConfig())},
            "metadata": {"audio": to_dict(audio)},
            "modules": {"generator": vocoder.state_dict(), "discriminator": {}},
            "ema": None,
            "step": step,
        },
    )
    return run


@pytest.fixture(scope="session")
def tiny_voice(tiny_acoustic_run, tiny_vocoder_run, tmp_path_factory):
    """An exported (and verified) voice directory: tiny acoustic run + tiny vocoder run, with
    the ISTFT in the vocoder graph (voice schema 2, the form of the shipped voice)."""
    voice = import_export("voice")
    out = tmp_path_factory.mktemp("voices") / "tiny"
    voice.export_voice(tiny_acoustic_run, tiny_vocoder_run, out, name="tiny", vocoder_istft="graph")
    return out


@pytest.fixture(scope="session")
def tiny_spectrum_voice(tiny_acoustic_run, tiny_vocoder_run, tmp_path_factory):
    """``tiny_voice`` exported with the ISTFT on the host (the default of new exports): its
    vocoder graph gives the spectrum, voice schema 3."""
    voice = import_export("voice")
    out = tmp_path_factory.mktemp("voices") / "tiny-spectrum"
    voice.export_voice(tiny_acoustic_run, tiny_vocoder_run, out, name="tiny", vocoder_istft="host")
    return out


@pytest.fixture(scope="session")
def make_vocoder_run():
    """``make_vocoder_run(run_dir, VocoderConfig, AudioConfig, step=0)``: a random-init vocoder
    run in the trainer's layout; returns ``run_dir``."""
    return save_vocoder_run


_BLOCK_TORCH = """
import importlib.abc, sys
class _BlockTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"torch is blocked in this test (import of {name!r})")
        return None
sys.meta_path.insert(0, _BlockTorch())
"""


@pytest.fixture(scope="session")
def run_without_torch():
    """``run_without_torch(code)``: run Python ``code`` in a subprocess where importing torch
    raises ImportError; returns the CompletedProcess (text output, not checked)."""
    import subprocess
    import sys

    def run(code: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", _BLOCK_TORCH + code],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run
