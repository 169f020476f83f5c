"""SQLAlchemy Core tables, queries and migrations. Functions take a Connection first and never
commit: transactions belong to ``services/``."""
