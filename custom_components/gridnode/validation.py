"""The schema library Home Assistant validates with, under one name: ``vol``.

Home Assistant 2026.x validates with probatio (voluptuous's API; ``import voluptuous`` is aliased to
it there) and types its flows and actions with probatio's schemas; 2025.x uses voluptuous. GridNode
builds its schemas with whichever the running Home Assistant has, so they are the type it expects.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    if sys.version_info >= (3, 14):  # Home Assistant 2026.x (Python 3.14 and later)
        import probatio as vol
    else:
        import voluptuous as vol
else:
    try:
        import probatio as vol
    except ImportError:  # Home Assistant before probatio
        import voluptuous as vol

__all__ = ["vol"]
