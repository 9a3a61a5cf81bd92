"""Live push over Socket.IO (docs/live.md; the contract: docs/api.md "Live push")."""

from __future__ import annotations

import redis
from flask import Flask
from flask_socketio import SocketIO

from ..query_runner import QueryRunner
from ..settings import QuerySettings
from .feed import LiveFeed
from .server import LiveServer

SOCKETIO_PATH = "socket.io"


def message_queue_url(settings: QuerySettings) -> str:
    return settings.query_live_message_queue or settings.redis_url


def install_live(app: Flask, settings: QuerySettings, runner: QueryRunner, *,
                 served: bool) -> LiveServer:
    """Serve Socket.IO on ``/socket.io/`` next to the app's routes. ``served``: this is
    the gunicorn worker — use QUERY_ASYNC_MODE, the message queue between instances and
    consume the broker's events; otherwise (an app built by a test) threading mode and
    nothing in the background until a client connects."""
    origins = [o.strip() for o in settings.query_live_cors_origins.split(",") if o.strip()]
    socketio = SocketIO(
        app, async_mode=settings.query_async_mode if served else "threading",
        path=SOCKETIO_PATH, message_queue=message_queue_url(settings) if served else None,
        channel=f"{settings.redis_key_prefix}socketio",
        cors_allowed_origins="*" if origins == ["*"] else (origins or None),
        ping_interval=25, ping_timeout=20, max_http_buffer_size=1_000_000,
        json=_OrjsonCodec, logger=False, engineio_logger=False)
    recent = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    server = LiveServer(socketio, settings, runner, app.extensions["lookout.accounts"], recent)
    server.install()
    app.extensions["lookout.live"] = server
    if served:
        server.start_tasks()
        socketio.start_background_task(LiveFeed(settings, server, recent).run)
    return server


class _OrjsonCodec:
    """Socket.IO's JSON module: orjson (several times faster on large results)."""

    @staticmethod
    def dumps(obj: object, **_kwargs: object) -> str:
        import orjson
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(text: str | bytes, **_kwargs: object) -> object:
        import orjson
        return orjson.loads(text)
