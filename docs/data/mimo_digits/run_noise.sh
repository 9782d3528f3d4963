#!/bin/bash
# Issue #28: does each stream's own noise variance help the denoiser? 4x4 ZF (widest
# spread of no_eff) and 2x2 LMMSE; MMSE with per-weight no_w vs only its average.
cd /work/wt/mimo
export PYTHONPATH=$PWD OMP_NUM_THREADS=1
A=/work/main/.venv/bin/airmodel
DEN="[ml, mmse, {name: mmse, noise: average}, {name: mmse, recalibrate: 500}, {name: mmse, noise: average, recalibrate: 500}]"
run() {  # name options
  nice -n 10 $A run configs/mimo_digits.yaml --set "channel.options=$2" \
    --set "receiver.denoisers=$DEN" --set "sweep.snr_db=[4,8,12,16,20,24]" \
    --set sweep.draws=5 --set out_dir=results/mimo_digits/$1
}
run sm_4x4_zf_noise "{num_tx: 4, num_rx: 4, mode: sm, equalizer: zf}"
run sm_2x2_lmmse_noise "{num_tx: 2, num_rx: 2, mode: sm, equalizer: lmmse}"
echo ALLDONE
