"""Domain types only, no I/O."""
