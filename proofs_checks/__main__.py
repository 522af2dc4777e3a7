import sys

from rankcheck.proofs_checks.cli import main

__all__ = []

sys.exit(main())
