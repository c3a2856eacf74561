"""A Dagster deployment: the instance on a real PostgreSQL."""
