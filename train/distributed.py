"""Data-parallel training under ``torchrun``: process group, device and gradient averaging.

``torchrun --nproc_per_node N -m medtalk.cli train ...`` starts N copies of ``medtalk train``
with ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` in their
environment. :func:`setup` then joins the process group: NCCL with one GPU per process
(``cuda:LOCAL_RANK``) when CUDA is available, gloo on the CPU otherwise. Without those variables
(or with ``WORLD_SIZE=1``) nothing is initialised and every helper here is a no-op, so a
single-process run behaves exactly as it did before.

The replicas stay identical because they start from rank 0's weights (:func:`broadcast_module`)
and apply the same averaged gradients (:func:`average_gradients`) with the same optimizer.
Gradients are averaged here rather than by ``DistributedDataParallel``: the training phases call
sub-modules (``model.acm``, ``model.motion.decode``...) directly instead of ``model.forward``,
which DDP's gradient hooks rely on, and each phase trains a different part of the model.
"""

from __future__ import annotations

import datetime
import os
from contextlib import contextmanager

import torch
import torch.distributed as dist

from medtalk_core.errors import MedtalkError

ENV = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
"""Environment variables torchrun sets and ``init_process_group("env://")`` reads."""

TIMEOUT = datetime.timedelta(hours=4)
"""Collective timeout: the other ranks wait at a barrier while rank 0 builds a feature cache
(the live features of the whole corpus take about 45 min on 2 cores)."""


def setup() -> torch.device:
    """Join the torchrun process group if this process was started by torchrun with more than
    one process; returns the device this process trains on (CPU unless NCCL).

    Raises:
        MedtalkError: ``WORLD_SIZE`` > 1 without the other variables torchrun sets.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return device()
    missing = [k for k in ENV if k not in os.environ]
    if missing:
        raise MedtalkError(f"WORLD_SIZE={os.environ['WORLD_SIZE']} but {', '.join(missing)} "
                           "unset: start multi-process training with torchrun")
    backend = "gloo"
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        backend = "nccl"
    dist.init_process_group(backend, timeout=TIMEOUT)
    return device()


def cleanup() -> None:
    """Leave the process group (if any)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    """True on rank 0 (and in a single-process run): the process that writes files and prints."""
    return rank() == 0


def device() -> torch.device:
    """``cuda:LOCAL_RANK`` under NCCL, else the CPU (single-process runs stay on the CPU)."""
    if dist.is_initialized() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def barrier() -> None:
    """Wait until every rank gets here (no-op single-process)."""
    if dist.is_initialized():
        dist.barrier()


@contextmanager
def main_first():
    """Run the block on rank 0 first, then on the other ranks: for work that writes a shared
    file once (a feature cache, a corpus view) and that the others then read."""
    if not is_main():
        barrier()
    yield
    if is_main():
        barrier()


def broadcast_module(module: torch.nn.Module) -> None:
    """Copy rank 0's parameters and buffers into every other rank's ``module`` (in place)."""
    if dist.is_initialized():
        for t in module.state_dict().values():
            dist.broadcast(t, 0)


def all_reduce_sum(values: list[float]) -> list[float]:
    """Sums of ``values`` over ranks (float64), e.g. loss sums; the input single-process."""
    if not dist.is_initialized():
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=device())
    dist.all_reduce(t)
    return t.tolist()


def average_gradients(params: list[torch.nn.Parameter]) -> None:
    """Replace each parameter's gradient by its mean over ranks, in one all-reduce.

    As ``DistributedDataParallel(find_unused_parameters=True)``: a parameter without a gradient
    on a rank (not used in its step, e.g. P_image when that rank drew a text description)
    counts as a zero gradient there; one without a gradient on every rank keeps ``None``, so the
    optimizer skips it everywhere. No-op single-process.
    """
    if not dist.is_initialized() or not params:
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    seen = torch.tensor([p.grad is not None for p in params], dtype=grads[0].dtype,
                        device=grads[0].device)
    flat = torch.cat([g.reshape(-1) for g in grads] + [seen])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    for p, used in zip(params, flat[-len(params):].tolist()):
        n = p.numel()
        if used > 0:
            p.grad = flat[offset:offset + n].view_as(p).clone()
        offset += n
