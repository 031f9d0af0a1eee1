"""`make demo`: the whole protocol on the embedded devnet, from deployment to settlement, step by step.

devnet up -> a provider installs its LPStack and registers on chain (Pulumi: ProviderCluster) -> the
requestor runs `pulumi up` of the example stack (stacks/Pulumi.devnet.yaml: Open WebUI, escrow funded) ->
the provider's gateway grants lease access and starts the escrow -> chain time advances -> the agent
withdraws -> the requestor tops up (longer duration, in place) -> the requestor stops early (escrow
settled) -> the agent reclaims the namespace -> a settlement summary read back from the chain, to the wei,
with every transaction hash.

Lives beside the components (not in `linq`) because it drives Pulumi programs built from them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from linq.devnet import Devnet, anvil
from linq.tools import locate
from linq.units import format_duration, format_lnq

HOURS = 3600
# The real-node part: a custom container, built offline and pushed to the devnet registry, deployed by its own
# requestor (dev account 4, so the chat's settlement below stays exactly the chat's) to the `real` provider.
WEB_REQUESTOR_INDEX = 4
WEB_PAGE = "Hello from a container on the devnet's real node\n"
WEB_CMD = "/bin/busybox sh -c '/bin/busybox httpd -f -v -p 8080 -h /www & trap \"kill $!; exit 0\" TERM; wait'"


@dataclass
class Settlement:
    escrow_ids: list[str]
    deposited: int
    paid_to_provider: int
    refunded: int
    requestor_delta: int
    provider_delta: int
    transactions: list[tuple[str, str]] = field(default_factory=list)  # (what, tx hash)

    @property
    def balanced(self) -> bool:
        return (
            self.paid_to_provider + self.refunded == self.deposited
            and self.requestor_delta == self.refunded - self.deposited
            and self.provider_delta == self.paid_to_provider
        )


class Demo:
    def __init__(self, state_dir: Path, console: Console) -> None:
        self.devnet = Devnet(state_dir)
        self.console = console
        self.work = state_dir / "demo"
        self.step_no = 0
        self.keeps_running = True  # `--down` stops the devnet at the end instead

    # ---- presentation --------------------------------------------------------------------------------
    def step(self, title: str) -> None:
        self.step_no += 1
        self.console.rule(f"[bold cyan]{self.step_no}. {title}")

    def say(self, text: str) -> None:
        self.console.print(f"   {text}")

    # ---- chain helpers ------------------------------------------------------------------------------
    def client(self, index: int):  # -> linq.chain.client.ChainClient
        from linq.chain.client import ChainClient
        from linq.chain.network import devnet_profile
        from linq.chain.signers import from_dev_account

        return ChainClient(devnet_profile(self.devnet.state_dir), from_dev_account(self.devnet.state_dir, index))

    def lnq_balance(self, address: str) -> int:
        client = self.client(anvil.DEPLOYER_INDEX)
        return int(client.lnq.functions.balanceOf(client.w3.to_checksum_address(address)).call())

    # ---- the steps ----------------------------------------------------------------------------------
    def start_devnet(self) -> None:
        self.step("Start the embedded devnet (anvil + contracts, Kubernetes with kwok nodes, Pulumi backend)")
        if self.devnet.running():
            self.devnet.down()
        if self.devnet.state_dir.exists():
            shutil.rmtree(self.devnet.state_dir)
        started = time.monotonic()
        endpoints = self.devnet.up(progress=lambda m: self.say(f"• {m}"))
        self.say(
            f"ready in {time.monotonic() - started:.1f}s: chain {endpoints.rpc_url}, Kubernetes {endpoints.kube_server}"
        )
        self.work.mkdir(parents=True, exist_ok=True)

    def provider_joins(self) -> str:
        self.step("The provider installs its LPStack and registers capacity and prices on chain (pulumi up)")
        import pulumi

        from components.provider_cluster import ProviderCluster
        from linq.engine import inline_stack
        from lpstack import load_config

        address = anvil.dev_addresses(self.devnet.state_dir)[anvil.LOCAL_PROVIDER_INDEX]
        config = load_config(
            {
                "cluster_name": "devnet",
                "provider_address": address,
                "region": "local",
                "public_domain": "apps.devnet.local",
                "features": {"observability": False, "istio": False},
            },
            source="demo",
        )
        registration = {
            "cpu": 16_000,
            "memory": 65_536,
            "storage": 1_000,
            "price_cpu": str(10**12),
            "price_memory": str(10**11),
            "price_storage": str(10**13),
        }
        kubeconfig = self.devnet.kubeconfig.read_text()

        def program() -> None:
            cluster = ProviderCluster(
                "devnet", config, kubeconfig=pulumi.Output.secret(kubeconfig), registration=registration
            )
            pulumi.export("provider", cluster.provider_address)
            pulumi.export("objects", cluster.object_count)

        (self.work / "provider").mkdir(parents=True, exist_ok=True)
        stack = inline_stack(
            self.devnet,
            project="provider",
            stack="devnet",
            program=program,
            work_dir=self.work / "provider",
            config={
                "linq:network": json.dumps({"kind": "devnet", "devnetDir": str(self.devnet.state_dir)}),
                "linq:devAccount": str(anvil.LOCAL_PROVIDER_INDEX),
            },
        )
        up = stack.up()
        self.say(f"provider {up.outputs['provider'].value} registered; LPStack: {up.outputs['objects'].value} objects")
        # The registration set the LPStack's metadata hash; the devnet's gateway (linq/devnet/gateway.py) is
        # published again, so requestors find it on chain and need no kubeconfig.
        from linq.devnet import gateway

        records, _ = self.devnet.read()
        url = gateway.publish(self.devnet.state_dir, next(r for r in records if r.name == gateway.NAME))
        self.say(f"gateway {url} published on chain (URL and TLS pin)")
        return str(up.outputs["provider"].value)

    def requestor_stack(self):  # -> pulumi.automation.Stack
        from linq.engine import project_stack

        project_dir = self.work / "requestor"
        project_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(locate.PROJECT_ROOT / "Pulumi.yaml", project_dir / "Pulumi.yaml")
        if not (project_dir / "stacks").exists():
            shutil.copytree(locate.PROJECT_ROOT / "stacks", project_dir / "stacks")
        return project_stack(self.devnet, stack="devnet", work_dir=project_dir)

    def deploy(self) -> dict[str, Any]:
        self.step("The requestor deploys Open WebUI from the example stack (pulumi up -s devnet)")
        stack = self.requestor_stack()
        up = stack.up(on_output=lambda line: None)
        chat = up.outputs["deployments"].value["chat"]
        self.say(f"state [bold]{chat['state']}[/], endpoint {chat['endpoint']}")
        self.say(
            f"escrow {chat['escrow']['id']} funded: {lnq(chat['escrow']['deposited'])} LNQ "
            f"at {lnq(chat['escrow']['ratePerHour'])} LNQ/h, status {chat['escrow']['status']}, "
            f"runway {format_duration(int(chat['escrow']['runway'] or 0))}"
        )
        return dict(chat)

    # ---- the real node: a custom container that really runs ------------------------------------------
    def web_stack(self, real: Any = None):  # -> pulumi.automation.Stack of the real-node app
        from pulumi import automation as auto

        from linq.engine import project_stack

        project_dir = self.work / "web"
        if not project_dir.exists():
            project_dir.mkdir(parents=True)
            shutil.copy(locate.PROJECT_ROOT / "Pulumi.yaml", project_dir / "Pulumi.yaml")
            shutil.copytree(locate.PROJECT_ROOT / "stacks", project_dir / "stacks")
        stack = project_stack(self.devnet, stack="web", work_dir=project_dir)
        if real is not None:
            deployment = {
                "name": "web",
                "image": self.web_image,
                "ports": [{"name": "http", "containerPort": 8080}],
                "endpoint": {"port": "http", "kind": "http"},
                "resources": {"cpuMillis": 100, "memoryMiB": 128, "storageGiB": 0, "ephemeralStorageGiB": 1},
                "duration": "24h",
                "provider": real.address,
            }
            stack.set_all_config(
                {
                    "linq:devAccount": auto.ConfigValue(str(WEB_REQUESTOR_INDEX)),
                    "linq:network": auto.ConfigValue(
                        json.dumps({"kind": "devnet", "devnetDir": str(self.devnet.state_dir)})
                    ),
                    "linq:providers": auto.ConfigValue(
                        json.dumps({real.address: {"publicDomain": real.public_domain}})
                    ),
                    "linq:deployments": auto.ConfigValue(json.dumps([deployment])),
                }
            )
        return stack

    @property
    def web_image(self) -> str:
        from linq.devnet.nodeconfig import REGISTRY_HOST

        return f"{REGISTRY_HOST}/demo/web:1"

    def real_node_app(self) -> bool:
        from linq.devnet import node

        if node.read_state(self.devnet.state_dir) is None:
            return False  # no real node (it needs root): the rest of the demo is unchanged
        self.step("A custom container on the real node: built offline, pushed, pulumi up, its endpoint answers")
        from linq.devnet import gateway, ingress
        from linq.devnet.nodeconfig import NODE_NAME

        started = time.monotonic()
        real = gateway.start_real_provider(self.devnet)
        self.say(f"provider `real` {real.address}: tenant pods on {NODE_NAME}, endpoints at *.{real.public_domain}")
        site = self.work / "web-site"
        (site / "www").mkdir(parents=True, exist_ok=True)
        (site / "www" / "index.html").write_text(WEB_PAGE)
        linq = str(locate.PROJECT_ROOT / ".venv" / "bin" / "linq")
        build = [linq, "image", "build", str(site), "--tag", self.web_image, "--busybox", "--push", "--cmd", WEB_CMD]
        done = subprocess.run(
            [*build, "--state-dir", str(self.devnet.state_dir)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"linq image build failed:\n{done.stderr[-2000:]}")
        self.say(f"linq image build ./web-site --busybox --push: {self.web_image}")
        web = self.web_stack(real).up(on_output=lambda line: None).outputs["deployments"].value["web"]
        self.say(f"pulumi up -s web: state [bold]{web['state']}[/], endpoint {web['endpoint']}")
        ca = self.devnet.state_dir / "kube" / "pki" / "ca.crt"
        deadline = time.monotonic() + 120
        while True:
            try:
                status, body = ingress.fetch(web["endpoint"], ca)
                if status.endswith(" 200 OK") or time.monotonic() > deadline:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(1)
        self.say(f"GET the endpoint from the host -> {status}")
        self.say(f"first bytes: {body[:64]!r}")
        self.say(f"from your shell: curl --cacert {ca} {web['endpoint']}")
        self.say(f"(this step: {time.monotonic() - started:.0f}s)")
        return True

    def remove_real_node_app(self) -> None:
        self.web_stack().destroy(on_output=lambda line: None)
        self.say("the real-node app removed too (pulumi destroy -s web)")

    def agent_pass(self, title: str) -> list[dict[str, Any]]:
        self.step(title)
        argv = [
            str(locate.PROJECT_ROOT / ".venv" / "bin" / "linq"),
            "provider",
            "agent",
            "--once",
            "--devnet-dir",
            str(self.devnet.state_dir),
            "--dev-key-index",
            str(anvil.LOCAL_PROVIDER_INDEX),
            "--kubeconfig",
            str(self.devnet.kubeconfig),
            "--withdraw-every",
            "0",
            "--state-file",
            str(self.work / "agent-state.json"),
        ]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"the provider agent failed ({done.returncode}):\n{done.stderr[-2000:]}")
        actions = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        withdrawn: list[str] = []  # a withdraw-batch line counts its escrows; they are the ones withdrawn above
        for action in actions:
            if action.get("event") == "escrow-withdrawn":
                withdrawn.append(str(action.get("escrow_id")))
            escrows = action.get("escrows")
            named = (
                f"escrow {action['escrow_id']}"
                if action.get("escrow_id")
                else f"escrows {', '.join(map(str, escrows))}"
                if isinstance(escrows, list)
                else f"{escrows} escrow(s): {', '.join(withdrawn)}"
            )
            if action.get("tx"):
                self.say(f"agent: {action.get('event')} ({named}) tx {action['tx']}")
            elif action.get("event") in ("escrow-discovered", "namespace-deleted", "start-skipped"):
                self.say(f"agent: {action.get('event')} ({named}) {action.get('detail', '')}")
        return actions

    def advance(self, hours: int) -> None:
        self.step(f"Time passes on the chain: +{hours} h (evm_increaseTime)")
        from linq.devnet.accounts import advance

        now = advance(self.client(anvil.DEPLOYER_INDEX), hours * HOURS)
        self.say(f"chain time is now {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(now))} UTC")

    def reconfigure(self, title: str, **changes: Any) -> dict[str, Any]:
        self.step(title)
        from pulumi import automation as auto

        stack = self.requestor_stack()
        settings = yaml.safe_load((self.work / "requestor" / "stacks" / "Pulumi.devnet.yaml").read_text())
        deployments = settings["config"]["linq:deployments"]
        if isinstance(deployments, str):  # after a first set_config the file holds it as JSON text
            deployments = json.loads(deployments)
        deployments[0].update(changes)
        stack.set_config("linq:deployments", auto.ConfigValue(json.dumps(deployments)))
        up = stack.up()
        chat = up.outputs["deployments"].value["chat"]
        self.say(f"{', '.join(f'{k}={v}' for k, v in changes.items())}: state {chat['state']}")
        if chat.get("escrow"):
            escrow = chat["escrow"]
            runway = format_duration(int(escrow["runway"])) if str(escrow.get("runway", "")).isdigit() else "-"
            self.say(f"escrow {escrow['id']}: deposited {lnq(escrow['deposited'])} LNQ, runway {runway}")
        return dict(chat)

    def teardown_requestor(self) -> None:
        self.step("The requestor removes the deployment (pulumi destroy): tenant namespace deleted")
        stack = self.requestor_stack()
        stack.destroy(on_output=lambda line: None)
        from linq.devnet.kubeapi import KubeAPI

        names = {
            n["metadata"]["name"]
            for n in KubeAPI.from_kubeconfig(self.devnet.kubeconfig).get("/api/v1/namespaces")["items"]
            if n["metadata"]["name"].startswith("lq-")
        }
        self.say(f"tenant namespaces left: {sorted(names) or 'none'} (deletion finishes in the background)")

    def settlement(self, escrow_id: str, requestor: str, provider: str, before: dict[str, int]) -> Settlement:
        self.step("Settlement, read back from the chain")
        client = self.client(anvil.DEPLOYER_INDEX)
        escrow = client.escrow
        from_block = int(client.profile.book.deployed_block)
        key = bytes.fromhex(escrow_id.removeprefix("0x"))
        txs: list[tuple[str, str]] = []
        deposited = paid = refunded = 0
        for name in ("EscrowCreated", "Started", "ToppedUp", "Withdrawn", "Stopped", "Finalized", "Cancelled"):
            for log in getattr(escrow.events, name).get_logs(argument_filters={"id": key}, from_block=from_block):
                args = log["args"]
                txs.append((name, "0x" + log["transactionHash"].hex().removeprefix("0x")))
                deposited += int(args.get("deposit", 0)) + (int(args["amount"]) if name == "ToppedUp" else 0)
                paid += int(args["amount"]) if name == "Withdrawn" else int(args.get("toProvider", 0))
                refunded += int(args.get("refund", 0))
        result = Settlement(
            escrow_ids=[escrow_id],
            deposited=deposited,
            paid_to_provider=paid,
            refunded=refunded,
            requestor_delta=self.lnq_balance(requestor) - before["requestor"],
            provider_delta=self.lnq_balance(provider) - before["provider"],
            transactions=txs,
        )
        table = Table(show_header=False)
        table.add_row("deposited (create + top-ups)", f"{lnq(result.deposited)} LNQ", f"{result.deposited} wei")
        table.add_row("paid to the provider", f"{lnq(result.paid_to_provider)} LNQ", f"{result.paid_to_provider} wei")
        table.add_row("refunded to the requestor", f"{lnq(result.refunded)} LNQ", f"{result.refunded} wei")
        table.add_row("requestor balance change", f"{lnq(result.requestor_delta)} LNQ", f"{result.requestor_delta} wei")
        table.add_row("provider balance change", f"{lnq(result.provider_delta)} LNQ", f"{result.provider_delta} wei")
        self.console.print(table)
        for what, tx in txs:
            self.say(f"{what:<14} {tx}")
        verdict = "[green]balanced to the wei" if result.balanced else "[red]NOT balanced"
        self.say(f"provider + refund == deposited, and both balances moved by exactly that: {verdict}")
        return result

    def run(self) -> Settlement:
        self.start_devnet()
        provider = self.provider_joins()
        requestor = anvil.dev_addresses(self.devnet.state_dir)[anvil.REQUESTOR_INDEX]
        before = {"requestor": self.lnq_balance(requestor), "provider": self.lnq_balance(provider)}
        chat = self.deploy()
        escrow_id = str(chat["escrow"]["id"])
        real_node = self.real_node_app()
        self.agent_pass("The provider's agent sees the escrow (the gateway started it when it granted access)")
        self.advance(6)
        self.agent_pass("The provider's agent withdraws what it earned")
        self.reconfigure("The requestor extends the runway: duration 24h -> 48h (an in-place top-up)", duration="48h")
        self.advance(2)
        self.reconfigure(
            "The requestor stops early: state stopped (provider keeps what it earned, rest refunded)", state="stopped"
        )
        self.teardown_requestor()
        if real_node:
            self.remove_real_node_app()
        result = self.settlement(escrow_id, requestor, provider, before)
        summary = result.__dict__ | {"balanced": result.balanced}
        (self.work / "settlement.json").write_text(json.dumps(summary, indent=2))
        self.step(
            "What to try next (the devnet keeps running; it stops itself after its TTL)"
            if self.keeps_running
            else "What to try next (after `make demo`, which leaves the devnet running)"
        )
        env = f'eval "$(.venv/bin/linq devnet env --state-dir {self.devnet.state_dir})"'
        for line in (
            f"{env}   # point linq and pulumi at this devnet",
            f"linq escrow status {escrow_id}   # the demo's escrow, settled",
            f"linq escrow list --requestor {requestor}",
            "linq providers list   # the devnet's provider, with its gateway",
            "README 'Your first stack': deploy the example stack yourself on this devnet",
            f".venv/bin/linq devnet down --state-dir {self.devnet.state_dir}   # tear it all down",
        ):
            self.say(line)
        return result


def lnq(wei: Any) -> str:
    """Exact LNQ from wei, without the unit (the demo's tables put it beside): linq.units.format_lnq."""
    return format_lnq(int(wei), unit="", min_decimals=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state-dir", type=Path, default=locate.PROJECT_ROOT / ".linq" / "demo-devnet")
    parser.add_argument("--keep", action="store_true", help="leave the devnet running at the end (the default)")
    parser.add_argument("--down", action="store_true", help="stop the devnet at the end instead")
    args = parser.parse_args(argv)
    console = Console(width=max(Console().width, 110))
    demo = Demo(args.state_dir, console)
    demo.keeps_running = not args.down
    try:
        result = demo.run()
    finally:
        if args.down:
            demo.devnet.down()
    return 0 if result.balanced else 1


if __name__ == "__main__":
    sys.exit(main())
