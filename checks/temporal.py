"""temporal: property checks (being written)."""
