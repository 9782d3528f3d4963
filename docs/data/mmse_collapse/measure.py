"""Why Gaussian MMSE collapses to chance on the quickstart (docs/concepts.md).

Run from the repository root: ``PYTHONPATH=. python docs/data/mmse_collapse/measure.py``
(trains and caches the quickstart ResNet-8 in runs/models/quickstart if absent).
For each Es/N0 of the quickstart sweep, one noise draw (seed 0): the shrinkage factor
s = var_w / (var_w + no_w) of the Gaussian MMSE estimate, and the test accuracy of
ML, of MMSE, and of the *noise-free* weights shrunk by the same s (all weights, and
all but the final linear layer; all, then batch-norm statistics re-estimated on 500
unlabelled training images), and MMSE followed by that recalibration. Writes measure.json beside this file.
"""

import copy
import json
from pathlib import Path

import torch

from airmodel.builder import build_data, build_link, build_model
from airmodel.config import load_config
from airmodel.receiver.bn_recalibration import recalibrate_bn_state
from airmodel.receiver.denoiser import ML, MMSE
from airmodel.resources import find_config
from airmodel.transmitter.payload import flatten, unflatten

torch.set_num_threads(1)
cfg = load_config(find_config("quickstart"))
model, _ = build_model(cfg, "cpu")
data = build_data(cfg, "cpu")
link = build_link(cfg)
sd = {k: v.clone() for k, v in model.state_dict().items()}  # the sent weights
scratch = copy.deepcopy(model)  # recalibrate_bn_state loads into its model
vec, spec = flatten(sd, cfg.transmitter.policy)
w = vec[: spec.num_air].double()
mean, var = float(w.mean()), float(w.var())
air = sorted((t.offset, t.numel, t.name) for t in spec.tensors if t.on_air)
head = [(o, n, name) for o, n, name in air if name.startswith(("fc.", "linear."))]
score = data.test.accuracy_of
pool = getattr(data.validation, "unlabelled", None)
if pool is None and data.subsets is not None:
    pool = data.subsets(0).unlabelled
pool = pool[:500]  # unlabelled training images, as the quickstart's ml+bn500


def shrunk(s: float, keep_head: bool) -> dict:
    ws = mean + s * (w - mean)
    if keep_head:
        for o, n, _ in head:
            ws[o : o + n] = w[o : o + n]
    return unflatten(vec, spec, air=ws.float())


out = {
    "weights_on_air": spec.num_air,
    "mean_w": mean,
    "var_w": var,
    "head_tensors": [name for _, _, name in head],
    "test_images": len(data.test),
    "recalibration_images": len(pool),
    "clean_accuracy": score(sd, model),
    "points": [],
}
for snr in cfg.sweep.snr_db:
    tx = link.transmit(sd, snr, seed=0)
    no_w = float(tx.reception.no_w.double().mean())
    s = var / (var + no_w)
    out["points"].append({
        "esno_db": snr, "no_w": no_w, "shrinkage": s,
        "ml": score(link.rebuild(tx, ML())[0], model),
        "mmse": score(link.rebuild(tx, MMSE())[0], model),
        "shrunk_noise_free": score(shrunk(s, False), model),
        "shrunk_noise_free_head_exact": score(shrunk(s, True), model),
        "shrunk_noise_free_bn_recalibrated": score(
            recalibrate_bn_state(shrunk(s, False), scratch, pool), model
        ),
        "mmse_bn_recalibrated": score(
            recalibrate_bn_state(link.rebuild(tx, MMSE())[0], scratch, pool), model
        ),
    })  # fmt: skip
    print(out["points"][-1], flush=True)
Path(__file__).with_name("measure.json").write_text(json.dumps(out, indent=1))
print({k: v for k, v in out.items() if k != "points"})
