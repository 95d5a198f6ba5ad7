"""``oomguard audit --format html``: one self-contained page (inline CSS and SVG, no script,
no fetch), readable from a file:// URL or a CI artifact.

Per node a drawn picture of its memory: capacity split into allocatable, the hard
eviction threshold and the system/kube reservations (allocatable = capacity - kubeReserved
- systemReserved - hard eviction threshold, pkg/kubelet/cm/node_container_manager_linux.go),
the sum of its pods' requests and of their limits against allocatable (the overcommit), and
the order in which a node OOM kills its pods (highest oom_score_adj first,
pkg/kubelet/qos/policy.go and mm/oom_kill.c). Per namespace the findings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from oomguard.policies.audit import AuditResult
from oomguard.policies.audit.nodes import NodeMemory
from oomguard.policies.engine import severity_counts
from oomguard.policies.quantity import format_bytes
from oomguard.policies.rule import Finding

NODES_DRAWN = 200  # a page stays light on a 5,000-node cluster: the riskiest nodes are drawn
COLOURS = {
    "allocatable": "#3b7dd8", "eviction": "#f0a030", "system": "#8e5cc4", "kube": "#5b3a8c",
    "requests": "#2f9e5a", "limits": "#17a2b8", "over": "#d9363e", "unknown": "#c8ccd2",
}
CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2329;
background:#f5f6f8}
header{background:#1d2b3a;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c5d0dc}
main{padding:12px 28px 40px;max-width:1280px}
h2{margin:28px 0 10px;font-size:18px}h3{margin:0 0 6px;font-size:15px}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:10px 14px;
min-width:120px}
.card b{display:block;font-size:22px}
.node{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:12px 14px;
margin:10px 0;display:grid;grid-template-columns:minmax(0,580px) minmax(0,1fr);gap:18px}
@media (max-width:900px){.node{grid-template-columns:minmax(0,1fr)}}
.node svg{max-width:100%;height:auto}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e6e9ed;vertical-align:top}
th{background:#eef1f4;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.sev-error{color:#b3261e;font-weight:600}.sev-warning{color:#9a6700;font-weight:600}
.sev-info{color:#455a64}
.pill{display:inline-block;border-radius:9px;padding:0 7px;font-size:12px;color:#fff}
.pressure{background:#d9363e}.ok{background:#2f9e5a}
.legend span{display:inline-block;margin-right:12px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#eef1f4;padding:0 3px;
border-radius:3px}
.note{color:#5c6670;overflow-wrap:anywhere}
"""


def _bytes(value: int | None) -> str:
    return "unknown" if value is None else format_bytes(value)


def _risk(node: NodeMemory) -> tuple[int, float, int]:
    allocatable = node.allocatable or node.capacity or 0
    ratio = (node.limits / allocatable) if allocatable else 0.0
    return (-int(node.memory_pressure), -ratio - node.unbounded_pods, -node.findings)


def _rect(x: float, y: float, width: float, height: float, colour: str, title: str,
          extra: str = "") -> str:
    return (f'<rect x="{x:.1f}" y="{y}" width="{max(width, 0):.1f}" height="{height}" '
            f'fill="{colour}"{extra}><title>{escape(title)}</title></rect>')


def node_chart(node: NodeMemory, width: int = 560) -> str:
    """The memory picture of one node as inline SVG."""
    left, bar, rows = 96, width - 96 - 8, []
    capacity = node.capacity
    scale_max = max(capacity or 0, node.requests, node.limits, node.allocatable or 0) or 1

    def w(value: int) -> float:
        return bar * value / scale_max

    height = 18
    y = 6
    # row 1: the node's capacity, split as the kubelet splits it
    rows.append(f'<text x="0" y="{y + 13}">capacity</text>')
    if capacity is None:
        rows.append(_rect(left, y, bar, height, COLOURS["unknown"], "capacity unknown"))
    else:
        x = float(left)
        allocatable = node.allocatable if node.allocatable is not None else capacity
        parts = [("allocatable", allocatable, f"allocatable {_bytes(allocatable)}")]
        held = capacity - allocatable
        known = 0
        for key, value, label in (("eviction", node.eviction_hard, "hard eviction threshold"),
                                  ("system", node.system_reserved, "systemReserved"),
                                  ("kube", node.kube_reserved, "kubeReserved")):
            if value:
                parts.append((key, value, f"{label} {_bytes(value)}"))
                known += value
        if held > known:  # reservations the configuration does not explain (or unknown)
            parts.append(("unknown", held - known, f"held back {_bytes(held - known)}"))
        for key, value, label in parts:
            rows.append(_rect(x, y, w(value), height, COLOURS[key], label,
                              f' class="seg-{key}"'))
            x += w(value)
    # rows 2 and 3: what the pods ask for and may use, against allocatable
    limit_line = node.allocatable if node.allocatable is not None else capacity
    for label, value, key in (("requests", node.requests, "requests"),
                              ("limits", node.limits, "limits")):
        y += height + 8
        rows.append(f'<text x="0" y="{y + 13}">{label}</text>')
        inside = value if limit_line is None else min(value, limit_line)
        rows.append(_rect(left, y, w(inside), height, COLOURS[key],
                          f"sum of pod {label} {_bytes(value)}", f' class="seg-{key}"'))
        if limit_line is not None and value > limit_line:
            rows.append(_rect(left + w(limit_line), y, w(value - limit_line), height,
                              COLOURS["over"], f"{_bytes(value - limit_line)} above allocatable",
                              ' class="seg-over"'))
    if node.unbounded_pods:  # no sum can say how much these may take
        x = left + w(node.limits if limit_line is None else min(node.limits, limit_line))
        if limit_line is not None and node.limits > limit_line:
            x = left + w(node.limits)
        x = min(x + 6, width - 190.0)  # the label stays inside the picture
        rows.append(f'<text x="{x:.1f}" y="{y + 13}" fill="{COLOURS["over"]}">'
                    f"+ {node.unbounded_pods} pod(s) without a limit</text>")
    if limit_line is not None:
        x = left + w(limit_line)
        rows.append(f'<line x1="{x:.1f}" y1="2" x2="{x:.1f}" y2="{y + height + 4}" '
                    'stroke="#1d2329" stroke-dasharray="4 3"/>')
    total = y + height + 8
    return (f'<svg class="node-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
            f'height="{total}" viewBox="0 0 {width} {total}" font-size="12" '
            f'font-family="system-ui,sans-serif" role="img" '
            f'aria-label="memory of node {escape(node.name)}">{"".join(rows)}</svg>')


def _legend() -> str:
    names = [("allocatable", "allocatable"), ("eviction", "hard eviction threshold"),
             ("system", "system reserved"), ("kube", "kube reserved"),
             ("unknown", "held back / unknown"), ("requests", "sum of requests"),
             ("limits", "sum of limits"), ("over", "above allocatable")]
    return '<p class="legend">' + "".join(
        f'<span><i style="background:{COLOURS[k]}"></i>{escape(t)}</span>' for k, t in names
    ) + "</p>"


def _node_card(node: NodeMemory) -> str:
    state = '<span class="pill pressure">MemoryPressure</span>' if node.memory_pressure \
        else '<span class="pill ok">no pressure</span>'
    facts = (f"capacity {_bytes(node.capacity)}, allocatable {_bytes(node.allocatable)}, "
             f"{node.pods} pod(s): requests {_bytes(node.requests)}, limits "
             f"{_bytes(node.limits)}")
    if node.unbounded_pods:
        facts += f" + {node.unbounded_pods} pod(s) without a memory limit"
    kubelet = ("kubelet configuration from configz" if node.kubelet_source else
               f"kubelet configuration not read: {node.kubelet_notice}"
               if node.kubelet_notice else "kubelet configuration not read")
    kill_rows = "".join(
        f"<tr><td class=num>{i}</td><td>{escape(str(p.namespace))}/{escape(str(p.name))}"
        f"{'<br><span class=note>' + escape(p.owner) + '</span>' if p.owner else ''}</td>"
        f"<td>{escape(p.qos)}</td><td class=num>"
        f"{'?' if p.oom_score_adj is None else p.oom_score_adj}</td>"
        f"<td class=num>{_bytes(p.request)}</td>"
        f"<td class=num>{'none' if p.limit is None else _bytes(p.limit)}</td></tr>"
        for i, p in enumerate(node.kill_order, 1))
    kill = ("<table><tr><th>#</th><th>pod</th><th>QoS</th><th>oom_score_adj</th>"
            f"<th>request</th><th>limit</th></tr>{kill_rows}</table>"
            if kill_rows else '<p class="note">no running pods</p>')
    return (f'<section class="node" id="node-{escape(node.name)}"><div class="chart">'
            f"<h3>{escape(node.name)} {state}</h3><p class=note>{escape(facts)}<br>"
            f"{escape(kubelet)}; {node.findings} node finding(s)</p>{node_chart(node)}</div>"
            f'<div class="kill"><h3>OOM kill order</h3><p class="note">A node OOM kills the '
            "highest oom_score_adj first; among equals the largest memory user.</p>"
            f"{kill}</div></section>")


def _findings_table(findings: Sequence[Finding]) -> str:
    rows = "".join(
        f"<tr><td>{escape(str(f.object))}</td><td class=sev-{f.severity}>{f.severity}</td>"
        f"<td><code>{f.rule}</code> {escape(f.name)}</td><td>{escape(f.message)}</td>"
        f"<td><code>{escape(f.path)}</code></td></tr>" for f in findings)
    return ("<table><tr><th>object</th><th>severity</th><th>rule</th><th>message</th>"
            f"<th>path</th></tr>{rows}</table>")


def _incidents(incidents: Iterable[Mapping[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{escape(str(i.get('type')))}</td><td>{escape(str(i.get('namespace')))}/"
        f"{escape(str(i.get('pod')))}</td><td>{escape(str(i.get('node') or ''))}</td>"
        f"<td>{escape(str(i.get('time') or ''))}</td><td>{escape(str(i.get('cause') or ''))}"
        "</td></tr>" for i in incidents)
    return ("<table><tr><th>type</th><th>pod</th><th>node</th><th>time</th><th>cause</th>"
            f"</tr>{rows}</table>")


def render(result: AuditResult, *, title: str = "oomguard audit", generated: str = "",
           incidents: Sequence[Mapping[str, Any]] | None = None,
           incidents_note: str | None = None) -> str:
    counts = severity_counts(result.findings)
    nodes = sorted(result.nodes, key=lambda n: (*_risk(n), n.name))
    drawn = nodes[:NODES_DRAWN]
    by_namespace: dict[str | None, list[Finding]] = {}
    for f in result.findings:
        by_namespace.setdefault(f.object.namespace if f.object else None, []).append(f)
    parts = [f"<header><h1>{escape(title)}</h1><p>{escape(generated)}</p></header><main>",
             '<div class="cards">']
    for label, value in (("errors", counts["error"]), ("warnings", counts["warning"]),
                         ("info", counts["info"]), ("objects", result.object_count),
                         ("nodes", len(result.nodes)),
                         ("incidents", len(incidents) if incidents is not None else "-")):
        parts.append(f'<div class="card"><b>{value}</b>{label}</div>')
    parts.append("</div>")
    parts.append(f"<h2>Nodes</h2>{_legend()}")
    if len(nodes) > len(drawn):
        parts.append(f'<p class="note">The {len(drawn)} riskiest of {len(nodes)} nodes are '
                     "drawn (memory pressure, then limits over allocatable); "
                     "<code>--format json</code> lists them all.</p>")
    parts.extend(_node_card(node) for node in drawn)
    if not nodes:
        parts.append('<p class="note">No node was read.</p>')
    if incidents is not None or incidents_note:
        parts.append("<h2>Incidents</h2>")
        if incidents_note:
            parts.append(f'<p class="note">{escape(incidents_note)}</p>')
        if incidents:
            parts.append(_incidents(incidents))
    parts.append("<h2>Findings</h2>")
    if not result.findings:
        parts.append('<p class="note">No finding.</p>')
    for namespace in sorted(by_namespace, key=lambda ns: (ns is None, ns or "")):
        heading = f"namespace {namespace}" if namespace else "nodes and cluster-scoped objects"
        parts.append(f"<h3>{escape(heading)} ({len(by_namespace[namespace])})</h3>")
        parts.append(_findings_table(by_namespace[namespace]))
    if result.errors or result.notices:
        parts.append("<h2>Errors and notices</h2><ul>")
        parts.extend(f"<li class=sev-error>{escape(p.source)}: {escape(p.message)}</li>"
                     for p in result.errors)
        parts.append("".join(f"<li>{escape(p.source)}: {escape(p.message)}</li>"
                             for p in result.notices))
        parts.append("</ul>")
    parts.append("</main>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            # no script, no fetch: a CSP that says so keeps the file inert anywhere
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; img-src data:\">"
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
            + "".join(parts) + "</body></html>\n")
