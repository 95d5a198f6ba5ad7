"""Eviction thresholds, grace periods and minimum reclaims, read as the kubelet reads them.

The rules follow pkg/kubelet/eviction/helpers.go (parseThresholdStatement, parsePercentage,
parseGracePeriods, parseMinimumReclaims, validSignal) and the threshold arithmetic of
pkg/kubelet/eviction/api/types.go (GetThresholdQuantity):

- a signal must be one the kubelet knows, else it refuses to start;
- a value ending in ``%`` is a percentage: exactly ``0%`` and ``100%`` are dropped (no
  threshold at all), others go through Go's ``strconv.ParseFloat(s, 32)``, are divided by
  100 in float32 and must lie in [0, 1];
- any other value is a resource quantity that must be > 0;
- a percentage threshold becomes bytes as ``int64(float64(capacity) * float64(float32 pct))``.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass
from decimal import Decimal

from oomguard.policies.quantity import QuantityError, parse_quantity

MEMORY = "memory.available"

# pkg/kubelet/eviction/api/types.go; helpers.go validSignal accepts those of signalToResource.
SIGNALS = frozenset({
    "memory.available", "allocatableMemory.available", "nodefs.available",
    "nodefs.inodesFree", "imagefs.available", "imagefs.inodesFree", "containerfs.available",
    "containerfs.inodesFree", "pid.available",
})

# pkg/kubelet/eviction/defaults_linux.go (DefaultEvictionHard, with imagefs.inodesFree since
# v1.31); applied by cmd/kubelet/app/server.go loadConfigFile when evictionHard is nil.
DEFAULT_EVICTION_HARD: dict[str, str] = {
    "memory.available": "100Mi", "nodefs.available": "10%", "nodefs.inodesFree": "5%",
    "imagefs.available": "15%", "imagefs.inodesFree": "5%",
}

_GO_DECIMAL_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")
_GO_HEX_FLOAT = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)"
                           r"[pP][+-]?\d+\Z")
_GO_SPECIAL_FLOAT = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf,
                     "infinity": math.inf, "+infinity": math.inf, "-infinity": -math.inf,
                     "nan": math.nan}
# time.ParseDuration units, in nanoseconds (both micro signs are accepted).
_DURATION_UNITS = {"ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000,
                   "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
                   "h": 3_600_000_000_000}
_DURATION_PART = re.compile(r"(\d*)(?:\.(\d*))?([^\d.]*)")


def to_float32(value: float) -> float:
    """Round a Python float to the nearest IEEE float32 (as Go's float32() does)."""
    if math.isnan(value) or math.isinf(value):
        return value
    return float(struct.unpack("f", struct.pack("f", value))[0])


def parse_go_float32(text: str) -> float:
    """``strconv.ParseFloat(text, 32)``: Go float syntax only (no spaces, no underscores
    without a base prefix), rounded to float32; raises ValueError like Go returns an error."""
    special = _GO_SPECIAL_FLOAT.get(text.lower())
    if special is not None:
        return special
    out_of_range = f"strconv.ParseFloat: parsing {text!r}: value out of range"
    try:
        if _GO_DECIMAL_FLOAT.match(text):
            value = float(text)
        elif _GO_HEX_FLOAT.match(text):
            value = float.fromhex(text)  # (OverflowError past the largest double)
        else:
            raise ValueError(f"strconv.ParseFloat: parsing {text!r}: invalid syntax")
        if math.isinf(value):  # a finite text past the largest double: Go's ErrRange
            raise ValueError(out_of_range)
        return float(struct.unpack("f", struct.pack("f", value))[0])
    except OverflowError:
        raise ValueError(out_of_range) from None


def parse_percentage(text: str) -> float:
    """helpers.go parsePercentage: every trailing ``%`` trimmed, float32 divided by 100."""
    return to_float32(parse_go_float32(text.rstrip("%")) / 100)


def parse_go_duration(text: str) -> int:
    """``time.ParseDuration`` in nanoseconds; raises ValueError with Go's wording."""
    rest = text
    negative = False
    if rest[:1] in ("+", "-"):
        negative = rest[0] == "-"
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise ValueError(f"time: invalid duration {text!r}")
    total = 0
    while rest:
        match = _DURATION_PART.match(rest)
        assert match is not None  # the pattern matches the empty string
        whole, fraction, unit = match.group(1), match.group(2), match.group(3)
        if not whole and not fraction:
            raise ValueError(f"time: invalid duration {text!r}")
        if not unit:
            raise ValueError(f"time: missing unit in duration {text!r}")
        if unit not in _DURATION_UNITS:
            raise ValueError(f"time: unknown unit {unit!r} in duration {text!r}")
        scale = _DURATION_UNITS[unit]
        if len(whole.lstrip("0")) > 19:  # leadingInt overflows int64: Go's own error
            raise ValueError(f"time: invalid duration {text!r}")
        amount = Decimal(whole or "0")
        if fraction:
            amount += Decimal("0." + fraction)
        total += int(amount * scale)
        rest = rest[match.end():]
    if total > (1 << 63) - 1:
        raise ValueError(f"time: invalid duration {text!r}")
    return -total if negative else total


def value_text(raw: object) -> str | None:
    """The string a map[string]string field holds; None for a YAML number, bool, null,
    list or map (the kubelet's JSON decoder reads only strings there)."""
    return raw if isinstance(raw, str) else None


@dataclass(frozen=True)
class Threshold:
    """One eviction threshold statement and what the kubelet makes of it."""

    signal: str
    text: str  # the value as written
    quantity: Decimal | None = None  # absolute value (bytes for memory.available)
    percent: float | None = None  # the float32 fraction the kubelet keeps (0.1 for 10%)
    ignored: bool = False  # exactly "0%" or "100%": the kubelet drops the statement
    error: str | None = None  # the kubelet refuses to start with this value

    @property
    def disabled(self) -> bool:
        """No threshold in effect: dropped, or a percentage that can never be crossed."""
        return self.error is None and (self.ignored or self.percent == 0.0)

    @property
    def usable(self) -> bool:
        return self.error is None and not self.disabled

    def bytes_for(self, capacity: Decimal | None) -> Decimal | None:
        """The threshold in bytes (GetThresholdQuantity); None for a percentage without a
        known capacity."""
        if self.quantity is not None:
            return self.quantity
        if self.percent is None or capacity is None:
            return None
        whole = int(capacity) if capacity == int(capacity) else int(capacity) + 1
        return Decimal(int(float(whole) * self.percent))

    def percent_text(self) -> str:
        return f"{self.percent * 100:g}%" if self.percent is not None else self.text


def parse_threshold(signal: str, raw: object) -> Threshold:
    """parseThresholdStatement, with a reason instead of Go's error."""
    text = value_text(raw)
    shown = "" if raw is None else str(raw)
    if signal not in SIGNALS:
        return Threshold(signal, shown, error=f"unsupported eviction signal {signal!r}")
    if text is None:
        return Threshold(signal, shown, error=f"{signal}: {shown or 'null'} is not a string "
                         "(quote it): the kubelet cannot decode the configuration")
    if text.endswith("%"):
        if text in ("0%", "100%"):
            return Threshold(signal, text, ignored=True)
        try:
            fraction = parse_percentage(text)
        except ValueError:
            return Threshold(signal, text, error=f"{signal}: {text!r} is not a percentage")
        if math.isnan(fraction):
            return Threshold(signal, text, error=f"{signal}: {text!r} is not a number")
        if fraction < 0:
            return Threshold(signal, text, error=f"{signal}: percentage {text} must be >= 0%")
        if fraction > 1:
            return Threshold(signal, text, error=f"{signal}: percentage {text} must be <= 100%")
        return Threshold(signal, text, percent=fraction)
    try:
        quantity = parse_quantity(text)
    except QuantityError as exc:
        return Threshold(signal, text, error=f"{signal}: {text!r} is not a quantity ({exc})")
    if quantity <= 0:
        return Threshold(signal, text, error=f"{signal}: threshold {text} must be positive")
    return Threshold(signal, text, quantity=quantity)


def grace_period_error(signal: str, raw: object) -> str | None:
    """parseGracePeriods: a known signal and a non-negative Go duration."""
    if signal not in SIGNALS:
        return f"unsupported eviction signal {signal!r}"
    text = value_text(raw)
    if text is None:
        return f"{signal}: {raw!r} is not a string (quote it, like \"90s\")"
    try:
        duration = parse_go_duration(text)
    except ValueError as exc:
        return f"{signal}: {text!r} is not a duration like 90s or 1m30s ({exc})"
    if duration < 0:
        return f"{signal}: grace period {text} must not be negative"
    return None


def minimum_reclaim_error(signal: str, raw: object) -> str | None:
    """parseMinimumReclaims: a percentage > 0, or a quantity >= 0."""
    if signal not in SIGNALS:
        return f"unsupported eviction signal {signal!r}"
    text = value_text(raw)
    if text is None:
        return f"{signal}: {raw!r} is not a string (quote it)"
    if text.endswith("%"):
        try:
            fraction = parse_percentage(text)
        except ValueError:
            return f"{signal}: {text!r} is not a percentage"
        if not fraction > 0:
            return f"{signal}: minimum reclaim percentage {text} must be positive"
        return None
    try:
        quantity = parse_quantity(text)
    except QuantityError as exc:
        return f"{signal}: {text!r} is not a quantity ({exc})"
    if quantity < 0:
        return f"{signal}: minimum reclaim {text} must not be negative"
    return None
