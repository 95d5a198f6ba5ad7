"""Kernel log text -> OOM kill records.

Formats: ``dmesg`` (``[ 1234.567890] ...``, seconds since boot), ``dmesg -T``
(``[Fri Mar 27 10:51:40 2026] ...``), ``journalctl -k`` (``Mar 27 10:51:40 HOST kernel: ...``,
with the hostname) and ``journalctl -k -o short-iso``.

The lines come from mm/oom_kill.c and mm/memcontrol.c (torvalds/linux):

- ``dump_header``: ``<comm> invoked oom-killer: gfp_mask=..., order=N, oom_score_adj=N``
  opens a kill;
- ``dump_oom_summary`` (4.19+): ``oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=...,
  cpuset=...,mems_allowed=...,oom_memcg=<path>,task_memcg=<path>,task=<comm>,pid=N,uid=N``;
  a global OOM prints ``global_oom`` instead of ``oom_memcg=``;
- ``mem_cgroup_print_oom_context`` before 4.19: ``Task in <path> killed as a result of limit
  of <path>``;
- ``mem_cgroup_print_oom_meminfo``: ``memory: usage <N>kB, limit <N>kB, failcnt <N>``;
- ``__oom_kill_process``: ``Memory cgroup out of memory: Killed process N (comm) total-vm:..kB,
  anon-rss:..kB, file-rss:..kB, shmem-rss:..kB, UID:N pgtables:..kB oom_score_adj:N``, with
  ``Out of memory:`` for the global killer; before 5.0 ``...: Kill process N (comm) score N or
  sacrifice child`` followed by ``Killed process N (comm) total-vm:...``. It closes a kill.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}

_DMESG = re.compile(r"^\[\s*(\d+\.\d+)\]\s?(.*)$")
_DMESG_T = re.compile(r"^\[(?:\w{3} )?(\w{3}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4})\]\s?(.*)$")
_JOURNAL = re.compile(r"^(\w{3}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.\d+)? (\S+) kernel: ?(.*)$")
_JOURNAL_ISO = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?) "
                          r"(\S+) kernel: ?(.*)$")
_INNER_STAMP = re.compile(r"^\[\s*(\d+\.\d+)\]\s?")

_INVOKED = re.compile(r"^(.+?) invoked oom-killer: .*?oom_score_adj=(-?\d+)")
_SUMMARY = re.compile(r"^oom-kill:constraint=(CONSTRAINT_\w+),(.*)$")
_TASK_IN = re.compile(r"^Task in (\S+) killed as a result of limit of (\S+)")
_MEMINFO = re.compile(r"^memory: usage (\d+)kB, limit (\d+)kB, failcnt (\d+)")
_KILLED = re.compile(r"^(?:(Memory cgroup out of memory|Out of memory"
                     r"(?: \(oom_kill_allocating_task\))?): )?"
                     r"Killed process (\d+) \(([^)]*)\) total-vm:(\d+)kB, anon-rss:(\d+)kB, "
                     r"file-rss:(\d+)kB, shmem-rss:(\d+)kB(?:.*?oom_score_adj:(-?\d+))?")
_KILL_OLD = re.compile(r"^(Memory cgroup out of memory|Out of memory): "
                       r"Kill process (\d+) \(([^)]*)\)")
# words that only OOM lines carry: a line with one that does not parse was cut
_OOM_WORDS = ("oom-kill:", "Killed process", "invoked oom-killer", "killed as a result of limit")
_DETECT = (_DMESG, _DMESG_T, _JOURNAL, _JOURNAL_ISO)


@dataclass
class KernelLine:
    number: int
    text: str                      # the message, without its prefix
    raw: str
    time: datetime | None = None   # wall clock (dmesg -T, journalctl)
    uptime: float | None = None    # seconds since boot (dmesg)
    host: str | None = None        # journalctl's hostname


@dataclass
class OOMKill:
    """One OOM kill as the kernel logged it."""

    file: str
    line: int                       # the line that closed it ("Killed process")
    host: str | None = None
    time: datetime | None = None
    uptime: float | None = None
    invoked_by: str | None = None
    constraint: str | None = None   # CONSTRAINT_MEMCG, CONSTRAINT_NONE, CONSTRAINT_CPUSET, ...
    global_oom: bool = False
    oom_memcg: str | None = None
    task_memcg: str | None = None
    task: str | None = None
    pid: int | None = None
    uid: int | None = None
    anon_rss: int | None = None     # bytes
    file_rss: int | None = None
    shmem_rss: int | None = None
    oom_score_adj: int | None = None
    memcg_usage: int | None = None  # bytes, "memory: usage"
    memcg_limit: int | None = None
    memcg_kill: bool | None = None  # "Memory cgroup out of memory" (True) / "Out of memory"
    lines: list[KernelLine] = field(default_factory=list)

    @property
    def is_global(self) -> bool:
        return self.global_oom or self.constraint == "CONSTRAINT_NONE" or (
            self.constraint is None and self.memcg_kill is False)

    @property
    def rss(self) -> int | None:
        parts = [v for v in (self.anon_rss, self.file_rss, self.shmem_rss) if v is not None]
        return sum(parts) if parts else None


@dataclass
class KernelLog:
    file: str
    kills: list[OOMKill]
    format: str                     # dmesg, dmesg -T, journalctl
    hosts: set[str] = field(default_factory=set)
    notices: list[tuple[int, str]] = field(default_factory=list)  # (line, message)


def looks_like_kernel_log(text: str) -> bool:
    """Content detection: most of the first non-blank lines carry a kernel log prefix."""
    lines = [ln for ln in text[:65536].splitlines()[:50] if ln.strip()]
    if not lines:
        return False
    hits = sum(1 for ln in lines if any(p.match(ln) for p in _DETECT))
    return hits * 2 > len(lines) or (hits > 0 and any(w in text[:65536] for w in _OOM_WORDS))


def _line(number: int, raw: str, year: int) -> KernelLine | None:
    match = _DMESG.match(raw)
    if match:
        return KernelLine(number, match.group(2), raw, uptime=float(match.group(1)))
    match = _DMESG_T.match(raw)
    if match:
        mon, day, hh, mm, ss, yr, text = match.groups()
        return KernelLine(number, text, raw, time=_stamp(int(yr), mon, day, hh, mm, ss))
    match = _JOURNAL.match(raw)
    if match:
        mon, day, hh, mm, ss, host, text = match.groups()
        line = KernelLine(number, text, raw, time=_stamp(year, mon, day, hh, mm, ss), host=host)
        inner = _INNER_STAMP.match(text)
        if inner:
            line.text, line.uptime = text[inner.end():], float(inner.group(1))
        return line
    match = _JOURNAL_ISO.match(raw)
    if match:
        stamp, host, text = match.groups()
        return KernelLine(number, text, raw, time=_iso(stamp), host=host)
    return None


def _stamp(year: int, mon: str, day: str, hh: str, mm: str, ss: str) -> datetime | None:
    try:  # journalctl and dmesg -T print the node's local time: read as UTC (nodes run UTC)
        return datetime(year, _MONTHS[mon], int(day), int(hh), int(mm), int(ss),
                        tzinfo=timezone.utc)
    except (KeyError, ValueError):
        return None


def _iso(text: str) -> datetime | None:
    text = text.replace(",", ".")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def _fields(rest: str) -> dict[str, str]:
    """``nodemask=(null),cpuset=x,global_oom,task_memcg=/a,task=b`` -> a dict (flags -> "")."""
    out: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, value = part.partition("=")
        out[key.strip()] = value if sep else ""
    return out


def parse_kernel_log(text: str, file: str, *, year: int | None = None) -> KernelLog:
    """Every OOM kill in ``text``; lines that are OOM lines but do not parse are notices."""
    year = year or datetime.now(timezone.utc).year
    kills: list[OOMKill] = []
    notices: list[tuple[int, str]] = []
    hosts: set[str] = set()
    formats: set[str] = set()
    current: OOMKill | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = _line(number, raw.rstrip("\r"), year)
        if line is None:
            if any(w in raw for w in _OOM_WORDS):
                notices.append((number, "an OOM line without a kernel log prefix: skipped"))
            continue
        formats.add("journalctl" if line.host else "dmesg -T" if line.time else "dmesg")
        if line.host:
            hosts.add(line.host)
        msg = line.text
        if current is not None and line.host and current.host and line.host != current.host:
            current = None  # another node's lines: a kill never spans hosts
        match = _INVOKED.match(msg)
        if match:
            if current is not None and (current.constraint or current.task_memcg):
                notices.append((current.lines[0].number,
                                "an OOM kill without its 'Killed process' line (cut?): kept"))
                kills.append(current)
            current = OOMKill(file, number, line.host, line.time, line.uptime,
                              invoked_by=match.group(1).strip(), lines=[line])
            continue
        match = _SUMMARY.match(msg)
        if match:
            current = current or OOMKill(file, number, line.host, line.time, line.uptime)
            current.lines.append(line)
            current.constraint = match.group(1)
            values = _fields(match.group(2))
            current.global_oom = "global_oom" in values
            current.oom_memcg = values.get("oom_memcg") or None
            current.task_memcg = values.get("task_memcg") or None
            current.task = values.get("task") or current.task
            current.pid = _int(values.get("pid")) or current.pid
            current.uid = _int(values.get("uid"))
            if "task" not in values or "pid" not in values:
                notices.append((number, "oom-kill summary line cut short: read what is there"))
            continue
        match = _TASK_IN.match(msg)
        if match:
            current = current or OOMKill(file, number, line.host, line.time, line.uptime)
            current.lines.append(line)
            current.task_memcg, current.oom_memcg = match.group(1), match.group(2)
            current.constraint = current.constraint or "CONSTRAINT_MEMCG"
            continue
        match = _MEMINFO.match(msg)
        if match and current is not None and current.memcg_usage is None:
            current.memcg_usage = int(match.group(1)) * 1024
            current.memcg_limit = int(match.group(2)) * 1024
            current.lines.append(line)
            continue
        match = _KILL_OLD.match(msg)
        if match:
            current = current or OOMKill(file, number, line.host, line.time, line.uptime)
            current.memcg_kill = match.group(1).startswith("Memory cgroup")
            current.pid, current.task = int(match.group(2)), match.group(3)
            current.lines.append(line)
            continue
        match = _KILLED.match(msg)
        if match:
            kill = current or OOMKill(file, number, line.host, line.time, line.uptime)
            kill.line = number
            kill.lines.append(line)
            kill.time, kill.uptime = line.time or kill.time, line.uptime or kill.uptime
            kill.host = line.host or kill.host
            if match.group(1):
                kill.memcg_kill = match.group(1).startswith("Memory cgroup")
            kill.pid, kill.task = int(match.group(2)), match.group(3)
            kill.anon_rss, kill.file_rss, kill.shmem_rss = (
                int(match.group(i)) * 1024 for i in (5, 6, 7))
            kill.oom_score_adj = _int(match.group(8))
            kills.append(kill)
            current = None
            continue
        if any(w in msg for w in _OOM_WORDS):
            notices.append((number, f"an OOM line cut or not understood: {msg[:80]!r}"))
    if current is not None and (current.constraint or current.task_memcg):
        notices.append((current.lines[0].number,
                        "an OOM kill without its 'Killed process' line (log cut?): kept"))
        kills.append(current)
    return KernelLog(file, kills, "/".join(sorted(formats)) or "unknown", hosts, notices)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def kills_of(logs: Iterable[KernelLog]) -> list[OOMKill]:
    return [kill for log in logs for kill in log.kills]
