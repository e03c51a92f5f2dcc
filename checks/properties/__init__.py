"""The built-in property checks, one module per group (see checks.registry)."""
