"""Demo data for ``--demo`` and sample documents; never used by product code paths."""
