"""What-if scenarios: battery and PV sizing replayed on a site's history (docs/scenarios.md)."""
