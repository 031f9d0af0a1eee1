"""The provider agent (`linq provider agent`): starts escrows when their tenant workload is ready, withdraws
earnings on a schedule, finalizes expired escrows and reclaims their namespaces, and tears down workloads
whose escrow was stopped or cancelled. Restart-safe: every decision is made from chain and cluster state.

    agent = Agent(ChainClient(profile, signer), Cluster.connect(kubeconfig), Settings(...))
    agent.reconcile_once()            # one pass
    run_forever(agent, interval=30)   # the loop

docs/agent.md describes the loop, its permissions and running it as an LPStack workload.
"""

from linq.agent.actionlog import ActionLog
from linq.agent.cluster import Cluster, ClusterConfigError, ClusterError
from linq.agent.loop import run_forever, run_once
from linq.agent.reconcile import Agent, PassReport, Settings

__all__ = [
    "ActionLog",
    "Agent",
    "Cluster",
    "ClusterConfigError",
    "ClusterError",
    "PassReport",
    "Settings",
    "run_forever",
    "run_once",
]
