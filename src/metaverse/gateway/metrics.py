"""Prometheus metrics of the gateway."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.connections = Gauge(
            "metaverse_gateway_connections", "Open WebSocket connections.", registry=registry
        )
        self.users = Gauge(
            "metaverse_gateway_space_users",
            "Users present per space.",
            ["space"],
            registry=registry,
        )
        self.active_calls = Gauge(
            "metaverse_gateway_active_calls", "Proximity calls in progress.", registry=registry
        )
        self.call_size = Histogram(
            "metaverse_gateway_call_size",
            "Peak members of ended calls.",
            buckets=(2, 3, 4, 5, 6, 8, 12),
            registry=registry,
        )
        self.call_duration = Histogram(
            "metaverse_gateway_call_duration_seconds",
            "Duration of ended calls.",
            buckets=(5, 15, 60, 300, 900, 3600, 14400),
            registry=registry,
        )
        self.frames_in = Counter(
            "metaverse_gateway_frames_in",
            "Frames received, by type.",
            ["type"],
            registry=registry,
        )
        self.frames_out = Counter(
            "metaverse_gateway_frames_out",
            "Frames queued for clients, by type.",
            ["type"],
            registry=registry,
        )
        self.rejected_moves = Counter(
            "metaverse_gateway_rejected_moves",
            "Moves answered with movement-rejected.",
            registry=registry,
        )
        self.signals = Counter(
            "metaverse_gateway_signals",
            "Signaling messages, relayed or refused.",
            ["outcome"],
            registry=registry,
        )
        self.outbox_drops = Counter(
            "metaverse_gateway_outbox_drops",
            "Connections closed because their outbox overflowed.",
            registry=registry,
        )
        self.closed = Counter(
            "metaverse_gateway_closed",
            "Connections closed by the server, by reason.",
            ["reason"],
            registry=registry,
        )
