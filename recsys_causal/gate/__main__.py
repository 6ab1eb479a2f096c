"""``python -m recsys_causal.gate screen.yaml`` — the same as ``causal-gate``."""

from recsys_causal.gate.cli import main

raise SystemExit(main())
