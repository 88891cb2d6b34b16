"""The realtime gateway: WebSocket connections feeding the pure space core."""
