"""Find and read the linter's inputs: files, directories, stdin.

Reading never raises: an unreadable, binary or non-UTF-8 file becomes an :class:`InputError`
with its location, and the other inputs are still linted.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
NODE_SUFFIXES = (".conf", ".env")
STDIN = "-"


@dataclass(frozen=True)
class InputError:
    file: str
    message: str
    line: int | None = None
    column: int | None = None

    def to_json(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "column": self.column,
                "message": self.message}


@dataclass(frozen=True)
class InputFile:
    """A file to lint; ``path`` is what to open ("-" for stdin), ``name`` what to print."""

    path: str
    name: str
    node_candidate: bool = False  # a *.conf/*.env file found by a directory walk
    # Named on the command line (or stdin), not found by a directory walk: a file there that
    # is no Kubernetes manifest is an error; in a walk it is only a notice.
    explicit: bool = True


def _excluded(name: str, patterns: Sequence[str]) -> bool:
    normalized = name[2:] if name.startswith("./") else name
    return any(fnmatch.fnmatch(normalized, p) or fnmatch.fnmatch(os.path.basename(name), p)
               for p in patterns)


def discover(paths: Sequence[str], exclude: Sequence[str] = (),
             names: Mapping[str, str] | None = None
             ) -> tuple[list[InputFile], list[InputError]]:
    """Expand the command-line paths into files, in a stable order."""
    files: list[InputFile] = []
    errors: list[InputError] = []
    for path in paths:
        if path == STDIN:
            files.append(InputFile(STDIN, "<stdin>"))
        elif os.path.isdir(path):
            files.extend(f for f in _walk(path) if not _excluded(f.name, exclude))
        elif os.path.exists(path):
            name = (names or {}).get(path, path)
            if not _excluded(name, exclude):
                files.append(InputFile(path, name))
        else:
            errors.append(InputError(path, "no such file or directory"))
    return files, errors


def _walk(root: str) -> Iterator[InputFile]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in sorted(filenames):
            full = os.path.join(dirpath, filename)
            lower = filename.lower()
            if lower.endswith(MANIFEST_SUFFIXES):
                yield InputFile(full, full, explicit=False)
            elif lower.endswith(NODE_SUFFIXES):
                yield InputFile(full, full, node_candidate=True, explicit=False)


def _decode(data: bytes, name: str) -> tuple[str | None, InputError | None]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:8192]:
        return None, InputError(name, "binary file (it contains NUL bytes); not linted")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, InputError(name, f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot "
                                      "be decoded; save the file as UTF-8", line, column)


def read_text(item: InputFile) -> tuple[str | None, InputError | None]:
    """The file's text, or why it cannot be linted."""
    try:
        if item.path == STDIN:
            data = sys.stdin.buffer.read()
        else:
            with open(item.path, "rb") as handle:
                data = handle.read()
    except OSError as exc:
        return None, InputError(item.name, f"cannot read: {exc.strerror or exc}")
    return _decode(data, item.name)
