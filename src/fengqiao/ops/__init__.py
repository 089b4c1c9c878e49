"""The operator's view of the running system: the request middleware (request id, access log,
metrics), `/metrics`, the personal-data access log and its readers."""
