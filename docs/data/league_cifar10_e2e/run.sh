#!/usr/bin/env bash
# The end-to-end league of docs/league_e2e.md: three transmitters, one results folder
# each under results/league_cifar10_e2e/, same seed (so the same noise draws at every
# shared Es/N0 point). Resumable: rerun the same command. Run from the repo root:
#   bash docs/data/league_cifar10_e2e/run.sh [DATA_ROOT]
set -euo pipefail
ROOT=${1:-../shared/datasets/cifar10-jpeg.tar.gz}
PY=${PYTHON:-python}
run() {  # run LABEL [--set ...]
  local label=$1; shift
  echo "== $label $(date -u +%T)"
  OMP_NUM_THREADS=1 $PY -m airmodel.cli run configs/league_cifar10_e2e.yaml --no-progress \
    --set data.dataset=image_folder --set data.root="$ROOT" \
    --set out_dir=results/league_cifar10_e2e/"$label" "$@"
}
# original transmitter: all five receivers
run original
# hardened transmitter (checkpoints/resnet20_cifar10jpeg_hardened.pt): no adaptation row
run hardened --set model.checkpoint=../checkpoints/resnet20_cifar10jpeg_hardened.pt \
  --set 'sweep.snr_db=[-4, -1, 2, 5, 8]' \
  --set 'receiver.denoisers=[ml, {name: mmse_pb, select: fit}, {name: ml, recalibrate: 500}, {name: ml, recalibrate: 500, views: 3}]'
# Fisher per-tensor power allocation at equal total energy
run fisher --set transmitter.allocation=fisher \
  --set 'receiver.denoisers=[ml, {name: ml, recalibrate: 500}, {name: ml, recalibrate: 500, views: 3}]'
echo "== done $(date -u +%T)"
