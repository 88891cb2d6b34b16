"""Process roles. Each builds its dependencies once and passes them down.

`api` serves the HTTP API, `gateway` the realtime WebSocket gateway, `consumer` writes the
event log to the database, and `serve` hosts all of them in one process. A role that runs
on the in-memory event log also runs a consumer of it in-process: nothing else could read
that log, and its messages must still reach the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import uvicorn
from fastapi import FastAPI

from metaverse.api.app import create_app
from metaverse.api.context import ApiContext
from metaverse.assets.seed import seed_demo
from metaverse.backends.eventlog import EventLog, MemoryEventLog, open_event_log
from metaverse.backends.leases import Leases, open_leases
from metaverse.backends.pubsub import MemoryBroker, PubSub, open_pubsub
from metaverse.clock import SystemClock
from metaverse.consumer.health import create_health_app
from metaverse.consumer.service import DLQ, TOPICS, Consumer
from metaverse.consumer.writers import writer_for
from metaverse.db.migrate import upgrade
from metaverse.gateway.directory import Directory
from metaverse.gateway.heap import frozen_heap
from metaverse.gateway.server import Gateway
from metaverse.settings import Settings

log = logging.getLogger("metaverse")


def open_backends(settings: Settings, broker: MemoryBroker) -> tuple[EventLog, PubSub]:
    event_log = open_event_log(
        settings.kafka_broker,
        security_protocol=settings.kafka_security_protocol,
        sasl_mechanism=settings.kafka_sasl_mechanism,
        username=settings.kafka_username,
        password=settings.kafka_password.get_secret_value() if settings.kafka_password else None,
        ca_file=str(settings.kafka_ca_file) if settings.kafka_ca_file else None,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        linger_ms=settings.kafka_linger_ms,
    )
    return event_log, open_pubsub(settings.redis_url, broker)


def build_context(settings: Settings) -> ApiContext:
    event_log, pubsub = open_backends(settings, MemoryBroker())
    return ApiContext.build(settings, SystemClock(), event_log=event_log, pubsub=pubsub)


async def prepare(context: ApiContext) -> None:
    """Migrate, and seed the demo set once if the settings ask for it."""
    context.settings.data_dir.mkdir(parents=True, exist_ok=True)
    await upgrade(context.engine)
    if context.settings.seed_demo and await seed_demo(context.sessions):
        log.info("seeded the demo avatars, elements and map")


def build_gateway(context: ApiContext, leases: Leases | None = None) -> Gateway:
    """A gateway of `context`; with `leases` it serves spaces together with the other
    gateways on them (see `gateway.cluster`)."""
    return Gateway(
        context.settings,
        context.clock,
        context.accounts.access_tokens,
        Directory(context.sessions),
        context.event_log,
        context.pubsub,
        context.registry,
        leases=leases,
    )


def build_consumer(context: ApiContext) -> Consumer:
    settings = context.settings
    return Consumer(
        context.event_log,
        writer_for(context.engine),
        context.registry,
        group=settings.consumer_group,
        batch_size=settings.consumer_batch_size,
        batch_wait_s=settings.consumer_batch_wait_ms / 1000,
        clock=context.clock,
    )


def consumer_tasks(context: ApiContext, *, always: bool) -> list[asyncio.Task[None]]:
    """A consumer to run alongside, when `always` or when the event log is in memory."""
    if not (always or isinstance(context.event_log, MemoryEventLog)):
        return []
    return [asyncio.create_task(build_consumer(context).run())]


def _server(app: FastAPI, settings: Settings, port: int) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=port,
        log_level=settings.log_level,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        lifespan="on",
        server_header=False,
    )
    return uvicorn.Server(config)


async def _stop_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


async def _run_until_stopped(
    server: uvicorn.Server | None, tasks: list[asyncio.Task[None]]
) -> None:
    """Run until SIGINT or SIGTERM, or until a server or task stops; then shut down in order.

    The role handles signals itself (not uvicorn, which would re-raise SIGTERM and kill the
    process before its connections and consumer group are closed). A task that fails is
    re-raised, so the process exits non-zero and its supervisor restarts it, instead of
    staying up, looking ready, and doing nothing.
    """
    watched = set(tasks)
    serving = None
    if server is not None:
        server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
        serving = asyncio.create_task(server.serve())
        watched.add(serving)
    stopping = asyncio.create_task(_stop_signal())
    await asyncio.wait({stopping, *watched}, return_when=asyncio.FIRST_COMPLETED)
    if server is not None:
        server.should_exit = True
    stopping.cancel()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*(t for t in (serving, stopping) if t is not None), return_exceptions=True)
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _close(context: ApiContext) -> None:
    await context.pubsub.close()
    await context.event_log.close()
    await context.close()


async def run_api(settings: Settings) -> None:
    context = build_context(settings)
    try:
        await prepare(context)
        tasks = consumer_tasks(context, always=False)
        await _run_until_stopped(_server(create_app(context), settings, settings.port), tasks)
    finally:
        await _close(context)


async def run_gateway(settings: Settings) -> None:
    context = build_context(settings)
    # With Redis, gateways share the spaces; alone, this one hosts every space it serves.
    leases = open_leases(settings.redis_url, context.clock) if settings.redis_url else None
    try:
        with frozen_heap():
            async with build_gateway(context, leases).serving(settings.host, settings.ws_port):
                log.info("gateway listening on ws://%s:%d/ws", settings.host, settings.ws_port)
                await _run_until_stopped(None, consumer_tasks(context, always=False))
    finally:
        if leases is not None:
            await leases.close()
        await _close(context)


async def run_consumer(settings: Settings) -> None:
    context = build_context(settings)
    checks = context.readiness_checks()
    health = _server(create_health_app(context.registry, checks), settings, settings.health_port)
    try:
        from metaverse.backends.eventlog_kafka import KafkaEventLog  # only with Kafka

        if isinstance(context.event_log, KafkaEventLog):
            # Brokers that don't create topics on first use still need the dead-letter ones.
            await context.event_log.ensure_topics([*TOPICS, *DLQ.values()])
        log.info("consumer running; health on port %d", settings.health_port)
        await _run_until_stopped(health, [asyncio.create_task(build_consumer(context).run())])
    finally:
        await _close(context)


async def run_serve(settings: Settings) -> None:
    context = build_context(settings)
    leases = open_leases(settings.redis_url, context.clock) if settings.redis_url else None
    try:
        await prepare(context)
        with frozen_heap():
            async with build_gateway(context, leases).serving(settings.host, settings.ws_port):
                origin = settings.web_origin()
                log.info(
                    "metaverse is up: %s (API docs at %s/docs), gateway on port %d",
                    origin,
                    origin,
                    settings.ws_port,
                )
                server = _server(create_app(context), settings, settings.port)
                await _run_until_stopped(server, consumer_tasks(context, always=True))
    finally:
        if leases is not None:
            await leases.close()
        await _close(context)
