"""``python -m noloop ARGS`` runs the ``noloop`` command, for machines where its script is not on PATH."""

import sys

from noloop.cli import main

if __name__ == "__main__":
    sys.exit(main())
