"""Grad-CAM throughput against a bare forward + backward on the same batch, in the same process.

    python bench/cam_bench.py [--arch small-cnn] [--method gradcam] [--n 256] [--img-size 64] [--batch-size 32]
                              [--device cpu] [--rounds 3] [--threads N] [--with-pictures]

Builds N random [0, 1] images (N, 3, S, S) once, in memory, and a random-init classifier, then for each of
--rounds rounds (the best round of each counts, which filters out noise from neighbours on a shared machine):
1. bare: per batch, a forward pass, the predicted class's logit summed over the batch, and a backward pass
   to the input (what any gradient-based CAM needs at least): the floor;
2. cam: per batch, ``explain.ml.cams.create_explainer(method).explain(batch)`` — pytorch-grad-cam's hooks,
   the forward and backward, the channel weights, the raw maps kept unscaled and the scaled maps resized
   to the input — plus the mask scores of ``explain.ml.scores`` against a centred square mask. With
   --with-pictures also the heatmap and overlay PNGs the job stores (not ROAD: its imputation is a
   separate, optional, much slower metric).
Prints images/s of both and their ratio (cam / bare), in wall time and in CPU time (on a shared machine
the CPU-time ratio says what the wall ratio would be on idle cores).
"""

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from explain.ml.cams import create_explainer  # noqa: E402
from explain.ml.overlays import heatmap_rgb, overlay_rgb, png_bytes  # noqa: E402
from explain.ml.scores import mask_scores_batch, upsample  # noqa: E402
from robustness.ml.devices import device_resolve  # noqa: E402
from robustness.ml.models import Classifier, create_model  # noqa: E402

CLASSES = 7


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="small-cnn")
    parser.add_argument("--method", default="gradcam", help="gradcam, gradcam++ or eigencam")
    parser.add_argument("--n", type=int, default=256, help="images (default 256)")
    parser.add_argument("--img-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    parser.add_argument("--rounds", type=int, default=3, help="measurement rounds; the best counts (default 3)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--with-pictures", action="store_true", help="also encode the heatmap and overlay PNGs")
    return parser.parse_args()


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(work: Callable[[], None], device: torch.device) -> tuple[float, float]:
    synchronize(device)
    started, cpu_started = time.perf_counter(), time.process_time()
    work()
    synchronize(device)
    return time.perf_counter() - started, time.process_time() - cpu_started


def bare_pass(model: Classifier, batches: list[torch.Tensor]) -> None:
    for batch in batches:
        pixels = batch.clone().requires_grad_(True)
        logits = model(pixels)
        logits.gather(1, logits.argmax(dim=1, keepdim=True)).sum().backward()
        model.zero_grad(set_to_none=True)


def cam_pass(model: Classifier, batches: list[torch.Tensor], method: str, mask: np.ndarray, pictures: bool) -> None:
    size = batches[0].shape[-1]
    with create_explainer(method, model=model) as explainer:
        for batch in batches:
            cams = explainer.explain(batch)
            mask_scores_batch(upsample(cams.raw, (size, size)), [mask] * len(batch))
            if pictures:
                images = (batch.permute(0, 2, 3, 1).cpu().numpy() * 255).astype(np.uint8)
                for image, cam in zip(images, cams.maps, strict=True):
                    png_bytes(heatmap_rgb(cam))
                    png_bytes(overlay_rgb(image, cam))


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = device_resolve(args.device)
    torch.manual_seed(0)
    model = create_model(args.arch, CLASSES, **({"pretrained": False} if args.arch != "small-cnn" else {}))
    model = model.to(device).eval()
    images = torch.rand(args.n, 3, args.img_size, args.img_size, generator=torch.Generator().manual_seed(0))
    batches = [images[i : i + args.batch_size].to(device) for i in range(0, args.n, args.batch_size)]
    quarter = args.img_size // 4
    mask = np.zeros((args.img_size, args.img_size), bool)
    mask[quarter:-quarter, quarter:-quarter] = True
    bare_pass(model, batches[:1])  # warm-up: allocator, kernels
    cam_pass(model, batches[:1], args.method, mask, args.with_pictures)

    bare, cam = [], []
    for _ in range(args.rounds):
        bare.append(timed(lambda: bare_pass(model, batches), device))
        cam.append(timed(lambda: cam_pass(model, batches, args.method, mask, args.with_pictures), device))
    bare_wall, bare_cpu = min(t[0] for t in bare), min(t[1] for t in bare)
    cam_wall, cam_cpu = min(t[0] for t in cam), min(t[1] for t in cam)

    print(
        f"{args.method} on {args.arch} at {args.img_size} px, {args.n} images in batches of {args.batch_size}, "
        f"{device} ({torch.get_num_threads()} threads), best of {args.rounds}"
        + (", with heatmap and overlay PNGs" if args.with_pictures else "")
    )
    print(f"bare forward + backward: {args.n / bare_wall:8.1f} images/s wall, {args.n / bare_cpu:8.1f} per CPU s")
    print(f"CAM + mask scores:       {args.n / cam_wall:8.1f} images/s wall, {args.n / cam_cpu:8.1f} per CPU s")
    print(f"ratio CAM / bare: {bare_wall / cam_wall:.3f} wall, {bare_cpu / cam_cpu:.3f} CPU")


if __name__ == "__main__":
    main()
