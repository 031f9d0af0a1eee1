"""Monitoring a requestor wants to use: live state, logs, metrics and issues of app deployments.

    cluster.py     Kubernetes API access from a kubeconfig (JSON reads and streamed log lines)
    targets.py     which deployments to look at: a stack's outputs, a namespace, or the cluster's tenants
    snapshot.py    one read of a deployment's namespace: workloads, pods, events; live state from it
    escrow.py      the deployment's escrow figures, live from the chain (or the stack's last snapshot)
    issues.py      problems found automatically, each with a suggested fix
    logs.py        pods/log queries: since, tail, grep, per container, follow
    metrics.py     CPU, memory, request rate from Prometheus, or from the Kubernetes API
    render.py      rich tables and the runway bar for the terminal

Nothing here writes to a cluster or a chain. Exit codes: see linq.monitor.errors.
"""
