"""Property tests share the factories and strategies of tests/unit."""

from __future__ import annotations

import sys
from pathlib import Path

UNIT = str(Path(__file__).resolve().parent.parent / "unit")
if UNIT not in sys.path:
    sys.path.insert(0, UNIT)
