"""Package version, kept in one place (read by pyproject and by every artifact we write)."""

__version__ = "0.1.0"
