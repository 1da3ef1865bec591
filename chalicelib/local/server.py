"""Serve the Chalice app over HTTP on 127.0.0.1 with chalice's own local gateway, threaded.

Differences from `chalice local`, to behave like API Gateway in front of the app: the client IP is
the first `X-Forwarded-For` address (else the peer), an unknown path gets 404 problem+json instead
of 403 "Missing Authentication Token", malformed requests (bad percent-encoding, non-UTF-8 paths or
query strings, oversized headers) get 400 problem+json and never a 5xx, and bodies over 64 KiB get
413 before they are read. Access logs name the route template, never the concrete path.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
    LocalGatewayException,
    ThreadedHTTPServer,
)

log = logging.getLogger("mmp.local.http")

HOST = "127.0.0.1"
MAX_BODY_BYTES = 64 * 1024
MAX_HEADER_BYTES = 16 * 1024
# after an early 413, drop at most this much of the unread body so the client gets to read the answer
LINGER_BYTES = 16 * 1024 * 1024
LINGER_SECONDS = 5.0
PROBLEM = "application/problem+json"
TOO_LARGE = f"Request bodies are limited to {MAX_BODY_BYTES} bytes"
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ASCII_PRINTABLE = "".join(chr(c) for c in range(0x21, 0x7F))


def problem(status: int, title: str, detail: str) -> bytes:
    """A problem+json body."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, "errors": []}
    return json.dumps(body).encode()


class ProblemError(LocalGatewayException):
    """An answer the gateway gives without calling the app."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__({"Content-Type": PROBLEM}, problem(status, title, detail))
        self.CODE = status


class _RequestState(threading.local):
    source_ip = HOST
    route = "-"


class Gateway(LocalGateway):
    """chalice's LocalGateway, with API Gateway's client IP and a 404 for unknown paths."""

    def __init__(self, app_object: Any, config: Config) -> None:
        super().__init__(app_object, config)
        self.state = _RequestState()
        # Chalice keeps `app.current_request` on the app object, so the app serves one request at a
        # time, exactly as one Lambda container does; the data stores see real concurrency anyway.
        self._app_lock = threading.Lock()

    def handle_request(self, *args: Any, **kwargs: Any) -> Any:
        with self._app_lock:
            return super().handle_request(*args, **kwargs)

    def _generate_lambda_event(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        try:
            event = super()._generate_lambda_event(method, path, headers, body)
        except ValueError:
            self.state.route = "-"
            raise ProblemError(404, "Not found", f"No route for {method} {path.split('?')[0]}") from None
        context = event["requestContext"]
        context["identity"]["sourceIp"] = self.state.source_ip
        context.setdefault("requestId", str(uuid.uuid4()))
        context.setdefault("stage", "api")
        context.setdefault("requestTimeEpoch", int(time.time() * 1000))
        self.state.route = context["resourcePath"]
        return event


def client_ip(forwarded_for: str | None, peer: str) -> str:
    """The first valid address of `X-Forwarded-For`, else the peer address."""
    if forwarded_for:
        first = forwarded_for.split(",")[0].strip()
        try:
            return str(ipaddress.ip_address(first))
        except ValueError:
            pass
    return peer


def _check_component(text: str, what: str, plus_is_space: bool = False) -> None:
    if _BAD_PERCENT.search(text):
        raise ProblemError(400, "Bad request", f"Malformed percent-encoding in the {what}")
    raw = text.replace("+", " ") if plus_is_space else text
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise ProblemError(400, "Bad request", f"The {what} is not valid UTF-8") from None


def normalise_target(target: str) -> str:
    """Check a request target and return it percent-encoded; raise ProblemError(400) when malformed."""
    try:
        # http.server decodes the request line as Latin-1: these are the bytes the client sent
        text = target.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise ProblemError(400, "Bad request", "The request target is not valid UTF-8") from None
    text = quote(text, safe=_ASCII_PRINTABLE)  # raw non-ASCII and control characters, encoded
    path, _, query = text.partition("?")
    if not path.startswith("/"):
        raise ProblemError(400, "Bad request", "The request target must be a path")
    if path.startswith("//"):  # urlparse would read the first segment as a host name
        raise ProblemError(404, "Not found", "No route for this path")
    _check_component(path, "path")
    for pair in query.split("&") if query else []:
        for part in pair.split("=", 1):
            _check_component(part, "query string", plus_is_space=True)
    return text


class RequestHandler(ChaliceRequestHandler):
    """chalice's request handler, hardened: no 5xx from this layer, limits enforced, quiet logs."""

    timeout = 60  # seconds a connection may sit idle or trickle a body

    def __init__(self, request: Any, client_address: Any, server: Any, gateway: Gateway) -> None:
        self.local_gateway = gateway
        self._started = time.monotonic()
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    # --- answers given by this layer ---------------------------------------------------------------

    def send_problem(self, status: int, title: str, detail: str) -> None:
        """Answer with problem+json and close the connection (the rest of the request is unread)."""
        self.close_connection = True
        body = problem(status, title, detail)
        self.send_response(status)
        self.send_header("Content-Type", PROBLEM)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors, as problem+json; never a 5xx for what the client sent."""
        if code == 501:
            code, title, detail = 405, "Method not allowed", "This method is not supported"
        elif code == 414:
            title, detail = "URI too long", "The request line is too long"
        elif code == 431:
            code, title, detail = 400, "Bad request", "The request headers are too large"
        else:
            code, title, detail = 400, "Bad request", "The request could not be parsed"
        if self.request_version == "HTTP/0.9":  # what http.server assumes of a garbled request line
            self.request_version = "HTTP/1.1"
        self.send_problem(code, title, detail)

    def handle_expect_100(self) -> bool:
        """Refuse a body that is too large before the client sends it."""
        if self._oversized():
            self.send_problem(413, "Payload too large", TOO_LARGE)
            return False
        return super().handle_expect_100()

    def _oversized(self) -> bool:
        try:
            return int(self.headers.get("Content-Length") or 0) > MAX_BODY_BYTES
        except ValueError:
            return False  # reported as a bad request when the body is read

    # --- the request ------------------------------------------------------------------------------

    def _generic_handle(self) -> None:
        self._started = time.monotonic()
        self.local_gateway.state.route = "-"
        try:
            self._handle()
        except ProblemError as exc:
            self._send_error_response(exc)
            if exc.CODE == 413:
                self._discard_unread_body()
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception as exc:  # a fault of this layer (or the app escaping chalice): say so, log no data
            log.error("local server failed on %s: %s", self.local_gateway.state.route, type(exc).__name__)
            self.send_problem(500, "Internal server error", "The local server failed on this request")

    def _discard_unread_body(self) -> None:
        """Drop (bounded) what the client still sends: closing on unread data would reset the answer."""
        try:
            self.wfile.flush()
            budget = min(int(self.headers.get("Content-Length") or 0), LINGER_BYTES)
            self.connection.settimeout(1.0)
            deadline = time.monotonic() + LINGER_SECONDS
            while budget > 0 and time.monotonic() < deadline:
                chunk = self.rfile.read1(min(65536, budget))
                if not chunk:
                    break
                budget -= len(chunk)
        except (OSError, ValueError):
            pass

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def _handle(self) -> None:
        keep_alive = not self.close_connection
        self.close_connection = True  # until the body has been read: an early answer leaves it unread
        header_bytes = sum(len(k) + len(v) + 4 for k, v in self.headers.items())
        if header_bytes > MAX_HEADER_BYTES:
            raise ProblemError(400, "Bad request", f"Request headers are limited to {MAX_HEADER_BYTES} bytes")
        if self.headers.get("Transfer-Encoding"):
            raise ProblemError(411, "Length required", "Send the body with a Content-Length header")
        length_text = self.headers.get("Content-Length") or "0"
        if not length_text.isdigit():
            raise ProblemError(400, "Bad request", "Content-Length must be a non-negative integer")
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            raise ProblemError(413, "Payload too large", TOO_LARGE)
        target = normalise_target(self.path)
        body = self.rfile.read(length) if length else None
        if body is not None and len(body) < length:
            raise ConnectionError("the client closed the connection mid-body")
        self.close_connection = not keep_alive
        headers = dict(self.headers)
        forwarded = self.headers.get("X-Forwarded-For")
        self.local_gateway.state.source_ip = client_ip(forwarded, self.client_address[0])
        try:
            response = self.local_gateway.handle_request(
                method=self.command, path=target, headers=headers, body=body
            )
        except ProblemError:
            raise
        except LocalGatewayException as exc:  # the authorizer said no
            self._send_error_response(exc)
            return
        status = response["statusCode"]
        out_headers = dict(response.get("headers") or {})
        out_headers.update(response.get("multiValueHeaders") or {})
        response = self._handle_binary(response)
        self._send_http_response(status, out_headers, response.get("body"))

    def _send_http_response_with_body(self, code: int, headers: Any, body: Any) -> None:
        # chalice only looks for `Content-Type`; an app may spell it in lower case
        for key in list(headers):
            if key.lower() == "content-type" and key != "Content-Type":
                headers["Content-Type"] = headers.pop(key)
        if self.command == "HEAD":
            self._send_http_response_no_body(code, headers)
            return
        super()._send_http_response_with_body(code, headers, body)

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        """One access log line with the route template, never the path or query (they hold data)."""
        millis = (time.monotonic() - self._started) * 1000
        log.info("%s %s %s %.1fms", self.command, self.local_gateway.state.route, code, millis)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence http.server's own stderr lines (they print the raw request line)."""


class HTTPServer(ThreadedHTTPServer):
    """The threaded server, with a larger listen backlog for load tests."""

    request_queue_size = 128


def _make_local(app: Any) -> Any:
    """Give the app a thread-local `current_request`, as `chalice local` does."""
    if not isinstance(app, LocalChalice):
        app.__class__ = type("LocalApp", (LocalChalice, app.__class__), {})
    return app


class Server:
    """The local HTTP server for a Chalice app, serving from a background thread."""

    def __init__(self, app: Any, port: int | None = None, host: str = HOST) -> None:
        if port is None:
            port = int(os.environ.get("PORT") or 8000)
        app = _make_local(app)
        config = Config.create(
            chalice_stage="local", app_name=app.app_name, lambda_timeout=900, lambda_memory_size=1024
        )
        gateway = Gateway(app, config)

        def handler(request: Any, address: Any, server: Any, **_: Any) -> RequestHandler:
            return RequestHandler(request, address, server, gateway)

        self._dev = LocalDevServer(
            app,
            config,
            host,
            port,
            handler_cls=handler,
            server_cls=HTTPServer,
        )
        self.host, self.port = self._dev.server.server_address[:2]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL (`http://127.0.0.1:PORT`)."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        """Serve from a daemon thread; return the URL."""
        self._thread = threading.Thread(target=self._dev.server.serve_forever, name="http", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        if self._thread is not None:
            self._dev.server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._dev.server.server_close()


def serve(app: Any, port: int | None = None) -> Server:
    """Start serving `app` on 127.0.0.1:`port` (default `PORT`, else 8000) and return the server."""
    server = Server(app, port)
    server.start()
    return server
