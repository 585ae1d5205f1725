"""Printed documents: PDF rendering (reportlab), the archive and print jobs.

``render.render(data, layout)`` is the entry point; ``data`` holds what a document shows, ``kinds/`` one
module per document kind, ``layout`` the paper sizes, ``fonts``/``flowables``/``blocks`` the typesetting
shared by all kinds, and ``service`` turns a case into a document and records every print.
"""
