"""Streaming: write audio to a WAV file chunk by chunk as it is synthesized.

`Voice.stream` yields audio sentence by sentence, and within a sentence in vocoder windows, so
the first audio is ready long before the whole text is done; a player would start here.

example:
  python examples/stream_to_file.py --voice voices/mine --out story.wav
"""

import argparse
import time

import soundfile as sf

import flowaudio

TEXT = (
    "Once upon a time, there was a small voice that lived inside a computer. "
    "Every morning it read the news aloud. "
    "Nobody knew where it had learned to speak so clearly."
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example:" + __doc__.split("example:")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--voice", default=None, help="voice directory (default: embedded)")
    parser.add_argument("--out", default="story.wav", help="WAV file to write")
    parser.add_argument("--text", default=TEXT, help="text to speak")
    args = parser.parse_args()

    voice = flowaudio.load_voice(args.voice)
    start = time.perf_counter()
    first = None
    total = 0.0
    with sf.SoundFile(
        args.out, "w", samplerate=voice.sample_rate, channels=1, subtype="PCM_16"
    ) as wav:
        for chunk in voice.stream(args.text, config=flowaudio.SynthesisConfig(seed=0)):
            if first is None:
                first = time.perf_counter() - start
            wav.write(chunk.samples)  # a player would play the chunk here
            total += chunk.duration
    print(f"first audio after {first * 1000:.0f} ms; wrote {total:.2f} s to {args.out}")


if __name__ == "__main__":
    main()
