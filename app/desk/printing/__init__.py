"""Printed documents: PDF rendering (reportlab), the archive and print jobs."""
