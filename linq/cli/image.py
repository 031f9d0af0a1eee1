"""`linq image build`: an OCI image from a directory and a command line, offline and without Docker."""

from __future__ import annotations

import shlex
import shutil
import tempfile
from pathlib import Path

import click

from linq.devnet import default_state_dir, images
from linq.devnet.images import ImageError, ImageSpec, build_archive, busybox_rootfs, import_archive
from linq.devnet.node import NodeError, containerd_socket, registry_address
from linq.devnet.nodeconfig import REGISTRY_HOST
from linq.tools.locate import ToolMissing


@click.group()
def image() -> None:
    """Container images for the devnet's real node, built offline."""


@image.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--tag", "ref", required=True, help="Image name and tag, e.g. localhost/linq/app:1.")
@click.option("--cmd", "command", required=True, help="The command line the container runs (shell words).")
@click.option("--env", "env", multiple=True, help="KEY=VALUE in the image's environment (repeatable).")
@click.option("--workdir", default="/", show_default=True)
@click.option("--port", "ports", type=int, multiple=True, help="A port the image serves (documentation only).")
@click.option("--busybox", is_flag=True, help="Add a static busybox as /bin/busybox and /bin/sh.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Also keep the OCI archive here.")
@click.option(
    "--load/--no-load",
    default=True,
    show_default=True,
    help="Import into the running devnet's real node (containerd, namespace k8s.io).",
)
@click.option(
    "--push",
    is_flag=True,
    help=f"Push to the devnet's registry instead (the tag must be {REGISTRY_HOST}/<name>:<tag>).",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The devnet (default: $LINQ_DEVNET_DIR or ./.linq/devnet).",
)
def build(directory, ref, command, env, workdir, ports, busybox, output, load, push, state_dir) -> None:
    """Pack DIRECTORY as the image's root filesystem, running --cmd."""
    try:
        spec = ImageSpec(ref=ref, cmd=shlex.split(command), env=list(env), workdir=workdir, ports=list(ports))
        with tempfile.TemporaryDirectory(prefix="linq-image-") as scratch:
            root = Path(directory)
            if busybox:
                root = Path(scratch, "rootfs")
                shutil.copytree(directory, root, symlinks=True)
                busybox_rootfs(root)
            if push:
                if not ref.startswith(f"{REGISTRY_HOST}/"):
                    raise ImageError(
                        f"--push needs a tag in the devnet registry, {REGISTRY_HOST}/<name>:<tag>; got {ref!r}"
                    )
                image = images.build(root, spec)
                images.push(image, registry_address(state_dir or default_state_dir()))
                click.echo(f"pushed {ref} ({image.manifest})")
                return
            archive = output or Path(scratch, "image.tar")
            digest = build_archive(root, spec, archive)
            click.echo(f"built {ref} ({digest})" + (f" -> {output}" if output else ""))
            if load:
                import_archive(archive, containerd_socket(state_dir or default_state_dir()))
                click.echo(f"loaded {ref} into the real node's containerd")
    except (ImageError, NodeError, ToolMissing, OSError) as error:
        raise click.ClickException(str(error)) from error
