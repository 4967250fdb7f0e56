"""molecules/core."""
