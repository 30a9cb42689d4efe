#!/usr/bin/env bash
# Device check for training on CUDA (issue 7 §9), run from the repository root on a GPU machine:
#   bash bench/gpu_train_check.sh            (the device tool: PYTHON=python3, its PyTorch)
# 1. trains and evaluates a small CNN with autocast (bf16, fp16 + GradScaler, fp32) and a resnet18 (bf16),
#    checks that they learn, that checkpoints reload, that a real OOM gives a clear error, prints images/s;
# 2. the training loop against a bare PyTorch loop on the same tensors on CUDA (target ratio >= 0.85);
# 3. where Django and the test database are installed too (a full dev setup with CUDA), the `gpu` tests.
# Takes about two minutes on an H100. Exits non-zero when a check fails.
set -euo pipefail
PYTHON=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$PYTHON" bench/gpu_train_check.py --arch small-cnn --n 4096 --img-size 64 --batch-size 256 --epochs 4
"$PYTHON" bench/gpu_train_check.py --arch resnet18 --n 2048 --img-size 96 --batch-size 128 --epochs 3
"$PYTHON" bench/train_bench.py --device cuda --arch small-cnn --n 8192 --img-size 64 --batch-size 256 --epochs 2
"$PYTHON" bench/train_bench.py --device cuda --arch resnet18 --n 4096 --img-size 128 --batch-size 128 --epochs 2
if "$PYTHON" -c "import django, pytest_django" 2>/dev/null; then
  "$PYTHON" -m pytest -m gpu tests/robustness -q -p no:cacheprovider
else
  echo "Django is not installed here: the pytest gpu tests (tests/robustness/test_training_gpu.py) run on a full dev setup"
fi
