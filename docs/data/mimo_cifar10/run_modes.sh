#!/bin/bash
# Issue #28 item 5: ResNet-20 on CIFAR-10 (JPEG copy, 500 test images) over every MIMO
# mode, on the same seeds (run seed 0): ML, ML + batch-norm recalibration (500
# unlabelled training images) and the recommended receiver (+ 3 augmentation views).
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
run siso_1x1 "{num_tx: 1, num_rx: 1, mode: sm}" "[6, 9, 12, 15, 18, 21]"
run alamouti_2x2 "{num_tx: 2, num_rx: 2, mode: alamouti}" "[-3, 0, 3, 6, 9, 12]"
run sm_4x4_lmmse "{num_tx: 4, num_rx: 4, mode: sm, equalizer: lmmse}" "[5, 8, 11, 14, 17, 20]"
run mrc_1x2 "{num_tx: 1, num_rx: 2, mode: mrc}" "[-2, 1, 4, 7, 10, 13]"
run sm_2x2_lmmse "{num_tx: 2, num_rx: 2, mode: sm, equalizer: lmmse}" "[5, 8, 11, 14, 17, 20]"
run sm_2x2_zf "{num_tx: 2, num_rx: 2, mode: sm, equalizer: zf}" "[8, 11, 14, 17, 20, 23]"
run sm_4x4_zf "{num_tx: 4, num_rx: 4, mode: sm, equalizer: zf}" "[11, 14, 17, 20, 23, 26]"
run svd_2x2 "{num_tx: 2, num_rx: 2, mode: svd, power: equal}" "[8, 11, 14, 17, 20, 23]"
echo ALLDONE
