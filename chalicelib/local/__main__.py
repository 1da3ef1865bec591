"""`python -m chalicelib.local` (what `make run` runs): the whole stack in one process.

In order: moto on 127.0.0.1 (`MOTO_PORT`, default a free port), the environment pointed at it,
bootstrap (tables, bucket, user pool, departments, administrator), stream ARNs exported, the app
imported, the event pump started, the API served on `PORT` (default 8000), then
`ready: http://127.0.0.1:PORT`. SIGINT or SIGTERM stops everything and exits with 0.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
from typing import Any

from chalicelib.config import get_settings
from chalicelib.local.bootstrap import bootstrap
from chalicelib.local.env import export_stream_arns, load_app, use_local_aws
from chalicelib.local.motoserver import HOST, MotoServer
from chalicelib.local.pump import Pump, connect_bucket_to_queue
from chalicelib.local.server import Server

log = logging.getLogger("mmp.local")


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _bindable_port(port: int) -> int:
    """`port` if it can be bound on 127.0.0.1 (0: a free one); fail before the slow bootstrap if not."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        return sock.getsockname()[1]


def s3_routes() -> list[tuple[str, str]]:
    """(key prefix, queue name): which uploads to the content bucket notify which queue."""
    settings = get_settings()
    queue = (
        getattr(settings, "bulletin_queue", None)
        or os.environ.get("MMP_BULLETIN_QUEUE")
        or f"mmp-{settings.stage}-bulletin-uploads"
    )
    return [("bulletins/", queue)]


def connect_uploads(pump: Pump) -> None:
    """Point the content bucket's notifications at the queues the app consumes."""
    consumed = {getattr(s, "queue_name", None) for s in pump.sources}
    bucket = get_settings().content_bucket
    for prefix, queue in s3_routes():
        if queue in consumed:
            connect_bucket_to_queue(bucket, queue, prefix)
            log.info("uploads under %s/%s go to queue %s", bucket, prefix, queue)
        else:
            log.warning("no consumer reads queue %s: uploads under %s are not delivered", queue, prefix)


def main() -> int:
    """Run the local stack until SIGINT or SIGTERM; return the exit code."""
    sys.stdout.reconfigure(line_buffering=True)
    logging.basicConfig(
        level=os.environ.get("MMP_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("botocore").setLevel(logging.WARNING)  # "Found credentials" on every new client
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        port = _bindable_port(int(os.environ.get("PORT") or 8000))
        # moto's server thread would wait forever on a port it cannot bind: check it first too
        _bindable_port(int(os.environ.get("MOTO_PORT") or 0))
    except (OSError, ValueError) as exc:
        log.error(
            "cannot use PORT=%s, MOTO_PORT=%s: %s", os.environ.get("PORT"), os.environ.get("MOTO_PORT"), exc
        )
        return 1
    os.environ["PORT"] = str(port)

    pump: Pump | None = None
    server: Server | None = None
    code = 0
    moto = MotoServer()
    try:
        endpoint = moto.start()
        use_local_aws(endpoint)
        bootstrap()
        export_stream_arns()
        app = load_app()
        pump = Pump(app)
        connect_uploads(pump)
        pump.start()
        server = Server(app, port)
        print(f"ready: {server.start()}")
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass
    except Exception:
        log.exception("the local stack failed to start")
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        log.info("stopping")
        if server is not None:
            server.stop()
        if pump is not None:
            pump.stop()
        moto.stop()
        print("stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
