"""Benchmarks: this project's reactive store and its peers, side by side on the same shapes."""
