"""The desk's services (no Qt): storage, accounts, residents, cases, intake, worklist, catalog, printing, sync client."""
