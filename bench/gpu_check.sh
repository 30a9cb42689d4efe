#!/usr/bin/env bash
# Device check for the embedding pipeline on CUDA (issue 4 §8), from the repository root on a GPU machine.
#
#   bash bench/gpu_check.sh --prepare   here, once: copies the pure-Python packages the device image lacks
#                                       (open_clip, ftfy, wcwidth) from .venv into .gpu_site (git-ignored locally)
#   bash bench/gpu_check.sh             there (the device tool: carry .gpu_site; PYTHON=python3, its PyTorch)
#
# 1. bench/embed_bench.py on CUDA with autocast (bf16 where supported, else fp16; the encoder picks it), pinned
#    memory and decode workers on the cores: pipeline images/s vs the bare encode_image on pre-decoded tensors
#    (target ratio >= 0.85), random-init ViT-B-32 (speed does not depend on the weights; labelled as such),
#    at the CUDA default batch (256) and at 512;
# 2. a numeric check that the CUDA autocast embeddings agree with fp32 CPU ones for the same images;
# 3. where Django and the test database are installed too (a full dev setup with CUDA), the embeddings tests.
# Takes about three minutes on an H100. Exits non-zero when a check fails.
set -euo pipefail
PYTHON=${PYTHON:-python3}
export PYTHONUNBUFFERED=1

if [ "${1:-}" = "--prepare" ]; then
  site=$(.venv/bin/python -c "import open_clip, os; print(os.path.dirname(os.path.dirname(open_clip.__file__)))")
  rm -rf .gpu_site && mkdir -p .gpu_site
  for package in open_clip ftfy wcwidth; do cp -r "$site/$package" .gpu_site/; done
  grep -qx '/.gpu_site/' .git/info/exclude 2>/dev/null || echo '/.gpu_site/' >> .git/info/exclude
  du -sh .gpu_site
  exit 0
fi
if [ -d .gpu_site ]; then export PYTHONPATH="$PWD/.gpu_site:${PYTHONPATH:-}"; fi

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$PYTHON" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device visible'; print(torch.__version__, torch.cuda.get_device_name(0))"

"$PYTHON" bench/embed_bench.py --device cuda --encoder open_clip:ViT-B-32:random-init --n 4096 --side 640 --rounds 2
"$PYTHON" bench/embed_bench.py --device cuda --encoder open_clip:ViT-B-32:random-init --n 4096 --side 640 --rounds 2 \
  --batch-size 512

"$PYTHON" - <<'PY'
# Autocast on CUDA against fp32 on CPU: same random-init weights, same preprocessed images.
import sys
import numpy as np
import open_clip
import torch
from open_clip.transform import PreprocessCfg, image_transform_v2
sys.path.insert(0, ".")
from curation.ml.encoders import EncoderSpec
from curation.ml.encoders.openclip import OpenClipEncoder

torch.manual_seed(0)
model = open_clip.create_model("ViT-B-32", pretrained=None)
cfg = PreprocessCfg(**open_clip.get_model_preprocess_cfg(model))
spec = EncoderSpec(name="open_clip:ViT-B-32:random-init", family="open_clip", arch="ViT-B-32", weights="random-init",
                   dim=512, mean=tuple(cfg.mean), std=tuple(cfg.std), input_size=tuple(cfg.input_size[1:]),
                   has_text_tower=True)
batch = torch.rand(64, 3, *cfg.input_size[1:])
cpu = OpenClipEncoder(spec, model, image_transform_v2(cfg, is_train=False), device=torch.device("cpu"))
reference = cpu.encode_images(batch).numpy()
gpu = cpu.to("cuda")
print(f"autocast dtype on CUDA: {gpu.autocast_dtype}")
fast = gpu.encode_images(batch).cpu().numpy()
cosine = np.sum(reference * fast, axis=1)
print(f"CUDA autocast vs CPU fp32: min cosine {cosine.min():.5f}, mean {cosine.mean():.5f}")
assert cosine.min() > 0.99, "CUDA autocast embeddings drift from the fp32 ones"
PY

if "$PYTHON" -c "import django, pytest_django, faiss" 2>/dev/null; then
  "$PYTHON" -m pytest tests/curation/embeddings -q -p no:cacheprovider -m "not worker"
else
  echo "Django/faiss are not installed here: the embeddings tests run on a full dev setup"
fi
