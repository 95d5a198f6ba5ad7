"""The kubelet's effective memory settings: one model for config files, flags and both.

A :class:`KubeletSettings` holds the fields a source wrote, spelled as KubeletConfiguration
fields, and answers with the *effective* values after the kubelet's Linux defaulting:

- evictionHard unset: every default of DEFAULT_EVICTION_HARD; set in a config file with
  ``mergeDefaultEvictionSettings: true``: the defaults fill the signals it leaves out
  (cmd/kubelet/app/server.go loadConfigFile); otherwise it replaces them;
- a ``--eviction-hard`` flag is applied after the config file is loaded and defaulted
  (kubeletConfigFlagPrecedence), so it replaces the map and is never merged;
- enforceNodeAllocatable ``[pods]``, cgroupsPerQOS true, memoryManagerPolicy None
  (pkg/kubelet/apis/config/v1beta1/defaults.go).

A source that is only part of the kubelet's configuration (a ``KUBELET_EXTRA_ARGS`` file
next to a ``--config`` file, a drop-in) is *incomplete*: the fields it does not write are
unknown, not defaulted, and the rules that need them stay silent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from oomguard.policies.node.thresholds import (
    DEFAULT_EVICTION_HARD,
    MEMORY,
    Threshold,
    parse_threshold,
    value_text,
)
from oomguard.policies.quantity import QuantityError, format_bytes, parse_quantity

__all__ = ["KubeletSettings", "FlagProblem", "Reserved", "settings_from_config", "MEMORY",
           "Threshold", "DEFAULT_EVICTION_HARD", "DEFAULT_ENFORCE_NODE_ALLOCATABLE",
           "RESERVABLE", "MAP_FIELDS", "LIST_FIELDS", "BOOL_FIELDS", "STRING_FIELDS"]

DEFAULT_ENFORCE_NODE_ALLOCATABLE = ("pods",)
DEFAULT_CGROUPS_PER_QOS = True
DEFAULT_MEMORY_MANAGER_POLICY = "None"
# cmd/kubelet/app/server.go parseResourceList: what kubeReserved/systemReserved may hold.
RESERVABLE = ("cpu", "memory", "ephemeral-storage", "pid")

MAP_FIELDS = ("evictionHard", "evictionSoft", "evictionSoftGracePeriod",
              "evictionMinimumReclaim", "systemReserved", "kubeReserved")
LIST_FIELDS = ("enforceNodeAllocatable", "reservedMemory")
BOOL_FIELDS = ("mergeDefaultEvictionSettings", "cgroupsPerQOS", "protectKernelDefaults")
STRING_FIELDS = ("systemReservedCgroup", "kubeReservedCgroup", "memoryManagerPolicy")
FIELDS = MAP_FIELDS + LIST_FIELDS + BOOL_FIELDS + STRING_FIELDS


@dataclass(frozen=True)
class FlagProblem:
    """A flag value the kubelet's flag parser rejects (it exits), with where it is."""

    field: str
    message: str
    line: int | None
    column: int | None


@dataclass(frozen=True)
class Reserved:
    """kubeReserved/systemReserved memory: the text, its bytes, or why it is unusable."""

    text: str | None  # None: not reserved
    amount: Decimal | None  # bytes; None when text is None or invalid
    error: str | None = None


@dataclass
class KubeletSettings:
    """The kubelet fields one input sets (config spelling), and the effective values."""

    fields: dict[str, Any] = field(default_factory=dict)
    # True: fields not written here take the kubelet's defaults; False: they are unknown.
    complete: bool = True
    # A drop-in (--config-dir): its maps are merged key by key into the base configuration.
    drop_in: bool = False
    from_flags: set[str] = field(default_factory=set)  # fields set by command-line flags
    flag_problems: list[FlagProblem] = field(default_factory=list)
    config_file: str | None = None  # a --config/--config-dir the flags name

    # -- what is known -------------------------------------------------------------------
    def written(self, name: str) -> bool:
        """The input sets the field (a YAML null counts as not set, like Go's nil)."""
        return self.fields.get(name) is not None

    def unknown_fields(self) -> list[str]:
        if self.complete:
            return []
        if self.drop_in:
            return [n for n in FIELDS if not self.written(n) or
                    (n in MAP_FIELDS and n not in self.from_flags)]
        return [n for n in FIELDS if not self.written(n)]

    def written_map(self, name: str) -> dict[str, Any] | None:
        value = self.fields.get(name)
        return {str(k): v for k, v in value.items()} if isinstance(value, dict) else None

    # -- maps ----------------------------------------------------------------------------
    @property
    def merges_defaults(self) -> bool:
        """mergeDefaultEvictionSettings applies to an evictionHard from a config file."""
        return self.fields.get("mergeDefaultEvictionSettings") is True and \
            "evictionHard" not in self.from_flags

    def whole_map_known(self, name: str) -> bool:
        """A flag replaces a map; a drop-in only merges keys into the base's map."""
        if name in self.from_flags:
            return True
        if self.drop_in:
            return False
        return self.complete or self.written(name)

    def effective_map(self, name: str) -> dict[str, Any] | None:
        """A map field after defaulting ({} when unset, DEFAULT_EVICTION_HARD for an unset
        evictionHard); None when unknown or not a map."""
        if not self.whole_map_known(name):
            return None
        if not self.written(name):
            return dict(DEFAULT_EVICTION_HARD) if name == "evictionHard" else {}
        written = self.written_map(name)
        if written is not None and name == "evictionHard" and self.merges_defaults:
            return {**DEFAULT_EVICTION_HARD, **written}
        return written

    def map_value(self, name: str, key: str) -> tuple[bool, Any]:
        """(known, value) of one key of a map field after defaulting; value None: absent."""
        whole = self.effective_map(name)
        if whole is not None:
            return True, whole.get(key)
        written = self.written_map(name) or {}
        if key in written:
            return True, written[key]
        return False, None

    # -- eviction ------------------------------------------------------------------------
    def eviction_hard_source(self) -> str:
        if not self.written("evictionHard"):
            return "default" if self.whole_map_known("evictionHard") else "unknown"
        if "evictionHard" in self.from_flags:
            return "flags"
        if self.drop_in:
            return "merged into the base configuration"
        return "merged with defaults" if self.merges_defaults else "as written"

    def effective_hard(self) -> dict[str, Any] | None:
        return self.effective_map("evictionHard")

    def hard_thresholds(self) -> dict[str, Threshold] | None:
        hard = self.effective_hard()
        return None if hard is None else {s: parse_threshold(s, v) for s, v in hard.items()}

    def hard_memory_known(self) -> bool:
        return self.map_value("evictionHard", MEMORY)[0]

    def hard_memory(self) -> Threshold | None:
        """The hard memory.available threshold; None when unknown or absent."""
        known, raw = self.map_value("evictionHard", MEMORY)
        return parse_threshold(MEMORY, raw) if known and raw is not None else None

    def hard_memory_bytes(self, capacity: Decimal | None) -> Decimal | None:
        """What hard eviction takes from allocatable memory (node_container_manager
        hardEvictionReservation): 0 without a usable threshold, None when unknown or a
        percentage without node memory."""
        if not self.hard_memory_known():
            return None
        threshold = self.hard_memory()
        if threshold is None or not threshold.usable:
            return Decimal(0)
        return threshold.bytes_for(capacity)

    def soft_thresholds(self) -> dict[str, Threshold] | None:
        soft = self.effective_map("evictionSoft")
        return None if soft is None else {s: parse_threshold(s, v) for s, v in soft.items()}

    def soft_memory(self) -> Threshold | None:
        known, raw = self.map_value("evictionSoft", MEMORY)
        return parse_threshold(MEMORY, raw) if known and raw is not None else None

    # -- node allocatable ----------------------------------------------------------------
    def reserved(self, name: str) -> Reserved | None:
        """kubeReserved/systemReserved memory; None when unknown."""
        if self.written(name) and self.written_map(name) is None:
            return Reserved(None, None, f"{name} must be a map of resource to quantity")
        known, raw = self.map_value(name, "memory")
        if not known:
            return None
        if raw is None:
            return Reserved(None, None)
        text = value_text(raw)
        if text is None:
            return Reserved(str(raw), None, f"{name} memory {raw!r} is not a string (quote "
                                            "it): the kubelet cannot decode the configuration")
        try:
            amount = parse_quantity(text)
        except QuantityError as exc:
            return Reserved(text, None, f"{name} memory {text!r} is not a quantity ({exc})")
        if amount < 0:
            return Reserved(text, None, f"{name} memory {text} cannot be negative")
        return Reserved(text, amount)

    def reserved_bytes(self, name: str) -> Decimal | None:
        """Reserved memory in bytes (0 when none); None when unknown or invalid."""
        reserved = self.reserved(name)
        if reserved is None or reserved.error:
            return None
        return reserved.amount if reserved.amount is not None else Decimal(0)

    def enforced(self) -> list[str] | None:
        """enforceNodeAllocatable after defaulting; None when unknown or not a list."""
        if not self.written("enforceNodeAllocatable"):
            return list(DEFAULT_ENFORCE_NODE_ALLOCATABLE) if self.complete else None
        value = self.fields["enforceNodeAllocatable"]
        return [str(v) for v in value] if isinstance(value, list) else None

    def flag(self, name: str, default: bool) -> bool | None:
        """A boolean field after defaulting; None when unknown."""
        value = self.fields.get(name)
        if isinstance(value, bool):
            return value
        return default if self.complete and value is None else None

    def text_field(self, name: str, default: str = "") -> str | None:
        value = self.fields.get(name)
        if value is None:
            return default if self.complete else None
        return str(value)

    def memory_manager_policy(self) -> str | None:
        return self.text_field("memoryManagerPolicy", DEFAULT_MEMORY_MANAGER_POLICY)

    def reserved_memory(self) -> list[Any] | None:
        if not self.written("reservedMemory"):
            return [] if self.complete else None
        value = self.fields["reservedMemory"]
        return list(value) if isinstance(value, list) else None

    # -- facts ---------------------------------------------------------------------------
    def allocatable(self, capacity: Decimal) -> Decimal | None:
        """Allocatable memory = capacity - kubeReserved - systemReserved - hard eviction,
        floored at 0 (node_container_manager_linux.go GetNodeAllocatableAbsolute and the
        eviction reservation of GetNodeAllocatableReservation)."""
        kube = self.reserved_bytes("kubeReserved")
        system = self.reserved_bytes("systemReserved")
        eviction = self.hard_memory_bytes(capacity)
        if kube is None or system is None or eviction is None:
            return None
        return max(Decimal(0), capacity - kube - system - eviction)

    def facts(self, node_memory: Decimal | None) -> dict[str, Any]:
        hard = self.hard_thresholds()
        soft = self.soft_thresholds()
        facts: dict[str, Any] = {
            "evictionHard": None if hard is None else
            {s: t.text for s, t in hard.items() if t.error is None and not t.ignored},
            "evictionHardFrom": self.eviction_hard_source(),
            "evictionSoft": None if soft is None else
            {s: t.text for s, t in soft.items() if t.error is None and not t.ignored},
            "hardMemoryAvailable": _threshold_fact(self.hard_memory(), node_memory,
                                                   self.hard_memory_known()),
            "kubeReservedMemory": _reserved_fact(self.reserved("kubeReserved")),
            "systemReservedMemory": _reserved_fact(self.reserved("systemReserved")),
            "enforceNodeAllocatable": self.enforced(),
            "memoryManagerPolicy": self.memory_manager_policy(),
        }
        reserved_memory = self.reserved_memory()
        if reserved_memory:
            facts["reservedMemory"] = [_plain(entry) for entry in reserved_memory]
            total = _reserved_memory_total(reserved_memory)
            if total is not None:
                facts["reservedMemoryTotalBytes"] = int(total)
        if not self.complete:
            facts["notInThisInput"] = self.unknown_fields()
            if self.config_file:
                facts["configFile"] = self.config_file
        if node_memory is not None:
            facts["nodeMemory"] = int(node_memory)
            allocatable = self.allocatable(node_memory)
            if allocatable is not None:
                facts["allocatableMemory"] = int(allocatable)
                facts["allocatableMemoryText"] = format_bytes(int(allocatable))
        return facts


def _threshold_fact(threshold: Threshold | None, node_memory: Decimal | None,
                    known: bool) -> dict[str, Any] | None:
    if not known:
        return None
    if threshold is None or threshold.error or threshold.disabled:
        return {"value": None if threshold is None else threshold.text, "bytes": 0,
                "note": "no hard memory eviction: the kernel OOM killer acts first"}
    amount = threshold.bytes_for(node_memory)
    fact: dict[str, Any] = {"value": threshold.text,
                            "bytes": None if amount is None else int(amount)}
    if amount is None:
        fact["note"] = "a percentage of node memory: set node.memory in the policy to " \
                       "resolve it"
    return fact


def _reserved_fact(reserved: Reserved | None) -> dict[str, Any] | None:
    if reserved is None:
        return None
    if reserved.error:
        return {"value": reserved.text, "bytes": None, "error": reserved.error}
    return {"value": reserved.text,
            "bytes": 0 if reserved.amount is None else int(reserved.amount)}


def _reserved_memory_total(entries: list[Any]) -> Decimal | None:
    """The ``memory`` of every NUMA node summed; None when an entry cannot be read."""
    total = Decimal(0)
    for entry in entries:
        limits = entry.get("limits") if isinstance(entry, Mapping) else None
        raw = limits.get("memory") if isinstance(limits, Mapping) else None
        if raw is None:
            continue
        try:
            total += parse_quantity(raw)
        except QuantityError:
            return None
    return total


def _plain(value: Any) -> Any:
    """Positional Map/Seq and anything else to JSON-ready dicts, lists and scalars."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def settings_from_config(doc: Mapping[str, Any]) -> KubeletSettings:
    """The memory-related fields of a KubeletConfiguration document (dict or Map)."""
    return KubeletSettings({name: doc[name] for name in FIELDS if name in doc})
