"""The WebSocket protocol: every message in one catalogue, parsed once at the edge."""
