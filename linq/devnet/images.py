"""OCI images built offline, without Docker: a root filesystem directory and a command line become an OCI
image archive (one gzip layer, config, manifest, index naming the image), which the real node's containerd
imports by name (`ctr images import`).

Layers are reproducible: entries sorted, owned by root, mtime 0, gzip without a timestamp, so the same input
gives the same digest.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import json
import shutil
import subprocess
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from linq.tools import locate

BUSYBOX = Path("/bin/busybox")  # Debian busybox-static: the one binary of the test images
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ImageError(RuntimeError):
    pass


@dataclass(frozen=True)
class ImageSpec:
    """What the image runs: `ref` is its name as pods use it (e.g. localhost/linq/httpd:1)."""

    ref: str
    cmd: list[str]
    entrypoint: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    workdir: str = "/"
    ports: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        name, _, tag = self.ref.rpartition(":")
        if not name or "/" in tag or not tag:
            raise ImageError(f"image ref {self.ref!r} needs a name and a tag, e.g. localhost/linq/app:1")
        if not self.cmd and not self.entrypoint:
            raise ImageError(f"image {self.ref}: give a command (cmd) or an entrypoint")


def _layer(rootfs: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(rootfs.rglob("*")):
            info = tar.gettarinfo(str(path), arcname=str(path.relative_to(rootfs)))
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0
            if info.isfile():
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
    return buffer.getvalue()


def _blob(blobs: dict[str, bytes], data: bytes) -> dict[str, object]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return {"digest": digest, "size": len(data)}


@dataclass(frozen=True)
class Image:
    """An image's blobs by digest, and the digest of its manifest (itself one of the blobs)."""

    ref: str
    blobs: dict[str, bytes]
    manifest: str


def build_archive(rootfs: Path, spec: ImageSpec, output: Path) -> str:
    """Write an OCI image archive of `rootfs` running `spec`; returns the manifest digest."""
    image = build(rootfs, spec)
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": MANIFEST_TYPE,
                "digest": image.manifest,
                "size": len(image.blobs[image.manifest]),
                "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {
                    "io.containerd.image.name": spec.ref,
                    "org.opencontainers.image.ref.name": spec.ref.rpartition(":")[2],
                },
            }
        ],
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(output, "w") as archive:
        files = {
            "oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
            "index.json": json.dumps(index).encode(),
        }
        files.update({f"blobs/sha256/{digest.split(':', 1)[1]}": data for digest, data in image.blobs.items()})
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return image.manifest


def build(rootfs: Path, spec: ImageSpec) -> Image:
    """The image's layer, config and manifest, in memory."""
    if not rootfs.is_dir():
        raise ImageError(f"image root filesystem {rootfs} is not a directory")
    tar_bytes = _layer(rootfs)
    blobs: dict[str, bytes] = {}
    layer = _blob(blobs, gzip.compress(tar_bytes, mtime=0))
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": [DEFAULT_PATH, *spec.env],
            "Cmd": spec.cmd or None,
            "Entrypoint": spec.entrypoint or None,
            "WorkingDir": spec.workdir,
            "ExposedPorts": {f"{port}/tcp": {} for port in spec.ports} or None,
        },
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar_bytes).hexdigest()]},
        "history": [{"created_by": "linq image build", "created": "1970-01-01T00:00:00Z"}],
    }
    config_ref = _blob(blobs, json.dumps(config, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config_ref},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}],
    }
    manifest_ref = _blob(blobs, json.dumps(manifest, sort_keys=True).encode())
    return Image(ref=spec.ref, blobs=blobs, manifest=str(manifest_ref["digest"]))


def push(image: Image, registry: str) -> None:
    """Upload an image to a registry over the OCI distribution API (`registry` is host:port, plain HTTP: the
    devnet's registry listens inside the node's network namespace only)."""
    name, _, tag = image.ref.partition("/")[2].rpartition(":")
    base = f"http://{registry}/v2/{name}"
    for digest, data in image.blobs.items():
        if digest == image.manifest:
            continue
        try:
            _http("HEAD", f"{base}/blobs/{digest}")
            continue  # already there
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise
        location = _http("POST", f"{base}/blobs/uploads/").headers["Location"]
        upload = location if location.startswith("http") else f"http://{registry}{location}"
        separator = "&" if "?" in upload else "?"
        _http("PUT", f"{upload}{separator}digest={digest}", data, "application/octet-stream")
    _http("PUT", f"{base}/manifests/{tag}", image.blobs[image.manifest], MANIFEST_TYPE)


def _http(method: str, url: str, data: bytes | None = None, content_type: str = "") -> http.client.HTTPResponse:
    headers = {"Content-Type": content_type} if content_type else {}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - devnet registry
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return response


def busybox_rootfs(directory: Path, files: dict[str, bytes] | None = None) -> Path:
    """A root filesystem with the static busybox as /bin/busybox and /bin/sh, plus `files` (path -> bytes)."""
    if not BUSYBOX.exists():
        raise ImageError(f"{BUSYBOX} is missing: run `make setup` (Debian busybox-static)")
    (directory / "bin").mkdir(parents=True, exist_ok=True)
    (directory / "tmp").mkdir(exist_ok=True)
    shutil.copy2(BUSYBOX, directory / "bin" / "busybox")
    (directory / "bin" / "sh").unlink(missing_ok=True)
    (directory / "bin" / "sh").symlink_to("busybox")
    for relative, data in (files or {}).items():
        target = directory / relative.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return directory


def pause_rootfs(directory: Path) -> Path:
    """The sandbox image: our static pause program, nothing else."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy2(locate.require("pause"), directory / "pause")
    return directory


def import_archive(archive: Path, containerd_socket: Path) -> None:
    """Load an image archive into the node's containerd, in the namespace the CRI plugin (kubelet) uses."""
    completed = subprocess.run(
        [
            str(locate.require("ctr")),
            "--address",
            str(containerd_socket),
            "--namespace",
            "k8s.io",
            "images",
            "import",
            str(archive),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if completed.returncode != 0:
        raise ImageError(f"ctr images import {archive} failed: {completed.stderr.strip() or completed.stdout}")
