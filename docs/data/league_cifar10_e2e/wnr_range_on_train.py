"""How the hardening WNR range was chosen: ML accuracy of the 88.38 % ResNet-20 on
1,000 *training* images (seeded, un-augmented; the test split is never read) over
the analog AWGN link, 2 draws per point. Run from the repo root:
  PYTHONPATH=. python docs/data/league_cifar10_e2e/wnr_range_on_train.py
"""

import torch

from airmodel.data import load_dataset
from airmodel.evaluation.scoring import Scorer, sample_indices
from airmodel.link import Link
from airmodel.training import load_checkpoint

torch.set_num_threads(1)
ROOT = "../shared/datasets/cifar10-jpeg.tar.gz"
model, _ = load_checkpoint("checkpoints/resnet20_cifar10jpeg_e60.pt")
x, y, info = load_dataset("image_folder", ROOT, "train")
idx = sample_indices(len(y), 1000, seed=12345).numpy()
scorer = Scorer(x[idx], y[idx], info, device="cpu")
link = Link("awgn", policy="paper")
sd = model.state_dict()
print("clean", scorer.accuracy(model))
for wnr in (-2, 0, 2, 4, 6, 8, 10, 12, 14):
    accs = []
    for draw in range(2):
        w_hat, _ = link.rebuild(link.transmit(sd, wnr, seed=1000 * draw + wnr + 50))
        model.load_state_dict(w_hat)
        accs.append(scorer.accuracy(model))
    model.load_state_dict(sd)
    print(f"wnr {wnr:+d} dB  ML accuracy {sum(accs) / len(accs):.3f}  {accs}")
