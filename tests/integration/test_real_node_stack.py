"""`pulumi up` onto the real node: a custom container built offline, deployed through the `real` provider's
gateway (which places every tenant pod on lp-real-0 by namespace annotations), really runs there; its exported
endpoint answers from the host with the app's own response, through the devnet ingress; admission refuses
privileged and over-quota pods; `state: stopped` terminates the containers; `pulumi destroy` leaves nothing on
the node (docs/real-node.md).
"""

from __future__ import annotations

import contextlib
import io
import json
import select
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

from linq.catalog.names import workload_name
from linq.devnet import Devnet, gateway, node
from linq.devnet.kubeapi import KubeAPI, KubeError
from linq.devnet.nodeconfig import NODE_NAME, REAL_NODE_LABEL, REAL_NODE_TOLERATION, REGISTRY_HOST
from linq.engine import inline_stack
from linq.tools import locate
from tests.waiting import wait_for

pytestmark = pytest.mark.integration
LINQ = str(locate.PROJECT_ROOT / ".venv" / "bin" / "linq")
REQUESTOR_INDEX = 4  # test_app_deployment's requestor too; both only look at their own escrows
# busybox httpd as PID 1 ignores SIGTERM: run it in the background and exit on TERM (pitfall 8)
APP_CMD = (
    "/bin/busybox sh -c 'echo serving $(cat /www/index.html); /bin/busybox httpd -f -vv -p 8080 -h /www & "
    'trap "kill $!; exit 0" TERM; wait\''
)


def _linq(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LINQ, *args], capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def api(devnet: Devnet) -> KubeAPI:
    assert node.read_state(devnet.state_dir) is not None, "the devnet started without a real node (root needed)"
    return KubeAPI.from_kubeconfig(devnet.kubeconfig)


@pytest.fixture(scope="module")
def real(devnet: Devnet, api: KubeAPI) -> gateway.RealProvider:
    started = time.monotonic()
    provider = gateway.start_real_provider(devnet)
    print(f"real provider (ingress + gateway) started in {time.monotonic() - started:.1f}s")
    return provider


@pytest.fixture(scope="module")
def provider(real: gateway.RealProvider) -> str:
    return real.address


@pytest.fixture(scope="module")
def image(devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> str:
    site = tmp_path_factory.mktemp("app")
    (site / "www").mkdir()
    (site / "www" / "index.html").write_text("hello from pulumi up on the real node\n")
    ref = f"{REGISTRY_HOST}/linq-test/app:{uuid.uuid4().hex[:6]}"
    pushed = _linq(
        "image",
        "build",
        str(site),
        "--tag",
        ref,
        "--busybox",
        "--push",
        "--cmd",
        APP_CMD,
        "--state-dir",
        str(devnet.state_dir),
    )
    assert pushed.returncode == 0, pushed.stderr
    return ref


def _deployment(name: str, image: str, provider: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "ports": [{"name": "http", "containerPort": 8080}],
        "endpoint": {"port": "http", "kind": "http"},
        "resources": {"cpuMillis": 100, "memoryMiB": 128, "storageGiB": 0, "ephemeralStorageGiB": 1},
        "duration": "2h",
        "provider": provider,
        **extra,
    }


def _program() -> None:
    from components.stack_program import run

    run()


def _stack(devnet: Devnet, work: Path, real: gateway.RealProvider, deployment: dict[str, Any]) -> auto.Stack:
    stack = inline_stack(devnet, project="realnode", stack=deployment["name"], program=_program, work_dir=work)
    config = {
        # through the provider's gateway (no kubeconfig); its ingress serves apps under its public domain
        "linq:providers": auto.ConfigValue(json.dumps({real.address: {"publicDomain": real.public_domain}})),
        "linq:devAccount": auto.ConfigValue(str(REQUESTOR_INDEX)),
        "linq:network": auto.ConfigValue(json.dumps({"kind": "devnet", "devnetDir": str(devnet.state_dir)})),
        "linq:deployments": auto.ConfigValue(json.dumps([deployment])),
    }
    stack.set_all_config(config)
    return stack


def _curl(devnet: Devnet, url: str) -> str:
    """The whole HTTP answer (status line, headers, body) as curl gets it from the host."""
    ca = devnet.state_dir / "kube" / "pki" / "ca.crt"
    done = subprocess.run(
        ["curl", "-sS", "-i", "--max-time", "10", "--cacert", str(ca), url],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"curl {url}: {done.stderr.strip()}")  # wait_for shows the last one
    return done.stdout


def _pods(api: KubeAPI, ns: str) -> list[dict]:
    return list(api.get(f"/api/v1/namespaces/{ns}/pods")["items"])


def _traces(devnet: Devnet, ns: str, uids: list[str]) -> list[str]:
    """What the node holds of the namespace's pods: cgroups, pod logs, /var/log/containers links, mounts."""
    layout = node.read_state(devnet.state_dir).layout(devnet.state_dir)  # type: ignore[union-attr]
    found = [str(p) for uid in uids for p in Path("/sys/fs/cgroup/memory", layout.cgroup_root[1:]).rglob(f"pod{uid}")]
    found += [str(p) for p in layout.pod_logs.glob(f"{ns}_*")]
    found += [str(p) for p in Path("/var/log/containers").glob(f"*_{ns}_*")]
    mounts = Path("/proc/self/mountinfo").read_text()
    found += [f"mount of pod {uid}" for uid in uids if uid in mounts]
    return found


@pytest.fixture(scope="module")
def deployed(
    devnet: Devnet, real: gateway.RealProvider, image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[auto.Stack, dict[str, Any]]]:
    name = f"web-{uuid.uuid4().hex[:6]}"
    stack = _stack(devnet, tmp_path_factory.mktemp("stack"), real, _deployment(name, image, real.address))
    started = time.monotonic()
    up = stack.up()
    print(f"pulumi up onto the real node: {time.monotonic() - started:.1f}s")
    yield stack, up.outputs["deployments"].value[name]
    stack.destroy()


def test_pulumi_up_runs_the_container_on_the_real_node_and_its_endpoint_answers(
    devnet: Devnet, api: KubeAPI, deployed: tuple[auto.Stack, dict[str, Any]], real: gateway.RealProvider
) -> None:
    stack, out = deployed
    name = stack.name
    assert out["state"] == "Running"
    assert out["provider"] == real.address.lower()
    ns = out["namespace"]
    annotations = api.get(f"/api/v1/namespaces/{ns}")["metadata"]["annotations"]
    assert annotations["scheduler.alpha.kubernetes.io/node-selector"] == f"{REAL_NODE_LABEL}=true"
    (pod,) = _pods(api, ns)
    # the tenant's manifests say nothing about nodes: admission put the provider's placement in
    assert pod["spec"]["nodeName"] == NODE_NAME
    assert pod["spec"]["nodeSelector"] == {REAL_NODE_LABEL: "true"}
    assert REAL_NODE_TOLERATION in pod["spec"]["tolerations"]
    assert pod["status"]["containerStatuses"][0]["ready"] is True
    assert pod["status"]["containerStatuses"][0]["containerID"].startswith("containerd://")
    # the exported endpoint answers from the host (curl resolves *.localhost to the loopback, as browsers do)
    assert out["endpoint"] == f"https://{workload_name(name)}-{ns}.{real.public_domain}"
    answer = wait_for(lambda: _curl(devnet, out["endpoint"]), what="the endpoint answering from the host")
    status_line, _, rest = answer.partition("\n")
    assert status_line.split()[1] == "200", answer  # "HTTP/2 200": curl and the ingress speak HTTP/2 over TLS
    assert rest.endswith("\n\nhello from pulumi up on the real node\n"), answer  # the app's own page


def test_linq_logs_follows_and_greps_the_real_stdout(devnet: Devnet, deployed: tuple[auto.Stack, dict]) -> None:
    ns, endpoint = deployed[1]["namespace"], deployed[1]["endpoint"]
    found = wait_for(
        lambda: _linq("logs", "-n", ns, "--devnet-dir", str(devnet.state_dir), "--grep", "^serving", "--json").stdout,
        what="linq logs --grep",
    )
    assert [json.loads(line)["text"] for line in found.splitlines()] == [
        "serving hello from pulumi up on the real node"
    ]
    # --follow streams lines written after it started: requests to the endpoint, which busybox httpd logs (-vv)
    token = f"/follow-{uuid.uuid4().hex[:8]}"
    follow = subprocess.Popen(
        [
            LINQ,
            "logs",
            "-n",
            ns,
            "--devnet-dir",
            str(devnet.state_dir),
            "--follow",
            "--since",
            "1s",
            "--grep",
            f"url:{token}",
            "--json",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    stream = follow.stdout
    assert stream is not None
    try:
        deadline = time.monotonic() + 120
        ready: list = []
        while not ready and time.monotonic() < deadline:
            with contextlib.suppress(RuntimeError):
                _curl(devnet, endpoint + token)  # a 404 from the app, logged by it
            ready, _, _ = select.select([stream], [], [], 1)
        assert ready, "linq logs --follow printed nothing in 120 s"
        line = json.loads(stream.readline())
        assert f"url:{token}" in line["text"], line
    finally:
        follow.terminate()
        follow.wait(timeout=30)


def test_privileged_and_over_quota_pods_are_refused(
    api: KubeAPI, deployed: tuple[auto.Stack, dict], image: str
) -> None:
    ns = deployed[1]["namespace"]

    def pod(name: str, security: dict, memory: str) -> dict:
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {
                "containers": [
                    {
                        "name": "main",
                        "image": image,
                        "securityContext": security,
                        "resources": {"limits": {"memory": memory, "cpu": "50m"}},
                    }
                ]
            },
        }

    with pytest.raises(KubeError) as privileged:
        api.post(f"/api/v1/namespaces/{ns}/pods", pod("root", {"privileged": True}, "16Mi"))
    assert privileged.value.status == 403 and "privileged" in str(privileged.value), privileged.value
    # one container bigger than the lease (LimitRange), and a second pod while the app holds the whole quota
    with pytest.raises(KubeError) as big:
        api.post(f"/api/v1/namespaces/{ns}/pods", pod("big", {}, "4Gi"))
    assert big.value.status == 403 and "maximum memory usage per Container is 128Mi" in str(big.value), big.value
    with pytest.raises(KubeError) as over:
        api.post(f"/api/v1/namespaces/{ns}/pods", pod("more", {}, "64Mi"))
    assert over.value.status == 403 and "exceeded quota" in str(over.value), over.value
    assert len(_pods(api, ns)) == 1


def test_failing_readiness_probe_keeps_the_escrow_unstarted(devnet: Devnet, api: KubeAPI, image: str) -> None:
    """The agent starts an escrow only once its workload is ready: here a real readiness probe, failing on the
    real node (the app answers 404 on the probed path), holds it back; once the probe passes, it starts."""
    from linq.agent import ActionLog, Agent, Cluster, Settings
    from linq.agent import devnet as lab
    from linq.chain import ChainClient
    from linq.chain import escrows as ops
    from linq.devnet.accounts import deployer, fresh_wallet, register_provider

    bank = deployer(devnet.state_dir)
    provider = ChainClient(bank.profile, fresh_wallet(bank, lnq=0)[1])
    register_provider(provider, cpu=16_000)
    requestor = ChainClient(bank.profile, fresh_wallet(bank, lnq=100 * 10**18)[1])
    terms = lab.fund_escrow(requestor, provider.address, seconds=3 * 3600)
    eid = "0x" + terms.escrow_id.hex()
    ns = f"lq-ready-{uuid.uuid4().hex[:6]}"
    lab.tenant_namespace(api, ns, escrow_id=eid, provider=terms.provider)
    workload = lab.deployment(ns, "app", ready=True)
    pod = workload["spec"]["template"]["spec"]
    pod["containers"][0].update(
        image=image,
        readinessProbe={"httpGet": {"path": "/not-there", "port": 8080}, "periodSeconds": 1},
    )
    pod.update(
        nodeSelector={REAL_NODE_LABEL: "true"}, tolerations=[REAL_NODE_TOLERATION], terminationGracePeriodSeconds=1
    )
    api.post(f"/apis/apps/v1/namespaces/{ns}/deployments", workload)

    def probed_and_failing() -> bool:  # the container runs and the kubelet's probe really fails
        pods = _pods(api, ns)
        status = pods[0]["status"].get("containerStatuses", [{}])[0] if pods else {}
        events = api.get(f"/api/v1/namespaces/{ns}/events")["items"]
        return "running" in status.get("state", {}) and any(e["reason"] == "Unhealthy" for e in events)

    wait_for(probed_and_failing, what="the readiness probe failing on the real node", timeout=180)
    agent = Agent(provider, Cluster.connect(devnet.kubeconfig), Settings(), ActionLog(io.StringIO()))
    report = agent.reconcile_once()
    assert "Deployment" in report.waiting[eid] and not report.started, report
    assert ops.read_state(bank, terms).status == "Created"
    # the probe passes once it asks for a page the app has: ready, and the agent starts the escrow
    patch = {
        "spec": {"template": {"spec": {"containers": [{"name": "app", "readinessProbe": {"httpGet": {"path": "/"}}}]}}}
    }
    api.request(
        "PATCH", f"/apis/apps/v1/namespaces/{ns}/deployments/app", patch, "application/strategic-merge-patch+json"
    )
    lab.wait_available(api, ns, "app", timeout=180)
    assert list(agent.reconcile_once().started) == [eid]
    assert ops.read_state(bank, terms).status == "Active"
    api.delete(f"/api/v1/namespaces/{ns}")


def test_stopped_terminates_the_containers_and_destroy_leaves_nothing(
    devnet: Devnet, api: KubeAPI, deployed: tuple[auto.Stack, dict], provider: str, image: str
) -> None:  # last in the module: it stops and destroys the deployment
    stack, out = deployed
    ns = out["namespace"]
    uids = [p["metadata"]["uid"] for p in _pods(api, ns)]
    assert _traces(devnet, ns, uids), "a running container has a cgroup, logs and mounts on the node"
    name = stack.name
    stack.set_config(
        "linq:deployments", auto.ConfigValue(json.dumps([_deployment(name, image, provider, state="stopped")]))
    )
    stopped = stack.up().outputs["deployments"].value[name]
    assert stopped["state"] == "Stopped"
    wait_for(lambda: not _traces(devnet, ns, uids), what="the stopped containers gone from the node", timeout=180)
    # running again: a new escrow and namespace; then `pulumi destroy` leaves nothing of it on the node
    stack.set_config("linq:deployments", auto.ConfigValue(json.dumps([_deployment(name, image, provider)])))
    again = stack.up().outputs["deployments"].value[name]
    ns = again["namespace"]
    uids = [p["metadata"]["uid"] for p in _pods(api, ns)]
    assert uids and _traces(devnet, ns, uids)
    stack.destroy()
    # the workload's containers leave the node with the objects `destroy` deleted
    wait_for(lambda: not _traces(devnet, ns, uids), what="nothing of the destroyed app on the node", timeout=180)
    # the namespace is the provider's: its agent reclaims it once the escrow is settled
    from linq.agent import ActionLog, Agent, Cluster, Settings
    from linq.chain import ChainClient
    from linq.chain.network import devnet_profile
    from linq.chain.signers import from_dev_account
    from linq.devnet.anvil import REAL_PROVIDER_INDEX

    chain = ChainClient(devnet_profile(devnet.state_dir), from_dev_account(devnet.state_dir, REAL_PROVIDER_INDEX))
    agent = Agent(chain, Cluster.connect(devnet.kubeconfig), Settings(), ActionLog(io.StringIO()))
    agent.reconcile_once()

    def gone() -> bool:
        try:
            api.get(f"/api/v1/namespaces/{ns}")
        except KubeError as error:
            return error.status == 404
        return False

    wait_for(gone, what="the tenant namespace reclaimed by the provider's agent", timeout=180)
