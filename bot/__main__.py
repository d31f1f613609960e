"""``python -m bot`` is the ``kefu`` command."""

import sys

from bot.cli import main

sys.exit(main())
