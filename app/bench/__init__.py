"""Benchmarks behind ``python main.py bench``: print figures, never assert."""
