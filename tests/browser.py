"""Headless Chromium (Debian package ``chromium``) for tests of the HTML report, and a
small PNG reader for its screenshots (stdlib zlib: 8-bit RGB/RGBA, not interlaced, the
format Chromium writes)."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--force-device-scale-factor=1"]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def run(url: str, profile: Path, *extra: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Chromium on ``url`` with console messages logged to stderr."""
    binary = chromium()
    assert binary is not None
    return subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
         *extra, url], capture_output=True, text=True, timeout=timeout, check=False)


def console_messages(stderr: str) -> list[str]:
    """The page's console lines (``CONSOLE(n)`` entries) Chromium logged."""
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Refused to" in line]


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB bytes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    height = depth = colour = interlace = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        previous = line
        rgb = bytes(line) if channels == 3 else bytes(
            b for j in range(0, stride, 4) for b in line[j:j + 3])
        rows.append(rgb)
    return width, height, rows


def colour_histogram(rows: list[bytes]) -> dict[bytes, int]:
    """How many pixels have each RGB value."""
    counts: dict[bytes, int] = {}
    for row in rows:
        for x in range(0, len(row), 3):
            pixel = row[x:x + 3]
            counts[pixel] = counts.get(pixel, 0) + 1
    return counts


def count_colour(histogram: dict[bytes, int], hex_colour: str, tolerance: int = 6) -> int:
    target = bytes.fromhex(hex_colour.lstrip("#"))
    return sum(n for pixel, n in histogram.items()
               if all(abs(pixel[c] - target[c]) <= tolerance for c in range(3)))
