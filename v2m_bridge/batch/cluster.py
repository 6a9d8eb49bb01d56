"""Connecting to Ray: a local cluster by default, or an existing one (``--address``)."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import ray

import v2m_bridge
from v2m_bridge.batch.plan import BatchError

logger = logging.getLogger(__name__)

# How long an explicit --address may take to answer before the batch gives up.
CONNECT_TIMEOUT_S = 5.0
# The folder that holds the v2m_bridge package the driver runs, so local workers import it too.
_CODE_ROOT = str(Path(v2m_bridge.__file__).resolve().parents[1])


@dataclass(frozen=True)
class ClusterInfo:
    address: str
    cpus: float
    gpus: float
    nodes: int
    started_here: bool  # a local cluster this process started (and shuts down)


def connect(address: str | None = None, num_cpus: int | None = None) -> ClusterInfo:
    """Join the Ray cluster at ``address`` (``auto``, ``HOST:PORT`` or ``ray://HOST:PORT``),
    or start a local one with ``num_cpus`` CPUs. An already connected process keeps its cluster.

    Raises:
        BatchError: the cluster cannot be reached (checked within a few seconds).
    """
    started_here = False
    if not ray.is_initialized():
        if address:
            _check_reachable(address)
            try:
                ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError, ValueError) as err:
                hint = ""
                if address.startswith("ray://") and "RAY_AUTH_MODE" not in os.environ:
                    # Ray's client sends the cluster's token only when told to.
                    hint = (" If the cluster uses token authentication (Ray's default), set "
                            "RAY_AUTH_MODE=token with the head's ~/.ray/auth_token here or "
                            "RAY_AUTH_TOKEN.")
                raise BatchError(f"cannot join the Ray cluster at {address!r}: {err}. "
                                 "Start one with `ray start --head` (see README, Scaling out) "
                                 "or leave out --address to run on this machine." + hint) \
                    from err
        else:
            python_path = os.pathsep.join(
                p for p in (_CODE_ROOT, os.environ.get("PYTHONPATH")) if p)
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.WARNING,
                     runtime_env={"env_vars": {"PYTHONPATH": python_path}})
            started_here = True
    resources = ray.cluster_resources()
    return ClusterInfo(address=address or "local", cpus=resources.get("CPU", 0.0),
                       gpus=resources.get("GPU", 0.0),
                       nodes=sum(1 for node in ray.nodes() if node.get("Alive")),
                       started_here=started_here)


def disconnect(info: ClusterInfo) -> None:
    if info.started_here and ray.is_initialized():
        ray.shutdown()


def _check_reachable(address: str) -> None:
    """Fail in seconds, not after Ray's long reconnect loop, when nothing listens there."""
    if address == "auto":
        return  # ray.init finds the local cluster's address file or fails at once
    parts = urlsplit(address if "://" in address else f"ray://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as err:
        raise BatchError(f"--address {address!r} is not HOST:PORT, ray://HOST:PORT or auto") \
            from err
    if not host or not port:
        raise BatchError(f"--address {address!r} is not HOST:PORT, ray://HOST:PORT or auto")
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as err:
        raise BatchError(f"cannot reach a Ray cluster at {address!r} ({err}); start one with "
                         "`ray start --head` on that machine, check the host and port, or leave "
                         "out --address to run on this machine") from err
