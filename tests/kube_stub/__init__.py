"""A stand-in kube-apiserver on 127.0.0.1 over TLS, for tests of read-only clients.

It answers as kube-apiserver does (the generalisation of tests/webhook_support/fake_api.py,
which stays for the webhook's watch streams):

- lists (``GET /api/v1/pods``, ``/api/v1/namespaces/NS/pods``, ``/apis/G/V/...``) are a
  ``<Kind>List`` whose items carry **no** kind/apiVersion, with ``metadata.resourceVersion``;
  ``?limit=N`` pages them with an opaque ``metadata.continue`` token and
  ``remainingItemCount``; a bad token is a 400 Status, as the server says;
- single objects (``.../pods/NAME``) carry kind/apiVersion; a missing one is a 404
  ``NotFound`` Status (``pods "x" not found``); an unknown path is a text 404;
- bearer-token auth: no or a wrong token is a 401 ``Unauthorized`` Status; ``forbidden``
  (resource labels like ``pods`` or ``events.events.k8s.io``) answers 403 with the RBAC
  message naming the user, verb, resource, group and scope;
- node proxy paths ``/api/v1/nodes/NAME/proxy/PATH``: ``proxies[(NAME, PATH)] =
  Proxy(body, status, delay)``; a node without a proxy script answers 503 as the server does
  when the kubelet is unreachable;
- any method but GET is answered 405 and recorded, so tests can assert GET-only.

API::

    from tests.kube_stub import KubeStub, Proxy, serving, strip

    with serving(tmp_path) as stub:          # or KubeStub(tmp_path).start() / .close()
        stub.add(pod_dict, event_dict, ...)  # full objects with kind/apiVersion
        stub.forbidden.add("events.events.k8s.io")
        stub.fail["pods"] = 500              # every request for a resource answers this code
        stub.proxies[("w-1", "configz")] = Proxy({"kubeletconfig": {...}}, delay=0.0)
        path = stub.kubeconfig(tmp_path / "kubeconfig", namespace="ci", token=None)
        stub.url, stub.ca_file, stub.token, stub.user
        stub.log      # [Request(method, path, query, authorized)]
        stub.methods()                       # {"GET"} when the client only read
        stub.lists_of("pods")                # the list requests of a resource (with params)
"""

from tests.kube_stub.server import KubeStub, Proxy, Request, serving, strip

__all__ = ["KubeStub", "Proxy", "Request", "serving", "strip"]
