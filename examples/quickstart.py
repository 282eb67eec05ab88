"""Quick start: synthesize speech, pick a speaker, save a WAV file.

Runs on numpy + onnxruntime only (no torch). Without --voice it uses the voice shipped inside
the package; pass a directory written by `flowaudio export` to use your own.

example:
  python examples/quickstart.py --voice voices/mine --out hello.wav
"""

import argparse

import flowaudio


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example:" + __doc__.split("example:")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--voice", default=None, help="voice directory (default: embedded)")
    parser.add_argument("--out", default="hello.wav", help="WAV file to write")
    args = parser.parse_args()

    # Load once; sessions are created here and reused by every call.
    voice = flowaudio.load_voice(args.voice)
    print("speakers:", ", ".join(voice.speakers))

    # The simplest call: the voice's default speaker and settings.
    audio = voice.synthesize("Hello! This is flowaudio speaking.")
    print(f"default speaker: {audio.duration:.2f} s at {audio.sample_rate} Hz")

    # Pick a speaker, fewer ODE steps (faster), a seed (the same seed gives the same audio).
    audio = voice.synthesize(
        "Dr. Smith paid $3.50 at 3:45 pm.", speaker=voice.speakers[-1], steps=2, seed=42
    )
    audio.save(args.out)
    print(f"wrote {args.out} ({audio.duration:.2f} s, speaker {voice.speakers[-1]})")


if __name__ == "__main__":
    main()
