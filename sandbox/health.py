"""Can this host run sandboxes? The Docker daemon answers and the sandbox image is there.
For a grading worker's readiness check (a host whose daemon died must stop taking jobs)."""

from __future__ import annotations

import docker
from docker.errors import DockerException, ImageNotFound


def problems(image: str, timeout: int = 5) -> dict[str, str]:
    """``{"docker": ..., "sandbox_image": ...}``, each "" when fine."""
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except DockerException as exc:
        return {"docker": f"the Docker daemon does not answer: {exc}", "sandbox_image": "not checked"}
    try:
        client.images.get(image)
    except ImageNotFound:
        return {"docker": "", "sandbox_image": f"image {image} is missing on this host"}
    except DockerException as exc:
        return {"docker": "", "sandbox_image": f"could not look up image {image}: {exc}"}
    finally:
        client.close()
    return {"docker": "", "sandbox_image": ""}
