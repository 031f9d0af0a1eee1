"""A Python language host for the Pulumi engine (`pulumi-language-python`).

Why this exists: the engine's own Go language host lives in an untagged Go module that the module proxy
reachable from our machines does not serve (only the tagged CLI is), so the toolchain cannot build it.
The engine talks to a language host over the LanguageRuntime gRPC service; the stubs ship in the `pulumi`
wheel, and the program itself is run by the SDK's own `pulumi-language-python-exec` script (taken from the
same Go module as the CLI), exactly as the Go host does. Only what `pulumi preview/up/refresh/destroy`
needs is implemented; code generation, packing and policy plugins answer UNIMPLEMENTED.

Protocol, as the engine expects it: print the chosen port on stdout, serve until killed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from concurrent import futures
from importlib.metadata import version as package_version
from pathlib import Path

import grpc
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

# The exec script exits with this code after it has shown the user an actionable message.
EXIT_AFTER_USER_MESSAGE = 32
EXEC_SCRIPT = "pulumi-language-python-exec"


def find_exec_script() -> str:
    """The SDK's program runner: next to the `pulumi` CLI, or anywhere on PATH."""
    explicit = os.environ.get("LINQ_PULUMI_LANGUAGE_EXEC")
    if explicit:
        return explicit
    found = shutil.which(EXEC_SCRIPT)
    if not found:
        pulumi_cli = shutil.which("pulumi")
        if pulumi_cli and (Path(pulumi_cli).resolve().parent / EXEC_SCRIPT).exists():
            found = str(Path(pulumi_cli).resolve().parent / EXEC_SCRIPT)
    if not found:
        raise RuntimeError(
            f"{EXEC_SCRIPT} not found next to the pulumi CLI or on PATH; run `make setup` "
            "(it installs it beside the pulumi binary)"
        )
    return found


def python_for(info: language_pb2.ProgramInfo) -> str:
    """The interpreter of the project's virtualenv (runtime option `virtualenv`), else our own."""
    options = dict(info.options.items()) if info.HasField("options") else {}
    venv = options.get("virtualenv")
    if venv:
        root = Path(info.root_directory or ".")
        python = (root / str(venv)).resolve() / "bin" / "python"
        if not python.exists():
            raise RuntimeError(
                f"Pulumi.yaml runtime option virtualenv={venv!r} has no bin/python under {root}; "
                "run `make setup` to create it"
            )
        return str(python)
    return sys.executable


class LanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
    def __init__(self, engine_address: str) -> None:
        self.engine_address = engine_address

    def Handshake(self, request, context):
        self.engine_address = request.engine_address or self.engine_address
        return language_pb2.LanguageHandshakeResponse()

    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version=package_version("pulumi"))

    def GetRequiredPlugins(self, request, context):
        # Providers load on first use from the local plugin lookup (PATH or plugin cache); nothing to download.
        return language_pb2.GetRequiredPluginsResponse(plugins=[])

    def GetRequiredPackages(self, request, context):
        return language_pb2.GetRequiredPackagesResponse(packages=[])

    def InstallDependencies(self, request, context):
        # `make setup` owns the virtualenv; the engine asks here during `pulumi install`.
        yield language_pb2.InstallDependenciesResponse(stdout=b"dependencies are managed by `make setup`\n")

    def About(self, request, context):
        version = sys.version.split()[0]
        return language_pb2.AboutResponse(executable=sys.executable, version=version)

    def GetProgramDependencies(self, request, context):
        return language_pb2.GetProgramDependenciesResponse(dependencies=[])

    def RuntimeOptionsPrompts(self, request, context):
        return language_pb2.RuntimeOptionsResponse(prompts=[])

    def Run(self, request, context):
        try:
            argv = [python_for(request.info), "-u", find_exec_script(), *self.arguments(request)]
        except RuntimeError as error:
            return language_pb2.RunResponse(error=str(error))
        env = dict(os.environ)
        env["PULUMI_CONFIG"] = json.dumps(dict(request.config.items()))
        env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(list(request.configSecretKeys))
        completed = subprocess.run(argv, env=env, check=False, cwd=request.pwd or None)
        if completed.returncode == 0:
            return language_pb2.RunResponse()
        if completed.returncode == EXIT_AFTER_USER_MESSAGE:
            return language_pb2.RunResponse(bail=True)
        return language_pb2.RunResponse(error=f"program exited with non-zero exit code: {completed.returncode}")

    def arguments(self, request: language_pb2.RunRequest) -> list[str]:
        """The exec script's flags, in the order and spelling the Go host uses."""
        pairs = [
            ("monitor", request.monitor_address),
            ("engine", self.engine_address),
            ("project", request.project),
            ("root_directory", request.info.root_directory),
            ("stack", request.stack),
            ("pwd", request.pwd),
            ("dry_run", "true" if request.dryRun else "false"),
            ("parallel", str(request.parallel)),
            ("organization", request.organization),
        ]
        args = [item for key, value in pairs if value for item in (f"--{key}", value)]
        return [*args, request.info.entry_point or ".", *request.args]


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    if "--version" in sys.argv[1:]:
        print(package_version("pulumi"))
        return
    engine_address = args[0] if args else ""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4),
        options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)],
    )
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(LanguageHost(engine_address), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop(grace=2)


if __name__ == "__main__":
    main()
