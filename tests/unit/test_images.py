"""OCI image archives built offline: reproducible, well-formed, naming the image for containerd."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest

from linq.devnet.images import ImageError, ImageSpec, build_archive


def _rootfs(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    (root / "www").mkdir(parents=True)
    (root / "www" / "index.html").write_text("hello")
    return root


def test_archive_is_an_oci_layout_naming_the_image(tmp_path: Path) -> None:
    spec = ImageSpec(ref="localhost/linq/web:1", cmd=["/bin/busybox", "httpd", "-f"], env=["MODE=test"])
    digest = build_archive(_rootfs(tmp_path), spec, tmp_path / "a.tar")
    with tarfile.open(tmp_path / "a.tar") as archive:
        files = {m.name: archive.extractfile(m).read() for m in archive.getmembers()}  # type: ignore[union-attr]
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    entry = index["manifests"][0]
    assert entry["digest"] == digest
    assert entry["annotations"]["io.containerd.image.name"] == "localhost/linq/web:1"
    for name, data in files.items():  # every blob is stored under its own digest
        if name.startswith("blobs/sha256/"):
            assert hashlib.sha256(data).hexdigest() == name.rsplit("/", 1)[1]
    manifest = json.loads(files[f"blobs/sha256/{digest.split(':')[1]}"])
    config = json.loads(files[f"blobs/sha256/{manifest['config']['digest'].split(':')[1]}"])
    assert config["config"]["Cmd"] == ["/bin/busybox", "httpd", "-f"]
    assert "MODE=test" in config["config"]["Env"]


def test_same_input_same_digest(tmp_path: Path) -> None:
    spec = ImageSpec(ref="localhost/linq/web:1", cmd=["/x"])
    root = _rootfs(tmp_path)
    first = build_archive(root, spec, tmp_path / "a.tar")
    assert build_archive(root, spec, tmp_path / "b.tar") == first
    (root / "www" / "index.html").write_text("changed")
    assert build_archive(root, spec, tmp_path / "c.tar") != first


@pytest.mark.parametrize("ref", ["no-tag", "localhost/x:", ":1"])
def test_bad_ref_is_refused_with_an_example(ref: str) -> None:
    with pytest.raises(ImageError, match="needs a name and a tag"):
        ImageSpec(ref=ref, cmd=["/x"])


def test_missing_command_is_refused() -> None:
    with pytest.raises(ImageError, match="give a command"):
        ImageSpec(ref="localhost/x:1", cmd=[])
