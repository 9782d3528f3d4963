#!/usr/bin/env bash
# The fading league of the results page (issue #25 item 4): CIFAR-10 ResNet-20 (88.38 %)
# over Rayleigh block fading and TDL-C OFDM with LS channel estimation; receivers ML,
# ML + batch-norm recalibration and the recommended receiver, same seed (so the same
# noise draws for every receiver of a channel). 3 draws first, then one draw per pass over the
# grid (`sweep.draws` raised by one each time; rows already in a folder are skipped,
# keyed seeds keep them valid), so a run stopped early still has every point with
# the same draws. Run from the repo root:
#   bash docs/data/fading_cifar10/run.sh [DATA_ROOT] [MAX_DRAWS] [rayleigh|tdl_ls]
set -euo pipefail
ROOT=${1:-../shared/datasets/cifar10-jpeg.tar.gz}
MAX=${2:-8}
ONLY=${3:-}
PY=${PYTHON:-python}
CFG=configs/league_cifar10_fading.yaml
run() {  # run LABEL DRAWS [--set ...]
  local label=$1 draws=$2; shift 2
  echo "== $label draws=$draws $(date -u +%T)"
  OMP_NUM_THREADS=1 $PY -m airmodel.cli run "$CFG" --no-progress \
    --set data.dataset=image_folder --set data.root="$ROOT" \
    --set sweep.draws="$draws" --set out_dir=results/fading_cifar10/"$label" "$@"
}
for d in $(seq 3 "$MAX"); do
  if [ -z "$ONLY" ] || [ "$ONLY" = rayleigh ]; then
    run rayleigh "$d" --set 'sweep.snr_db=[5, 8, 11, 14, 17, 20, 23]'
  fi
  if [ -z "$ONLY" ] || [ "$ONLY" = tdl_ls ]; then
    run tdl_ls "$d" --set channel.name=tdl \
      --set 'channel.options={model: C, delay_spread: 3.0e-7, csi: ls, interleave: true}' \
      --set 'sweep.snr_db=[8, 11, 14, 17, 20, 23]'
  fi
done
echo "== done $(date -u +%T)"
