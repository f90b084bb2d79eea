"""Baselinr: warehouse data profiling for Dagster users."""

__version__ = "0.1.0"
