"""``flowaudio say``: text to speech with an exported voice, into a file in the format its name
says, onto standard output (WAV or raw PCM, for a pipe) or the speakers. Runtime only: numpy +
onnxruntime, no torch.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

from flowaudio.cli.common import add_command, read_text, release_stdout, voice_dir
from flowaudio.runtime.contract import SCHEDULES, SOLVERS

#: What ``--raw`` writes: the format aplay, sox and ffmpeg are told on their command line.
RAW_FORMAT = "16-bit signed little-endian mono PCM"


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "say",
        "Synthesize TEXT with an exported voice (default: the embedded voice) into a file "
        "whose extension names the format (.wav, .flac, .ogg, .opus, .mp3), into a WAV on "
        f"standard output (-o -), as headerless {RAW_FORMAT} (--raw; the sample rate is "
        "printed on standard error) or onto the speakers (--play, the play extra). Text that "
        "looks like another language than the voice's gets a warning naming it.",
        """
        flowaudio say "Hello world." -o hello.wav
        flowaudio say "Hello world." -o hello.mp3 --voice voices/mine --speaker slt --seed 1
        flowaudio say "Hello world." -o - > hello.wav
        flowaudio say "Hello world." --raw | aplay -r 16000 -f S16_LE -t raw -c 1 -
        flowaudio say "Hello world." --play
        cat story.txt | flowaudio say - -o story.opus --steps 8 --solver heun
        flowaudio say "I love tomatoes." -o t.wav --lexicon my_words.tsv --strict-language
        """,
        say,
    )
    p.add_argument("text", help="text to speak (plain or SSML), or - to read standard input")
    p.add_argument(
        "-o",
        "--output",
        default=None,
        help="audio file to write, format from its extension (no extension: WAV); - writes a "
        "WAV to standard output (with --raw: raw PCM)",
    )
    p.add_argument(
        "--raw",
        action="store_true",
        help=f"write headerless {RAW_FORMAT} (to standard output unless -o FILE), sentence by "
        "sentence as it is made; the sample rate goes to standard error",
    )
    p.add_argument("--play", action="store_true", help="play the speech (needs flowaudio[play])")
    p.add_argument(
        "--voice", default=None, help="voice directory or 'default' (default: the embedded voice)"
    )
    p.add_argument("--speaker", default=None, help="speaker name (see `flowaudio voices`)")
    p.add_argument(
        "--speaker-embedding",
        default=None,
        metavar="FILE",
        help="speaker vector for a voice conditioned on embeddings: .npy or numbers in text",
    )
    p.add_argument(
        "--steps", type=int, default=None, help="ODE steps (default: the voice's, see `info`)"
    )
    p.add_argument(
        "--solver", default=None, choices=SOLVERS, help="ODE solver (default: the voice's)"
    )
    p.add_argument(
        "--schedule", default=None, choices=SCHEDULES, help="time grid (default: the voice's)"
    )
    p.add_argument(
        "--temperature", type=float, default=None, help="noise scale (default: the voice's)"
    )
    p.add_argument(
        "--guidance", type=float, default=None, help="guidance scale (default: the voice's)"
    )
    p.add_argument("--speed", type=float, default=1.0, help="speaking rate (> 1 is faster)")
    p.add_argument("--seed", type=int, default=None, help="seed: same seed, same audio")
    p.add_argument(
        "--lexicon",
        default=None,
        metavar="FILE",
        help="pronunciations to use: word<TAB>IPA lines, on top of the voice's own lexicon",
    )
    p.add_argument(
        "--strict-language",
        action="store_true",
        help="refuse text that looks like another language than the voice's (default: warn "
        "and read it)",
    )
    p.add_argument("--threads", type=int, default=None, help="onnxruntime threads")


def say(args: argparse.Namespace) -> int:
    import flowaudio
    from flowaudio.runtime.contract import SynthesisConfig

    to_stdout = args.output == "-" or (args.raw and args.output is None)
    if args.output is None and not args.raw and not args.play:
        raise ValueError(
            "say needs somewhere to put the speech: -o FILE, -o - (a WAV on standard output), "
            "--raw (PCM on standard output) or --play"
        )
    if to_stdout and sys.stdout.isatty():
        raise ValueError(
            "standard output is a terminal, not a place for audio: pipe it (| aplay ...), "
            "redirect it (> speech.wav) or write a file with -o FILE"
        )
    if args.output not in (None, "-") and not args.raw:
        from flowaudio.audio.io import file_format

        file_format(args.output)  # an extension this installation cannot write: say so now
    player = _player() if args.play else None
    config = SynthesisConfig(
        steps=args.steps,
        solver=args.solver,
        schedule=args.schedule,
        temperature=args.temperature,
        guidance_scale=args.guidance,
        speed=args.speed,
        seed=args.seed,
        language_check="strict" if args.strict_language else "warn",
    )
    lexicon = None
    if args.lexicon is not None:
        from flowaudio.text.pronounce import Lexicon

        lexicon = Lexicon.load(args.lexicon)
    embedding = _speaker_embedding(args.speaker_embedding)
    text = read_text(args.text)
    voice = flowaudio.load_voice(voice_dir(args.voice), threads=args.threads)
    report = sys.stderr if to_stdout else sys.stdout
    if args.raw:
        # Sentence by sentence, so a player at the end of the pipe starts before the end.
        print(f"{RAW_FORMAT} at {voice.sample_rate} Hz", file=sys.stderr, flush=True)
        chunks = voice.stream(
            text, args.speaker, config, speaker_embedding=embedding, lexicon=lexicon
        )
        played = [] if player is not None else None
        seconds = _write_raw(chunks, args.output, played)
        where = "standard output" if to_stdout else args.output
        print(f"wrote {seconds:.2f} s of raw PCM to {where}", file=report)
        if player is not None:
            import numpy as np

            player(np.concatenate(played), voice.sample_rate)
        return 0
    audio = voice.synthesize(
        text, args.speaker, speaker_embedding=embedding, lexicon=lexicon, config=config
    )
    if to_stdout:
        _to_stdout(audio.to_wav_bytes())
        print(f"wrote a WAV to standard output: {audio.duration:.2f} s at "
              f"{audio.sample_rate} Hz", file=report)  # fmt: skip
    elif args.output is not None:
        audio.save(args.output)
        print(f"wrote {args.output}: {audio.duration:.2f} s at {audio.sample_rate} Hz")
    if player is not None:
        player(audio.samples, audio.sample_rate)
    return 0


def _write_raw(chunks: Iterable, output: str | None, keep: list | None) -> float:
    """Write each chunk's samples as raw PCM (a file, or standard output when ``output`` is
    None or -); ``keep`` collects the samples (for --play). -> seconds written."""
    from flowaudio.audio.io import pcm16_bytes

    samples = 0
    rate = 1
    sink = None if output in (None, "-") else open(output, "wb")  # noqa: SIM115
    try:
        for chunk in chunks:
            data = pcm16_bytes(chunk.samples)
            if sink is not None:
                sink.write(data)
            elif not _to_stdout(data):
                break  # the reader went away (| head): stop quietly
            if keep is not None:
                keep.append(chunk.samples)
            samples += len(chunk.samples)
            rate = chunk.sample_rate
    finally:
        if sink is not None:
            sink.close()
    return samples / rate


def _to_stdout(data: bytes) -> bool:
    """Write bytes to standard output; False when the reader has closed the pipe."""
    try:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        release_stdout()
        return False
    return True


def _speaker_embedding(path: str | None):
    """The vector in ``path`` (a .npy file, or numbers separated by spaces, commas or lines)."""
    if path is None:
        return None
    import numpy as np

    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"--speaker-embedding {path}: file not found")
    try:
        if file.suffix == ".npy":
            return np.load(file, allow_pickle=False).astype(np.float32).reshape(-1)
        return np.array(file.read_text().replace(",", " ").split(), dtype=np.float32)
    except ValueError as exc:
        raise ValueError(
            f"--speaker-embedding {path}: not a .npy array or a list of numbers ({exc})"
        ) from None


def _player():
    """A function that plays (samples, sample_rate) to the end, or a RuntimeError saying what is
    missing: the play extra, the PortAudio library, or an output device."""
    try:
        import sounddevice as sd
    except ModuleNotFoundError as exc:
        from flowaudio.cli.common import missing_extra

        raise missing_extra("say --play", "play", exc) from exc
    except OSError as exc:  # sounddevice is there, the PortAudio library it loads is not
        raise RuntimeError(
            f"--play cannot reach the sound system ({exc}): install PortAudio (Debian/Ubuntu: "
            "apt install libportaudio2), or write a file with -o FILE"
        ) from exc
    try:
        sd.query_devices(kind="output")
    except (sd.PortAudioError, ValueError) as exc:
        raise RuntimeError(
            f"--play found no audio output device ({exc}); write a file with -o FILE or pipe "
            "--raw to a player on a machine with sound"
        ) from exc

    def play(samples, sample_rate: int) -> None:
        try:
            sd.play(samples, sample_rate)
            sd.wait()
        finally:
            sd.stop()  # Ctrl-C: silence at once, not at the end of the buffer

    return play
