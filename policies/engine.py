"""Run the rules: objects in, findings out.

:meth:`Engine.evaluate_object` is the one entry point for an object, the linter's and the
webhook's alike. :class:`Engine` is immutable after construction (but for a cache of equal,
immutable :class:`Context` values) and safe to share between threads (the webhook does).
:class:`Run` is one lint run's accumulator: it passes each object to the engine with its
:class:`RunModel`, which keeps what the cross-object rules (OOM140) judge at the end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from oomguard.policies import node_hooks
from oomguard.policies.budget import Deadline
from oomguard.policies.config import Policy
from oomguard.policies.kinds import HORIZONTAL_POD_AUTOSCALER, object_template_path
from oomguard.policies.positions import SourceProblem, locate
from oomguard.policies.registry import catalog
from oomguard.policies.rule import (
    CheckFunction,
    Context,
    Finding,
    ObjectRef,
    Path,
    RuleParams,
    Scope,
    Severity,
    Subject,
    Suppression,
    format_path,
)
from oomguard.policies.workload.facts import pod_facts, pod_memory_request
from oomguard.policies.workload.limitrange import (
    ContainerDefaults,
    container_defaults,
)
from oomguard.policies.workload.model import (
    ModelError,
    PodModel,
    RejectedObject,
    build_pod_model,
    object_ref,
)
from oomguard.policies.workload.runmodel import RunModel, hpa_model, workload_summary

META_CODE = "OOM001"
RUN_CODES = frozenset({"OOM140"})  # judged at the end of a run (Engine.evaluate_run)


@dataclass(frozen=True, slots=True)
class _Check:
    """An enabled rule as the engine runs it, its policy settings resolved once."""

    check: CheckFunction
    params: RuleParams
    code: str
    name: str
    severity: Severity
    requires: str | None  # a model feature (policies.workload.model.FEATURES)


class ObjectResult:
    """Everything oomguard concluded about one object (or one node file).

    A pod's facts are computed when first read: text output and the webhook read none or
    two of them (:meth:`summary`), and the per-container part costs as much as a rule."""

    __slots__ = ("ref", "file", "findings", "problems", "_facts", "_model", "_node_memory")

    def __init__(self, ref: ObjectRef | None, file: str | None,
                 findings: list[Finding] | None = None, facts: dict[str, Any] | None = None,
                 problems: list[SourceProblem] | None = None, *, model: PodModel | None = None,
                 node_memory: Decimal | None = None) -> None:
        self.ref, self.file = ref, file
        self.findings = [] if findings is None else findings
        self.problems = [] if problems is None else problems
        self._facts = facts
        self._model, self._node_memory = model, node_memory

    @property
    def model(self) -> PodModel | None:
        """The workload model judged (None for node documents and unmodelled objects)."""
        return self._model

    @property
    def facts(self) -> dict[str, Any]:
        if self._facts is None:
            model = self._model
            self._facts = {} if model is None else \
                pod_facts(model, self._node_memory)
        return self._facts

    def summary(self) -> dict[str, Any]:
        """The pod's QoS class and scheduler memory request (what the webhook annotates)."""
        model = self._model
        if model is None or self._facts is not None:
            facts = self.facts
            return {k: facts[k] for k in ("qos", "podMemoryRequest") if k in facts}
        return {"qos": model.qos, "podMemoryRequest": pod_memory_request(model)}

    @property
    def has_facts(self) -> bool:
        return self._model is not None or bool(self._facts)

    def facts_json(self, with_facts: bool = True) -> dict[str, Any]:
        entry = {"file": self.file, "object": self.ref.to_json() if self.ref else None}
        if with_facts:
            entry["facts"] = self.facts
        return entry


def as_container_defaults(limit_ranges: Iterable[Any]) -> list[ContainerDefaults]:
    out = []
    for item in limit_ranges:
        if isinstance(item, ContainerDefaults):
            out.append(item)
        elif isinstance(item, dict):
            defaults = container_defaults(item)
            if defaults is not None:
                out.append(defaults)
    return out


class Engine:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        # per scope: each enabled rule's check, its parameters, code, name and severity,
        # looked up once here rather than for every subject
        self._checks: dict[Scope, tuple[_Check, ...]] = {}
        for setting in policy.enabled_rules():
            rule = setting.rule
            check = _Check(rule.check, rule.params(setting.params), rule.code, rule.name,
                           setting.severity, rule.requires)
            self._checks[rule.scope] = (*self._checks.get(rule.scope, ()), check)
        meta = policy.settings.get(META_CODE)
        self._meta = meta if meta is not None and meta.enabled else None
        # immutable values, so sharing them between threads is safe
        self._contexts: dict[tuple[Decimal | None, Decimal | None], Context] = {}

    def context(self, node_memory: Decimal | None = None,
                node_allocatable: Decimal | None = None) -> Context:
        key = (node_memory, node_allocatable)
        found = self._contexts.get(key)  # the webhook asks with the same node sizes each time
        if found is None:
            found = Context(node_memory=node_memory or self.policy.node_memory,
                            node_allocatable=node_allocatable or self.policy.node_allocatable)
            if len(self._contexts) > 64:  # node sizes come and go with the cluster
                self._contexts.clear()
            self._contexts[key] = found
        return found

    # -- one subject --------------------------------------------------------------------
    def evaluate_subject(self, subject: Subject, context: Context, *,
                         allow_ignores: bool = True,
                         deferred_codes: frozenset[str] = frozenset(),
                         deadline: Deadline | None = None) -> list[Finding]:
        """Findings of every enabled rule of the subject's scope, after suppressions.

        ``deferred_codes`` are rules judged later (OOM140): an ignore naming them is not
        reported as having suppressed nothing. ``deadline`` is checked before each rule and
        after each violation (policies.budget).
        """
        raw: list[Finding] = []
        # a subject read from JSON (the webhook) has no positions to look up
        locate = subject.locate if subject.positional else None
        file, ref = subject.file, subject.ref
        features: frozenset[str] | None = None
        for rule in self._checks.get(subject.scope, ()):
            if rule.requires is not None:  # skip a rule whose every violation needs a feature
                if features is None:
                    features = subject.features()
                if rule.requires not in features:
                    continue
            if deadline is not None:
                deadline.check()
            for violation in rule.check(subject, rule.params, context):
                if deadline is not None:
                    deadline.check()
                line, column = violation.line, violation.column
                if line is None and locate is not None:
                    pos = locate(violation.path)
                    if pos is not None:
                        line, column = pos
                raw.append(Finding(
                    rule=rule.code, name=rule.name, severity=rule.severity,
                    message=violation.message, file=file, line=line, column=column, object=ref,
                    container=violation.container, path=format_path(violation.path)))
        if not allow_ignores:
            return raw
        return self.apply_suppressions(raw, subject.suppressions(), subject, deferred_codes)

    def apply_suppressions(self, findings: list[Finding], suppressions: Sequence[Suppression],
                           subject: Subject, deferred_codes: frozenset[str] = frozenset(),
                           ) -> list[Finding]:
        if not suppressions:
            return findings
        cat = catalog()
        wanted: dict[str, list[Suppression]] = {}
        unknown: list[Suppression] = []
        for sup in suppressions:
            rule = cat.get(sup.token)
            if rule is None:
                unknown.append(sup)
            else:
                wanted.setdefault(rule.code, []).append(sup)
        kept = [f for f in findings if f.rule not in wanted]
        used = {f.rule for f in findings if f.rule in wanted}
        meta: list[Finding] = []
        if self._meta is not None:
            for sup in unknown:
                meta.append(self._meta_finding(
                    sup, subject, f"ignore names {sup.token!r}, which is not a rule code or "
                                  "name (see `oomguard rules`)"))
            for code, sups in wanted.items():
                if code in used or code in deferred_codes:
                    continue
                for sup in sups:
                    meta.append(self._meta_finding(
                        sup, subject, f"ignore of {sup.token!r} suppressed nothing: "
                                      f"{code} does not fire here; remove the ignore"))
        if META_CODE in wanted:  # an ignore of OOM001 silences OOM001
            meta = []
        return kept + meta

    def _meta_finding(self, sup: Suppression, subject: Subject, message: str) -> Finding:
        assert self._meta is not None
        line, column = sup.line, sup.column
        if line is None:
            pos = subject.locate(sup.path)
            line, column = pos if pos else (None, None)
        return Finding(rule=META_CODE, name=self._meta.rule.name, severity=self._meta.severity,
                       message=message, file=subject.file, line=line, column=column,
                       object=subject.ref, container=None, path=format_path(sup.path))

    # -- one object -----------------------------------------------------------------------
    def judges(self, obj: Mapping[str, Any]) -> bool:
        return object_template_path(obj, self.policy.kinds)[0]

    def evaluate_object(self, obj: Any, *, file: str | None = None, text: str | None = None,
                        limit_ranges: Iterable[Any] = (), node_memory: Decimal | None = None,
                        node_allocatable: Decimal | None = None,
                        allow_annotation_ignores: bool = True,
                        may_hold_oom_score_adj: bool = True,
                        run: RunModel | None = None,
                        deadline: Deadline | None = None) -> ObjectResult | None:
        """Judge one object; None when oomguard has nothing to say about its kind.

        ``text`` is the file the object was read from (node documents read their comments
        and kubeadm neighbours there); ``may_hold_oom_score_adj`` False (that file lacks the
        word) skips the scan of the spec for the key. With ``run`` (a lint run), HPAs and
        workload summaries are kept there for the cross-object rules, whose ignores are
        then not reported as unmatched. With a ``deadline``, raises
        policies.budget.JudgeTimeout once it has passed.
        """
        if not isinstance(obj, dict):
            return None
        context = self.context(node_memory, node_allocatable)
        node_result = self._evaluate_node_document(obj, file, text, context,
                                                   allow_annotation_ignores, deadline)
        if node_result is not None:
            return node_result
        if run is not None and obj.get("kind") == HORIZONTAL_POD_AUTOSCALER:
            hpa = hpa_model(obj, file)
            if hpa is not None:
                run.hpas.append(hpa)
            return None
        try:
            model = self.pod_model(obj, file, limit_ranges, may_hold_oom_score_adj, deadline)
        except RejectedObject as exc:
            return _rejected(obj, file, exc)
        except ModelError as exc:
            return _unmodelled(obj, file, exc)
        if model is None:
            return None
        if run is not None:
            run.add_workload(workload_summary(model))
        return self._evaluate_pod(model, context, allow_annotation_ignores,
                                  RUN_CODES if run is not None else frozenset(), deadline)

    def _evaluate_node_document(self, obj: Mapping[str, Any], file: str | None,
                                text: str | None, context: Context,
                                allow_ignores: bool = True,
                                deadline: Deadline | None = None) -> ObjectResult | None:
        """The result for a node configuration document; None for any other document."""
        node_subjects = node_hooks.subjects_from_document(obj, file, text)
        if node_subjects is None:
            return None
        if isinstance(node_subjects, SourceProblem):
            return ObjectResult(object_ref(obj), file, problems=[node_subjects])
        return self.evaluate_node_subjects(node_subjects, context, file, object_ref(obj),
                                           allow_ignores, deadline)

    def pod_model(self, obj: Mapping[str, Any], file: str | None,
                  limit_ranges: Iterable[Any] = (), may_hold_oom_score_adj: bool = True,
                  deadline: Deadline | None = None) -> PodModel | None:
        """The defaulted model of a pod-bearing object, None for kinds without pods; raises
        ModelError when the object has no usable pod spec (RejectedObject when the API
        server would reject it)."""
        bearing, template = object_template_path(obj, self.policy.kinds)
        if not bearing:
            return None
        return build_pod_model(obj, template, file, may_hold_oom_score_adj,
                               as_container_defaults(limit_ranges) if limit_ranges else (),
                               deadline)

    def _evaluate_pod(self, model: PodModel, context: Context, allow_ignores: bool,
                      deferred_codes: frozenset[str],
                      deadline: Deadline | None = None) -> ObjectResult:
        findings = self.evaluate_subject(model, context, allow_ignores=allow_ignores,
                                         deferred_codes=deferred_codes, deadline=deadline)
        problems = []
        for message, path in model.problems:
            pos = model.locate(path)
            problems.append(SourceProblem(f"{model.ref}: {message}", *(pos or (None, None))))
        return ObjectResult(model.ref, model.file, findings, None, problems, model=model,
                            node_memory=context.node_memory)

    def evaluate_node_subjects(self, subjects: Sequence[Subject], context: Context,
                               file: str | None, ref: ObjectRef | None,
                               allow_ignores: bool = True,
                               deadline: Deadline | None = None) -> ObjectResult:
        findings: list[Finding] = []
        facts: dict[str, Any] = {}
        for subject in subjects:
            findings.extend(self.evaluate_subject(subject, context, allow_ignores=allow_ignores,
                                                  deadline=deadline))
            facts.update(subject.facts_for(context.node_memory))
        first = subjects[0].ref if subjects else ref
        return ObjectResult(first, file, findings, facts)

    # -- the whole run ----------------------------------------------------------------------
    def evaluate_run(self, run: RunModel, context: Context) -> list[Finding]:
        """Cross-object rules: each HPA of the run is a subject that sees all workloads."""
        findings: list[Finding] = []
        for hpa in run.hpas:
            findings.extend(self.evaluate_subject(hpa.bound(run), context))
        return findings


class Run:
    """One lint run: feeds objects to the engine and keeps what cross-object rules need."""

    def __init__(self, engine: Engine, limit_ranges: Iterable[Any] = ()) -> None:
        self.engine = engine
        self.limit_ranges = as_container_defaults(limit_ranges)
        self.model = RunModel()
        self._oom_text: str | None = None
        self._oom_found = True

    def add(self, obj: Any, file: str | None, text: str | None = None) -> ObjectResult | None:
        return self.engine.evaluate_object(obj, file=file, text=text,
                                           limit_ranges=self.limit_ranges,
                                           may_hold_oom_score_adj=self._mentions_oom(text),
                                           run=self.model)

    def _mentions_oom(self, text: str | None) -> bool:
        """Whether the file may hold an oomScoreAdj key: searched once per file, not once per
        document (a 50 MB file has hundreds of thousands of documents)."""
        if text is None:
            return True
        if self._oom_text is not text:
            self._oom_text = text
            self._oom_found = "oomScoreAdj" in text
        return self._oom_found

    def merge(self, other: RunModel) -> None:
        self.model.merge(other)

    def finish(self) -> list[Finding]:
        return self.engine.evaluate_run(self.model, self.engine.context())


def _unmodelled(obj: Mapping[str, Any], file: str | None, exc: ModelError) -> ObjectResult:
    """The result for a pod-bearing object without a usable pod spec: where and why."""
    ref = object_ref(obj)
    return ObjectResult(ref, file, problems=[SourceProblem(f"{ref}: {exc}",
                                                           *_position(obj, exc.path))])


def _rejected(obj: Mapping[str, Any], file: str | None, exc: RejectedObject) -> ObjectResult:
    """The result for an object the API server rejects: each reason, where, not judged."""
    ref = object_ref(obj)
    return ObjectResult(ref, file, problems=[
        SourceProblem(f"{ref}: {message}", *_position(obj, path), rejected=True)
        for message, path in exc.problems])


def _position(obj: Mapping[str, Any], path: Path) -> tuple[int | None, int | None]:
    return locate(obj, path) or (None, None)


def severity_counts(findings: Iterable[Finding]) -> dict[str, int]:
    counts = {str(s): 0 for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)}
    for finding in findings:
        counts[str(finding.severity)] += 1
    return counts


def excluded_namespace(obj: Mapping[str, Any], policy: Policy) -> bool:
    meta = obj.get("metadata")
    namespace = meta.get("namespace") if isinstance(meta, dict) else None
    return namespace is not None and str(namespace) in policy.exclude_namespaces


__all__ = ["Engine", "ObjectResult", "Run", "severity_counts", "excluded_namespace", "Path"]
