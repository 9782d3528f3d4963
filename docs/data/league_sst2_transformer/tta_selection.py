"""How the league's adaptation setting was chosen (no dev or test sentence is read).

Five settings of test-time adaptation of the LayerNorm affine parameters after ML, scored
on 2,000 held-out SST-2 *training* phrases, Es/N0 -5 dB, 2 noise draws (seeds 100, 101);
the pool is 500 other training phrases (their labels unused). From the repository root,
with ../shared present:
  PYTHONPATH=. OMP_NUM_THREADS=1 python docs/data/league_sst2_transformer/tta_selection.py
Output (git 31a178a, 2026-11-30, 1 thread on the shared 2-core CPU): tta_selection.txt
"""

import time

import numpy as np
import torch

from airmodel.data import load_dataset
from airmodel.evaluation.scoring import Scorer
from airmodel.link import Link
from airmodel.receiver.adaptation import Adaptation, adapt_state
from airmodel.receiver.denoiser import ML
from airmodel.training import load_checkpoint

torch.set_num_threads(1)
ROOT = "../shared/datasets/sst2.tar.gz"
m, _ = load_checkpoint("checkpoints/transformer_sst2.pt", device="cpu")
m.eval()
x, y, info = load_dataset("sst2", ROOT, "train", options={"max_len": 64})
perm = np.random.default_rng(123).permutation(len(y))
val = Scorer(x[perm[:2000]], y[perm[:2000]], info, device="cpu", batch_size=32)
pool = torch.as_tensor(x[perm[2000:2500]])
clean = {k: v.clone() for k, v in m.state_dict().items()}
link = Link("awgn", policy="paper")
print("clean val", val.accuracy_of(clean, m))
variants = [
    ("im", "norm", 10, 1e-2),
    ("im", "norm", 10, 1e-3),
    ("entropy", "norm", 10, 1e-3),
    ("im", "norm", 30, 3e-3),
    ("im", "norm+head", 10, 1e-3),
]
for d in range(2):
    tx = link.transmit(clean, -5.0, seed=100 + d)
    sd, _ = link.rebuild(tx, ML())
    res = [f"ml {val.accuracy_of(sd, m):.4f}"]
    for obj, par, steps, lr in variants:
        t = time.perf_counter()
        cfg = Adaptation(steps=steps, lr=lr, objective=obj, params=par, images=500)
        a = adapt_state(sd, m, pool, cfg)
        dt = time.perf_counter() - t
        res.append(
            f"{obj}/{par}/{steps}/{lr:g} {val.accuracy_of(a, m):.4f} ({dt:.1f}s)"
        )
    print(-5.0, d, " | ".join(res), flush=True)
