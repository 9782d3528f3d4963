"""Execution backends: local order, Ray results, shared object once, worker death."""

from __future__ import annotations

import os
import sys

import pytest

from airmodel.config import ConfigError, ExecutionConfig
from airmodel.execution import LocalBackend, check_execution, get_backend

ray = pytest.importorskip(
    "ray", reason="the ray extra is not installed (pip install 'airmodel[ray]')"
)

from airmodel.execution.ray import RayBackend  # noqa: E402

# Worker processes cannot import this test module: pickle its functions by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def cluster():
    """A private 2-CPU Ray cluster for this module (no dashboard, 80 MB store)."""
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=80 * 1024**2,
        log_to_driver=False,
    )
    yield
    ray.shutdown()


_LOADS = "AIRMODEL_TEST_SHARED_LOADS"


class Shared:
    """A payload that counts (in its process's environment) how often it was loaded."""

    def __init__(self, offset: int) -> None:
        self.offset = offset

    def __setstate__(self, state: dict) -> None:
        os.environ[_LOADS] = str(int(os.environ.get(_LOADS, "0")) + 1)
        self.__dict__.update(state)


def add(shared: Shared, trial: int) -> tuple[int, int, int]:
    return shared.offset + trial, os.getpid(), int(os.environ[_LOADS])


def die_once(marker: str, trial: int) -> int:
    """Kill the worker process on the first attempt of trial 2 (marker file)."""
    if trial == 2 and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return trial * trial


def test_local_backend_runs_in_order():
    out = list(LocalBackend().map(lambda s, t: s + t, [3, 1, 2], 10))
    assert out == [(3, 13), (1, 11), (2, 12)]


def test_ray_results_and_shared_object_fetched_once_per_worker(cluster):
    """12 tasks on 2 CPUs: every result right; each worker deserialized once."""
    backend = RayBackend(cpus_per_trial=1)
    out = dict(backend.map(add, range(12), Shared(100)))
    assert {t: r[0] for t, r in out.items()} == {t: 100 + t for t in range(12)}
    loads_by_pid: dict[int, set[int]] = {}
    for _, pid, loads in out.values():
        loads_by_pid.setdefault(pid, set()).add(loads)
    assert all(v == {1} for v in loads_by_pid.values()), loads_by_pid
    backend.close()
    assert ray.is_initialized()  # it did not start the cluster: it leaves it up


def test_killed_worker_is_retried(cluster, tmp_path):
    """The worker of trial 2 exits hard once; Ray reruns it and every trial completes."""
    marker = tmp_path / "died"
    out = dict(RayBackend(max_retries=2).map(die_once, range(4), str(marker)))
    assert marker.exists()
    assert out == {0: 0, 1: 1, 2: 4, 3: 9}


def test_killed_worker_without_retries_fails(cluster, tmp_path):
    with pytest.raises(ray.exceptions.WorkerCrashedError):
        dict(RayBackend(max_retries=0).map(die_once, [2], str(tmp_path / "m")))


def test_missing_ray_names_the_extra(monkeypatch):
    import airmodel.execution.ray as ray_backend

    monkeypatch.setattr(ray_backend, "ray", None)
    with pytest.raises(ConfigError, match=r"airmodel\[ray\]"):
        get_backend(ExecutionConfig(backend="ray"))


def test_bad_address_is_one_clear_line():
    with pytest.raises(ConfigError, match="execution.address.*ray://"):
        check_execution(ExecutionConfig(backend="ray", address="myhost:6379"))
