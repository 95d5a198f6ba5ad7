"""Benchmark `oomguard lint` against the parsing floor and checkov, in one run.

Usage: python bench/lint_bench.py [--corpus DIR] [--runs N] [--checkov PATH]
       python bench/lint_bench.py --helm CHART [--helm CHART ...] [--runs N]

Every figure is a whole process, started and waited for here: wall time (median of
``--runs``) and peak RSS (from wait4's rusage). Figures:
  * oomguard lint over the corpus and over a 10x copy of it (``--jobs 1`` and default);
  * the parsing floor: a process that only loads the same files with ruamel.yaml's fastest
    loader (``YAML(typ="safe", pure=False)``) — interpreter start included, like oomguard;
  * checkov --framework kubernetes --check CKV_K8S_12,CKV_K8S_13 (when installed);
  * one small manifest end to end; a ~50 MB single file for memory.
It prints each figure and the ratios the performance targets are stated in.

``--helm`` mode instead times ``oomguard lint --helm CHART`` per chart with source
positions (template lines and values keys, linter/sourcemap) and without them
(OOMGUARD_HELM_SOURCE_MAP=0: rendered positions, as before issue 18), and their ratio
(target: at most 1.5), the fastest of ``--runs`` interleaved runs of each.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from precompile import compile_sources  # sibling script module: bench/ is sys.path[0]

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"

FLOOR_SCRIPT = """
import sys
from pathlib import Path
from ruamel.yaml import YAML
yaml = YAML(typ="safe", pure=False)
yaml.allow_duplicate_keys = True
for path in sorted(Path(sys.argv[1]).rglob("*")):
    if path.suffix in (".yaml", ".yml", ".json"):
        try:
            for _ in yaml.load_all(path.read_text(encoding="utf-8")):
                pass
        except Exception:
            pass
"""

SMALL = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx
        resources:
          requests: {memory: 128Mi}
          limits: {memory: 256Mi}
"""


def measure(argv: list[str], runs: int, env: dict[str, str] | None = None
            ) -> tuple[float, float]:
    """Median wall seconds and max peak RSS (MiB) of a command over ``runs`` runs."""
    times: list[float] = []
    peak = 0.0
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=env)
        _, _, usage = os.wait4(proc.pid, 0)
        times.append(time.perf_counter() - start)
        peak = max(peak, usage.ru_maxrss / 1024)
    return statistics.median(times), peak


def replicate(corpus: Path, target: Path, copies: int) -> None:
    for i in range(copies):
        dest = target / f"copy{i:02d}"
        dest.mkdir(parents=True)
        for path in corpus.iterdir():
            if path.is_file():
                shutil.copyfile(path, dest / path.name)


def big_file(path: Path, megabytes: int) -> None:
    chunk = "---\n" + SMALL
    with path.open("w", encoding="utf-8") as handle:
        written = 0
        i = 0
        while written < megabytes << 20:
            text = chunk.replace("name: web", f"name: web{i}")
            handle.write(text)
            written += len(text)
            i += 1


def helm_bench(charts: list[str], runs: int) -> int:
    """Per chart: lint --helm with and without source positions, their ratio."""
    lint = [sys.executable, "-m", "oomguard", "lint", "--format", "json", "--helm"]
    plain_env = {**os.environ, "OOMGUARD_HELM_SOURCE_MAP": "0"}
    print(f"{'chart':<36} {'rendered s':>10} {'located s':>10} {'ratio':>6} "
          f"{'RSS MiB':>8} {'findings':>8}")
    ratios = []
    for chart in charts:
        done = subprocess.run([*lint, chart], capture_output=True, text=True, check=False)
        findings = done.stdout.count('"rule":')
        # interleaved, and the fastest of the runs: the machine is shared, and the least
        # disturbed run of each is the fairest pair
        befores, afters, rss = [], [], 0.0
        for _ in range(runs):
            befores.append(measure([*lint, chart], 1, plain_env)[0])
            seconds, peak = measure([*lint, chart], 1)
            afters.append(seconds)
            rss = max(rss, peak)
        before, after = min(befores), min(afters)
        ratios.append(after / before)
        print(f"{chart[-36:]:<36} {before:10.3f} {after:10.3f} {after / before:6.2f} "
              f"{rss:8.1f} {findings:8d}", flush=True)
    print(f"median ratio {statistics.median(ratios):.2f}, max {max(ratios):.2f} "
          f"(target <= 1.5; fastest of {runs} interleaved runs each)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--checkov", default=shutil.which("checkov") or
                        ("/tmp/checkov-venv/bin/checkov"
                         if Path("/tmp/checkov-venv/bin/checkov").exists() else None))
    parser.add_argument("--helm", action="append", default=[], metavar="CHART",
                        help="time Helm source positions on these charts instead")
    args = parser.parse_args()
    if args.helm:
        return helm_bench(args.helm, args.runs)
    if not args.corpus.is_dir():
        print(f"no corpus at {args.corpus}", file=sys.stderr)
        return 2
    compile_sources()  # measure what a pip install runs
    oomguard = [sys.executable, "-m", "oomguard", "lint"]
    floor = [sys.executable, "-c", FLOOR_SCRIPT]
    cores = os.cpu_count() or 1
    rows: list[tuple[str, float, float]] = []

    def row(label: str, argv: list[str], runs: int | None = None) -> tuple[float, float]:
        seconds, rss = measure(argv, runs or args.runs)
        rows.append((label, seconds, rss))
        print(f"{label:<44} {seconds:8.3f} s {rss:8.1f} MiB", flush=True)
        return seconds, rss

    print(f"corpus: {args.corpus} ({sum(1 for _ in args.corpus.iterdir())} files, "
          f"{sum(p.stat().st_size for p in args.corpus.iterdir()) / 1e6:.1f} MB); "
          f"{cores} cores; python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        small = tmp / "small.yaml"
        small.write_text(SMALL)
        ten = tmp / "ten"
        replicate(args.corpus, ten, 10)
        big = tmp / "big.yaml"
        big_file(big, 50)

        corpus = str(args.corpus)
        lint_1x, _ = row("oomguard lint corpus (--jobs 1)", [*oomguard, "-j", "1", corpus])
        lint_1x_default, _ = row(f"oomguard lint corpus (--jobs {cores})", [*oomguard, corpus])
        floor_1x, _ = row("parsing floor corpus", [*floor, str(args.corpus)])
        parse_all_1x, _ = row("oomguard lint corpus --parse-all (--jobs 1)",
                              [*oomguard, "-j", "1", "--parse-all", str(args.corpus)])
        lint_10x, _ = row("oomguard lint 10x corpus (--jobs 1)",
                          [*oomguard, "-j", "1", str(ten)], max(1, args.runs // 2))
        lint_10x_jobs, _ = row(f"oomguard lint 10x corpus (--jobs {cores})",
                               [*oomguard, str(ten)], max(1, args.runs // 2))
        floor_10x, _ = row("parsing floor 10x corpus", [*floor, str(ten)], max(1, args.runs // 2))
        small_s, small_rss = row("one small manifest end to end", [*oomguard, str(small)],
                                 args.runs * 2)
        _, big_rss = row(f"one {big.stat().st_size >> 20} MB file (--jobs 1)",
                         [*oomguard, "-j", "1", str(big)], 1)
        checkov_s = None
        if args.checkov:
            checkov_s, _ = row("checkov corpus (CKV_K8S_12,13)",
                               [args.checkov, "--framework", "kubernetes", "--check",
                                "CKV_K8S_12,CKV_K8S_13", "-d", str(args.corpus), "--quiet",
                                "--compact"], 3)
        else:
            print("checkov: not installed (pass --checkov PATH); ratio skipped")

    print()
    print("ratios (targets in brackets):")
    print(f"  oomguard/floor, corpus          {lint_1x / floor_1x:6.2f}  [<= 2.0]")
    print(f"  same with --parse-all           {parse_all_1x / floor_1x:6.2f}  "
          "(every document parsed, CRDs too)")
    print(f"  oomguard/floor, 10x corpus      {lint_10x / floor_10x:6.2f}  [<= 2.0]")
    print(f"  10x/1x time (--jobs 1)          {lint_10x / lint_1x:6.2f}  [<= 11]")
    print(f"  10x --jobs {cores} speed-up            {lint_10x / lint_10x_jobs:6.2f}")
    print(f"  small manifest end to end       {small_s:6.3f} s, {small_rss:.1f} MiB  "
          "[<= 0.25 s, <= 60 MiB]")
    print(f"  50 MB file peak RSS             {big_rss:6.1f} MiB")
    if checkov_s is not None:
        print(f"  checkov/oomguard, corpus        {checkov_s / lint_1x_default:6.1f}  [>= 20]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
