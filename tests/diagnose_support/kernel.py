"""Kernel OOM kill lines as mm/oom_kill.c and mm/memcontrol.c print them."""

from __future__ import annotations


def kernel_oom(*, style: str, task_memcg: str, oom_memcg: str | None, task: str = "java",
               pid: int = 41853, adj: int = 968, anon_kb: int = 301248,
               constraint: str = "CONSTRAINT_MEMCG", stamp: str = "Mar 27 10:51:38",
               host: str = "w-8xk2p", uptime: float = 864213.402117, legacy: bool = False,
               usage_kb: int = 524288, limit_kb: int = 524288) -> str:
    """One OOM kill in ``style``: dmesg, dmesg-T or journal. ``oom_memcg`` None: global."""
    memcg = oom_memcg is not None and constraint == "CONSTRAINT_MEMCG"
    body = [f"{task} invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, "
            f"oom_score_adj={adj}",
            f"CPU: 2 PID: {pid} Comm: {task} Not tainted 5.15.0-1057-aws #63-Ubuntu",
            "Call Trace:", " <TASK>", " dump_stack_lvl+0x4a/0x63", " </TASK>"]
    if memcg:
        body.append(f"memory: usage {usage_kb}kB, limit {limit_kb}kB, failcnt 1875")
    else:
        body.append("Mem-Info:")
    if legacy and memcg:
        body.append(f"Task in {task_memcg} killed as a result of limit of {oom_memcg}")
    else:
        where = f"oom_memcg={oom_memcg}," if memcg else "global_oom,"
        body.append(f"oom-kill:constraint={constraint},nodemask=(null),cpuset=/,"
                    f"mems_allowed=0,{where}task_memcg={task_memcg},task={task},"
                    f"pid={pid},uid=1000")
    prefix = "Memory cgroup out of memory" if memcg else "Out of memory"
    body.append(f"{prefix}: Killed process {pid} ({task}) total-vm:4235764kB, "
                f"anon-rss:{anon_kb}kB, file-rss:21132kB, shmem-rss:0kB, UID:1000 "
                f"pgtables:1244kB oom_score_adj:{adj}")
    body.append(f"oom_reaper: reaped process {pid} ({task}), now anon-rss:0kB, "
                "file-rss:0kB, shmem-rss:0kB")
    lines = []
    for i, text in enumerate(body):
        if style == "dmesg":
            lines.append(f"[{uptime + i * 0.000013:12.6f}] {text}")
        elif style == "dmesg-T":
            lines.append(f"[Fri Mar 27 10:51:38 2026] {text}")
        else:
            lines.append(f"{stamp} {host} kernel: {text}")
    return "\n".join(lines) + "\n"
