"""The HTTP API: the app factory and one routes module per area."""
