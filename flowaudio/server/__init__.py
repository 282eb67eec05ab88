"""HTTP server over the runtime: an OpenAI-compatible ``POST /v1/audio/speech`` (FastAPI +
uvicorn, the ``serve`` extra). ``flowaudio serve`` runs it; :func:`create_app` builds the app.

    from flowaudio.server import create_app
    app = create_app(["voices/mine"], max_chars=5000)   # uvicorn.run(app, host="127.0.0.1")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowaudio.server.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # fastapi is imported on first use, so `import flowaudio.server.request` stays light.
    if name == "create_app":
        from flowaudio.server.app import create_app

        return create_app
    raise AttributeError(f"module 'flowaudio.server' has no attribute {name!r}")
