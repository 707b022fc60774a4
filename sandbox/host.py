"""Is this grading host's Docker daemon there? (The one DOCKER_HOST names, else the local one.)"""

from __future__ import annotations

import docker
from docker.errors import DockerException

# A daemon that does not answer a ping within this is as good as gone for grading.
PING_TIMEOUT_SECONDS = 3


def reachable() -> bool:
    try:
        client = docker.from_env(timeout=PING_TIMEOUT_SECONDS)
    except (DockerException, OSError):  # the client asks the daemon's API version on creation
        return False
    try:
        return bool(client.ping())
    except (DockerException, OSError):  # requests' connection errors are OSErrors
        return False
    finally:
        client.close()
