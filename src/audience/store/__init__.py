"""Storage: the warehouse (DuckDB) and, later, live profile stores and queues."""
