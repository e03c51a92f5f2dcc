"""captioning: property checks (being written)."""
