"""``oomguard diagnose`` reports: JSON (a stable contract) and text (read in ten seconds)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from oomguard.policies.incidents.explain import size
from oomguard.policies.incidents.model import Diagnosis, Incident, iso


def json_report(diagnosis: Diagnosis) -> str:
    return b"".join(json_chunks(diagnosis)).decode()


def json_chunks(diagnosis: Diagnosis) -> Iterator[bytes]:
    """The JSON report piece by piece, byte for byte what ``orjson.dumps(diagnosis.to_json(),
    option=OPT_INDENT_2)`` prints plus a newline, without the whole document in memory (one
    incident at a time: 150,000 pods give a report of ~10 MB). JSON strings hold no raw
    newline, so indenting an item's lines is a plain replace."""
    import orjson

    sections = diagnosis.sections()
    yield b"{\n"
    for number, (key, items) in enumerate(sections, 1):
        yield b'  "' + key.encode() + b'": '
        if items:
            yield b"[\n"
            last = len(items) - 1
            for index, item in enumerate(items):
                body = orjson.dumps(item.to_json(), option=orjson.OPT_INDENT_2)
                end = b",\n" if index < last else b"\n"
                yield b"    " + body.replace(b"\n", b"\n    ") + end
            yield b"  ]"
        else:
            yield b"[]"
        yield b",\n" if number < len(sections) else b"\n"
    yield b"}\n"


def _size(value: int | None) -> str:
    return "-" if value is None else size(value)


def _group_key(incident: Incident) -> tuple[str, str]:
    ns = incident.namespace or "-"
    if incident.owner:
        return ns, f"{incident.owner[0]} {ns}/{incident.owner[1]}"
    if incident.pod:
        return ns, f"Pod {ns}/{incident.pod}"
    return ns, f"Node {incident.node or '?'} (no pod)"


def text_report(diagnosis: Diagnosis, *, color: bool = False) -> str:
    return "".join(text_chunks(diagnosis))


def text_chunks(diagnosis: Diagnosis) -> Iterator[str]:
    """The text report a line at a time (newline included)."""
    for line in _text_lines(diagnosis):
        yield line + "\n"


def _text_lines(diagnosis: Diagnosis) -> Iterator[str]:
    groups: dict[tuple[str, str], list[Incident]] = {}
    for incident in diagnosis.incidents:  # already newest first
        groups.setdefault(_group_key(incident), []).append(incident)
    for (_, title), items in groups.items():
        plural = "s" if len(items) > 1 else ""
        yield f"{title}: {len(items)} incident{plural}"
        for incident in items:
            yield from _block(incident)
        yield ""
    counts = Counter(i.type for i in diagnosis.incidents)
    nodes = [n for n in diagnosis.nodes if n.incidents]
    if nodes:
        yield "Nodes with incidents:"
        for node in nodes:
            pressure = {True: "MemoryPressure", False: "no pressure", None: "pressure ?"}[
                node.memory_pressure]
            yield (f"  {node.name}: allocatable {_size(node.allocatable)} of "
                   f"{_size(node.capacity)}, requested {_size(node.requested)}, limits "
                   f"{_size(node.limits)}, {pressure}, {node.incidents} incident"
                   f"{'s' if node.incidents != 1 else ''}")
        yield ""
    if diagnosis.incidents:
        kinds = ", ".join(f"{n} {t}" for t, n in counts.most_common())
        yield (f"{len(diagnosis.incidents)} incident"
               f"{'s' if len(diagnosis.incidents) != 1 else ''} ({kinds}).")
    else:
        yield "No memory incidents found."


def _block(incident: Incident) -> list[str]:
    pod = f"{incident.namespace}/{incident.pod}" if incident.pod else "(pod unknown)"
    head = f"  {iso(incident.time) or 'time unknown'}  {incident.type}  {pod}"
    if incident.node:
        head += f"  on {incident.node}"
    if incident.count > 1:
        head += f"  x{incident.count}"
    head += f"  [{incident.confidence}]"
    cause = incident.cause[:1].upper() + incident.cause[1:]
    lines = [head, f"    {cause}."]
    for container in incident.containers:
        parts = [f"request {_size(container.request)}", f"limit {_size(container.limit)}"]
        if container.usage is not None:
            parts.append(f"usage {_size(container.usage)}")
        if container.oom_score_adj is not None:
            parts.append(f"oom_score_adj {container.oom_score_adj}")
        kind = "init container" if container.init else "container"
        lines.append(f"    {kind} {container.name}: " + ", ".join(parts))
    if incident.qos:
        lines.append(f"    QoS class {incident.qos}")
    if incident.evidence:
        lines.append("    evidence:")
        for item in incident.evidence[:6]:
            lines.append(f"      {item.source}: {_clip(item.text)}")
    if incident.why:
        lines.append(f"    why: {incident.why[0]}")
        lines.extend(f"         {w}" for w in incident.why[1:])
    if incident.prevention:
        lines.append("    oomguard would have flagged:")
        for p in incident.prevention[:6]:
            lines.append(f"      {p.rule} {p.severity}: {p.message}")
    if incident.advice:
        lines.append(f"    change: {incident.advice[0]}")
        lines.extend(f"            {a}" for a in incident.advice[1:])
    return lines


def _clip(text: str, width: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def problems_text(diagnosis: Diagnosis) -> list[str]:
    lines = [f"oomguard: error: {e}" for e in diagnosis.errors]
    lines += [f"oomguard: notice: {n}" for n in diagnosis.notices]
    return lines


def summary(diagnosis: Diagnosis) -> dict[str, Any]:
    return {"incidents": len(diagnosis.incidents), "errors": len(diagnosis.errors)}
