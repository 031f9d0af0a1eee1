"""`linq devnet`: the embedded local environment every test and the demo run on.

Everything lives under one state directory:
    devnet.json       what runs where (pids, ports, endpoints) — the file `status` and `down` read
    addresses.json    the deployed contracts' address book (the one place every other part reads)
    kubeconfig        admin access to the local Kubernetes API
    logs/             one log per process, kept after `down`
    secrets/          dev mnemonic, API token (0600; never printed), the Pulumi passphrase file
    pulumi/           the file:// backend and PULUMI_HOME (0700)

The Pulumi passphrase of a devnet is the fixed, public DEVNET_PASSPHRASE: the committed example stack
(stacks/Pulumi.devnet.yaml) carries the passphrase salt Pulumi derives from it, so `pulumi stack select
--create devnet` finds a matching salt and leaves the file (and `git status`) untouched. It protects nothing
by secrecy: the backend lives under this state directory, which the user alone can read (pulumi/ is 0700),
next to the mnemonic and kubeconfig it would otherwise guard. Never use it for a stack on a real network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from linq.devnet import anvil, kube, node, process
from linq.tools import locate, versions

STATE_FILE = "devnet.json"
ADDRESSES_FILE = "addresses.json"
DEFAULT_TTL_SECONDS = 6 * 3600
DEVNET_PASSPHRASE = "linq-devnet"  # noqa: S105 — public on purpose, devnet only: see the module docstring


def default_state_dir() -> Path:
    explicit = os.environ.get("LINQ_DEVNET_DIR")
    return Path(explicit) if explicit else locate.PROJECT_ROOT / ".linq" / "devnet"


@dataclass
class Endpoints:
    rpc_url: str = ""
    chain_id: int = anvil.CHAIN_ID
    kube_server: str = ""
    kubeconfig: str = ""
    pulumi_backend: str = ""
    addresses: str = ""
    gateway: str = ""  # the local provider's gateway (published on chain)
    prometheus: str = ""  # loopback Prometheus scraping the real node's kubelet (only with a real node)


@dataclass
class Devnet:
    state_dir: Path = field(default_factory=default_state_dir)

    # ---- paths -------------------------------------------------------------------------------------
    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def state_file(self) -> Path:
        return self.state_dir / STATE_FILE

    @property
    def addresses_file(self) -> Path:
        return self.state_dir / ADDRESSES_FILE

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def pulumi_dir(self) -> Path:
        return self.state_dir / "pulumi"

    def passphrase_file(self) -> Path:
        path = self.state_dir / "secrets" / "pulumi-passphrase"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(DEVNET_PASSPHRASE + "\n")
        return path

    # ---- recorded state ----------------------------------------------------------------------------
    def read(self) -> tuple[list[process.ProcessRecord], Endpoints]:
        if not self.state_file.exists():
            return [], Endpoints()
        data = json.loads(self.state_file.read_text())
        return [process.ProcessRecord.from_json(r) for r in data["processes"]], Endpoints(**data["endpoints"])

    def _write(self, records: list[process.ProcessRecord], endpoints: Endpoints, ttl_deadline: float) -> None:
        data = {
            "processes": [r.to_json() for r in records],
            "endpoints": endpoints.__dict__,
            "ttl_deadline": ttl_deadline,
            "versions": {
                "kubernetes": versions.KUBERNETES,
                "etcd": versions.ETCD,
                "kwok": versions.KWOK,
                "anvil": versions.FOUNDRY,
                "pulumi": versions.PULUMI,
            },
        }
        self.state_file.write_text(json.dumps(data, indent=2) + "\n")

    def add_process(self, record: process.ProcessRecord) -> None:
        """Record a process started beside a running devnet (e.g. the real provider's gateway): `down` stops it."""
        data = json.loads(self.state_file.read_text())
        data["processes"].append(record.to_json())
        self.state_file.write_text(json.dumps(data, indent=2) + "\n")

    def running(self) -> bool:
        records, _ = self.read()
        return any(r.alive() for r in records)

    # ---- lifecycle ---------------------------------------------------------------------------------
    def up(
        self,
        *,
        nodes: list[kube.NodeSpec] | None = None,
        with_kube: bool = True,
        with_contracts: bool = True,
        real_node: bool | None = None,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        progress=lambda message: None,
    ) -> Endpoints:
        if self.running():
            raise RuntimeError(
                f"a devnet is already running from {self.state_dir}; `linq devnet status` shows it, "
                "`linq devnet down` stops it"
            )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        node.cleanup(self.state_dir)  # what a killed earlier run of this state dir left (its real node)
        records: list[process.ProcessRecord] = []
        endpoints = Endpoints()
        deadline = time.time() + ttl_seconds
        try:
            progress("starting anvil (EVM node)")
            records.append(anvil.start(self.state_dir, self.log_dir))
            endpoints.rpc_url = f"http://127.0.0.1:{records[-1].ports['rpc']}"
            self._write(records, endpoints, deadline)
            if with_contracts:
                progress("deploying contracts (LNQ, ProviderRegistry, Escrow)")
                self._deploy_contracts(endpoints.rpc_url)
                endpoints.addresses = str(self.addresses_file)
            if with_kube:
                # one real node by default where it can run (root); `real_node=False` for kwok nodes only
                slot = (
                    node.allocate(self.state_dir)
                    if (real_node or (real_node is None and not node.available()))
                    else None
                )
                address = slot.layout(self.state_dir).node_ip if slot else "127.0.0.1"
                progress("starting Kubernetes control plane (etcd, apiserver, controller-manager, scheduler, kwok)")
                kube_records, kubeconfig = kube.start(
                    self.state_dir, self.log_dir, nodes or [kube.NodeSpec()], advertise_address=address
                )
                records.extend(kube_records)
                endpoints.kubeconfig = str(kubeconfig)
                api = next(r for r in kube_records if r.name == "kube-apiserver")
                endpoints.kube_server = f"https://127.0.0.1:{api.ports['https']}"
                self._write(records, endpoints, deadline)
                if slot:
                    progress(
                        f"starting the real node {node.NODE_NAME} (containerd, kubelet, kube-proxy, "
                        "kube-network-policies)"
                    )
                    records.extend(
                        node.start(
                            self.state_dir,
                            self.log_dir,
                            slot,
                            api.ports["https"],
                            kube.certificates(self.state_dir),
                            kubeconfig,
                        )
                    )
                    from linq.devnet import prometheus

                    progress("starting Prometheus (scrapes the real node's kubelet)")
                    records.append(prometheus.start(self.state_dir, self.log_dir, kubeconfig))
                    endpoints.prometheus = prometheus.url_of(records[-1])
                    self._write(records, endpoints, deadline)
            if with_kube and with_contracts:
                from linq.devnet import gateway

                progress("starting the local provider's gateway (TLS) and publishing it on chain")
                records.append(gateway.start(self.state_dir, self.log_dir, prometheus=endpoints.prometheus or None))
                self._write(records, endpoints, deadline)
                endpoints.gateway = gateway.publish(self.state_dir, records[-1])
            progress("preparing the file:// Pulumi backend")
            (self.pulumi_dir / "backend").mkdir(parents=True, exist_ok=True)
            self.pulumi_dir.chmod(0o700)
            (self.pulumi_dir / "home").mkdir(parents=True, exist_ok=True)
            self.passphrase_file()
            self._install_pulumi_plugins()
            endpoints.pulumi_backend = f"file://{self.pulumi_dir / 'backend'}"
            records.append(self._start_watchdog(deadline))
            self._write(records, endpoints, deadline)
        except BaseException:
            for record in reversed(records):
                process.stop(record)
            node.cleanup(self.state_dir)
            self._write([], endpoints, deadline)
            raise
        return endpoints

    def down(self) -> list[str]:
        """Stop every process this devnet started (and nothing else); returns their names."""
        records, endpoints = self.read()
        stopped = []
        if any(r.alive() for r in records):
            node.drain(self.state_dir, self.kubeconfig)
        for record in reversed(records):
            if record.alive() and record.pid != os.getpid():  # the TTL watchdog runs `down` itself: not itself
                process.stop(record)
                stopped.append(record.name)
        node.cleanup(self.state_dir)
        if self.state_file.exists():
            self._write([], endpoints, 0)
        return stopped

    def _install_pulumi_plugins(self) -> None:
        """Put the locally built Kubernetes provider into this devnet's plugin cache (no download)."""
        plugin = locate.require("pulumi-resource-kubernetes")
        env = dict(locate.tool_path_env(), **self.environment())
        subprocess.run(
            [
                str(locate.require("pulumi")),
                "plugin",
                "install",
                "resource",
                "kubernetes",
                f"v{versions.PULUMI_KUBERNETES}",
                "--file",
                str(plugin),
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def _start_watchdog(self, deadline: float) -> process.ProcessRecord:
        # The devnet's servers stop themselves: this process runs `down` when the TTL expires.
        argv = [sys.executable, "-m", "linq.devnet.watchdog", str(self.state_dir), str(int(deadline))]
        return process.start("watchdog", argv, self.log_dir)

    def _deploy_contracts(self, rpc_url: str) -> None:
        from linq.devnet.contracts import deploy_to_devnet

        if self.addresses_file.exists():  # anvil reloaded its persisted state: keep the same contracts
            book = json.loads(self.addresses_file.read_text())
            if len(str(anvil.rpc_call(rpc_url, "eth_getCode", [book["escrow"], "latest"]))) > 2:
                return

        deploy_to_devnet(rpc_url, self.state_dir, self.addresses_file)

    # ---- environment for the Pulumi engine and tools -----------------------------------------------
    def environment(self) -> dict[str, str]:
        """Variables that point the Pulumi engine, kubectl-alikes and the toolkit at this devnet, offline."""
        _, endpoints = self.read()
        env = {
            "PULUMI_BACKEND_URL": f"file://{self.pulumi_dir / 'backend'}",
            "PULUMI_HOME": str(self.pulumi_dir / "home"),
            "PULUMI_CONFIG_PASSPHRASE_FILE": str(self.passphrase_file()),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
            "LINQ_DEVNET_DIR": str(self.state_dir),
            "KUBECONFIG": str(self.kubeconfig),
        }
        if endpoints.rpc_url:
            env["LINQ_RPC_URL"] = endpoints.rpc_url
        if self.addresses_file.exists():
            env["LINQ_ADDRESSES"] = str(self.addresses_file)
        return env

    # ---- health ------------------------------------------------------------------------------------
    def status(self) -> list[dict[str, str]]:
        records, endpoints = self.read()
        rows = []
        for record in records:
            healthy = record.alive() and self._healthy(record, endpoints)
            where = ", ".join(f"{k} 127.0.0.1:{v}" for k, v in record.ports.items()) or "-"
            rows.append(
                {
                    "part": record.name,
                    "state": "healthy" if healthy else "down",
                    "pid": str(record.pid),
                    "where": where,
                    "log": record.log,
                }
            )
        if self.addresses_file.exists() and endpoints.rpc_url:
            rows.append(self._contracts_row(endpoints.rpc_url))
        if endpoints.pulumi_backend:
            rows.append(self._pulumi_row(endpoints.pulumi_backend))
        if endpoints.kubeconfig and any(r.name == "kube-apiserver" and r.alive() for r in records):
            try:
                rows.extend(node.node_rows(self.kubeconfig))
            except Exception as error:
                rows.append({"part": "nodes", "state": "down", "pid": "-", "where": str(error), "log": "-"})
        return rows

    def _healthy(self, record: process.ProcessRecord, endpoints: Endpoints) -> bool:
        try:
            if record.name == "anvil":
                return anvil.rpc_call(endpoints.rpc_url, "eth_chainId") == hex(anvil.CHAIN_ID)
            if record.name == "kube-apiserver":
                token = (self.state_dir / "secrets" / "admin-token").read_text().strip()
                return kube._https_ok(
                    f"{endpoints.kube_server}/readyz", self.state_dir / "kube" / "pki" / "ca.crt", token
                )
            if record.name == "prometheus":
                from linq.devnet import prometheus

                return prometheus.ready(endpoints.prometheus)
            if record.name == "etcd":
                return kube._http_ok(f"http://127.0.0.1:{record.ports['client']}/health")
        except Exception:
            return False
        return True

    def _contracts_row(self, rpc_url: str) -> dict[str, str]:
        book = json.loads(self.addresses_file.read_text())
        try:
            code = anvil.rpc_call(rpc_url, "eth_getCode", [book["escrow"], "latest"])
            healthy = isinstance(code, str) and len(code) > 2
        except Exception:
            healthy = False
        where = f"escrow {book['escrow']}, registry {book['registry']}, LNQ {book['lnq']}"
        return {
            "part": "contracts",
            "state": "healthy" if healthy else "down",
            "pid": "-",
            "where": where,
            "log": str(self.addresses_file),
        }

    def _pulumi_row(self, backend: str) -> dict[str, str]:
        try:
            cli = locate.require("pulumi")
            out = subprocess.run([str(cli), "version"], capture_output=True, text=True, timeout=30, check=False)
            healthy = out.returncode == 0 and out.stdout.strip() == f"v{versions.PULUMI}"
            version = out.stdout.strip()
        except locate.ToolMissing:
            healthy, version = False, "pulumi CLI not built"
        return {
            "part": "pulumi",
            "state": "healthy" if healthy else "down",
            "pid": "-",
            "where": f"{backend} ({version})",
            "log": "-",
        }
