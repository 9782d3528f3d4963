#!/usr/bin/env bash
# GPU checks for a lent device machine (issue #15): on CUDA, (1) the whole test suite
# (every `device`-parametrized test gets its cuda case), (2) the quickstart, (3) a
# ResNet-18 sweep, (4) the scoring benchmark. Logs and JSON go under $OUT (default:
# benchmarks/results/gpu); summary.json says what passed and how long each step took.
#
# The ResNet-18 has random weights (seed 0, `init_weights`): nothing is trained here,
# so its accuracy is chance (~10 %) and the sweep checks the device path and the
# link/scoring speed of an 11.2 M-parameter model on CUDA, not a science result.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-benchmarks/results/gpu}"
mkdir -p "$OUT"
PY="${PY:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
declare -A RC SECS
step() {  # step NAME CMD...: run, log to $OUT/NAME.txt, record rc and seconds
  local name=$1; shift
  local t0=$SECONDS
  "$@" > "$OUT/$name.txt" 2>&1
  RC[$name]=$?
  SECS[$name]=$((SECONDS - t0))
  echo "$name: rc=${RC[$name]} (${SECS[$name]} s)"
}
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || true
"$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA'; print(torch.__version__, torch.cuda.get_device_name(0))" \
  > "$OUT/torch.txt" 2>&1 || { cat "$OUT/torch.txt"; exit 1; }

step pytest "$PY" -m pytest tests -q -rA -p no:cacheprovider --junitxml="$OUT/pytest.xml"
step quickstart "$PY" -m airmodel.cli run quickstart --no-progress \
  --set evaluation.device=cuda --set out_dir="$OUT/quickstart" \
  --set model.train.out="$OUT/models/quickstart"
"$PY" - "$OUT/resnet18_random.pt" <<'PY'
import sys, torch
from airmodel.models import get_model
torch.manual_seed(0)
torch.save(get_model("resnet18", num_classes=10, in_channels=1).state_dict(), sys.argv[1])
PY
step resnet18_sweep "$PY" -m airmodel.cli run quickstart --no-progress \
  --set name=gpu_resnet18 --set out_dir="$OUT/resnet18" \
  --set model.name=resnet18 --set model.checkpoint="$OUT/resnet18_random.pt" \
  --set model.train=null --set evaluation.device=cuda --set evaluation.batch_size=1000 \
  --set "receiver.denoisers=[ml, mmse, {name: mmse_pb, select: fit}, {name: ml, recalibrate: 500}]" \
  --set "sweep.snr_db=[0,10,20,30]" --set sweep.draws=3
step scoring "$PY" benchmarks/scoring_throughput.py --device cuda --threads 4 \
  --batch-sizes 500,1000,2500 --no-frozen --out "$OUT/scoring_cuda.json"

"$PY" - "$OUT" <<PY
import json, sys
out = sys.argv[1]
steps = {"pytest": (${RC[pytest]}, ${SECS[pytest]}), "quickstart": (${RC[quickstart]}, ${SECS[quickstart]}),
         "resnet18_sweep": (${RC[resnet18_sweep]}, ${SECS[resnet18_sweep]}), "scoring": (${RC[scoring]}, ${SECS[scoring]})}
json.dump({k: {"rc": rc, "seconds": s} for k, (rc, s) in steps.items()}, open(f"{out}/summary.json", "w"), indent=2)
print(open(f"{out}/summary.json").read())
PY
for s in pytest quickstart resnet18_sweep scoring; do [ "${RC[$s]}" -eq 0 ] || exit 1; done
