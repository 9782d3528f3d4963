#!/usr/bin/env bash
# GPU checks for a lent device machine: `pytest -m gpu` and the scoring benchmark on
# CUDA. Writes everything under $OUT (default: benchmarks/results/gpu).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-benchmarks/results/gpu}"
mkdir -p "$OUT"
PY="${PY:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || true
"$PY" -m pytest -m gpu tests -q -rA 2>&1 | tee "$OUT/pytest_gpu.txt"
rc_test=${PIPESTATUS[0]}
"$PY" benchmarks/scoring_throughput.py --device cuda --threads 4 --batch-sizes 500,1000,2500 --no-frozen \
  --out "$OUT/scoring_cuda.json" 2>&1 | tee "$OUT/scoring_cuda.txt"
rc_bench=${PIPESTATUS[0]}
echo "pytest rc=$rc_test benchmark rc=$rc_bench" | tee "$OUT/summary.txt"
[ "$rc_test" -eq 0 ] || [ "$rc_test" -eq 5 ] && [ "$rc_bench" -eq 0 ]
