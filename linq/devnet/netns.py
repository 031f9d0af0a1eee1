"""Network namespaces for the real node: entering one, and the apiserver relay that lives in one.

The node (containerd, kubelet, kube-proxy, the policy controller, every pod) runs inside its own network
namespace, so its bridge, routes and netfilter rules are its own and vanish with it. The apiserver keeps
listening on 127.0.0.1 only; the relay opens a listening socket inside the node's namespace (a socket keeps
the namespace it was made in) and forwards each connection to the apiserver on the host's loopback. It is
both the kubelet's API address and the `kubernetes` Service's endpoint, so pods reach the API server too.

Standard library only, and started as a script (`python .../netns.py ...`, see `command`), so a node process
starts without importing the toolkit:

    netns.py relay NETNS LISTEN_IP PORT TARGET_PORT
    netns.py forward LISTEN_IP PORT TARGET_IP TARGET_PORT   (on the host: the ingress relay)
    netns.py exec NETNS CGROUP_ROOT -- ARGV...   (join the cgroups and the namespace, then exec ARGV)
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import socket
import sys
from pathlib import Path

CLONE_NEWNET = 0x40000000
CGROUP_FS = Path("/sys/fs/cgroup")


def command(*args: str) -> list[str]:
    """The argv that runs this file as a script with `args`."""
    return [sys.executable, str(Path(__file__).resolve()), *args]


def netns_path(name: str) -> Path:
    return Path("/run/netns") / name


def setns(path: Path) -> None:
    """Move the calling thread into the network namespace at `path` (os.setns is Python 3.12+)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns({path}): {os.strerror(errno)}")
    finally:
        os.close(fd)


def cgroup_hierarchies() -> list[Path]:
    """The v1 hierarchies the node's processes join (the unified one holds no controllers here)."""
    return sorted(p for p in CGROUP_FS.iterdir() if p.is_dir() and p.name != "unified" and not p.is_symlink())


def make_cgroup(relative: str) -> None:
    """Create a cgroup in every hierarchy (a new cpuset is empty until it is given its parent's cpus, mems)."""
    for hierarchy in cgroup_hierarchies():
        current = hierarchy
        for part in Path(relative.lstrip("/")).parts:
            parent, current = current, current / part
            current.mkdir(exist_ok=True)
            if hierarchy.name == "cpuset":
                for knob in ("cpuset.cpus", "cpuset.mems"):
                    if not (current / knob).read_text().strip():
                        (current / knob).write_text((parent / knob).read_text())


def join_cgroup(relative: str) -> None:
    make_cgroup(relative)
    for hierarchy in cgroup_hierarchies():
        (hierarchy / relative.lstrip("/") / "cgroup.procs").write_text(str(os.getpid()))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _relay(listener: socket.socket, target_port: int, target_ip: str = "127.0.0.1") -> None:
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            reader, writer = await asyncio.open_connection(target_ip, target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(_pipe(client_reader, writer), _pipe(reader, client_writer))

    server = await asyncio.start_server(handle, sock=listener)
    async with server:
        await server.serve_forever()


def relay(netns: str, listen_ip: str, port: int, target_port: int) -> None:
    host = os.open("/proc/self/ns/net", os.O_RDONLY)
    setns(netns_path(netns))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((listen_ip, port))
    listener.listen(128)
    if ctypes.CDLL(None, use_errno=True).setns(host, CLONE_NEWNET) != 0:  # outgoing connections: host loopback
        raise OSError(ctypes.get_errno(), "setns back to the host namespace")
    os.close(host)
    print(f"relaying {netns} {listen_ip}:{port} -> 127.0.0.1:{target_port}", flush=True)
    asyncio.run(_relay(listener, target_port))


def forward(listen_ip: str, port: int, target_ip: str, target_port: int) -> None:
    """The host side's TCP relay (no namespace change): e.g. 127.0.0.1:PORT -> the node's ingress NodePort."""
    listener = socket.create_server((listen_ip, port), backlog=128)
    print(f"forwarding {listen_ip}:{port} -> {target_ip}:{target_port}", flush=True)
    asyncio.run(_relay(listener, target_port, target_ip))


def main(argv: list[str]) -> None:
    if argv[0] == "relay":
        relay(argv[1], argv[2], int(argv[3]), int(argv[4]))
    elif argv[0] == "forward":
        forward(argv[1], int(argv[2]), argv[3], int(argv[4]))
    elif argv[0] == "exec":
        netns, cgroup_root, separator, *command = argv[1:]
        assert separator == "--", "usage: exec NETNS CGROUP_ROOT -- ARGV..."
        join_cgroup(f"{cgroup_root}/daemons")
        setns(netns_path(netns))
        os.execvp(command[0], command)  # noqa: S606 - the node daemon's own argv
    else:
        raise SystemExit(f"unknown command {argv[0]!r}: relay | forward | exec")


if __name__ == "__main__":
    main(sys.argv[1:])
