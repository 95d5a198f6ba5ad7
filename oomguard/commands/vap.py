"""``oomguard vap``: the rule set as ValidatingAdmissionPolicy and binding objects.

Exit codes: 0 written; 2 usage or policy errors (the message names the file and the key).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from oomguard.commands import EXIT_ERROR, EXIT_OK

NAME = "vap"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME, help="write the rules as ValidatingAdmissionPolicies (Kubernetes >= 1.30)",
        description="Write admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy and "
                    "ValidatingAdmissionPolicyBinding objects for every rule of the policy "
                    "that CEL can express exactly; the others are listed in the output's "
                    "comments (and by --explain) and stay with the webhook.")
    parser.add_argument("--policy", metavar="FILE",
                        help="policy file (default: .oomguard.yaml in the working directory, "
                             "else the built-in default profile)")
    parser.add_argument("--profile", choices=("default", "strict"),
                        help="built-in profile to use when no policy file is given")
    parser.add_argument("--action", choices=("deny", "warn", "audit"),
                        help="what the bindings do with an error finding: deny, warn, or "
                             "audit (default: the policy's webhook.action, itself deny by "
                             "default); a rule's own action caps it as in the webhook; "
                             "warnings warn (audit under audit), infos audit")
    parser.add_argument("--output", "-o", metavar="FILE",
                        help="write the YAML stream to FILE instead of stdout")
    parser.add_argument("--explain", action="store_true",
                        help="list which rules are exported and why the others are not")
    return parser


def run(args: argparse.Namespace) -> int:
    from oomguard.policies.actions import policy_action, rule_action
    from oomguard.policies.config import PolicyError, load_policy
    from oomguard.policies.vap import build, explain_text, to_yaml

    try:
        policy = load_policy(args.policy, search_cwd=True, profile=args.profile)
    except PolicyError as exc:
        print(f"oomguard: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    # the webhook's actions (policies/actions.py): the stage, each rule at most its cap
    action = args.action or policy_action(policy)
    rule_actions = {code: rule_action(policy, code, action) for code in policy.action_caps}
    bundle = build(policy, action, rule_actions)
    text = explain_text(bundle) if args.explain else to_yaml(bundle, policy.source, action)
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        print(f"oomguard: error: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK
