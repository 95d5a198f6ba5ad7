#!/usr/bin/env bash
# Rewrite code written against the layout before issue 14 to the current one. Idempotent.
#   oomguard.policies.{model,facts,limitrange,runtime_heap,runmodel} -> oomguard.policies.workload.*
#   oomguard.linter.cli -> oomguard.cli (the dispatcher; subcommands in oomguard/commands/)
#   oomguard.linter.vap_cmd -> oomguard.commands.vap
#   oomguard.linter.precommit_helm -> oomguard.precommit_helm
#   python -m oomguard.linter -> python -m oomguard
# A command hooked into the old linter/cli.py goes into COMMANDS in oomguard/cli.py instead
# (and declares NAME); see docs/architecture.md "Adding a command".
# Usage: tools/rename_layout.sh FILE...
set -euo pipefail
for f in "$@"; do
  [ -f "$f" ] || continue
  sed -i -E \
    -e 's/\boomguard\.policies\.(model|facts|limitrange|runtime_heap|runmodel)\b/oomguard.policies.workload.\1/g' \
    -e 's/^(\s*)from oomguard\.policies import (model|facts|limitrange|runtime_heap|runmodel)\b/\1from oomguard.policies.workload import \2/' \
    -e 's/\bpolicies\/(model|facts|limitrange|runtime_heap|runmodel)\.py\b/policies\/workload\/\1.py/g' \
    -e 's/\boomguard\.linter\.cli\b/oomguard.cli/g' \
    -e 's/^(\s*)from oomguard\.linter import cli\b/\1from oomguard import cli/' \
    -e 's/\boomguard\.linter\.precommit_helm\b/oomguard.precommit_helm/g' \
    -e 's/^from oomguard\.linter import vap_cmd$/from oomguard.commands import vap as vap_cmd/' \
    -e 's/\boomguard\.linter\.vap_cmd\b/oomguard.commands.vap/g' \
    -e 's/(-m |"-m", ")oomguard\.linter\b/\1oomguard/g' \
    "$f"
done
