"""The district server: FastAPI routes (api.py) over services (push, pull, enrolment, admin) and its own database.

Kept import-light: the desk's command line registers ``server`` without loading FastAPI.
"""
