"""The embedded moto server: every AWS service of the local stack on one loopback port."""

from __future__ import annotations

import logging
import os

from moto.server import ThreadedMotoServer

HOST = "127.0.0.1"


class MotoServer:
    """moto's threaded server bound to 127.0.0.1; `port=0` picks a free port."""

    def __init__(self, port: int | None = None) -> None:
        if port is None:
            port = int(os.environ.get("MOTO_PORT") or 0)
        self._server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
        self.endpoint: str | None = None

    def start(self) -> str:
        """Start serving and return the endpoint URL (`http://127.0.0.1:PORT`)."""
        # werkzeug logs every request at INFO, and the event pump polls many times a second
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        from chalicelib.local import fastquery, isolation

        isolation.install()  # DynamoDB's atomicity per call, and cheap transaction rollback
        fastquery.install()  # a Query costs what it reads, not the whole table
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self.endpoint

    def stop(self) -> None:
        """Stop serving and wait for the server thread; safe to call twice."""
        if self.endpoint is None:
            return
        self._server.stop()
        wsgi_server = getattr(self._server, "_server", None)  # moto only shuts it down: close the socket
        if wsgi_server is not None:
            wsgi_server.server_close()
        self.endpoint = None


def start_moto(port: int | None = None) -> MotoServer:
    """Start a moto server (port from `MOTO_PORT`, else a free one) and return it."""
    server = MotoServer(port)
    server.start()
    return server
