"""Teacher-voice corpus builder: a multi-speaker corpus rendered with flite and espeak-ng.

Users without recordings (and flowaudio's own default voice) need paired audio and text from
several speakers. The command-line synthesizers ``flite`` (Debian package ``flite``) and
``espeak-ng`` (package ``espeak-ng``) render any sentence on a plain CPU, so a corpus of a few
hours takes minutes to build and needs no download beyond the Debian packages.

- :mod:`.teachers`: the engines, their voices (:func:`parse_voice`) and :func:`render`.
- :mod:`.sentences`: :func:`load_sentences`, clean English sentences from the fortunes or a
  text file.
- :mod:`.build`: :func:`build_corpus` and the recipes (:data:`DEFAULT_VOICE_RECIPE`).

The output is the generic multi-speaker CSV layout that ``flowaudio prepare`` reads::

    out_dir/
      metadata.csv    training clips:  audio_path|speaker|text
      heldout.csv     held-out clips:  audio_path|speaker|text (same sentences for every voice)
      corpus.json     recipe, engine versions, counts, seconds per speaker, build time
      plan.tsv        every planned clip (audio_path, voice, text): lets a re-run spot stale wavs
      failed.tsv      clips that failed to render (only when some did)
      wavs/<speaker>/<speaker>_00012.wav
      wavs/<speaker>/<speaker>_heldout_00003.wav

Example::

    from pathlib import Path
    from flowaudio.data.corpus import DEFAULT_VOICE_RECIPE, build_corpus

    summary = DEFAULT_VOICE_RECIPE.build(Path("corpus/teacher"))
    # or by hand:
    summary = build_corpus(Path("corpus/small"), ["flite:slt", "espeak:en-us+f3"], per_voice=50)
    print(summary.total_seconds / 3600, "hours")
"""

from .build import DEFAULT_VOICE_RECIPE, CorpusRecipe, CorpusSummary, build_corpus
from .sentences import load_sentences
from .teachers import EngineNotFoundError, TeacherVoice, parse_voice, render

__all__ = [
    "DEFAULT_VOICE_RECIPE",
    "CorpusRecipe",
    "CorpusSummary",
    "EngineNotFoundError",
    "TeacherVoice",
    "build_corpus",
    "load_sentences",
    "parse_voice",
    "render",
]
