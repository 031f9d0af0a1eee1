"""`linq status` with a kubeconfig whose only credential is an exec plugin, against the devnet's real API
server: the plugin (a tiny script printing an ExecCredential) hands over a ServiceAccount's token, as cloud
CLIs and OIDC helpers do; a plugin handing over a bad token is refused, naming the kubeconfig."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from linq.devnet import Devnet
from linq.devnet.kubeapi import KubeAPI, KubeError
from tests.integration.test_monitor_support import deploy, linq, linq_json

pytestmark = pytest.mark.integration

PLUGIN = """\
import json, os, pathlib, sys
with open(sys.argv[1], "a") as calls:
    calls.write("called\\n")
info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
token = pathlib.Path(sys.argv[2]).read_text().strip()
print(json.dumps({"apiVersion": info["apiVersion"], "kind": "ExecCredential", "status": {"token": token}}))
"""


def viewer_token(api: KubeAPI, namespace: str, account: str) -> str:
    """A token of a ServiceAccount bound to the built-in `view` ClusterRole (read-only, cluster-wide)."""
    api.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    api.post(
        f"/api/v1/namespaces/{namespace}/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": account}},
    )
    api.post(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": account},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
        },
    )
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}}
    return str(api.post(f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token", request)["status"]["token"])


def exec_kubeconfig(devnet: Devnet, work: Path, token: str) -> tuple[Path, Path]:
    """The devnet's kubeconfig with its user replaced by an exec plugin; returns (kubeconfig, call log)."""
    plugin, calls, token_file = work / "credential-plugin.py", work / "plugin-calls.log", work / "token"
    plugin.write_text(PLUGIN)
    token_file.write_text(token)
    config = yaml.safe_load(devnet.kubeconfig.read_text())
    config["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": [str(plugin), str(calls), str(token_file)],
            "interactiveMode": "Never",
        }
    }
    path = work / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path, calls


def test_status_authenticates_with_an_exec_credential_plugin(devnet: Devnet, tmp_path: Path) -> None:
    name, namespace, api = deploy(devnet, "execauth")
    ops, account = f"{name}-ops", f"{name}-viewer"
    kubeconfig, calls = exec_kubeconfig(devnet, tmp_path, viewer_token(api, ops, account))
    assert "token" not in yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]  # the plugin is the only way in
    try:
        code, status = linq_json("status", name, "--kubeconfig", str(kubeconfig), "--devnet-dir", str(devnet.state_dir))
        assert code == 0, status
        (row,) = status["deployments"]
        assert (row["name"], row["namespace"], row["state"]) == (name, namespace, "Running")
        assert row["replicas"] == {"desired": 1, "ready": 1}
        assert calls.read_text().count("called") >= 1  # the token came from the plugin

        # A plugin handing over a token the API server does not accept: refused, naming the kubeconfig.
        (tmp_path / "token").write_text("not-a-token")
        code, _out, err = linq("status", name, "--kubeconfig", str(kubeconfig), "--devnet-dir", str(devnet.state_dir))
        assert code == 2 and "HTTP 401" in err and str(kubeconfig) in err
    finally:
        for path in (f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{account}", f"/api/v1/namespaces/{ops}"):
            try:
                api.delete(path)
            except KubeError as error:
                if error.status != 404:
                    raise
