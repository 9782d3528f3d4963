# SPDX-License-Identifier: Apache-2.0
"""AirFedAvg under Flower's own simulation engine (``airmodel[flower]`` + Ray).

One ``flwr.simulation.run_simulation`` (Ray backend, ray 2.60.0) on the
offline digits: 3 SuperNodes, each a ResNet-8 client training one epoch on its
own 50 / 100 / 150 of the first 300 digits images; the ServerApp runs two strategies on the
same grid. Skipped when flwr or ray is absent.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

flwr = pytest.importorskip("flwr")
pytest.importorskip("ray")

from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict  # noqa: E402
from flwr.clientapp import ClientApp  # noqa: E402
from flwr.serverapp import Grid, ServerApp  # noqa: E402
from flwr.serverapp.strategy import FedAvg  # noqa: E402
from flwr.simulation import run_simulation  # noqa: E402

from airmodel.federated.flower import AirFedAvg  # noqa: E402

NODES = 3
IMAGES = 300
BOUNDS = (0, 50, 150, 300)  # unequal parts: FedAvg's weighting matters


def _model() -> torch.nn.Module:
    from airmodel.models import get_model, init_weights
    from airmodel.seed import make_generator

    model = get_model("resnet8", 10, 1)
    init_weights(model, make_generator(0))
    return model


def _client_app() -> ClientApp:
    app = ClientApp()

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        from airmodel.data import load_dataset
        from airmodel.federated.local import local_train
        from airmodel.seed import make_generator

        torch.set_num_threads(1)
        x, y, info = load_dataset("digits", None, "train")
        pid = int(context.node_config["partition-id"])
        sel = np.arange(BOUNDS[pid], BOUNDS[pid + 1])
        model = _model()
        model.load_state_dict(msg.content["arrays"].to_torch_state_dict())
        local_train(
            model, torch.from_numpy(x[sel]), torch.from_numpy(y[sel]), info,
            epochs=1, batch_size=25, lr=0.05, momentum=0.9, weight_decay=5e-4,
            generator=make_generator(pid), pad=1, flip=False,
        )  # fmt: skip
        content = RecordDict(
            {
                "arrays": ArrayRecord(model.state_dict()),
                "metrics": MetricRecord({"num-examples": len(sel)}),
            }
        )
        return Message(content=content, reply_to=msg)

    return app


class _Compared(AirFedAvg):
    """AirFedAvg that also runs Flower's FedAvg on the same replies."""

    max_diff: list[float] = []

    def aggregate_train(self, server_round, replies):
        replies = list(replies)
        air, metrics = super().aggregate_train(server_round, replies)
        ref, _ = FedAvg.aggregate_train(self, server_round, replies)
        a, r = air.to_torch_state_dict(), ref.to_torch_state_dict()
        diff = {k: float((a[k].double() - r[k].double()).abs().max()) for k in r}
        floats = [d for k, d in diff.items() if a[k].is_floating_point()]
        ints = [d for k, d in diff.items() if not a[k].is_floating_point()]
        self.max_diff.append((max(floats), max(ints)))
        return air, metrics


@pytest.fixture(scope="module")
def flower_run() -> dict:
    out: dict = {}
    server = ServerApp()

    @server.main()
    def main(grid: Grid, context: Context) -> None:
        init = ArrayRecord(_model().state_dict())
        clean = _Compared(snr_db=math.inf, fraction_evaluate=0.0)
        clean.start(grid=grid, initial_arrays=init, num_rounds=2)
        out["max_diff"] = list(clean.max_diff)
        noisy = AirFedAvg(snr_db=0.0, denoiser="ml", seed=1, fraction_evaluate=0.0)
        res = noisy.start(grid=grid, initial_arrays=init, num_rounds=1)
        out["noisy"] = dict(res.train_metrics_clientapp[1])

    run_simulation(
        server_app=server,
        client_app=_client_app(),
        num_supernodes=NODES,
        backend_config={
            "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
            "init_args": {"num_cpus": 2, "include_dashboard": False},
        },
    )
    return out


def test_infinite_snr_equals_fedavg(flower_run):
    """At Es/N0 = inf the ML server's global model equals Flower's FedAvg.

    2 rounds x 3 clients (50/100/150 images), ResNet-8: every float entry
    within 1e-5 (float32 rounding of the delta scaling and the unit-power
    round trip); ``num_batches_tracked`` is FedAvg's weighted mean rounded to
    an integer (within 0.5; FedAvg gives 4.67 steps, we 5).
    """
    diffs = flower_run["max_diff"]
    assert len(diffs) == 2
    assert max(f for f, _ in diffs) < 1e-5
    assert max(i for _, i in diffs) <= 0.5


def test_noise_matches_configured_esno(flower_run):
    """At Es/N0 = 0 dB the received sum's error variance is mean(s^2)/10^0.

    77,082 over-the-air entries (ResNet-8 without BN under ``paper``):
    sampling std of the variance estimate ~0.5 %; tolerance 5 %.
    """
    m = flower_run["noisy"]
    assert m["air_noise_var"] > 0
    assert abs(m["air_error_var"] / m["air_noise_var"] - 1.0) < 0.05
    assert m["air_skipped_fraction"] == 0.0
