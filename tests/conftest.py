"""Shared pytest configuration."""

pytest_plugins = ["tests.servers.fixtures"]
