"""The service catalog on the desk: the loaded catalog, search, and versions received from the server."""
