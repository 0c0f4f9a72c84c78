"""``python -m heritage.cli``: the same as the `heritage` command."""

from __future__ import annotations

import sys

from heritage.cli import main

sys.exit(main())
