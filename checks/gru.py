"""gru: property checks (being written)."""
