"""lstm: property checks (being written)."""
