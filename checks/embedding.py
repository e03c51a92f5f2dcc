"""embedding: property checks (being written)."""
