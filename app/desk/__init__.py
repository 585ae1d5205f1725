"""The desk's services (no Qt): storage, accounts, residents, cases, intake, worklist, catalog, printing and the
sync client."""
