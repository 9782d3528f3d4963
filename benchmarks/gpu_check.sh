#!/usr/bin/env bash
# GPU checks for a lent device machine (issues #15, #30): on CUDA, (1) the whole test
# suite (every `device`-parametrized test gets its cuda case), (2) the quickstart, (3) a
# ResNet-18 sweep, (4) the scoring benchmark, (5) the quickstart's --dry-run wall-time
# estimate, then the run at precision auto (estimate vs actual in its meta.json),
# (6) fp32 vs bf16 (+ TF32) vs torch.compile img/s per model (benchmarks/precision.py),
# (7) the batched grid selection (cells per pass, benchmarks/selection_batched.py),
# (8) the authors-style cell vs airmodel's at auto (benchmarks/authors_cell.py).
# Logs and JSON go under $OUT (default: benchmarks/results/gpu); summary.json says what
# passed and how long each step took.
#
# No dataset copy travels to the device machine: (6) scores CIFAR-shaped random images
# (random-init models; the SST-2 transformer is skipped), (7)/(8) a generated folder of
# random 32x32 PNGs with the committed ResNet-20 weights. Speeds are real; accuracies
# there are chance and say nothing (the clean-accuracy change is measured on CPU).
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

# (5) wall time: the dry run's estimate, then the run at precision auto (the quickstart
# model is cached by step 2).
QS=(--set evaluation.device=cuda --set evaluation.precision=auto
    --set out_dir="$OUT/quickstart_auto" --set model.train.out="$OUT/models/quickstart")
step dry_run "$PY" -m airmodel.cli run quickstart --dry-run "${QS[@]}"
step quickstart_auto "$PY" -m airmodel.cli run quickstart --no-progress "${QS[@]}"
# (6) precisions and torch.compile per model.
step precision "$PY" benchmarks/precision.py --device cuda --threads 4 --n 10000 \
  --batch-size 1000 --repeats 5 --cifar none --sst2 none \
  --compile resnet20,resnet18,resnet34 --out "$OUT/precision_cuda.json"
# (7)/(8) need an image folder: random 32x32 PNGs, 10 classes.
"$PY" - "$OUT/random_cifar" <<'PY'
import sys, numpy as np
from pathlib import Path
from PIL import Image
rng = np.random.default_rng(0)
for split, n in (("train", 1000), ("test", 2000)):
    for i in range(n):
        d = Path(sys.argv[1]) / split / f"c{i % 10}"
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(d / f"{i}.png")
PY
export AIRMODEL_CACHE_DIR="$OUT/cache"
step selection "$PY" benchmarks/selection_batched.py --device cuda --threads 4 \
  --data-root "$OUT/random_cifar" --ks 8,16,32,64 --lams 4 \
  --out "$OUT/selection_batched_cuda.json"
step authors_cell "$PY" benchmarks/authors_cell.py --device cuda --threads 4 \
  --data-root "$OUT/random_cifar" --n 2000 --cells 8 --batch-size 1000 \
  --out "$OUT/authors_cell_cuda.json"
rm -rf "$OUT/random_cifar" "$OUT/cache" "$OUT/models"

STEPS=(pytest quickstart resnet18_sweep scoring dry_run quickstart_auto precision selection authors_cell)
for s in "${STEPS[@]}"; do echo "$s ${RC[$s]} ${SECS[$s]}"; done | "$PY" -c '
import json, sys
out = sys.argv[1]
steps = {n: {"rc": int(rc), "seconds": int(s)} for n, rc, s in (l.split() for l in sys.stdin)}
json.dump(steps, open(f"{out}/summary.json", "w"), indent=2)
print(open(f"{out}/summary.json").read())
' "$OUT"
for s in "${STEPS[@]}"; do [ "${RC[$s]}" -eq 0 ] || exit 1; done
