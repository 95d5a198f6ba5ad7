"""HTTP/1.1 request framing: where one request ends, checked before any thread sees it.

The worker's event loop (``webhook/worker.py``) feeds each connection's decrypted bytes to a
:class:`RequestReader` and hands a request to a thread only once it is whole, so a client
that sends its headers or body a byte at a time never ties up a thread. The grammar and the
refusals follow RFC 9112 (HTTP/1.1 message syntax): a request line of three parts, header
fields without whitespace before the colon and without obsolete line folding (§5.1, §5.2),
Content-Length or chunked Transfer-Encoding but never both (§6.1, §6.3: the smuggling
guard), chunked as the final coding (§7). Everything here is pure: bytes in, requests or a
:class:`FramingError` (status and message) out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_BODY = 8 << 20  # 8 MiB; kube-apiserver's own request limit is 3 MiB per object
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_VERSION = re.compile(rb"HTTP/(\d)\.(\d)\Z")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}\Z")


@dataclass(frozen=True, slots=True)
class Limits:
    """What one request may take; the server's flags set them (``oomguard webhook -h``)."""

    max_body: int = MAX_BODY
    max_header_bytes: int = 64 << 10  # request line and header fields together
    max_header_fields: int = 100


@dataclass(slots=True)
class Request:
    method: str
    target: str
    version: str  # "HTTP/1.1" or "HTTP/1.0"
    headers: list[tuple[str, str]]  # names lower-cased, values as sent (latin-1)
    body: bytes
    keep_alive: bool


class FramingError(Exception):
    """A request that cannot be framed: answered with ``status`` and the connection closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True)
class _Head:
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    keep_alive: bool
    length: int | None  # None: chunked
    expect_continue: bool


@dataclass(slots=True)
class RequestReader:
    """One connection's requests, from the bytes as they arrive.

    ``feed`` the bytes, then call ``next_request`` until it returns None (more bytes
    needed). ``in_request`` tells whether part of a request has arrived (for the header and
    body time limits), ``in_body`` whether its head is complete."""

    limits: Limits = field(default_factory=Limits)
    buffer: bytearray = field(default_factory=bytearray)
    _head: _Head | None = None
    _chunks: list[bytes] = field(default_factory=list)
    _chunked_size: int = 0
    _chunks_done: bool = False
    continue_sent: bool = False

    def feed(self, data: bytes) -> None:
        self.buffer += data

    @property
    def in_request(self) -> bool:
        return self._head is not None or bool(self.buffer)

    @property
    def held_bytes(self) -> int:
        """Bytes of unfinished requests held: the buffer and the chunks read so far."""
        return len(self.buffer) + self._chunked_size

    @property
    def in_body(self) -> bool:
        return self._head is not None

    @property
    def wants_continue(self) -> bool:
        """Whether the client waits for ``100 Continue`` before sending the body."""
        return self._head is not None and self._head.expect_continue and \
            not self.continue_sent

    def next_request(self) -> Request | None:
        head = self._head
        if head is None:
            head = self._read_head()
            if head is None:
                return None
            self._head = head
            self.continue_sent = False
        body = self._read_body(head)
        if body is None:
            return None
        self._head = None
        return Request(head.method, head.target, head.version, head.headers, body,
                       head.keep_alive)

    # -- the head --------------------------------------------------------------------------
    def _read_head(self) -> _Head | None:
        buffer = self.buffer
        # RFC 9112 §2.2: empty lines before a request line are ignored
        while buffer[:2] == b"\r\n":
            del buffer[:2]
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > self.limits.max_header_bytes:
                raise FramingError(431, "the request line and header fields are over "
                                        f"{self.limits.max_header_bytes} bytes")
            return None
        if end > self.limits.max_header_bytes:
            raise FramingError(431, "the request line and header fields are over "
                                    f"{self.limits.max_header_bytes} bytes")
        raw = bytes(buffer[:end])
        del buffer[:end + 4]
        return _parse_head(raw, self.limits)

    # -- the body --------------------------------------------------------------------------
    def _read_body(self, head: _Head) -> bytes | None:
        if head.length is not None:
            if len(self.buffer) < head.length:
                return None
            body = bytes(self.buffer[:head.length])
            del self.buffer[:head.length]
            return body
        if not self._read_chunks():
            return None
        body = b"".join(self._chunks)
        self._chunks, self._chunked_size, self._chunks_done = [], 0, False
        return body

    def _read_chunks(self) -> bool:
        """Consume whole chunks (RFC 9112 §7.1); True once the last chunk and the trailer
        section have arrived."""
        buffer = self.buffer
        while not self._chunks_done:
            line_end = buffer.find(b"\r\n")
            if line_end < 0:
                if len(buffer) > 4096:
                    raise FramingError(400, "a chunk size line is too long")
                return False
            size_text = bytes(buffer[:line_end]).split(b";", 1)[0].strip(b" \t")
            if not _HEX.match(size_text):
                raise FramingError(400, "a chunk size is not hexadecimal")
            size = int(size_text, 16)
            if size == 0:
                del buffer[:line_end + 2]
                self._chunks_done = True
                break
            if self._chunked_size + size > self.limits.max_body:
                raise FramingError(413, f"the body is over {self.limits.max_body} bytes")
            if len(buffer) < line_end + 2 + size + 2:
                return False
            start = line_end + 2
            if buffer[start + size:start + size + 2] != b"\r\n":
                raise FramingError(400, "a chunk does not end with CRLF")
            self._chunks.append(bytes(buffer[start:start + size]))
            self._chunked_size += size
            del buffer[:start + size + 2]
        # the trailer section: field lines up to an empty line, discarded
        if buffer[:2] == b"\r\n":
            del buffer[:2]
            return True
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > self.limits.max_header_bytes:
                raise FramingError(431, "the trailer fields are too long")
            return False
        del buffer[:end + 4]
        return True


def _parse_head(raw: bytes, limits: Limits) -> _Head:
    lines = raw.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not _TOKEN.match(parts[0]) or not parts[1]:
        raise FramingError(400, "malformed request line")
    method, target, version = parts
    match = _VERSION.match(version)
    if not match:
        raise FramingError(400, "malformed HTTP version")
    if match.group(1) != b"1":
        raise FramingError(505, f"HTTP version {version.decode('latin-1')} is not supported")
    http10 = match.group(2) == b"0"
    if len(lines) - 1 > limits.max_header_fields:
        raise FramingError(431, f"more than {limits.max_header_fields} header fields")
    headers: list[tuple[str, str]] = []
    lengths: set[bytes] = set()
    codings: list[bytes] = []
    connection: list[bytes] = []
    expect = False
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):
            raise FramingError(400, "obsolete line folding in a header field")
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.match(name):
            raise FramingError(400, "malformed header field")
        value = value.strip(b" \t")
        if b"\r" in value or b"\n" in value or b"\0" in value:
            raise FramingError(400, "a control character in a header field")
        lower = name.lower()
        if lower == b"content-length":
            lengths.update(v.strip(b" \t") for v in value.split(b","))
        elif lower == b"transfer-encoding":
            codings.extend(c.strip(b" \t").lower() for c in value.split(b",") if c.strip())
        elif lower == b"connection":
            connection.extend(c.strip(b" \t").lower() for c in value.split(b","))
        elif lower == b"expect":
            expect = value.lower() == b"100-continue"
        headers.append((lower.decode("latin-1"), value.decode("latin-1")))
    length: int | None = 0
    if codings:
        if lengths:  # RFC 9112 §6.1: a sender must not send both; a smuggling attempt
            raise FramingError(400, "both Content-Length and Transfer-Encoding")
        if http10:
            raise FramingError(400, "Transfer-Encoding in an HTTP/1.0 request")
        if codings != [b"chunked"]:
            raise FramingError(501, "only the chunked transfer coding is supported")
        length = None
    elif lengths:
        if len(lengths) != 1 or not next(iter(lengths)).isdigit():
            raise FramingError(400, "malformed Content-Length")
        length = int(next(iter(lengths)))
        if length > limits.max_body:
            raise FramingError(413, f"the body is {length} bytes; at most {limits.max_body} "
                                    "are accepted")
    keep_alive = b"keep-alive" in connection if http10 else b"close" not in connection
    return _Head(method.decode("latin-1"), target.decode("latin-1"),
                 version.decode("latin-1"), headers, keep_alive, length,
                 expect and not http10)
