"""Data parallelism: each batch split over every local device, the parameters replicated.

With a 1-D mesh ``("batch",)`` the step constrains its batch to ``batch_sharding(mesh)``
(:mod:`jaxaudio.training.steps`) and XLA partitions the program: each device computes the
forward and backward pass of ``B / D`` clips, gradients and BatchNorm batch statistics are
all-reduced, so the mathematics is that of one device with the whole batch.
"""

from __future__ import annotations

import logging

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

log = logging.getLogger(__name__)


def data_parallel_mesh(batch: int) -> Mesh | None:
    """A 1-D mesh ``("batch",)`` over every local device, or ``None`` with one device.

    The batch is split evenly, so it must be a multiple of the device count.
    """
    devices = jax.local_devices()
    if len(devices) == 1:
        log.info("data_parallel: one device (%s), nothing to split", devices[0])
        return None
    if batch % len(devices):
        raise ValueError(
            f"training.data_parallel: batch_size {batch} is not a multiple of the {len(devices)} devices"
        )
    log.info("data_parallel: batch of %d split over %d devices %s", batch, len(devices), devices)
    return Mesh(np.asarray(devices), ("batch",))


def batch_sharding(mesh: Mesh | None) -> NamedSharding | None:
    """Arrays split along their first (batch) axis over the mesh; ``None`` without a mesh."""
    return NamedSharding(mesh, P("batch")) if mesh is not None else None


def replicated(mesh: Mesh | None) -> NamedSharding | None:
    """Arrays copied whole to every device of the mesh; ``None`` (default placement) without one."""
    return NamedSharding(mesh, P()) if mesh is not None else None
