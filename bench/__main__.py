"""``python -m bench``: every benchmark, one table."""

from __future__ import annotations

import sys

from bench.attendance import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
