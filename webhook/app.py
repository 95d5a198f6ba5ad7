"""The Flask app: /validate (and /validate/deny, /validate/warn, /validate/audit),
/healthz, /readyz, /metrics.

A bad request is a 400/413 with a JSON error, logged and counted; it never reaches the
judge, never becomes a 500 and never kills a worker. An internal error while judging is
answered with the policy's ``webhook.on-internal-error`` (allow by default).
"""

from __future__ import annotations

import logging
import operator
import os
import time
from typing import Any

import orjson
from flask import Flask, Request, Response, request
from werkzeug.exceptions import HTTPException

from oomguard.policies.actions import DENY
from oomguard.policies.budget import Deadline, JudgeTimeout
from oomguard.policies.config import Policy
from oomguard.webhook import logs, metrics
from oomguard.webhook.review import (
    Decision,
    ReviewError,
    judge,
    parse_review,
    response,
    warning_text,
)
from oomguard.webhook.runtime import Runtime

_RULE = operator.attrgetter("rule")  # fetched in C
MAX_BODY = 8 << 20  # 8 MiB; kube-apiserver's own request limit is 3 MiB per object
JSON = "application/json"
TIMED_BODY = 64 << 10  # bytes: a larger review is judged under webhook.judge-timeout


def _json(body: Any, status: int = 200) -> Response:
    # orjson: a review parses 2.5x faster than with json, its answer is written 5x faster
    return Response(orjson.dumps(body), status=status, mimetype=JSON)


def create_app(runtime: Runtime | None = None) -> Flask:
    app = Flask("oomguard")
    # caps the reading of chunked bodies too: one byte past the limit tells "too large"
    # from "exactly the limit" (werkzeug stops at the cap without complaint)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY + 1
    if runtime is None:  # a gunicorn worker: read the policy now, start the watchers
        runtime = Runtime.from_environment()
        runtime.start()
    current = runtime  # its engine is swapped in place when the policy file changes
    override = timeout_override()

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        if request.path == "/validate" or request.path.startswith("/validate/"):
            return _bad(status, exc.description or exc.name)
        return _json({"error": exc.name, "message": exc.description}, status)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:  # not /validate: that one answers anyway
        logs.exception("internal-error", path=request.path)
        return _json({"error": "internal error", "message": type(exc).__name__}, 500)

    @app.get("/healthz")
    def healthz() -> Response:
        return _json({"status": "ok"})

    @app.get("/readyz")
    def readyz() -> Response:
        cluster = current.cluster
        ready = cluster.ready()
        return _json({"status": "ready" if ready else "waiting for the cluster lists",
                      "policy": current.policy.source or "built-in",
                      "cluster": cluster.state}, 200 if ready else 503)

    @app.get("/metrics")
    def metrics_endpoint() -> Response:
        return Response(metrics.render(), mimetype=metrics.CONTENT_TYPE)

    # /validate judges at the policy's webhook.action; /validate/<action> at that action:
    # the chart sends each namespace labelled oomguard.io/action there (docs/webhook.md)
    @app.post("/validate")
    @app.post("/validate/<any(deny, warn, audit):stage>")
    def validate(stage: str | None = None) -> Response:
        started = time.perf_counter()
        # the proxy resolved once, not on every use (flask types the proxy as the Request)
        req: Request = request._get_current_object()  # type: ignore[attr-defined]
        length = _declared_length(req.environ)
        if length is not None and length > MAX_BODY:
            return _bad(413, f"the body is {length} bytes; at most {MAX_BODY} are accepted")
        raw = req.get_data(cache=False)
        if len(raw) > MAX_BODY:
            return _bad(413, f"the body is over {MAX_BODY} bytes")
        try:
            text = raw.decode("utf-8")
            body = orjson.loads(text)
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
            return _bad(400, f"the body is not JSON: {exc}")
        try:
            review = parse_review(body)
        except ReviewError as exc:
            return _bad(exc.status, str(exc))
        runtime = current
        engine = runtime.engine  # read once: a reload meanwhile does not mix two policies
        # a small review is judged in milliseconds (the rules are linear in its size), so
        # only a large one pays for the budget's checks (~0.2 us each, 2 us a review)
        deadline = Deadline(override or judge_timeout(engine.policy)) \
            if len(raw) > TIMED_BODY else None
        stage = stage or engine.policy.webhook.get("action", DENY)
        try:
            decision = judge(review, engine, runtime.cluster.facts(), runtime.own_namespace,
                             may_hold_oom_score_adj="oomScoreAdj" in text, deadline=deadline,
                             stage=stage)
        except JudgeTimeout as exc:  # object content: the budget's own answer, not a bug's
            decision = _timed_out(engine.policy, review, exc)
        except Exception as exc:  # noqa: BLE001 - never the outage
            decision = _internal_error(runtime, exc)
        try:
            _account(review, decision, time.perf_counter() - started, stage)
        except Exception:  # noqa: BLE001 - a metrics or log failure must not fail a review
            logs.exception("accounting-failed")
        return _json(response(review["uid"], decision))

    return app


def _declared_length(environ: dict[str, Any]) -> int | None:
    """Content-Length as sent, if it is a number (werkzeug's parser costs ~5 us a review;
    a malformed value is werkzeug's to refuse when the body is read)."""
    text = environ.get("CONTENT_LENGTH")
    return int(text) if text and text.isdigit() else None


def _bad(status: int, message: str) -> Response:
    metrics.child(metrics.BAD_REQUESTS, str(status)).inc()
    logs.event(logging.WARNING, "bad-request", status=status, error=message[:300],
               remote=request.remote_addr)
    label = {400: "bad request", 413: "request too large"}.get(status, "invalid request")
    return _json({"error": label, "message": message}, status)


def timeout_override() -> float | None:
    """``oomguard webhook --judge-timeout``, passed to the workers as OOMGUARD_JUDGE_TIMEOUT
    (it wins over the policy's ``webhook.judge-timeout``)."""
    text = os.environ.get("OOMGUARD_JUDGE_TIMEOUT")
    try:
        value = float(text) if text else None
    except ValueError:
        value = None
    return value if value is not None and 0 < value <= 30 else None


def judge_timeout(policy: Policy) -> float:
    """Seconds one review may be judged for under the policy (``webhook.judge-timeout``)."""
    return float(policy.webhook.get("judge-timeout", 2))


def _timed_out(policy: Policy, review: dict[str, Any], exc: JudgeTimeout) -> Decision:
    kind = review["kind"].get("kind")
    namespace, name = review.get("namespace"), review.get("name") or ""
    target = f"{kind} {namespace + '/' if namespace else ''}{name}".rstrip()
    # (logs.event takes its fields as keywords, and "name" is its own parameter)
    logs.log.warning(logs.line("judge-timeout", {
        "uid": review["uid"], "kind": kind, "namespace": namespace, "name": name,
        "seconds": exc.seconds}))
    allow = policy.webhook.get("on-timeout", "deny") == "allow"
    text = (f"oomguard could not judge {target} within {exc.seconds:g}s "
            "(webhook.judge-timeout); " + ("allowed unjudged (webhook.on-timeout: allow)"
                                           if allow else "denied (webhook.on-timeout: deny)"))
    if allow:
        return Decision(True, warnings=[warning_text(text)], reason="timeout")
    return Decision(False, 500, text, reason="timeout")


def _internal_error(runtime: Runtime, exc: Exception) -> Decision:
    metrics.INTERNAL_ERRORS.inc()
    logs.exception("internal-error", error=str(exc)[:300])
    text = f"oomguard internal error ({type(exc).__name__}); the request was not judged"
    if runtime.policy.webhook.get("on-internal-error") == "deny":
        return Decision(False, 500, text, reason="error")
    return Decision(True, warnings=[warning_text(text)], reason="error")


def _account(review: dict[str, Any], decision: Decision, elapsed: float,
             stage: str = DENY) -> None:
    kind = review["kind"]["kind"]
    operation = review["operation"]
    findings = decision.findings
    metrics.record_review(kind, operation, decision.reason, elapsed, findings)
    logs.review({
        "event": "review", "uid": review["uid"], "kind": kind,
        "namespace": review.get("namespace"), "name": review.get("name"),
        "subResource": review.get("subResource"), "operation": operation,
        "dryRun": bool(review.get("dryRun")), "decision": decision.reason,
        "allowed": decision.allowed, "action": stage,
        "rules": sorted(set(map(_RULE, findings))) if findings else [],
        "latencyMs": round(elapsed * 1000, 3),
    })
