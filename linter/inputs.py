"""Find and read the linter's inputs: files, directories, stdin.

Reading never raises and never hangs: an unreadable, binary, non-UTF-8 or oversized file, a
dangling symbolic link or a FIFO in a directory becomes an :class:`InputError` with its
location, and the other inputs are still linted.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
NODE_SUFFIXES = (".conf", ".env")
STDIN = "-"
# Larger files are refused (--max-file-size): a whole file is held in memory; linting one of
# small manifests peaks at about 4.6 times its size and runs at about 2 MB/s (100 MB: 52 s).
DEFAULT_MAX_FILE_SIZE = 256 << 20


@dataclass(frozen=True)
class InputError:
    """What could not be linted; a problem of a whole file is located at its line 1, column 1
    (the README promises a file, line and column for each)."""

    file: str
    message: str
    line: int | None = 1
    column: int | None = 1

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
    size: int = 0  # bytes, as the directory walk or command line saw it (0 for stdin)


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
            continue
        info = _stat(path, errors)
        if info is None:
            continue
        if stat.S_ISDIR(info.st_mode):
            files.extend(_walk(path, exclude, errors))
            continue
        # Named on the command line, anything that can be read is read: also a pipe such
        # as `<(helm template ...)`, within --max-file-size.
        name = (names or {}).get(path, path)
        if not _excluded(name, exclude):
            files.append(InputFile(path, name, size=info.st_size))
    return files, errors


def _stat(path: str, errors: list[InputError]) -> os.stat_result | None:
    """The path's status (symbolic links followed), or None with the reason in ``errors``."""
    try:
        return os.stat(path)
    except OSError as exc:
        if os.path.islink(path):
            what = "a symbolic link loop" if exc.errno == errno.ELOOP else \
                "a dangling symbolic link"
            problem = f"cannot read: {what} ({exc.strerror}); not linted"
        elif exc.errno == errno.ENOENT:
            problem = "no such file or directory"
        else:
            problem = f"cannot read: {exc.strerror or exc}"
        errors.append(InputError(path, problem))
        return None


def _walk(root: str, exclude: Sequence[str], errors: list[InputError]
          ) -> Iterator[InputFile]:
    def unreadable(exc: OSError) -> None:  # a directory that cannot be listed
        errors.append(InputError(exc.filename or root, f"cannot read the directory: "
                                                        f"{exc.strerror or exc}"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in sorted(filenames):
            lower = filename.lower()
            node_candidate = lower.endswith(NODE_SUFFIXES)
            if not node_candidate and not lower.endswith(MANIFEST_SUFFIXES):
                continue
            full = os.path.join(dirpath, filename)
            if _excluded(full, exclude):
                continue
            info = _stat(full, errors)
            if info is None:
                continue
            if not stat.S_ISREG(info.st_mode):
                # a FIFO would block the walk forever, a device never end
                errors.append(InputError(full, f"not a regular file ({_file_type(info)}); "
                                               "only regular files are read in a directory"))
                continue
            yield InputFile(full, full, node_candidate=node_candidate, explicit=False,
                            size=info.st_size)


def _file_type(info: os.stat_result) -> str:
    mode = info.st_mode
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _decode(data: bytes, name: str) -> tuple[str | None, InputError | None]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError:
            pass
    nul = data.find(b"\x00", 0, 8192)
    if nul >= 0:
        line, column = _position(data, nul)
        return None, InputError(name, "binary file (it contains NUL bytes); not linted", line,
                                column)
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line, column = _position(data, exc.start)
        return None, InputError(name, f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot "
                                      "be decoded; save the file as UTF-8", line, column)


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in bytes) of ``offset``."""
    return data.count(b"\n", 0, offset) + 1, offset - (data.rfind(b"\n", 0, offset) + 1) + 1


def read_text(item: InputFile, max_bytes: int = DEFAULT_MAX_FILE_SIZE
              ) -> tuple[str | None, InputError | None]:
    """The file's text, or why it cannot be linted."""
    try:
        if item.path == STDIN:
            data = sys.stdin.buffer.read(max_bytes + 1)
        else:
            with open(item.path, "rb") as handle:
                info = os.fstat(handle.fileno())
                if stat.S_ISREG(info.st_mode) and info.st_size > max_bytes:
                    return None, _too_large(item, max_bytes, info.st_size)
                if stat.S_ISREG(info.st_mode):
                    data = handle.read(info.st_size + 1)  # one byte more: has it grown?
                    if len(data) > info.st_size:
                        data += handle.read(max_bytes + 1 - len(data))
                else:  # a pipe or a device: at most one byte more than the limit
                    data = handle.read(max_bytes + 1)
    except OSError as exc:
        return None, InputError(item.name, f"cannot read: {exc.strerror or exc}")
    if len(data) > max_bytes:
        return None, _too_large(item, max_bytes, None)
    return _decode(data, item.name)


def _too_large(item: InputFile, max_bytes: int, size: int | None) -> InputError:
    limit = f"--max-file-size ({_size(max_bytes)})"
    what = f"the file has {_size(size)}, more than {limit}" if size is not None else \
        f"the input is longer than {limit}"
    return InputError(item.name, f"{what}; not linted")


def _size(size: int) -> str:
    return f"{size / (1 << 20):g} MiB" if size >= 1 << 20 else f"{size} bytes"
