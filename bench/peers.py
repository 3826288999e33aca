"""The PyTorch peers of bench/peers.ts: pytorch-grad-cam as documented, and the same methods written
well in plain PyTorch, on a twin of the shipped model with its exact weights.

A JSON-lines server on stdin/stdout, so bench/peers.ts can interleave our timings with these in one run
on one machine (the peer idles while ours runs):
  {"cmd": "load", "model": DIR, "images": FILE, "count": N, "threads": T}  -> {"torch", "gradcam", "logits"}
  {"cmd": "time", "figure": NAME, "batch": B, "repeats": R, "warmup": W}   -> {"ms": [...]} (W calls first, once)
  {"cmd": "train", "batch": B, "seconds": S}                                -> {"images_per_second"}
FILE holds N images as raw float32 [N,32,32,3], 0-255, the pixels ours gets. Run with .venv-peers/bin/python.
"""
import copy
import json
import os
import sys
import time
from typing import Callable, Dict, List, Set, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import pytorch_grad_cam
import pytorch_grad_cam.score_cam
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, GuidedBackpropReLUModel, ScoreCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

# Score-CAM draws a tqdm bar per image on stderr: silenced, it costs nothing that users would not turn off.
pytorch_grad_cam.score_cam.tqdm = type("NoBar", (), {"tqdm": staticmethod(lambda it, *a, **k: it)})

CONVS = [(3, 32, False), (32, 32, True), (32, 64, False), (64, 64, True), (64, 128, False), (128, 128, False)]


class Rescale(nn.Module):
    """Keras Rescaling(1/127.5, offset -1), the shipped model's first layer."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * (1 / 127.5) - 1


class Twin(nn.Module):
    """The shipped (BN-folded) network: [conv3x3+bias+ReLU] x2 per stage, max-pools, GAP, dense.
    The trunk ends at conv6's ReLU, the layer ours explains; the head is GAP + dense."""

    def __init__(self, batch_norm: bool = False) -> None:
        super().__init__()
        layers: List[nn.Module] = [Rescale()]
        for cin, cout, pool in CONVS:
            layers.append(nn.Conv2d(cin, cout, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(cout, momentum=0.1, eps=1e-3))
            layers.append(nn.ReLU())
            if pool:
                layers.append(nn.MaxPool2d(2))
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))


def load_weights(model: Twin, model_dir: str) -> None:
    """Reads tfjs's model.json + weight shards; HWIO kernels become OIHW, dense [in,out] becomes [out,in]."""
    with open(os.path.join(model_dir, "model.json")) as f:
        spec = json.load(f)
    tensors: Dict[str, np.ndarray] = {}
    for group in spec["weightsManifest"]:
        raw = b"".join(open(os.path.join(model_dir, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            assert w["dtype"] == "float32", w
            count = int(np.prod(w["shape"])) if w["shape"] else 1
            tensors[w["name"]] = np.frombuffer(raw, np.float32, count, offset).reshape(w["shape"])
            offset += 4 * count
    convs = [m for m in model.trunk if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        for i, conv in enumerate(convs):
            conv.weight.copy_(torch.from_numpy(tensors[f"conv{i + 1}/kernel"].transpose(3, 2, 0, 1).copy()))
            conv.bias.copy_(torch.from_numpy(tensors[f"conv{i + 1}/bias"].copy()))
        dense = model.head[2]
        dense.weight.copy_(torch.from_numpy(tensors["logits/kernel"].T.copy()))
        dense.bias.copy_(torch.from_numpy(tensors["logits/bias"].copy()))


def normalise(cam: torch.Tensor, size: int) -> torch.Tensor:
    """ReLU'd maps [N,h,w] -> bilinear [N,size,size], each scaled to [0,1] (pytorch-grad-cam's order)."""
    up = F.interpolate(cam[:, None], size=(size, size), mode="bilinear", align_corners=False)[:, 0]
    flat = up.reshape(up.shape[0], -1)
    lo, hi = flat.min(1, keepdim=True)[0], flat.max(1, keepdim=True)[0]
    return ((flat - lo) / (hi - lo + 1e-7)).reshape(up.shape)


class GuidedReLU(torch.autograd.Function):
    """ReLU whose backward passes only positive gradient through positive input (Springenberg et al.)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        y = x.clamp(min=0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (y,) = ctx.saved_tensors
        return g * ((y > 0) & (g > 0)).to(g.dtype)


class GuidedModule(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return GuidedReLU.apply(x)


class WellWritten:
    """Each method as one would write it by hand in PyTorch: the trunk runs once without autograd,
    only the head (GAP + dense) is differentiated; all classes share that one forward."""

    def __init__(self, model: Twin) -> None:
        self.model = model
        self.guided_trunk = copy.deepcopy(model.trunk)
        for i, m in enumerate(self.guided_trunk):
            if isinstance(m, nn.ReLU):
                self.guided_trunk[i] = GuidedModule()

    def _head_grads(self, x: torch.Tensor, all_classes: bool):
        with torch.no_grad():
            a = self.model.trunk(x)
        a.requires_grad_(True)
        logits = self.model.head(a)
        if all_classes:
            grads = [torch.autograd.grad(logits[:, c].sum(), a, retain_graph=c < 9)[0] for c in range(10)]
        else:
            pred = logits.argmax(1)
            grads = [torch.autograd.grad(logits.gather(1, pred[:, None]).sum(), a)[0]]
        return a.detach(), grads, logits.detach()

    def gradcam(self, x: torch.Tensor, all_classes: bool = False) -> List[np.ndarray]:
        a, grads, _ = self._head_grads(x, all_classes)
        with torch.no_grad():
            return [normalise(F.relu((g.mean((2, 3))[:, :, None, None] * a).sum(1)), x.shape[-1]).numpy() for g in grads]

    def gradcam_plus_plus(self, x: torch.Tensor) -> np.ndarray:
        a, (g,), _ = self._head_grads(x, False)
        with torch.no_grad():
            g2 = g * g
            aij = g2 / (2 * g2 + a.sum((2, 3))[:, :, None, None] * g2 * g + 1e-7)
            aij = torch.where(g != 0, aij, torch.zeros_like(aij))
            w = (F.relu(g) * aij).sum((2, 3))
            return normalise(F.relu((w[:, :, None, None] * a).sum(1)), x.shape[-1]).numpy()

    def guided_gradcam(self, x: torch.Tensor) -> np.ndarray:
        """One forward through guided ReLUs gives both gradients: d y^c/dA (A is taken after conv6's
        ReLU, so the guided rule does not touch it) and the guided d y^c/d input."""
        xg = x.clone().requires_grad_(True)
        a = self.guided_trunk(xg)
        logits = self.model.head(a)
        pred = logits.argmax(1)
        dx, da = torch.autograd.grad(logits.gather(1, pred[:, None]).sum(), [xg, a])
        with torch.no_grad():
            cam = normalise(F.relu((da.mean((2, 3))[:, :, None, None] * a).sum(1)), x.shape[-1])
            return (dx * cam[:, None]).numpy()

    def scorecam(self, x: torch.Tensor, chunk: int = 256) -> np.ndarray:
        with torch.no_grad():
            a = self.model.trunk(x)
            pred = self.model.head(a).argmax(1)
            n, k = a.shape[:2]
            up = F.interpolate(a, size=x.shape[-2:], mode="bilinear", align_corners=False).reshape(n, k, -1)
            lo, hi = up.min(-1, keepdim=True)[0], up.max(-1, keepdim=True)[0]
            masks = ((up - lo) / (hi - lo + 1e-8)).reshape(n, k, 1, *x.shape[-2:])
            scores = torch.empty(n, k)
            for i in range(n):
                masked = (x[i][None] * masks[i]).reshape(k, *x.shape[1:])
                for j in range(0, k, chunk):
                    scores[i, j:j + chunk] = self.model(masked[j:j + chunk])[:, pred[i]]
            w = torch.softmax(scores, 1)
            return normalise(F.relu((w[:, :, None, None] * a).sum(1)), x.shape[-1]).numpy()


class Peers:
    def __init__(self, model_dir: str, images: np.ndarray) -> None:
        self.model = Twin()
        load_weights(self.model, model_dir)
        self.model.eval()
        self.x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
        # pytorch-grad-cam gets its own copy of the network: its hooks (registered per call, released by
        # the `with` block, its documented usage) must not run inside the other figures' passes.
        self.cam_model = copy.deepcopy(self.model)
        # Its own copy too: GuidedBackpropReLUModel swaps the ReLU modules for the call's duration.
        self.guided = GuidedBackpropReLUModel(copy.deepcopy(self.model), device="cpu")
        self.well = WellWritten(self.model)
        self.warm: Set[Tuple[str, int]] = set()
        self.figures: Dict[str, Callable[[torch.Tensor], object]] = {
            "forward": self.forward,
            "gradcam": lambda x: self.cam(GradCAM, x, [None]),
            "gradcam-all/pytorch-grad-cam": lambda x: self.cam(GradCAM, x, [[ClassifierOutputTarget(c)] * len(x) for c in range(10)]),
            "gradcam-all/torch": lambda x: self.well.gradcam(x, all_classes=True),
            "gradcam/torch": lambda x: self.well.gradcam(x),
            "guided/pytorch-grad-cam": self.guided_gradcam,
            "guided/torch": self.well.guided_gradcam,
            "gradcam++": lambda x: self.cam(GradCAMPlusPlus, x, [None]),
            "gradcam++/torch": self.well.gradcam_plus_plus,
            "scorecam": lambda x: self.cam(ScoreCAM, x, [None]),
            "scorecam/torch": self.well.scorecam,
        }

    def cam(self, method: type, x: torch.Tensor, targets: list) -> List[np.ndarray]:
        """pytorch-grad-cam's documented usage: `with Method(model, target_layers) as cam`, one call per
        target list (None: the predicted class). The layer is conv6's ReLU, the activations ours explains."""
        with method(self.cam_model, [self.cam_model.trunk[-1]]) as cam:
            return [cam(x, t) for t in targets]

    def forward(self, x: torch.Tensor) -> np.ndarray:
        with torch.inference_mode():
            return self.model(x).numpy()

    def guided_gradcam(self, x: torch.Tensor) -> np.ndarray:
        """pytorch-grad-cam's documented Guided Grad-CAM: the CAM for the batch, then guided backprop one
        image at a time (GuidedBackpropReLUModel explains only the first image of what it is given)."""
        (cams,) = self.cam(GradCAM, x, [None])
        return np.stack([self.guided(x[i:i + 1].clone(), None) * cams[i][:, :, None] for i in range(len(x))])

    def time(self, figure: str, batch: int, repeats: int, warmup: int) -> List[float]:
        fn, x = self.figures[figure], self.x[:batch].clone()
        # PyTorch's first calls of a shape are several times slower (allocator, oneDNN primitives).
        if (figure, batch) not in self.warm:
            self.warm.add((figure, batch))
            for _ in range(warmup):
                fn(x)
        out = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn(x)
            out.append((time.perf_counter() - t0) * 1000)
        return out


def train_speed(batch: int, seconds: float) -> float:
    """Steady-state training images/s of the same architecture with batch norm, SGD with Nesterov
    momentum and weight decay, as gradcam train runs it (without its data augmentation)."""
    torch.manual_seed(0)
    model = Twin(batch_norm=True).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x = torch.rand(batch, 3, 32, 32) * 255
    y = torch.randint(0, 10, (batch,))

    def step() -> None:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(10):
        step()
    steps, start = 0, time.perf_counter()
    while steps < 5 or time.perf_counter() - start < seconds:
        step()
        steps += 1
    return steps * batch / (time.perf_counter() - start)


def main() -> None:
    peers = None
    for line in sys.stdin:
        msg = json.loads(line)
        try:
            if msg["cmd"] == "load":
                torch.set_num_threads(int(msg["threads"]))
                images = np.fromfile(msg["images"], np.float32).reshape(int(msg["count"]), 32, 32, 3)
                peers = Peers(msg["model"], images)
                reply = {"torch": torch.__version__, "gradcam": getattr(pytorch_grad_cam, "__version__", "1.5.7"),
                         "threads": torch.get_num_threads(), "logits": peers.forward(peers.x).ravel().tolist()}
            elif msg["cmd"] == "time":
                assert peers is not None, "load first"
                reply = {"ms": peers.time(msg["figure"], int(msg["batch"]), int(msg["repeats"]), int(msg.get("warmup", 3)))}
            elif msg["cmd"] == "train":
                reply = {"images_per_second": train_speed(int(msg["batch"]), float(msg["seconds"]))}
            else:
                reply = {"error": f"unknown command {msg['cmd']}"}
        except Exception as err:  # the driver prints it and goes on without this figure
            reply = {"error": f"{type(err).__name__}: {err}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
