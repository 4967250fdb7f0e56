"""Shared pytest configuration: fixtures live in their own modules, registered here."""

pytest_plugins = ["tests.servers.fixtures", "tests.db_fixtures"]
