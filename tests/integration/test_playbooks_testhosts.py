"""The network-namespace SSH test hosts the playbook tests run on: isolated, reachable only over the /30
link, strict about host keys, and gone without a trace after the context manager exits."""

from __future__ import annotations

import ipaddress
import subprocess
import time
from pathlib import Path

import pytest

from linq.testhosts import test_hosts
from tests.integration.hosts import require_test_hosts

pytestmark = [pytest.mark.integration]


@pytest.fixture(autouse=True)
def _tools() -> None:
    require_test_hosts()


def _mounts_mentioning(fragment: str) -> list[str]:
    hits = []
    for mountinfo in Path("/proc").glob("[0-9]*/mountinfo"):
        try:
            if fragment in mountinfo.read_text():
                hits.append(str(mountinfo))
        except OSError:
            continue  # the process exited while we looked
    return hits


def test_hosts_are_isolated_and_leave_nothing_behind(request: pytest.FixtureRequest) -> None:
    started = time.monotonic()
    with test_hosts(2) as hosts:
        boot_seconds = time.monotonic() - started
        a, b = hosts
        run_dir, pids, netns = hosts.run_dir, [h.pid for h in hosts], [h.netns for h in hosts]

        # uts: per-host hostname; mount: per-host /etc
        assert a.run("hostname").stdout.strip() == a.name and b.run("hostname").stdout.strip() == b.name
        a.run("echo only-on-a | sudo tee /etc/lpstack-marker >/dev/null")
        assert b.run("test -e /etc/lpstack-marker", check=False).returncode != 0
        assert not Path("/etc/lpstack-marker").exists()
        assert (a.upper / "etc" / "lpstack-marker").read_text() == "only-on-a\n"
        # pid: sshd is PID 1 and the machine's processes are invisible
        processes = a.run("ps -eo pid=,comm=").stdout.split("\n")
        assert processes[0].split() == ["1", "sshd"] and len(processes) < 15
        # net: only the /30 to the root namespace, no default route (nothing can leave the machine)
        routes = a.run("ip -4 route").stdout.strip().splitlines()
        subnet = ipaddress.ip_interface(f"{a.address}/30").network  # the host's own /30, wherever it was allocated
        assert routes == [f"{subnet} dev {a.netns.replace('lqth', 'lq')}h proto kernel scope link src {a.address}"]
        reach_b = f"python3 -c 'import socket; socket.create_connection((\"{b.address}\", 22), 2)'"
        unreachable = a.run(reach_b, check=False)  # hosts cannot reach each other
        assert unreachable.returncode != 0 and "unreachable" in unreachable.stderr, unreachable.stderr
        # the client pins each host key: an empty known_hosts is refused
        strict = subprocess.run(
            ["ssh", "-o", "UserKnownHostsFile=/dev/null", *a.ssh_argv("true")[1:]],  # ssh: first value wins
            capture_output=True,
            text=True,
            check=False,
        )
        assert strict.returncode != 0 and "Host key verification failed" in strict.stderr
        stop = time.monotonic()

    teardown_seconds = time.monotonic() - stop
    assert not run_dir.exists()
    assert not any(Path("/run/netns", name).exists() for name in netns)
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)
    assert _mounts_mentioning(str(run_dir)) == []
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True, check=True).stdout
    assert not any(name.replace("lqth", "lq") in links for name in netns)
    # The /30 route went with the veth pair (the address may now follow the default route, like any other).
    route = subprocess.run(["ip", "route", "get", a.address], capture_output=True, text=True, check=True).stdout
    assert " dev lq" not in route, route
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"test hosts: 2 booted in {boot_seconds:.2f}s, torn down in {teardown_seconds:.2f}s")
