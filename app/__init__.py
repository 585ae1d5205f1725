"""Services of OneDesk: everything the UI and the district server call. Never imports Qt widgets."""
