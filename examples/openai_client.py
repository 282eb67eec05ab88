"""Call a running `flowaudio serve` with the OpenAI Python client.

The server speaks OpenAI's /v1/audio/speech, so the stock client works once its base_url
points at the server. Start one first, in another terminal:

  flowaudio serve                      # the embedded voice on http://127.0.0.1:8000

This script lists the speakers the server offers, saves one clip whole, and saves another
as it streams in (flowaudio's own settings such as seed, steps and stream go in extra_body).

example:
  python examples/openai_client.py --base-url http://127.0.0.1:8000/v1 --out hello.wav
"""

import argparse
from pathlib import Path

from openai import OpenAI


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example:" + __doc__.split("example:")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--base-url", default="http://127.0.0.1:8000/v1", help="server's /v1 URL")
    parser.add_argument("--out", default="hello.wav", help="WAV file for the whole clip")
    parser.add_argument(
        "--stream-out", default=None, help="streamed clip (default: OUT_stream.wav)"
    )
    args = parser.parse_args()

    # No key is checked by flowaudio; the client insists on one, so any string does.
    client = OpenAI(base_url=args.base_url, api_key="unused", max_retries=0)

    # GET /v1/models: one entry per served voice; flowaudio adds its speakers as "VOICE/SPEAKER".
    speakers = [s for model in client.models.list().data for s in model.model_extra["voices"]]
    print("speakers:", ", ".join(speakers))
    speaker = speakers[-1]

    # The whole clip in one response. model is ignored unless it names a served voice.
    speech = client.audio.speech.create(
        model="flowaudio",
        voice=speaker,
        input="Hello from the OpenAI client.",
        response_format="wav",
    )
    speech.write_to_file(args.out)
    print(f"wrote {args.out} ({len(speech.content)} bytes, speaker {speaker})")

    # Streaming: chunks arrive sentence by sentence; write them as they come.
    out = Path(args.out)
    stream_out = args.stream_out or str(out.with_name(out.stem + "_stream.wav"))
    with client.audio.speech.with_streaming_response.create(
        model="flowaudio",
        voice=speaker,
        input="First sentence. And a second one.",
        response_format="wav",
        extra_body={"stream": True, "seed": 1, "steps": 2},
    ) as response:
        chunks = 0
        with open(stream_out, "wb") as f:
            for chunk in response.iter_bytes():
                f.write(chunk)
                chunks += 1
    print(f"wrote {stream_out} ({chunks} chunks as they arrived)")


if __name__ == "__main__":
    main()
