"""Execution backends: local order, Ray results, shared object once, worker death."""

from __future__ import annotations

import json
import os
import sys

import pytest

from airmodel.config import ConfigError, ExecutionConfig, load_config
from airmodel.execution import LocalBackend, check_execution, get_backend
from airmodel.experiment import run_experiment
from tests.unit.test_federated import TINY as TINY_FEDERATED

ray = pytest.importorskip(
    "ray", reason="the ray extra is not installed (pip install 'airmodel[ray]')"
)

from airmodel.execution.ray import RayBackend, _loopback_node  # noqa: E402

# Worker processes cannot import this test module: pickle its functions by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def cluster():
    """A private 2-CPU Ray cluster for this module (no dashboard, 80 MB store),
    started on the loopback address as RayBackend(address="local") starts one."""
    with _loopback_node(True):
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
        ray_backend.RayBackend()
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"execution.backend.*airmodel\[ray\]"):
        get_backend(ExecutionConfig(backend="ray"))


def test_cli_without_ray_exits_2_with_one_line(monkeypatch, tmp_path, capsys):
    from airmodel.cli import main

    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("name: x\nexecution: {backend: ray}\n")
    assert main(["run", str(cfg), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'airmodel[ray]'" in err[0], err


def test_bad_address_is_one_clear_line():
    with pytest.raises(ConfigError, match="execution.address.*ray://"):
        check_execution(ExecutionConfig(backend="ray", address="myhost:6379"))


# ---------------------------------------------------------------- whole runs

SWEEP = [
    "seed=3",
    "model.name=resnet8",
    "data.dataset=digits",
    "data.test_samples=120",
    "receiver.kappa=20",
    "receiver.lam_grid=[0.99,1.0]",
    "receiver.beta_grid=[-1.0,0.0]",
    "receiver.denoisers=[ml, mmse, {name: mmse_pb, select: validation},"
    " {name: ml, recalibrate: 40}]",
    "sweep.snr_db=[0, 20]",
    "sweep.draws=2",
    "evaluation.device=cpu",
    "evaluation.threads=1",
]


def _rows(out) -> list[dict]:
    rows = json.loads((out / "results.json").read_text())["rows"]
    rows = [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    return sorted(rows, key=lambda r: (r["esno_db"], r["draw"], r["denoiser"]))


@pytest.fixture(scope="module")
def model_args(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return [f"model.train={{epochs: 1, batch_size: 128, lr: 0.05, out: {root}}}"]


def test_ray_sweep_rows_equal_local_rows(cluster, tmp_path, model_args):
    """Digits ResNet-8, 2 Es/N0 x 2 draws x 4 receivers: every column of all 16
    rows (accuracy, weight MSE, selected cell, ...) equal bit for bit to the
    local backend's; only ``seconds`` differs. Both score with one torch thread
    (a Ray task's thread count is cpus_per_trial = 1, locally evaluation.threads)."""
    base = [*SWEEP, *model_args]
    local = run_experiment(load_config(None, [*base, f"out_dir={tmp_path / 'l'}"]))
    remote = run_experiment(
        load_config(
            None,
            [*base, f"out_dir={tmp_path / 'r'}", "execution.backend=ray"],
        )
    )
    a, b = _rows(local), _rows(remote)
    assert len(a) == 16
    assert a == b
    assert ray.is_initialized()  # the run used the test's cluster and left it up


def test_ray_federated_rows_equal_local_rows(cluster, tmp_path):
    """Tiny FEEL run (4 digits devices, 2 rounds, 2 receivers x 2 runs): one Ray
    task per (Es/N0, receiver, run); the 8 rows equal the local run's bit for bit."""
    tiny = [*TINY_FEDERATED, "federated.runs=2", "evaluation.threads=1"]
    sort = lambda rows: sorted(  # noqa: E731
        rows, key=lambda r: (r["snr_db"], r["denoiser"], r["run"], r["round"])
    )
    local = run_experiment(load_config(None, [*tiny, f"out_dir={tmp_path / 'l'}"]))
    remote = run_experiment(
        load_config(None, [*tiny, f"out_dir={tmp_path / 'r'}", "execution.backend=ray"])
    )
    a, b = sort(_rows_fed(local)), sort(_rows_fed(remote))
    assert len(a) == 8 and a == b


def _rows_fed(out) -> list[dict]:
    rows = json.loads((out / "results.json").read_text())["rows"]
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def _listening(pids: set[int]) -> list[tuple[str, str, int]]:
    """(process, address, port) of every TCP socket ``pids`` listen on."""
    psutil = pytest.importorskip("psutil")
    out = []
    for c in psutil.net_connections(kind="inet"):
        if c.status == psutil.CONN_LISTEN and c.pid in pids:
            out.append((psutil.Process(c.pid).name(), c.laddr.ip, c.laddr.port))
    return sorted(out)


def _cluster_pids() -> set[int]:
    psutil = pytest.importorskip("psutil")
    me = psutil.Process()
    return {me.pid, *(p.pid for p in me.children(recursive=True))}


LOOPBACK = ("127.0.0.1", "::ffff:127.0.0.1", "::1")


def test_local_cluster_listens_on_loopback_only(cluster):
    """Issue #26 item 6: no port of the project's local cluster on another interface
    (Ray 2.60: GCS, raylet x2, workers, runtime-env agent; 5-6 sockets)."""
    assert ray.get(ray.remote(lambda: 1).remote()) == 1  # a worker is up
    socks = _listening(_cluster_pids())
    assert len(socks) >= 4, socks
    assert all(ip in LOOPBACK for _, ip, _ in socks), socks
    assert ray.util.get_node_ip_address() == "127.0.0.1"
