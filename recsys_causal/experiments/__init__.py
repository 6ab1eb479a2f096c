"""A/B experiment analysis: SRM, lifts with intervals, CUPED, guardrails, multiplicity, sequential monitoring."""
