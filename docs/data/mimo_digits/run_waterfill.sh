#!/bin/bash
# Issue #28 item 3: 2x2 SVD with water-filling on the digits network, the grid and
# draws of run_modes.sh (same seeds), rows carrying each transmission's measured
# channel uses per weight. Run from a checkout; ROOT = where the folder goes.
cd "${REPO:-$(dirname "$0")/../../..}"
export PYTHONPATH=$PWD OMP_NUM_THREADS=1
A=${AIRMODEL:-airmodel}
ROOT=${ROOT:-results/mimo_digits}
SNR="[-4,-2,0,2,4,6,8,10,12,14,16,18,20,24,28,32]"
nice -n 10 $A run configs/mimo_digits.yaml --no-progress \
  --set "channel.options={num_tx: 2, num_rx: 2, mode: svd, power: waterfill}" \
  --set "sweep.snr_db=$SNR" --set sweep.draws=10 --set out_dir=$ROOT/svd_2x2_waterfill
echo ALLDONE
