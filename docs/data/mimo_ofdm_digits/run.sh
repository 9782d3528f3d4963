#!/bin/bash
# Issue #28 item 1 on the digits network: 2 x 2 spatial multiplexing over MIMO-OFDM
# (CDL-C, 100 ns, lambda/2 arrays, LMMSE equalizer) with perfect CSI, LS and the
# spatial-LMMSE refinement, on the same seeds (run seed 0). Run from a checkout;
# ROOT = where the folders go.
cd "${REPO:-$(dirname "$0")/../../..}"
export PYTHONPATH=$PWD OMP_NUM_THREADS=1
A=${AIRMODEL:-airmodel}
ROOT=${ROOT:-results/mimo_ofdm_digits}
run() {  # name csi
  nice -n 10 $A run configs/mimo_digits.yaml --no-progress --set channel.name=mimo_cdl \
    --set "channel.options={num_tx: 2, num_rx: 2, equalizer: lmmse, csi: $2, model: C, delay_spread: 1.0e-7}" \
    --set "sweep.snr_db=[0, 3, 6, 9, 12, 15, 18, 21]" --set sweep.draws=5 --set out_dir=$ROOT/$1
}
run cdl_2x2_perfect perfect
run cdl_2x2_lmmse lmmse
run cdl_2x2_ls ls
echo ALLDONE
