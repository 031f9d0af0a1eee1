"""`pulumi up` against the floor: the same objects server-side applied with the toolkit's Kubernetes client.

    .venv/bin/python bench/up.py                         # 1, 3 and 10 deployments on a fresh devnet
    .venv/bin/python bench/up.py --sizes 1 --devnet-dir .linq/devnet   # reuse a running devnet

For each size, one stack of N open-webui deployments (matched from the on-chain registry, so placement reads
the chain) goes through create, no-op, one-field update (an env var of the first deployment: a rollout) and
destroy with the real CLI, our language host and the real plugins — as `pulumi up -s …` runs. Each step is
set beside its floor: the same rendered objects, server-side applied one after another with linq.kube and
waited on until the workload is ready (rolled out, or gone for destroy). Steps alternate floor / Pulumi so
the shared machine's load drifts equally on both; the load average is printed with the table.

The breakdown comes from the engine's event stream (arrival times, 0.1 s polling): CLI start to the first
event, program start to the stack's registration, placement (chain reads and registry index: the program's
"matched" log lines), then each resource's step (create and await) by kind. Plugin and host start-up are
measured cold, on their own (`--probes`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from linq.devnet import Devnet, anvil  # noqa: E402
from linq.devnet.kube import NodeSpec  # noqa: E402
from linq.kube import Kube, KubeError  # noqa: E402

FIELD_MANAGER = "linq-bench"
TIMEOUT = 300.0


# ---- stack config ------------------------------------------------------------------------------------
def deployments(prefix: str, n: int, webui_name: str = "Bench") -> list[dict[str, Any]]:
    return [
        {
            "name": f"{prefix}{i}",
            "template": "open-webui",
            "plan": "basic",
            "duration": "24h",
            "maxPricePerHour": "2 LNQ",
            "env": {"WEBUI_NAME": webui_name if i == 0 else "Bench"},
        }
        for i in range(n)
    ]


def config_values(devnet: Devnet, deps: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "linq:devAccount": "2",
        "linq:network": {"kind": "devnet", "devnetDir": str(devnet.state_dir)},
        "linq:providers": {"local": {"clusterId": "devnet", "devnet": True}},
        "linq:deployments": deps,
    }


# ---- floor: server-side apply with the toolkit's one client ------------------------------------------
class Floor:
    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self._kinds: dict[tuple[str, str], tuple[str, bool]] = {}

    def _resource(self, api_version: str, kind: str) -> tuple[str, bool]:
        if (api_version, kind) not in self._kinds:
            base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            for r in self.kube.request("GET", base)["resources"]:
                if "/" not in r["name"]:
                    self._kinds[(api_version, r["kind"])] = (r["name"], r["namespaced"])
        return self._kinds[(api_version, kind)]

    def path(self, m: dict[str, Any]) -> str:
        plural, namespaced = self._resource(m["apiVersion"], m["kind"])
        base = "/api/v1" if m["apiVersion"] == "v1" else f"/apis/{m['apiVersion']}"
        ns = f"/namespaces/{m['metadata']['namespace']}" if namespaced else ""
        return f"{base}{ns}/{plural}/{m['metadata']['name']}"

    def apply(self, manifests: list[dict[str, Any]]) -> None:
        for m in manifests:
            self.kube.request(
                "PATCH",
                self.path(m),
                json.dumps(m),
                content_type="application/apply-patch+yaml",
                params={"fieldManager": FIELD_MANAGER, "force": True},
            )

    def wait_ready(self, workloads: list[dict[str, Any]]) -> None:
        def ready(m: dict[str, Any]) -> bool:
            live = self.kube.request("GET", self.path(m))
            s, want = live.get("status", {}), live["spec"].get("replicas", 1)
            return (
                s.get("observedGeneration", 0) >= live["metadata"]["generation"]
                and s.get("readyReplicas", 0) == want
                and s.get("updatedReplicas", 0) == want
                and s.get("currentRevision") == s.get("updateRevision")
            )

        poll(lambda: all(ready(m) for m in workloads), "floor workloads ready")

    def delete_namespaces(self, names: list[str]) -> None:
        for name in names:
            self.kube.request("DELETE", f"/api/v1/namespaces/{name}")

        def gone(name: str) -> bool:
            try:
                self.kube.request("GET", f"/api/v1/namespaces/{name}")
            except KubeError as err:
                return err.status == 404
            return False

        poll(lambda: all(gone(n) for n in names), "floor namespaces gone")


def poll(condition: Callable[[], bool], what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {TIMEOUT:.0f} s")
        time.sleep(interval)


def rendered(values: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    from linq.stackrender import review

    return review(values)


# ---- pulumi, with the event stream -------------------------------------------------------------------
@dataclass
class Run:
    wall: float
    first_event: float | None = None
    stack_registered: float | None = None
    placed: float | None = None
    steps: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    changes: dict[str, int] = field(default_factory=dict)


def kind_of(urn: str, type_: str) -> str:
    if type_.startswith("kubernetes:"):
        return type_.rsplit(":", 1)[-1]
    return type_.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


def timed(op: Callable[..., Any]) -> Run:
    started = time.monotonic()
    pre: dict[str, float] = {}
    seen: dict[str, Any] = {}

    def on_event(event: Any) -> None:
        now = time.monotonic() - started
        seen.setdefault("first", now)
        if event.resource_pre_event is not None:
            meta = event.resource_pre_event.metadata
            if meta.type == "pulumi:pulumi:Stack":
                seen.setdefault("stack", now)
            pre[meta.urn] = now
        elif event.res_outputs_event is not None:
            meta = event.res_outputs_event.metadata
            if meta.urn in pre and meta.op not in ("same", "read") and not meta.type.startswith("pulumi:"):
                seen.setdefault("steps", defaultdict(list))[kind_of(meta.urn, meta.type)].append(now - pre[meta.urn])
        elif event.diagnostic_event is not None and "matched 0x" in event.diagnostic_event.message:
            seen["placed"] = now

    result = op(on_event=on_event)
    run = Run(
        wall=time.monotonic() - started,
        first_event=seen.get("first"),
        stack_registered=seen.get("stack"),
        placed=seen.get("placed"),
        steps=seen.get("steps", defaultdict(list)),
    )
    summary = getattr(result, "summary", None)
    run.changes = dict(summary.resource_changes or {}) if summary else {}
    return run


# ---- cold start probes ------------------------------------------------------------------------------
def probe_port(argv: list[str], env: dict[str, str]) -> float:
    """Seconds from spawn to the plugin printing its port (its gRPC server is up)."""
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        return time.monotonic() - started
    finally:
        proc.kill()
        proc.wait()


def probe_import(module: str) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, cwd=ROOT)
    return time.monotonic() - started


def probes(devnet: Devnet) -> dict[str, float]:
    from linq.engine import engine_env
    from linq.tools import locate

    env = {**os.environ, **engine_env(devnet)}
    cli = locate.require("pulumi")
    started = time.monotonic()
    subprocess.run([str(cli), "version"], check=True, capture_output=True, env=env)
    out = {"pulumi CLI start (`pulumi version`)": time.monotonic() - started}
    host = ROOT / ".venv" / "bin" / "pulumi-language-python"
    if host.exists():
        out["language host start (to its port)"] = probe_port([str(host)], env)
    dynamic = cli.parent / "pulumi-resource-pulumi-python"
    if dynamic.exists():
        out["dynamic provider plugin start (to its port)"] = probe_port([str(dynamic), "127.0.0.1:1"], env)
    out["import pulumi"] = probe_import("pulumi")
    out["program imports (components.stack_program)"] = probe_import("components.stack_program")
    out["Escrow provider imports (components.escrow)"] = probe_import("components.escrow")
    k8s = locate.require("pulumi-resource-kubernetes")
    out["kubernetes provider plugin start (to its port)"] = probe_port([str(k8s), "127.0.0.1:1"], env)
    return out


# ---- one size -------------------------------------------------------------------------------------
def project_dir(base: Path) -> Path:
    import yaml

    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    runtime = project["runtime"] if isinstance(project["runtime"], dict) else {"name": project["runtime"]}
    runtime.setdefault("options", {})["virtualenv"] = str(ROOT / ".venv")  # absolute: the plugins find it too
    project["runtime"] = runtime
    base.mkdir(parents=True, exist_ok=True)
    (base / "Pulumi.yaml").write_text(yaml.safe_dump(project))
    (base / "stacks").mkdir(exist_ok=True)
    shutil.copy(ROOT / "stacks" / "__main__.py", base / "stacks" / "__main__.py")
    return base


def set_config(stack: Any, values: dict[str, Any]) -> None:
    from pulumi import automation as auto

    stack.set_all_config({k: auto.ConfigValue(v if isinstance(v, str) else json.dumps(v)) for k, v in values.items()})


def bench_size(devnet: Devnet, floor: Floor, n: int, work: Path) -> dict[str, tuple[float, Run]]:
    from linq.engine import project_stack

    stack = project_stack(devnet, stack=f"bench{n}", work_dir=project_dir(work / f"p{n}"))
    set_config(stack, config_values(devnet, deployments(f"u{n}x", n)))
    floor_values = config_values(devnet, deployments(f"f{n}x", n))
    objects = rendered(floor_values)
    workloads = [next(m for m in ms if m["kind"] == "StatefulSet") for ms in objects.values()]
    namespaces = [next(m for m in ms if m["kind"] == "Namespace")["metadata"]["name"] for ms in objects.values()]
    out: dict[str, tuple[float, Run]] = {}

    def floor_op(fn: Callable[[], None]) -> float:
        started = time.monotonic()
        fn()
        return time.monotonic() - started

    f = floor_op(lambda: (floor.apply([m for ms in objects.values() for m in ms]), floor.wait_ready(workloads)))
    out["create"] = (f, timed(lambda **kw: stack.up(**kw)))
    f = floor_op(lambda: (floor.apply([m for ms in objects.values() for m in ms]), floor.wait_ready(workloads)))
    out["no-op"] = (f, timed(lambda **kw: stack.up(**kw)))
    changed = rendered(config_values(devnet, deployments(f"f{n}x", n, webui_name="Bench 2")))
    first = next(iter(changed.values()))
    f = floor_op(lambda: (floor.apply([m for m in first if m["kind"] == "StatefulSet"]), floor.wait_ready(workloads)))
    set_config(stack, {"linq:deployments": deployments(f"u{n}x", n, webui_name="Bench 2")})
    out["update"] = (f, timed(lambda **kw: stack.up(**kw)))
    f = floor_op(lambda: floor.delete_namespaces(namespaces))
    out["destroy"] = (f, timed(lambda **kw: stack.destroy(**kw)))
    stack.workspace.remove_stack(f"bench{n}")
    return out


def compare(devnet: Devnet, work: Path, other: Path, rounds: int) -> None:
    """No-op `up`s of one deployment, alternating between this tree's code and `other`'s (a checkout of another
    commit: `git worktree add` or `git archive | tar -x`), on one stack and one devnet, so both see the same load.
    The version is chosen with PYTHONPATH, which the program and the dynamic provider inherit from the CLI."""
    from rich.console import Console
    from rich.table import Table

    from linq.engine import project_stack

    stack = project_stack(devnet, stack="benchab", work_dir=project_dir(work / "ab"))
    set_config(stack, config_values(devnet, deployments("ab", 1)))
    trees = {"this tree": ROOT, str(other): other.resolve()}
    env = stack.workspace.env_vars
    assert isinstance(env, dict)
    env["PYTHONPATH"] = str(ROOT)
    timed(lambda **kw: stack.up(**kw))  # create, with this tree
    table = Table(title="no-op `up` of 1 deployment, alternating trees on one stack (seconds)")
    for col in ("round", "tree", "load (1 min)", "pulumi s", "CLI→1st event", "→stack reg.", "changes"):
        table.add_column(col, justify="right")
    for i in range(rounds):
        for label, tree in trees.items():
            env["PYTHONPATH"] = str(tree)
            load = os.getloadavg()[0]
            run = timed(lambda **kw: stack.up(**kw))
            changes = " ".join(f"{k}={v}" for k, v in sorted(run.changes.items()))
            table.add_row(
                str(i + 1),
                label,
                f"{load:.1f}",
                f"{run.wall:.2f}",
                _s(run.first_event),
                _s(run.stack_registered),
                changes,
            )
    env["PYTHONPATH"] = str(ROOT)
    stack.destroy()
    stack.workspace.remove_stack("benchab")
    Console(width=160).print(table)


def register_local_provider(devnet: Devnet) -> None:
    from linq.chain.client import ChainClient
    from linq.chain.network import devnet_profile
    from linq.chain.signers import from_dev_account
    from linq.devnet.accounts import register_provider

    client = ChainClient(
        devnet_profile(devnet.state_dir), from_dev_account(devnet.state_dir, anvil.LOCAL_PROVIDER_INDEX)
    )
    register_provider(client)


# ---- report -------------------------------------------------------------------------------------------
def report(results: dict[int, dict[str, tuple[float, Run]]], cold: dict[str, float], loads: list[float]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=160)
    load = os.getloadavg()
    title = (
        f"pulumi up vs server-side apply — load average 1/5/15 min {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f} "
        f"({os.cpu_count()} CPUs; 1-min load at each step {min(loads):.1f} to {max(loads):.1f})"
    )
    table = Table(title=title)
    for col in (
        "N",
        "step",
        "floor s",
        "pulumi s",
        "ratio",
        "pulumi - floor",
        "CLI→1st event",
        "→stack reg.",
        "→placed",
        "changes",
    ):
        table.add_column(col, justify="right")
    for n, steps in results.items():
        for name, (f, run) in steps.items():
            ratio = f"{run.wall / f:.1f}x" if f else "—"
            table.add_row(
                str(n),
                name,
                f"{f:.2f}" if f else "—",
                f"{run.wall:.2f}",
                ratio,
                f"{run.wall - f:+.2f}" if f else "—",
                _s(run.first_event),
                _s(run.stack_registered),
                _s(run.placed),
                " ".join(f"{k}={v}" for k, v in sorted(run.changes.items())),
            )
    console.print(table)

    steps_table = Table(title="Resource steps (create/update/delete incl. await), seconds: max over the N objects")
    steps_table.add_column("N")
    steps_table.add_column("step")
    steps_table.add_column("kind: max step s (count)")
    for n, steps in results.items():
        for name, (_f, run) in steps.items():
            kinds = sorted(run.steps.items(), key=lambda kv: -max(kv[1]))
            steps_table.add_row(str(n), name, ", ".join(f"{k} {max(v):.1f} ({len(v)})" for k, v in kinds))
    console.print(steps_table)

    cold_table = Table(title="Cold start, measured on its own")
    cold_table.add_column("part")
    cold_table.add_column("s", justify="right")
    for part, seconds in cold.items():
        cold_table.add_row(part, f"{seconds:.2f}")
    console.print(cold_table)


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,3,10", help="deployment counts (default 1,3,10)")
    parser.add_argument("--devnet-dir", type=Path, help="a running devnet to use (default: start one)")
    parser.add_argument("--no-probes", dest="probes", action="store_false", help="skip the cold-start probes")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--compare-with", type=Path, help="also alternate no-op `up`s with the code in this checkout")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --compare-with (default 3)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]

    with tempfile.TemporaryDirectory(prefix="bench-up-") as tmp:
        work = Path(tmp)
        own = args.devnet_dir is None
        devnet = Devnet(work / "devnet") if own else Devnet(args.devnet_dir)
        if own:
            print("starting a devnet (anvil, contracts, control plane)…", flush=True)
            devnet.up(nodes=[NodeSpec(cpu_millis=64_000, memory_mib=262_144)], ttl_seconds=3600)
        try:
            os.environ.update({k: v for k, v in devnet.environment().items() if k == "LINQ_DEVNET_DIR"})
            register_local_provider(devnet)
            floor = Floor(Kube.from_kubeconfig(devnet.kubeconfig, flag="kubeconfig"))
            cold = probes(devnet) if args.probes else {}
            results: dict[int, dict[str, tuple[float, Run]]] = {}
            loads: list[float] = []
            for n in sizes:
                loads.append(os.getloadavg()[0])
                print(f"{n} deployment(s)… (load {loads[-1]:.2f})", flush=True)
                results[n] = bench_size(devnet, floor, n, work)
                loads.append(os.getloadavg()[0])
            if results:
                report(results, cold, loads)
            if args.compare_with:
                compare(devnet, work, args.compare_with, args.rounds)
            if args.json:
                args.json.write_text(
                    json.dumps(
                        {
                            "load": os.getloadavg(),
                            "cold": cold,
                            "results": {
                                n: {
                                    k: {
                                        "floor": f,
                                        "pulumi": r.wall,
                                        "first_event": r.first_event,
                                        "stack_registered": r.stack_registered,
                                        "placed": r.placed,
                                        "steps": r.steps,
                                        "changes": r.changes,
                                    }
                                    for k, (f, r) in s.items()
                                }
                                for n, s in results.items()
                            },
                        },
                        indent=1,
                    )
                )
        finally:
            if own:
                devnet.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
