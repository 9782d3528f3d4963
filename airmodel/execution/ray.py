# SPDX-License-Identifier: Apache-2.0
"""Ray backend: one task per trial; what trials share goes to the object store once.

Needs the ``ray`` extra (``pip install 'airmodel[ray]'``). The driver submits
at most ``max_in_flight`` tasks at a time and yields results as they finish;
it writes the results folder itself, so a driver killed with ``kill -9``
loses only the trials in flight and a rerun resumes. A task whose worker
process dies is retried by Ray (``max_retries``); an exception raised by the
trial itself is not retried (it would fail again) and reaches the driver.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import torch

from airmodel.errors import ConfigError
from airmodel.execution.base import RAY_MISSING, Backend, Place

try:
    import ray
except ImportError:  # optional extra
    ray = None

__all__ = ["RayBackend", "ray_available"]

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")

#: Per worker process: the deserialized (and placed) shared object of the
#: current run, keyed by its object id, so each worker fetches it once.
_SHARED: dict[str, Any] = {}


def ray_available() -> bool:
    """Whether ``import ray`` works here."""
    return ray is not None


def _run_task(
    fn: Callable[[Any, Any], Any],
    boxed: list[Any],
    trial: Any,
    place: Place | None,
    threads: int,
    use_gpu: bool,
) -> Any:
    """Worker side of one task (``boxed = [ref]`` keeps Ray from resolving it)."""
    torch.set_num_threads(threads)
    key = boxed[0].hex()
    if key not in _SHARED:
        _SHARED.clear()  # a new run's shared object replaces the last one
        shared = ray.get(boxed[0])
        if use_gpu:
            # Ray sets CUDA_VISIBLE_DEVICES to the GPU(s) it assigned this task.
            if not ray.get_gpu_ids() or not torch.cuda.is_available():
                raise RuntimeError(
                    "execution.gpus_per_trial > 0 but this Ray worker sees no CUDA "
                    "device; check the node's GPUs and torch's CUDA build."
                )
            if place is not None:
                shared = place(shared, torch.device("cuda", 0))
        _SHARED[key] = shared
    return fn(_SHARED[key], trial)


@contextlib.contextmanager
def _loopback_node(local: bool) -> Iterator[None]:
    """A private local cluster (``address: local``) binds to 127.0.0.1 only.

    Ray >= 2.50 binds its servers (GCS, raylet, object manager, workers, agents)
    to the node's IP, which it resolves to the machine's network address even
    when given 127.0.0.1 (``resolve_ip_for_localhost``); with
    ``ENABLE_RAY_CLUSTER`` off (Ray's own setting on macOS/Windows) the node IP
    is the loopback address. Checked by ``tests/unit/test_execution.py``
    (``test_local_cluster_listens_on_loopback_only``), which lists the sockets.
    """
    consts = getattr(getattr(ray, "_private", None), "ray_constants", None)
    if not local or consts is None or not hasattr(consts, "ENABLE_RAY_CLUSTER"):
        yield
        return
    old = consts.ENABLE_RAY_CLUSTER
    consts.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        consts.ENABLE_RAY_CLUSTER = old


class RayBackend(Backend):
    """Trials as Ray tasks (see the module docstring).

    :param address: ``local`` (start a private cluster on this machine),
        ``auto`` (join the running one) or ``ray://host:port``. If Ray is
        already initialized in this process, that cluster is used as it is.
    :param cpus_per_trial: CPUs each task reserves; also its torch thread count.
    :param gpus_per_trial: GPUs each task reserves (> 0: ``place`` moves the
        shared object to the task's GPU).
    :param max_retries: retries of a task whose worker died.
    :param max_in_flight: tasks submitted at once; default twice the trials
        the cluster can run at the same time.
    """

    def __init__(
        self,
        address: str = "local",
        cpus_per_trial: int = 1,
        gpus_per_trial: float = 0.0,
        max_retries: int = 3,
        max_in_flight: int | None = None,
    ) -> None:
        if ray is None:
            raise ConfigError(RAY_MISSING)
        self.cpus_per_trial = int(cpus_per_trial)
        self.gpus_per_trial = float(gpus_per_trial)
        self.max_retries = int(max_retries)
        self._started = False
        if not ray.is_initialized():
            quiet = {"include_dashboard": False, "log_to_driver": False}
            with _loopback_node(address == "local"):
                ray.init(
                    address=address, **({} if address.startswith("ray://") else quiet)
                )
            self._started = True
        if max_in_flight is None:
            res = ray.cluster_resources()
            slots = res.get("CPU", 1) // max(self.cpus_per_trial, 1)
            if self.gpus_per_trial:
                slots = min(slots, res.get("GPU", 0) // self.gpus_per_trial)
            max_in_flight = 2 * max(int(slots), 1)
        self.max_in_flight = max_in_flight
        self._task = ray.remote(
            num_cpus=self.cpus_per_trial,
            num_gpus=self.gpus_per_trial,
            max_retries=self.max_retries,
            retry_exceptions=False,
            max_calls=0,  # keep GPU workers (and their cached shared object) alive
        )(_run_task)

    def map(
        self,
        fn: Callable[[S, T], R],
        trials: Iterable[T],
        shared: S,
        place: Place | None = None,
    ) -> Iterator[tuple[T, R]]:
        """Yield ``(trial, result)`` as tasks finish (see :meth:`Backend.map`)."""
        ref = ray.put(shared)  # once per run, not once per task
        use_gpu = self.gpus_per_trial > 0
        pending: dict[Any, T] = {}
        todo = iter(trials)
        more = True
        try:
            while True:
                while more and len(pending) < self.max_in_flight:
                    trial = next(todo, _END)
                    if trial is _END:
                        more = False
                        break
                    out = self._task.remote(
                        fn, [ref], trial, place, self.cpus_per_trial, use_gpu
                    )
                    pending[out] = trial
                if not pending:
                    return
                done, _ = ray.wait(list(pending), num_returns=1)
                for out in done:
                    trial = pending.pop(out)
                    try:
                        result = ray.get(out)
                    except ray.exceptions.RayTaskError as err:
                        raise (err.cause or err) from None
                    yield trial, result
        finally:
            for out in pending:  # the driver stopped early: drop the rest
                ray.cancel(out)

    def close(self) -> None:
        """Shut down the cluster if this backend started it."""
        if self._started and ray.is_initialized():
            ray.shutdown()
        self._started = False


_END = object()
