#!/usr/bin/env bash
# The CUDA checks, on a machine with an NVIDIA GPU and PyTorch already installed (Qt is not
# needed; the package runs from this tree): the CUDA tests, the training benchmark on the GPU
# (textbook loop, autograd loop, default step with the data on the GPU, a CUDA-graphs variant,
# the 50-epoch seed run) and a `vae-explorer train --device cuda`.
#
#   bash scripts/gpu-check.sh [OUTDIR]      # about 4-5 minutes on an H200
#
# Everything printed also goes to OUTDIR/gpu-check.log.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-gpu-check-out}
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
export VAE_EXPLORER_DATA_DIR=${VAE_EXPLORER_DATA_DIR:-/tmp/vae-explorer-data}
{
  echo "== machine"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  lscpu | grep -m1 "Model name"
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))"
  echo "== CUDA tests"
  timeout 150 python3 -m pytest -q -p no:cacheprovider -rs tests/core/test_cuda_training.py \
    tests/core/test_mlp_step_fused.py tests/core/test_train_speed_paths.py tests/core/test_imputation.py -k "cuda or fused or speed"
  echo "== training benchmark on the GPU"
  timeout 270 python3 benchmarks/train_bench.py --device cuda --quality --epochs 3
  echo "== vae-explorer train --device cuda"
  timeout 90 python3 -m vae_explorer train --device cuda --epochs 2 --out /tmp/gpu-check.safetensors --quiet
} 2>&1 | tee "$out/gpu-check.log"
