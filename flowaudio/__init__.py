"""flowaudio: text-to-speech with conditional flow matching.

    import flowaudio
    audio = flowaudio.synthesize("Hello world.")          # the voice shipped with the package
    audio.save("hello.wav")
    voice = flowaudio.load_voice("voices/mine")           # an exported voice directory
    print(voice.speakers)
    for chunk in voice.stream("A long text. In sentences."):
        ...

Importing this package is cheap and never imports torch: synthesis runs on numpy and
onnxruntime (``flowaudio.runtime``); training code (``flowaudio.train``, ``flowaudio.models``)
is imported only when used.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowaudio.runtime.contract import SynthesisConfig
from flowaudio.version import __version__

if TYPE_CHECKING:
    from flowaudio.runtime.synthesizer import Audio, Voice

__all__ = ["Audio", "SynthesisConfig", "Voice", "__version__", "load_voice", "synthesize"]

_voices: dict[tuple[str | None, int | None, str | None], Voice] = {}
_voices_lock = threading.Lock()


def load_voice(
    path: str | Path | None = None, *, threads: int | None = None, providers: str | None = None
) -> Voice:
    """Load (once, then reuse) a voice directory, or the package's default voice.

    Args:
        path: a directory written by ``flowaudio export``; None for the embedded default voice.
        threads: onnxruntime intra-op threads (None: onnxruntime's default).
        providers: "auto" (CUDA when onnxruntime-gpu sees a GPU, else CPU), "cpu" or "cuda".
    """
    from flowaudio.runtime.synthesizer import Voice

    key = (None if path is None else str(Path(path).resolve()), threads, providers)
    with _voices_lock:
        if key not in _voices:
            _voices[key] = Voice.load(path, threads=threads, providers=providers)
        return _voices[key]


def synthesize(
    text: str,
    voice: str | Path | None = None,
    speaker: str | None = None,
    steps: int | None = None,
    solver: str | None = None,
    temperature: float | None = None,
    speed: float = 1.0,
    seed: int | None = None,
    *,
    config: SynthesisConfig | None = None,
) -> Audio:
    """Speech for ``text`` as :class:`~flowaudio.runtime.synthesizer.Audio`.

    Args:
        text: what to say; long text is split into sentences.
        voice: a voice directory, or None for the embedded default voice.
        speaker: a speaker name of the voice (``load_voice(...).speakers``); None: the first.
        steps, solver, temperature, speed, seed: a shorthand for the fields of
            ``config`` (see :meth:`Voice.synthesize`); None takes the voice's defaults.
        config: all the settings as one :class:`SynthesisConfig` (``flowaudio.SynthesisConfig``).
    """
    return load_voice(voice).synthesize(
        text,
        speaker,
        steps,
        solver,
        temperature,
        speed,
        seed,
        config=config,
    )


def __getattr__(name: str) -> Any:
    if name in ("Audio", "Voice"):
        from flowaudio.runtime import synthesizer

        return getattr(synthesizer, name)
    raise AttributeError(f"module 'flowaudio' has no attribute {name!r}")
