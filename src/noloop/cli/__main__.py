"""``python -m noloop.cli``: the ``noloop`` command."""

import sys

from noloop.cli import main

sys.exit(main())
