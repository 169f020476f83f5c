"""The ``punchlog`` command line: the operator's contract (spec/cli.md)."""
