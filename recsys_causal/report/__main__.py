"""``python -m recsys_causal.report experiment.yaml`` — the same as the ``causal-report`` command."""

from recsys_causal.report.cli import main

raise SystemExit(main())
