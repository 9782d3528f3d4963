#!/usr/bin/env bash
# The end-to-end league of docs/league_e2e.md: four transmitters, one results folder
# each under results/league_cifar10_e2e/, same seed (so the same noise draws at every
# shared Es/N0 point). Resumable: rerun the same command (rows already in a folder are
# skipped). Run from the repo root:
#   bash docs/data/league_cifar10_e2e/run.sh [DATA_ROOT]
set -euo pipefail
ROOT=${1:-../shared/datasets/cifar10-jpeg.tar.gz}
PY=${PYTHON:-python}
run() {  # run LABEL CONFIG [--set ...]
  local label=$1 config=$2; shift 2
  echo "== $label $(date -u +%T)"
  OMP_NUM_THREADS=1 $PY -m airmodel.cli run "$config" --no-progress \
    --set data.dataset=image_folder --set data.root="$ROOT" \
    --set out_dir=results/league_cifar10_e2e/"$label" "$@"
}
ORIG=configs/league_cifar10_e2e.yaml
HARD=configs/league_cifar10_hardened.yaml
THREE='receiver.denoisers=[ml, {name: ml, recalibrate: 500}, {name: ml, recalibrate: 500, views: 3}]'
# original transmitter: all five receivers (30 dB: the no-noise check)
run original "$ORIG" --set 'sweep.snr_db=[-1, 2, 5, 8, 11, 30]'
# noise-hardened transmitter (checkpoints/resnet20_cifar10jpeg_hardened.pt)
run hardened "$HARD" --set 'sweep.snr_db=[-4, -1, 2, 5, 8, 30]'
# Fisher per-tensor power allocation at equal total energy, original model
run fisher "$ORIG" --set transmitter.allocation=fisher --set "$THREE" \
  --set 'sweep.snr_db=[-1, 2, 5, 8, 11, 30]'
# both: the hardened model sent with Fisher allocation
run hardened_fisher "$HARD" --set transmitter.allocation=fisher --set "$THREE" \
  --set 'sweep.snr_db=[-4, -1, 2, 5, 8, 30]'
# adaptation followed by recalibration again, original model (same seed: same draws)
run original_adapt_recal "$ORIG" \
  --set 'receiver.denoisers=[{name: ml, recalibrate: 500, adapt: {steps: 10, objective: im, recalibrate: true}}]' \
  --set 'sweep.snr_db=[30, -1, 2, 5, 8, 11]'
# the remaining cells of the full cross: hardened + adaptation, fisher + MMSE_pb fit / adaptation
ADAPT='{name: ml, recalibrate: 500, adapt: {steps: 10, objective: im, recalibrate: true}}'
run hardened_adapt_recal "$HARD" --set "receiver.denoisers=[$ADAPT]" \
  --set 'sweep.snr_db=[30, -4, -1, 2, 5, 8]'
run fisher_fit_adapt "$ORIG" --set transmitter.allocation=fisher \
  --set "receiver.denoisers=[{name: mmse_pb, select: fit}, $ADAPT]" \
  --set 'sweep.snr_db=[30, -1, 2, 5, 8, 11]'
echo "== done $(date -u +%T)"
