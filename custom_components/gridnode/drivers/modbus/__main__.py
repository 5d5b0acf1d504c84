"""``python -m custom_components.gridnode.drivers.modbus probe --host H --port P --unit U``."""

from __future__ import annotations

import asyncio
import sys

from .probe import probe


def main() -> int:
    """Run the command line and return its exit status."""
    code, text = asyncio.run(probe(sys.argv[1:]))
    print(text, file=sys.stdout if code == 0 else sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
