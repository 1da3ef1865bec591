"""The local HTTP server behaves like API Gateway in front of the app, and never answers 5xx itself.

These tests open loopback sockets to a server on a free port of 127.0.0.1, nothing else.
"""

from __future__ import annotations

import http.client
import json
import socket

import pytest
from chalice import Chalice

from chalicelib.local.server import MAX_BODY_BYTES, Server, client_ip, normalise_target


def make_app():
    app = Chalice(app_name="servertest")

    @app.route("/ip")
    def ip():
        return {"source_ip": app.current_request.context["identity"]["sourceIp"]}

    @app.route("/items/{item_id}")
    def item(item_id):
        return {"item_id": item_id, "query": app.current_request.query_params}

    @app.route("/echo", methods=["POST"])
    def echo():
        return {"length": len(app.current_request.raw_body or b"")}

    return app


@pytest.fixture(scope="module")
def server():
    srv = Server(make_app(), port=0)
    srv.start()
    yield srv
    srv.stop()


def raw(server, data: bytes):
    """Send raw bytes, return (status, headers, body)."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(data)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, dict(response.getheaders()), response.read()


def get(server, path, headers=None):
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, response.getheader("Content-Type"), body


def test_an_unknown_path_is_a_404_problem_not_missing_authentication_token(server):
    status, content_type, body = get(server, "/nowhere", {"Authorization": "Bearer x"})
    assert status == 404
    assert content_type == "application/problem+json"
    assert json.loads(body) == {
        "type": "about:blank",
        "title": "Not found",
        "status": 404,
        "detail": "No route for GET /nowhere",
        "errors": [],
    }


def test_the_client_ip_is_the_first_forwarded_address_else_the_peer(server):
    assert json.loads(get(server, "/ip", {"X-Forwarded-For": "220.181.38.148, 10.0.0.1"})[2]) == {
        "source_ip": "220.181.38.148"
    }
    assert json.loads(get(server, "/ip")[2]) == {"source_ip": "127.0.0.1"}
    assert json.loads(get(server, "/ip", {"X-Forwarded-For": "not-an-ip"})[2]) == {"source_ip": "127.0.0.1"}
    assert client_ip(" 2001:db8::1 ,1.2.3.4", "127.0.0.1") == "2001:db8::1"


def test_routes_and_query_strings_reach_the_app(server):
    status, _, body = get(server, "/items/42?q=%E4%B8%AD+x&empty=")
    assert status == 200
    assert json.loads(body) == {"item_id": "42", "query": {"q": "中 x", "empty": ""}}


@pytest.mark.parametrize(
    "target",
    [
        b"/items/%zz",
        b"/items/%ff",
        b"/items/42?q=%ff%fe",
        b"/items/42?q=%",
        b"/items/\xff\xfe",
        b"/items/42?\xc3",
    ],
)
def test_malformed_targets_get_400_problem(server, target):
    status, headers, body = raw(server, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 400
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["status"] == 400


def test_raw_utf8_in_the_path_is_accepted_percent_encoded(server):
    status, _, body = raw(server, "GET /items/中 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert status == 200
    assert json.loads(body)["item_id"] == "%E4%B8%AD"  # API Gateway passes path parameters undecoded
    assert normalise_target("/a/b?x=1") == "/a/b?x=1"


def test_huge_headers_get_400_problem(server):
    long_line = b"X-Big: " + b"a" * 70_000 + b"\r\n"
    status, headers, _ = raw(server, b"GET /ip HTTP/1.1\r\nHost: x\r\n" + long_line + b"\r\n")
    assert status == 400
    assert headers["Content-Type"] == "application/problem+json"
    many = b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 500) for i in range(40))
    status, _, _ = raw(server, b"GET /ip HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert status == 400


def test_garbage_and_unknown_methods_never_get_a_5xx(server):
    status, headers, _ = raw(server, b"HELLO\r\n\r\n")
    assert 400 <= status < 500
    status, headers, _ = raw(server, b"BREW /ip HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 405
    assert headers["Content-Type"] == "application/problem+json"
    status, _, _ = raw(server, b"GET /ip HTTP/9.9\r\nHost: x\r\n\r\n")
    assert 400 <= status < 500


def test_a_body_over_64_kib_gets_413_without_being_read(server):
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    status, headers, body = raw(server, head + b"Content-Length: %d\r\n\r\n" % (MAX_BODY_BYTES + 1))
    assert status == 413
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["status"] == 413
    status, _, _ = raw(
        server, head + b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % (10 * MAX_BODY_BYTES)
    )
    assert status == 413


def test_a_body_within_the_limit_reaches_the_app(server):
    body = b"x" * MAX_BODY_BYTES
    request = b"POST /echo HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    status, _, answer = raw(server, request % len(body) + body)
    assert status == 200
    assert json.loads(answer) == {"length": MAX_BODY_BYTES}


def test_bad_lengths_and_chunked_bodies_are_client_errors(server):
    status, _, _ = raw(server, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
    assert status == 400
    chunked = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    status, _, _ = raw(server, chunked)
    assert status == 411


def test_a_connection_stays_usable_after_a_404(server):
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    conn.request("GET", "/nowhere")
    first = conn.getresponse()
    first.read()
    conn.request("GET", "/ip")
    second = conn.getresponse()
    assert (first.status, second.status) == (404, 200)
    second.read()
    conn.close()
