"""runnable."""
