"""Declarative service-item catalog: data files, typed schema, loader and validators (no Qt)."""
