"""KubeClient: kubeconfig/in-cluster credentials, paginated lists and raw GETs.

Credentials, TLS, proxies and exec/OIDC token refresh are the ``kubernetes`` package's
(``kubernetes.config``); requests go through its ``ApiClient`` so they carry the same auth
headers. Bodies are parsed with orjson into plain dicts: no model objects, and one page in
memory at a time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from oomguard.linter.kube.errors import KubeConfigError, KubeError
from oomguard.linter.kube.resources import Resource

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
DEFAULT_PAGE = 500  # kubectl's --chunk-size default
# module-level aliases: inside KubeClient the name "list" is the method
Query = list[tuple[str, str]]


@dataclass
class Page:
    items: list[dict[str, Any]]
    resource_version: str
    continue_token: str


def _kubeconfig_path(explicit: str | None) -> str | None:
    if explicit:
        return explicit
    env = os.environ.get("KUBECONFIG")
    if env:
        return env
    default = Path.home() / ".kube" / "config"
    return str(default) if default.is_file() else None


def _status_body(data: bytes) -> tuple[str, str]:
    """(reason, message) of a metav1.Status body; the raw text when it is not one."""
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        return "", data[:300].decode("utf-8", "replace").strip()
    if isinstance(body, dict):
        return str(body.get("reason") or ""), str(body.get("message") or "")
    return "", ""


class KubeClient:
    """Read-only access to one API server. Build it with :meth:`connect`."""

    def __init__(self, api_client: Any, *, namespace: str, context: str | None,
                 server: str, timeout: float) -> None:
        self._api = api_client
        self.namespace = namespace
        self.context = context
        self.server = server
        self.timeout = timeout
        self.requests = 0

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def connect(cls, kubeconfig: str | None = None, context: str | None = None, *,
                in_cluster: bool | None = None, timeout: float = 30.0,
                pool_size: int | None = None,
                service_account_dir: str = SERVICE_ACCOUNT_DIR) -> KubeClient:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        configuration = client.Configuration()  # ours, not the process-wide default
        path = _kubeconfig_path(kubeconfig)
        if in_cluster is None:
            in_cluster = path is None and bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
        namespace, context_name = "default", None
        try:
            if in_cluster:
                # load_incluster_config's loader, with the account's folder as a parameter
                # (the token is re-read each minute: projected tokens rotate)
                from kubernetes.config.incluster_config import InClusterConfigLoader

                account = Path(service_account_dir)
                InClusterConfigLoader(token_filename=str(account / "token"),
                                      cert_filename=str(account / "ca.crt"),
                                      environ=os.environ).load_and_set(configuration)
                try:
                    namespace = (account / "namespace").read_text().strip() or namespace
                except OSError:
                    pass
            else:
                if path is None:
                    raise KubeConfigError("no kubeconfig (--kubeconfig, $KUBECONFIG or "
                                          "~/.kube/config) and not inside a pod")
                contexts, active = config.list_kube_config_contexts(config_file=path)
                chosen = active
                if context is not None:
                    chosen = next((c for c in contexts or [] if c.get("name") == context), None)
                    if chosen is None:
                        raise KubeConfigError(f"context {context!r} not found in {path}")
                if chosen:
                    context_name = chosen.get("name")
                    namespace = (chosen.get("context") or {}).get("namespace") or namespace
                config.load_kube_config(config_file=path, context=context,
                                        client_configuration=configuration,
                                        persist_config=False)
        except KubeConfigError:
            raise
        except (ConfigException, OSError, ValueError, TypeError, KeyError) as exc:
            raise KubeConfigError(f"{type(exc).__name__}: {exc}") from None
        # a short retry budget: an unreachable server is reported in seconds, not minutes,
        # and a slow answer is not asked for again (that would multiply the timeout)
        import urllib3

        if pool_size is not None:  # threads sharing the client each keep a connection
            configuration.connection_pool_maxsize = pool_size
        configuration.retries = urllib3.Retry(total=2, connect=2, read=0, status=0,
                                              backoff_factor=0.2)
        return cls(client.ApiClient(configuration), namespace=namespace,
                   context=context_name, server=str(configuration.host), timeout=timeout)

    def close(self) -> None:
        closer = getattr(self._api, "close", None)
        if closer is not None:
            closer()

    def __enter__(self) -> KubeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ------------------------------------------------------------------------------
    def pages(self, resource: Resource, namespace: str | None = None, *,
              limit: int = DEFAULT_PAGE, label_selector: str | None = None,
              field_selector: str | None = None) -> Iterator[Page]:
        """The collection page by page, following ``metadata.continue``."""
        token = ""
        path = resource.collection_path(namespace)
        while True:
            query: Query = [("limit", str(limit))]
            if token:
                query.append(("continue", token))
            if label_selector:
                query.append(("labelSelector", label_selector))
            if field_selector:
                query.append(("fieldSelector", field_selector))
            body = self._get_object(path, query, verb="list", resource=resource,
                                    namespace=namespace)
            meta = body.get("metadata") or {}
            items = body.get("items") or []
            if not isinstance(items, list):
                raise KubeError("list", resource.label, None, "invalid-response",
                                "the answer's items is not a list", namespace=namespace,
                                path=path)
            for item in items:
                if isinstance(item, dict):
                    item.setdefault("kind", resource.kind)
                    item.setdefault("apiVersion", resource.api_version)
            token = str(meta.get("continue") or "")
            page = Page([i for i in items if isinstance(i, dict)],
                        str(meta.get("resourceVersion") or ""), token)
            del body, items  # this page only: not alive while the next one is read
            yield page
            del page
            if not token:
                return

    def list(self, resource: Resource, namespace: str | None = None, *,
             limit: int = DEFAULT_PAGE, label_selector: str | None = None,
             field_selector: str | None = None) -> Iterator[dict[str, Any]]:
        for page in self.pages(resource, namespace, limit=limit,
                               label_selector=label_selector, field_selector=field_selector):
            items = page.items
            del page
            items.reverse()
            while items:  # hand each item over and forget it: one page at most in memory
                yield items.pop()

    def get(self, resource: Resource, name: str, namespace: str | None = None) -> dict[str, Any]:
        body = self._get_object(resource.object_path(name, namespace), [], verb="get",
                                resource=resource, namespace=namespace, name=name)
        body.setdefault("kind", resource.kind)
        body.setdefault("apiVersion", resource.api_version)
        return body

    def get_optional(self, resource: Resource, name: str,
                     namespace: str | None = None) -> dict[str, Any] | None:
        try:
            return self.get(resource, name, namespace)
        except KubeError as exc:
            if exc.kind == "not-found":
                return None
            raise

    def get_json(self, path: str, *, query: Query | None = None,
                 timeout: float | None = None) -> Any:
        data = self.get_raw(path, query=query, timeout=timeout)
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise KubeError("get", path, None, "invalid-response",
                            f"the answer is not JSON: {exc}", path=path) from None

    def get_raw(self, path: str, *, query: Query | None = None,
                timeout: float | None = None, verb: str = "get",
                resource: str | None = None, namespace: str | None = None,
                name: str | None = None) -> bytes:
        """GET ``path`` (e.g. ``/api/v1/nodes/NAME/proxy/configz``): the body's bytes."""
        label = resource or path
        status, reason, data = self._request(path, query or [], timeout, verb, label,
                                             namespace, name)
        if 200 <= status < 300:
            return data
        server_reason, message = _status_body(data)
        raise KubeError(verb, label, status, server_reason or reason, message,
                        namespace=namespace, name=name, path=path)

    def _get_object(self, path: str, query: Query, *, verb: str,
                    resource: Resource, namespace: str | None,
                    name: str | None = None) -> dict[str, Any]:
        data = self.get_raw(path, query=query, verb=verb, resource=resource.label,
                            namespace=namespace, name=name)
        try:
            body = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise KubeError(verb, resource.label, None, "invalid-response",
                            f"the answer is not JSON: {exc}", namespace=namespace,
                            name=name, path=path) from None
        if not isinstance(body, dict):
            raise KubeError(verb, resource.label, None, "invalid-response",
                            "the answer is not a JSON object", namespace=namespace,
                            name=name, path=path)
        return body

    def _request(self, path: str, query: Query, timeout: float | None,
                 verb: str, label: str, namespace: str | None,
                 name: str | None) -> tuple[int, str, bytes]:
        """One GET through the kubernetes ApiClient: (status, reason, body)."""
        import urllib3
        from kubernetes.client.exceptions import ApiException

        self.requests += 1
        seconds = self.timeout if timeout is None else timeout
        headers = {"Accept": "application/json"}
        try:
            if hasattr(self._api, "param_serialize"):  # kubernetes >= 33 (new generator)
                method, url, hdrs, body, post = self._api.param_serialize(
                    method="GET", resource_path=path, query_params=query,
                    header_params=headers, auth_settings=["BearerToken"])
                response = self._api.call_api(method, url, hdrs, body, post,
                                              _request_timeout=(min(seconds, 10.0), seconds))
                try:
                    return int(response.status), str(response.reason or ""), response.read()
                finally:
                    raw = getattr(response, "response", None)
                    if raw is not None:
                        raw.release_conn()
            raw = self._api.call_api(  # kubernetes 29-32
                path, "GET", query_params=query, header_params=headers,
                auth_settings=["BearerToken"], _preload_content=False,
                _return_http_data_only=True, _request_timeout=(min(seconds, 10.0), seconds))
            try:
                return int(raw.status), str(raw.reason or ""), raw.data
            finally:
                raw.release_conn()
        except ApiException as exc:
            if exc.status:
                return int(exc.status), str(exc.reason or ""), (exc.body or b"") if isinstance(
                    exc.body, bytes) else str(exc.body or "").encode()
            raise KubeError(verb, label, None, "unreachable",
                            f"{self.server}: {str(exc.reason).splitlines()[0]}",
                            namespace=namespace, name=name, path=path) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            cause = getattr(exc, "reason", None) or exc
            if isinstance(cause, (urllib3.exceptions.TimeoutError, TimeoutError)) and not \
                    isinstance(cause, urllib3.exceptions.ConnectTimeoutError):
                raise KubeError(verb, label, None, "timeout",
                                f"{self.server} did not answer within {seconds:g}s",
                                namespace=namespace, name=name, path=path) from None
            raise KubeError(verb, label, None, "unreachable",
                            f"API server {self.server} unreachable: {cause}",
                            namespace=namespace, name=name, path=path) from None
