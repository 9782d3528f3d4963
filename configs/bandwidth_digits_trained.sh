#!/bin/bash
# Item 3 of docs/bandwidth.md on digits (ResNet-8 from the quickstart network,
# runs/models/quickstart/final.pt = `airmodel run configs/quickstart.yaml` or
# `airmodel train --model resnet8 --dataset digits --epochs 15 --batch-size 64 --lr 0.05 --seed 0 --out runs/models/quickstart`).
# 1. the transmitters: 8 epochs of fine-tuning each, lr 0.01, seed 0
set -euo pipefail
T="airmodel train --model resnet8 --dataset digits --batch-size 64 --seed 0 --threads 1 --no-progress --init-from runs/models/quickstart/final.pt --epochs 8 --lr 0.01"
if [ "${1:-}" != "--eval-only" ]; then
  $T --prune 0.4999 --out runs/models/qs_prune50                          # pruned to cu 0.25, fine-tuned
  $T --prune 0.2499 --out runs/models/qs_prune25                          # pruned to cu 0.125, fine-tuned
  $T --prune 0.4999 --weight-noise=-3:7 --out runs/models/qs_prune50_noise  # + multi-SNR hardening (link Es/N0 0-10 dB)
  $T --weight-noise 0:10 --out runs/models/qs_noise                       # multi-SNR hardening, unpruned
  $T --out runs/models/qs_ft                                              # control: the same fine-tuning, nothing else
fi
# 2. the links (configs/bandwidth_digits_trained.yaml), one run per checkpoint
R="airmodel run configs/bandwidth_digits_trained.yaml --no-progress"
run() { $R --set model.checkpoint=runs/models/$1/final.pt --set out_dir=results/bandwidth_digits_trained/$1 --set "transmitter.compare=$2"; }
A25='{label: a0.25-arch, scheme: analog, channel_uses_per_weight: 0.25, budget: {mask: architecture}}'
A5='{label: a0.5, scheme: analog}'
run qs_prune50 "[$A25, {label: a0.25-side, scheme: analog, channel_uses_per_weight: 0.25}, $A5]"
run qs_prune25 "[{label: a0.125-arch, scheme: analog, channel_uses_per_weight: 0.125, budget: {mask: architecture}}]"
run qs_prune50_noise "[$A25, $A5]"
run qs_noise "[$A5, {label: a1, scheme: analog, channel_uses_per_weight: 1.0}]"
run qs_ft "[$A25, $A5]"
