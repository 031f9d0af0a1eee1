"""`up` never waits without a bound: the workload carries its await timeout (pulumi-kubernetes reads
`pulumi.com/timeoutSeconds`), other objects are not awaited, and the program's own wait settings
(linq:receiptTimeout, linq:confirmations) are keys the stack's validation accepts (stacks/README.md)."""

from __future__ import annotations

import copy

import yaml

from linq.stackconfig import load_stack_values
from linq.stackrender import READY_TIMEOUT, READY_TIMEOUT_SECONDS, SKIP_AWAIT, for_pulumi, review
from linq.tools import locate

EXAMPLE = yaml.safe_load((locate.PROJECT_ROOT / "stacks" / "Pulumi.devnet.yaml").read_text())["config"]


def test_the_workload_is_awaited_for_a_bounded_time_and_nothing_else_is_awaited() -> None:
    manifests = [for_pulumi(m) for m in review(copy.deepcopy(EXAMPLE))["chat"]]
    by_kind = {m["kind"]: m.get("metadata", {}).get("annotations", {}) for m in manifests}
    assert by_kind["StatefulSet"][READY_TIMEOUT] == str(READY_TIMEOUT_SECONDS) == "600"
    assert SKIP_AWAIT not in by_kind["StatefulSet"]
    assert READY_TIMEOUT not in by_kind["Namespace"] and SKIP_AWAIT not in by_kind["Namespace"]
    others = [a for kind, a in by_kind.items() if kind not in ("StatefulSet", "Namespace")]
    assert others and all(a.get(SKIP_AWAIT) == "true" and READY_TIMEOUT not in a for a in others)


def test_wait_settings_are_keys_the_stack_accepts() -> None:
    values = {**copy.deepcopy(EXAMPLE), "linq:receiptTimeout": "300", "linq:confirmations": "2"}
    assert [d.name for d in load_stack_values(values).deployments] == ["chat"]
