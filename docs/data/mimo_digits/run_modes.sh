#!/bin/bash
# Issue #28 results: every mode on the same seeds (run seed 0), ML and ml+bn500.
cd /work/wt/mimo
export PYTHONPATH=$PWD OMP_NUM_THREADS=1
A=/work/main/.venv/bin/airmodel
SNR="[-4,-2,0,2,4,6,8,10,12,14,16,18,20,24,28,32]"
run() {  # name options
  nice -n 10 $A run configs/mimo_digits.yaml --set "channel.options=$2" \
    --set "sweep.snr_db=$SNR" --set sweep.draws=10 --set out_dir=results/mimo_digits/$1
}
run siso_1x1 "{num_tx: 1, num_rx: 1, mode: sm}"
run mrc_1x2 "{num_tx: 1, num_rx: 2, mode: mrc}"
run alamouti_2x2 "{num_tx: 2, num_rx: 2, mode: alamouti}"
run sm_2x2_lmmse "{num_tx: 2, num_rx: 2, mode: sm, equalizer: lmmse}"
run sm_2x2_zf "{num_tx: 2, num_rx: 2, mode: sm, equalizer: zf}"
run sm_4x4_lmmse "{num_tx: 4, num_rx: 4, mode: sm, equalizer: lmmse}"
run sm_4x4_zf "{num_tx: 4, num_rx: 4, mode: sm, equalizer: zf}"
run svd_2x2 "{num_tx: 2, num_rx: 2, mode: svd, power: equal}"
echo ALLDONE
