"""Use cases. The only place a transaction opens and commits."""
