"""The workload domain: pod-bearing objects as typed models and the facts derived from them.

``model`` turns an object into a :class:`~oomguard.policies.workload.model.PodModel`,
``limitrange`` applies a namespace's LimitRange defaults to it, ``facts`` derives QoS class,
requests and oom_score_adj, ``runtime_heap`` reads JVM/Node/Go heap settings, ``runmodel``
keeps what cross-object rules (OOM140) need of a whole lint run. The node domain is its peer,
:mod:`oomguard.policies.node`.
"""
