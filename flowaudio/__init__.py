"""flowaudio: text-to-speech with conditional flow matching.

Importing this package is cheap and never imports torch: training code lives in
``flowaudio.train`` / ``flowaudio.models`` and is imported only when used.
"""

from flowaudio.version import __version__

__all__ = ["__version__"]
