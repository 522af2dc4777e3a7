"""``python -m rankcheck``: the command line (list, run, show claims; summarize sweeps)."""

import sys

from rankcheck.proofs_checks.cli import main

sys.exit(main())
