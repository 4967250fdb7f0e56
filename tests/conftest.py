from tests.db_fixtures import database, postgresql_database, run_store, sqlite_database

__all__ = ["database", "postgresql_database", "run_store", "sqlite_database"]
