"""HTTP/1.1 request framing (webhook/framing.py) and the answer bytes (webhook/wsgi.py):
pure, byte by byte, with the refusals RFC 9112 asks for."""

from __future__ import annotations

import pytest

from oomguard.webhook import wsgi
from oomguard.webhook.framing import FramingError, Limits, Request, RequestReader

POST = b"POST /validate?x=1 HTTP/1.1\r\nHost: w\r\nContent-Type: application/json\r\n"


def feed_bytewise(data: bytes, limits: Limits | None = None) -> list[Request]:
    reader = RequestReader(limits or Limits())
    got = []
    for i in range(len(data)):
        reader.feed(data[i:i + 1])
        while (request := reader.next_request()) is not None:
            got.append(request)
    assert not reader.in_request
    return got


def test_content_length_and_chunked_bodies_a_byte_at_a_time() -> None:
    data = (POST + b"Content-Length: 5\r\n\r\nhello" + POST +
            b"Transfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n"
            + b"\r\nGET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    first, second, third = feed_bytewise(data)
    assert (first.method, first.target, first.body, first.keep_alive) == \
        ("POST", "/validate?x=1", b"hello", True)
    assert second.body == b"abcde" and ("transfer-encoding", "chunked") in second.headers
    assert (third.version, third.body, third.keep_alive) == ("HTTP/1.0", b"", True)


def test_the_reader_tells_head_from_body_and_wants_continue() -> None:
    reader = RequestReader()
    reader.feed(POST[:10])
    assert reader.next_request() is None and reader.in_request and not reader.in_body
    reader.feed(POST[10:] + b"Expect: 100-continue\r\nContent-Length: 2\r\n\r\n")
    assert reader.next_request() is None and reader.in_body and reader.wants_continue
    reader.continue_sent = True
    assert not reader.wants_continue
    reader.feed(b"{}")
    request = reader.next_request()
    assert request is not None and request.body == b"{}" and not reader.in_request


@pytest.mark.parametrize("data, status, needle", [
    (POST + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "both"),
    (POST + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\n", 400, "Content-Length"),
    (POST + b"Content-Length: -1\r\n\r\n", 400, "Content-Length"),
    (POST + b"Transfer-Encoding: gzip, chunked\r\n\r\n", 501, "chunked"),
    (POST + b"Transfer-Encoding: chunked, gzip\r\n\r\n", 501, "chunked"),
    (POST + b"X-A: 1\r\n folded\r\n\r\n", 400, "folding"),
    (POST + b"X-A : 1\r\n\r\n", 400, "malformed header"),
    (b"GET /\r\n\r\n", 400, "request line"),
    (b"GET / HTTP/2.0\r\n\r\n", 505, "2.0"),
    (b"GET / HTTPS/1.1\r\n\r\n", 400, "version"),
    (b"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "HTTP/1.0"),
    (POST + b"Content-Length: %d\r\n\r\n" % ((8 << 20) + 1), 413, "at most 8388608"),
    (POST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "hexadecimal"),
    (POST + b"Transfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n", 400, "CRLF"),
    (POST + b"X-A: " + b"a" * (70 << 10), 431, "header fields"),
    (POST + b"".join(b"X-%d: 1\r\n" % i for i in range(101)) + b"\r\n", 431, "100"),
], ids=["cl-and-te", "two-lengths", "negative", "gzip-chunked", "chunked-not-last",
        "obs-fold", "space-before-colon", "two-part-line", "http2", "bad-version",
        "te-in-1.0", "declared-too-long", "bad-chunk-size", "chunk-without-crlf",
        "huge-head", "too-many-fields"])
def test_refusals(data: bytes, status: int, needle: str) -> None:
    reader = RequestReader()
    reader.feed(data)
    with pytest.raises(FramingError) as caught:
        reader.next_request()
    assert caught.value.status == status and needle in caught.value.message


def test_chunked_bodies_are_capped_while_they_are_read() -> None:
    reader = RequestReader(Limits(max_body=10))
    reader.feed(POST + b"Transfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n")
    assert reader.next_request() is None and reader.held_bytes == 8
    reader.feed(b"8\r\n")
    with pytest.raises(FramingError) as caught:
        reader.next_request()
    assert caught.value.status == 413 and caught.value.message == "the body is over 10 bytes"


def test_environ_follows_pep_3333() -> None:
    reader = RequestReader()
    reader.feed(b"POST /a%20b?q=%20 HTTP/1.1\r\nHost: w\r\nContent-Type: text/plain\r\n"
                b"X-Two: 1\r\nX-Two: 2\r\nX_Under: spoof\r\nContent-Length: 2\r\n\r\nhi")
    request = reader.next_request()
    assert request is not None
    env = wsgi.environ(request, ("10.0.0.1", 4000), ("0.0.0.0", 8443), True)
    assert env["PATH_INFO"] == "/a b" and env["QUERY_STRING"] == "q=%20"
    assert env["CONTENT_TYPE"] == "text/plain" and env["CONTENT_LENGTH"] == "2"
    assert env["HTTP_X_TWO"] == "1,2" and "HTTP_X_UNDER" not in env
    assert env["wsgi.input"].read() == b"hi" and env["wsgi.url_scheme"] == "https"
    assert (env["REMOTE_ADDR"], env["SERVER_PORT"]) == ("10.0.0.1", "8443")


def test_answers_frame_themselves_and_say_whether_the_connection_stays() -> None:
    kept = wsgi.answer(b"200 OK", [("Content-Type", "application/json"),
                                   ("Connection", "upgrade"), ("Content-Length", "99")],
                       b"{}", keep_alive=True)
    head, _, body = kept.partition(b"\r\n\r\n")
    assert body == b"{}" and b"Content-Length: 2\r\n" in head + b"\r\n"
    assert head.count(b"Connection:") == 1 and b"Connection: keep-alive" in head
    refused = wsgi.error_answer(413, "too big")
    assert refused.startswith(b"HTTP/1.1 413 Content Too Large\r\n")
    assert b"Connection: close\r\n" in refused and b"keep-alive" not in refused
    assert refused.endswith(b'{"error":"request too large","message":"too big"}')
