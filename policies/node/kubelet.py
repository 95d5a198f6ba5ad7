"""The kubelet's effective memory settings, from a KubeletConfiguration or from flags.

Defaults are the Linux ones of pkg/kubelet/apis/config/v1beta1/defaults.go and
defaults_linux.go; thresholds are parsed as pkg/kubelet/eviction/helpers.go
(parseThresholdStatement) parses them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from policies.quantity import QuantityError, format_bytes, parse_quantity
from policies.rule import Path

# pkg/kubelet/eviction/api/types.go: the signals the kubelet knows
SIGNALS = frozenset({
    "memory.available", "allocatableMemory.available", "nodefs.available",
    "nodefs.inodesFree", "imagefs.available", "imagefs.inodesFree", "containerfs.available",
    "containerfs.inodesFree", "pid.available",
})
# defaults_linux.go DefaultEvictionHard
DEFAULT_EVICTION_HARD = {
    "memory.available": "100Mi", "nodefs.available": "10%", "nodefs.inodesFree": "5%",
    "imagefs.available": "15%", "imagefs.inodesFree": "5%",
}
DEFAULT_ENFORCE_NODE_ALLOCATABLE = ("pods",)
MEMORY = "memory.available"
_GO_DURATION = re.compile(r"^(?:0|[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|ms|s|m|h))+)$")


@dataclass(frozen=True)
class Threshold:
    """One eviction threshold as the kubelet reads it."""

    signal: str
    text: str
    quantity: Decimal | None = None  # bytes (or count) for absolute thresholds
    percentage: Decimal | None = None  # 0..100 for percentage thresholds
    ignored: bool = False  # 0% and 100% are dropped by the kubelet
    error: str | None = None

    def bytes_for(self, capacity: Decimal | None) -> Decimal | None:
        if self.quantity is not None:
            return self.quantity
        if self.percentage is not None and capacity is not None:
            return capacity * self.percentage / 100
        return None

    def describe(self) -> str:
        return self.text


def parse_threshold(signal: str, raw: Any) -> Threshold:
    text = "" if raw is None else str(raw).strip()
    if signal not in SIGNALS:
        return Threshold(signal, text, error=f"unknown eviction signal {signal!r}")
    if text.endswith("%"):
        if text in ("0%", "100%"):
            return Threshold(signal, text, ignored=True)
        try:
            percent = Decimal(text[:-1])
        except ArithmeticError:
            return Threshold(signal, text, error=f"{signal}: {text!r} is not a percentage")
        if not percent.is_finite() or percent < 0:
            return Threshold(signal, text, error=f"{signal}: percentage {text} must be >= 0%")
        if percent > 100:
            return Threshold(signal, text, error=f"{signal}: percentage {text} must be <= 100%")
        return Threshold(signal, text, percentage=percent)
    try:
        quantity = parse_quantity(text)
    except QuantityError as exc:
        return Threshold(signal, text, error=f"{signal}: {text!r} is not a quantity ({exc})")
    if quantity <= 0:
        return Threshold(signal, text, error=f"{signal}: threshold {text} must be positive")
    return Threshold(signal, text, quantity=quantity)


def valid_duration(text: str) -> bool:
    return bool(_GO_DURATION.match(text.strip()))


@dataclass
class KubeletSettings:
    """What the memory rules need; ``None`` means "not set" (the default applies)."""

    eviction_hard: dict[str, Any] | None = None
    eviction_soft: dict[str, Any] = field(default_factory=dict)
    eviction_soft_grace_period: dict[str, Any] = field(default_factory=dict)
    eviction_minimum_reclaim: dict[str, Any] = field(default_factory=dict)
    merge_default_eviction_settings: bool | None = None
    system_reserved: dict[str, Any] = field(default_factory=dict)
    kube_reserved: dict[str, Any] = field(default_factory=dict)
    enforce_node_allocatable: list[str] | None = None
    system_reserved_cgroup: str | None = None
    kube_reserved_cgroup: str | None = None
    cgroups_per_qos: bool | None = None
    memory_manager_policy: str | None = None
    reserved_memory: list[dict[str, Any]] = field(default_factory=list)
    protect_kernel_defaults: bool | None = None

    # -- effective values -----------------------------------------------------------------
    @property
    def merges_defaults(self) -> bool:
        return self.merge_default_eviction_settings is True

    def hard_thresholds(self) -> dict[str, Threshold]:
        """evictionHard after defaulting: all defaults when unset, merged when asked to."""
        if self.eviction_hard is None:
            written: dict[str, Any] = dict(DEFAULT_EVICTION_HARD)
        elif self.merges_defaults:
            written = {**DEFAULT_EVICTION_HARD, **self.eviction_hard}
        else:
            written = dict(self.eviction_hard)
        return {signal: parse_threshold(signal, value) for signal, value in written.items()}

    def soft_thresholds(self) -> dict[str, Threshold]:
        return {s: parse_threshold(s, v) for s, v in self.eviction_soft.items()}

    def enforced(self) -> list[str]:
        if self.enforce_node_allocatable is None:
            return list(DEFAULT_ENFORCE_NODE_ALLOCATABLE)
        return list(self.enforce_node_allocatable)

    def reserved_memory_bytes(self, which: str) -> Decimal | None:
        """kubeReserved/systemReserved memory in bytes (0 when unset, None if invalid)."""
        values = self.kube_reserved if which == "kube" else self.system_reserved
        raw = values.get("memory")
        if raw is None:
            return Decimal(0)
        try:
            return parse_quantity(raw)
        except QuantityError:
            return None

    def hard_memory_bytes(self, capacity: Decimal | None) -> Decimal | None:
        threshold = self.hard_thresholds().get(MEMORY)
        if threshold is None or threshold.ignored or threshold.error:
            return Decimal(0)
        return threshold.bytes_for(capacity)

    def facts(self, node_memory: Decimal | None) -> dict[str, Any]:
        hard = self.hard_thresholds()
        soft = self.soft_thresholds()
        kube = self.reserved_memory_bytes("kube")
        system = self.reserved_memory_bytes("system")
        facts: dict[str, Any] = {
            "evictionHard": {s: t.text for s, t in hard.items() if not t.ignored},
            "evictionSoft": {s: t.text for s, t in soft.items()},
            "kubeReservedMemory": None if kube is None else int(kube),
            "systemReservedMemory": None if system is None else int(system),
            "enforceNodeAllocatable": self.enforced(),
            "memoryManagerPolicy": self.memory_manager_policy or "None",
        }
        if self.reserved_memory:
            facts["reservedMemory"] = self.reserved_memory
        if node_memory is not None:
            eviction = self.hard_memory_bytes(node_memory)
            if kube is not None and system is not None and eviction is not None:
                allocatable = node_memory - kube - system - eviction
                facts["nodeMemory"] = int(node_memory)
                facts["allocatableMemory"] = int(allocatable)
                facts["allocatableMemoryText"] = format_bytes(int(allocatable))
        return facts


_FIELD_TYPES: dict[str, str] = {
    "evictionHard": "map", "evictionSoft": "map", "evictionSoftGracePeriod": "map",
    "evictionMinimumReclaim": "map", "systemReserved": "map", "kubeReserved": "map",
    "enforceNodeAllocatable": "list", "reservedMemory": "list",
}


def settings_from_config(doc: Mapping[str, Any]) -> KubeletSettings:
    """A KubeletConfiguration document (dict or positional Map) to settings."""

    def mapping(key: str) -> dict[str, Any]:
        value = doc.get(key)
        return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}

    def optional_bool(key: str) -> bool | None:
        value = doc.get(key)
        return value if isinstance(value, bool) else None

    def optional_str(key: str) -> str | None:
        value = doc.get(key)
        return None if value is None else str(value)

    enforce = doc.get("enforceNodeAllocatable")
    reserved = doc.get("reservedMemory")
    return KubeletSettings(
        eviction_hard=mapping("evictionHard") if isinstance(doc.get("evictionHard"), dict)
        else None,
        eviction_soft=mapping("evictionSoft"),
        eviction_soft_grace_period=mapping("evictionSoftGracePeriod"),
        eviction_minimum_reclaim=mapping("evictionMinimumReclaim"),
        merge_default_eviction_settings=optional_bool("mergeDefaultEvictionSettings"),
        system_reserved=mapping("systemReserved"),
        kube_reserved=mapping("kubeReserved"),
        enforce_node_allocatable=[str(v) for v in enforce] if isinstance(enforce, list)
        else None,
        system_reserved_cgroup=optional_str("systemReservedCgroup"),
        kube_reserved_cgroup=optional_str("kubeReservedCgroup"),
        cgroups_per_qos=optional_bool("cgroupsPerQOS"),
        memory_manager_policy=optional_str("memoryManagerPolicy"),
        reserved_memory=[dict(r) for r in reserved if isinstance(r, dict)]
        if isinstance(reserved, list) else [],
        protect_kernel_defaults=optional_bool("protectKernelDefaults"),
    )


def config_field_path(field_name: str, key: str | None = None) -> Path:
    return (field_name,) if key is None else (field_name, key)
