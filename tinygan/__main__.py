"""python -m tinygan: the command line (see tinygan/cli.py)."""

import sys

from .cli import main

sys.exit(main())
