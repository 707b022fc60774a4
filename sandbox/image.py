"""Build the sandbox image, tagged by a hash of its inputs.

Without a registry (as on the project's machines) the base image is a Debian
root filesystem made by debootstrap and loaded with ``docker import``; with one,
pass ``--base python:3.12-slim``. A changed harness, Dockerfile or base gives a
new tag, so workers never run a stale harness; an unchanged one is a no-op.

    python -m sandbox.image ensure [--base IMAGE]   # prints the tag
"""

from __future__ import annotations

import argparse
import hashlib
import io
import logging
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import docker
from docker.errors import ImageNotFound

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SUITE = "bookworm"
PACKAGES = ("python3", "python3-pytest")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
LOCAL_BASE = "local"  # the --base value meaning "debootstrap a Debian root filesystem"
REPOSITORY = "grader-sandbox-python"


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:12]


def local_base_tag() -> str:
    return f"grader-base:{SUITE}-{_digest(SUITE.encode(), ' '.join(PACKAGES).encode())}"


def context_files() -> dict[str, bytes]:
    files = {"Dockerfile": (HERE / "Dockerfile").read_bytes()}
    for path in sorted((HERE / "harness").glob("*.py")):
        files[f"harness/{path.name}"] = path.read_bytes()
    return files


def resolve_base(base: str | None) -> str:
    base = base or os.environ.get("SANDBOX_BASE_IMAGE") or LOCAL_BASE
    return local_base_tag() if base == LOCAL_BASE else base


def image_tag(base: str | None = None) -> str:
    """The tag of the image built from the current inputs (cheap: hashes a few files)."""
    resolved = resolve_base(base)
    files = context_files()
    parts = [resolved.encode()] + [name.encode() + b"\0" + files[name] for name in sorted(files)]
    return f"{REPOSITORY}:{_digest(*parts)}"


def _exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
        return True
    except ImageNotFound:
        return False


def build_local_base(client: docker.DockerClient, tag: str) -> None:
    """debootstrap a minimal Debian with python3 + pytest and import it as ``tag``."""
    mirror = os.environ.get("DEBIAN_MIRROR", DEFAULT_MIRROR)
    with tempfile.TemporaryDirectory(prefix="grader-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        log.info("debootstrap %s into %s", SUITE, rootfs)
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                SUITE,
                str(rootfs),
                mirror,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        subprocess.run(
            ["rm", "-rf", str(rootfs / "var/cache/apt/archives"), str(rootfs / "var/lib/apt/lists")],
            check=True,
        )
        archive = Path(tmp) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(rootfs), "-cf", str(archive), "."], check=True)
        repository, _, version = tag.partition(":")
        client.api.import_image_from_file(str(archive), repository=repository, tag=version)


def build_context() -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in context_files().items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def ensure(base: str | None = None, client: docker.DockerClient | None = None) -> str:
    """Build what is missing and return the image tag. Idempotent."""
    client = client or docker.from_env()
    tag = image_tag(base)
    if _exists(client, tag):
        return tag
    resolved = resolve_base(base)
    if resolved == local_base_tag() and not _exists(client, resolved):
        build_local_base(client, resolved)
    log.info("building %s from %s", tag, resolved)
    client.images.build(
        fileobj=build_context(),
        custom_context=True,
        tag=tag,
        rm=True,
        forcerm=True,
        buildargs={"BASE": resolved},
        pull=False,
    )
    return tag


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("command", choices=["ensure", "tag"])
    parser.add_argument("--base", help="base image, or 'local' to debootstrap one (default)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    print(ensure(args.base) if args.command == "ensure" else image_tag(args.base))
    return 0


if __name__ == "__main__":
    sys.exit(main())
