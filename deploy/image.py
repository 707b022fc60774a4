"""Build the application image (deploy/Dockerfile), tagged by a hash of what goes into it.

The build context is the application's source, its templates and static files (including the
editor bundle that the set-up script builds into static/build/), pyproject.toml and the
image's own files in deploy/ (a change to compose.yaml does not rebuild it).
The default base is the Debian root filesystem that sandbox/image.py imports from debootstrap
(no registry needed); elsewhere pass ``--base python:3.12-slim``. An unchanged context and base
give the same tag, and an existing tag is not rebuilt, so reruns cost a hash of the files.

    python -m deploy.image ensure [--base IMAGE]   # prints the tag
    python -m deploy.image tag [--base IMAGE]

The build installs Python packages from PyPI, so it runs with ``--network host`` (the
project's Docker daemon has no bridge network).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

from sandbox import image as sandbox_image

ROOT = Path(__file__).resolve().parent.parent
REPOSITORY = "grader-app"
# The application's packages are the ones pyproject.toml installs: one list, so a new package
# cannot be left out of the image.
PACKAGES = tuple(
    pattern.rstrip("*")
    for pattern in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"][
        "find"
    ]["include"]
)
CONTEXT = (
    *PACKAGES,
    "templates",
    "static",
    "deploy/Dockerfile",
    "deploy/entrypoint.sh",
    "deploy/healthcheck.py",
    "manage.py",
    "pyproject.toml",
)
SKIPPED_DIRS = {"__pycache__", "node_modules"}


def context_files() -> dict[str, bytes]:
    """Path in the image's /app -> content, symlinks followed (static/build may be one)."""
    files: dict[str, bytes] = {}
    for entry in CONTEXT:
        path = ROOT / entry
        if path.is_file():
            files[entry] = path.read_bytes()
            continue
        for folder, dirs, names in os.walk(path, followlinks=True):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
            for name in sorted(names):
                if name.endswith(".pyc") or name.startswith("."):
                    continue
                full = Path(folder) / name
                files[full.relative_to(ROOT).as_posix()] = full.read_bytes()
    files["build-ca.pem"] = build_ca_bundle()
    return files


def build_ca_bundle() -> bytes:
    """The CA bundle pip trusts on this machine (PIP_CERT, else pip's configured ``cert``):
    a TLS proxy in front of PyPI must be trusted inside the build too. Empty if none."""
    path = (
        os.environ.get("PIP_CERT")
        or subprocess.run(
            [sys.executable, "-m", "pip", "config", "get", "global.cert"], capture_output=True, text=True
        ).stdout.strip()
    )
    return Path(path).read_bytes() if path and Path(path).is_file() else b""


def resolve_base(base: str | None) -> str:
    base = base or sandbox_image.LOCAL_BASE
    return sandbox_image.local_base_tag() if base == sandbox_image.LOCAL_BASE else base


def image_tag(base: str | None = None, files: dict[str, bytes] | None = None) -> str:
    files = context_files() if files is None else files
    h = hashlib.sha256(resolve_base(base).encode())
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return f"{REPOSITORY}:{h.hexdigest()[:12]}"


def _exists(tag: str) -> bool:
    found = subprocess.run(["docker", "image", "inspect", tag], capture_output=True)
    return found.returncode == 0


def _context_tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if name.endswith(".sh") else 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def ensure(base: str | None = None) -> str:
    """Build the image unless its tag exists; return the tag. Idempotent."""
    files = context_files()
    tag = image_tag(base, files)
    if _exists(tag):
        return tag
    resolved = resolve_base(base)
    if resolved == sandbox_image.local_base_tag() and not _exists(resolved):
        sandbox_image.ensure(sandbox_image.LOCAL_BASE)  # debootstraps the shared base
    subprocess.run(
        [
            "docker",
            "build",
            "--network",
            "host",
            "--build-arg",
            f"BASE={resolved}",
            "--file",
            "deploy/Dockerfile",
            "--tag",
            tag,
            "-",
        ],
        input=_context_tar(files),
        check=True,
        stdout=sys.stderr,
    )
    return tag


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("command", choices=["ensure", "tag"])
    parser.add_argument("--base", help="base image, or 'local' for the debootstrap base (default)")
    args = parser.parse_args(argv)
    print(ensure(args.base) if args.command == "ensure" else image_tag(args.base))
    return 0


if __name__ == "__main__":
    sys.exit(main())
