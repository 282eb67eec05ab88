"""``python -m flowaudio`` is the ``flowaudio`` command."""

import sys

from flowaudio.cli import main

sys.exit(main())
