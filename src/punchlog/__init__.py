"""punchlog: self-hosted attendance log ingestion service and attendance engine."""

__version__ = "0.1.0"
