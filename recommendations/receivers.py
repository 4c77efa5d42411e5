"""Signal receivers."""
