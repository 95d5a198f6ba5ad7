"""Kubelet command-line flags in a file: env files, systemd drop-ins, plain flag lists.

Flag names and value formats follow cmd/kubelet/app/options/options.go: map flags are
``key<value`` (eviction thresholds) or ``key=value`` pairs separated by commas,
``--reserved-memory`` is ``numa:resource=qty[,resource=qty][;numa:...]``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from policies.node.kubelet import KubeletSettings
from policies.source import SourceProblem

# flag -> KubeletConfiguration field
FLAG_FIELDS = {
    "eviction-hard": "evictionHard",
    "eviction-soft": "evictionSoft",
    "eviction-soft-grace-period": "evictionSoftGracePeriod",
    "eviction-minimum-reclaim": "evictionMinimumReclaim",
    "system-reserved": "systemReserved",
    "kube-reserved": "kubeReserved",
    "enforce-node-allocatable": "enforceNodeAllocatable",
    "system-reserved-cgroup": "systemReservedCgroup",
    "kube-reserved-cgroup": "kubeReservedCgroup",
    "cgroups-per-qos": "cgroupsPerQOS",
    "reserved-memory": "reservedMemory",
    "memory-manager-policy": "memoryManagerPolicy",
    "protect-kernel-defaults": "protectKernelDefaults",
}
_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)
NODE_FLAG_HINT = re.compile(r"--(?:eviction-|system-reserved|kube-reserved|"
                            r"enforce-node-allocatable|reserved-memory|memory-manager-policy)"
                            r"|\bKUBELET_[A-Z_]*ARGS\b")


@dataclass(frozen=True)
class Flag:
    name: str
    value: str | None
    line: int
    column: int


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Join backslash continuations; keep the first physical line number."""
    out: list[tuple[int, str]] = []
    buffer: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not buffer:
            start = number
        stripped = line.rstrip()
        if stripped.endswith("\\"):
            buffer.append(stripped[:-1])
            continue
        buffer.append(line)
        out.append((start, " ".join(buffer)))
        buffer = []
    if buffer:
        out.append((start, " ".join(buffer)))
    return out


def _tokens(text: str, line: int, problems: list[SourceProblem]) -> list[str]:
    try:
        return shlex.split(text, comments=True)
    except ValueError as exc:
        problems.append(SourceProblem(f"cannot split the line into words ({exc}); read it "
                                      "word by word instead", line, 1))
        return [word.strip("\"'") for word in text.split()]


def parse_flags(text: str) -> tuple[list[Flag], list[SourceProblem]]:
    flags: list[Flag] = []
    problems: list[SourceProblem] = []
    for line, content in _logical_lines(text):
        if not content.strip() or content.lstrip().startswith(("#", ";", "[")):
            continue
        _scan(_tokens(content, line, problems), content, line, flags, problems)
    return flags, problems


def _scan(tokens: list[str], content: str, line: int, flags: list[Flag],
          problems: list[SourceProblem]) -> None:
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token.startswith("--"):
            name, eq, value = token[2:].partition("=")
            if not eq and i < len(tokens) and not tokens[i].startswith("-") \
                    and name in FLAG_FIELDS:
                value = tokens[i]
                i += 1
                eq = "="
            column = content.find("--" + name) + 1 or 1
            flags.append(Flag(name, value if eq else None, line, column))
            continue
        match = _ASSIGNMENT.match(token)
        if match and ("--" in match[2] or match[1] == "Environment"):
            # KUBELET_EXTRA_ARGS=--a=b ..., ExecStart=/usr/bin/kubelet --a=b,
            # Environment="KUBELET_KUBEADM_ARGS=--a=b"
            _scan(_tokens(match[2], line, problems), content, line, flags, problems)


def _pairs(value: str, separator: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, val = item.partition(separator)
        out[key.strip()] = val.strip() if sep else ""
    return out


def _reserved_memory(value: str) -> list[dict[str, object]]:
    entries: list[dict[str, object]] = []
    for chunk in value.split(";"):
        chunk = chunk.strip()
        if not chunk:
            continue
        numa, _, resources = chunk.partition(":")
        limits = _pairs(resources, "=")
        try:
            node = int(numa)
        except ValueError:
            node = -1
        entries.append({"numaNode": node, "limits": limits})
    return entries


def settings_from_flags(flags: list[Flag]) -> tuple[KubeletSettings, dict[str, tuple[int, int]]]:
    """The settings the flags make, and where each configuration field was set."""
    settings = KubeletSettings()
    where: dict[str, tuple[int, int]] = {}
    for flag in flags:
        field_name = FLAG_FIELDS.get(flag.name)
        if field_name is None:
            continue
        where[field_name] = (flag.line, flag.column)
        value = flag.value if flag.value is not None else ""
        if flag.name in ("eviction-hard", "eviction-soft"):
            parsed = _pairs(value, "<")
            if flag.name == "eviction-hard":
                settings.eviction_hard = parsed
            else:
                settings.eviction_soft = parsed
        elif flag.name == "eviction-soft-grace-period":
            settings.eviction_soft_grace_period = _pairs(value, "=")
        elif flag.name == "eviction-minimum-reclaim":
            settings.eviction_minimum_reclaim = _pairs(value, "=")
        elif flag.name == "system-reserved":
            settings.system_reserved = _pairs(value, "=")
        elif flag.name == "kube-reserved":
            settings.kube_reserved = _pairs(value, "=")
        elif flag.name == "enforce-node-allocatable":
            settings.enforce_node_allocatable = [v.strip() for v in value.split(",")] \
                if value.strip() else []
        elif flag.name == "system-reserved-cgroup":
            settings.system_reserved_cgroup = value
        elif flag.name == "kube-reserved-cgroup":
            settings.kube_reserved_cgroup = value
        elif flag.name == "cgroups-per-qos":
            settings.cgroups_per_qos = flag.value is None or value.lower() == "true"
        elif flag.name == "reserved-memory":
            settings.reserved_memory.extend(_reserved_memory(value))
        elif flag.name == "memory-manager-policy":
            settings.memory_manager_policy = value
        elif flag.name == "protect-kernel-defaults":
            settings.protect_kernel_defaults = flag.value is None or value.lower() == "true"
    return settings, where
