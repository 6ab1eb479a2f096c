"""recsys-causal."""
