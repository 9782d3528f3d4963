#!/bin/bash
# Issue #28 items 3 and 5: 2x2 SVD with water-filling, as run_modes.sh (same seeds,
# receivers and draws); its rows carry each transmission's measured channel uses per
# weight (the Link records them; needs the commit that added that).
# Run from a clean checkout; ROOT = where the results folders go.
cd "${REPO:-$(dirname "$0")/../../..}"
export PYTHONPATH=$PWD OMP_NUM_THREADS=1
A=${AIRMODEL:-airmodel}
ROOT=${ROOT:-results/mimo_cifar10}
run() {  # name options snr-grid
  nice -n 10 $A run configs/league_cifar10_fading.yaml --no-progress \
    --set data.dataset=image_folder --set data.root=/work/shared/datasets/cifar10-jpeg.tar.gz \
    --set data.test_samples=500 --set channel.name=mimo --set "channel.options=$2" \
    --set "receiver.denoisers=[ml, {name: ml, recalibrate: 500}, {name: ml, recalibrate: 500, views: 3}]" \
    --set "sweep.snr_db=$3" --set sweep.draws=6 --set out_dir=$ROOT/$1
}
run svd_2x2_waterfill "{num_tx: 2, num_rx: 2, mode: svd, power: waterfill}" "[8, 11, 14, 17, 20, 23]"
echo ALLDONE
