"""Events of both APIs as one record.

core/v1 Event: ``involvedObject``, ``message``, ``count``, ``firstTimestamp``,
``lastTimestamp``, ``source.host``; events.k8s.io/v1 Event: ``regarding``, ``note``,
``deprecatedCount``, ``deprecatedFirstTimestamp``/``deprecatedLastTimestamp``,
``deprecatedSource.host``, ``reportingInstance``; both: ``eventTime`` and ``series``
(``count``, ``lastObservedTime``). The API server stores one object and serves it in both
shapes (pkg/apis/core/v1 and pkg/apis/events/v1 conversions), so the same event read
through both APIs has one ``metadata.uid``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

# reasons a memory diagnosis reads; any other event is dropped at once
RELEVANT_REASONS = frozenset({
    "Evicted", "FailedScheduling", "SystemOOM", "OOMKilling", "Unhealthy", "Killing",
    "ExceededGracePeriod", "EvictionThresholdMet", "NodeHasInsufficientMemory",
    "OutOfmemory", "Preempted", "Preempting", "BackOff", "OOMKilled", "TerminationByKubelet",
})
_FIELD_CONTAINER = re.compile(r"spec\.(initContainers|containers|ephemeralContainers)\{([^}]*)\}")


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (``2026-03-27T10:51:40Z``, ``...40.123456Z``), None otherwise."""
    if not isinstance(value, str) or len(value) < 19:
        if isinstance(value, datetime):  # YAML may have typed it already
            return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        try:  # Python 3.10 reads at most 6 fractional digits: MicroTime has 6, be lenient
            stamp = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text))
        except ValueError:
            return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


@dataclass
class EventRecord:
    api: str                    # "v1" or "events.k8s.io/v1"
    uid: str | None
    namespace: str | None       # of the event
    name: str | None
    kind: str | None            # of the object it is about
    object_namespace: str | None
    object_name: str | None
    object_uid: str | None
    reason: str
    message: str
    count: int
    first: datetime | None
    last: datetime | None
    host: str | None
    container: str | None = None   # from involvedObject.fieldPath
    annotations: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""           # where it came from, for evidence lines

    @property
    def label(self) -> str:
        return f"Event {self.namespace}/{self.name}" if self.namespace else f"Event {self.name}"


def _int(value: Any, default: int = 1) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 \
        else default


def normalize_event(obj: Mapping[str, Any], source: str = "") -> EventRecord | None:
    """The record of one Event (either API); None when its reason is not a memory one."""
    reason = obj.get("reason")
    if not isinstance(reason, str) or reason not in RELEVANT_REASONS:
        return None
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    new_api = "regarding" in obj or "note" in obj or \
        str(obj.get("apiVersion", "")).startswith("events.k8s.io")
    target = obj.get("regarding" if new_api else "involvedObject")
    target = target if isinstance(target, dict) else {}
    message = obj.get("note" if new_api else "message")
    series = obj.get("series") if isinstance(obj.get("series"), dict) else {}
    assert isinstance(series, dict)
    if new_api:
        count = _int(series.get("count"), _int(obj.get("deprecatedCount")))
        first = parse_time(obj.get("deprecatedFirstTimestamp")) or parse_time(obj.get("eventTime"))
        last = (parse_time(series.get("lastObservedTime"))
                or parse_time(obj.get("deprecatedLastTimestamp"))
                or parse_time(obj.get("eventTime")))
        src = obj.get("deprecatedSource") if isinstance(obj.get("deprecatedSource"), dict) else {}
    else:
        count = _int(obj.get("count"), _int(series.get("count")))
        first = parse_time(obj.get("firstTimestamp")) or parse_time(obj.get("eventTime"))
        last = (parse_time(obj.get("lastTimestamp"))
                or parse_time(series.get("lastObservedTime"))
                or parse_time(obj.get("eventTime")))
        src = obj.get("source") if isinstance(obj.get("source"), dict) else {}
    assert isinstance(src, dict)
    first = first or parse_time(meta.get("creationTimestamp"))
    last = last or first
    host = src.get("host") if isinstance(src.get("host"), str) else None
    if host is None and target.get("kind") == "Node":
        host = target.get("name") if isinstance(target.get("name"), str) else None
    field_path = target.get("fieldPath")
    container = None
    if isinstance(field_path, str):
        match = _FIELD_CONTAINER.search(field_path)
        container = match.group(2) if match else None
    annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
    assert isinstance(annotations, dict)

    def text(value: Any) -> str | None:
        return value if isinstance(value, str) and value else None

    return EventRecord(
        api="events.k8s.io/v1" if new_api else "v1", uid=text(meta.get("uid")),
        namespace=text(meta.get("namespace")), name=text(meta.get("name")),
        kind=text(target.get("kind")), object_namespace=text(target.get("namespace")),
        object_name=text(target.get("name")), object_uid=text(target.get("uid")),
        reason=reason, message=message if isinstance(message, str) else "",
        count=count, first=first, last=last, host=host, container=container,
        annotations=annotations, source=source)
