"""The same CIFAR-10 network in PyTorch on CPU: the peer our TF.js figures are measured against.

Prints one JSON line: {"threads", "batch", "train_images_per_second", "infer_images_per_second"}.
Run by bench/train.ts with Debian's /usr/bin/python3 (python3-torch).
"""
import json
import os
import sys
import time

import torch
import torch.nn as nn


def network() -> nn.Module:
    layers = []
    in_ch = 3
    for filters, pool in [(32, False), (32, True), (64, False), (64, True), (128, False), (128, False)]:
        layers += [nn.Conv2d(in_ch, filters, 3, padding=1, bias=False), nn.BatchNorm2d(filters), nn.ReLU(inplace=True)]
        if pool:
            layers.append(nn.MaxPool2d(2))
        in_ch = filters
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(in_ch, 10)]
    return nn.Sequential(*layers)


def timed(fn, seconds: float, min_steps: int = 3) -> float:
    fn()  # warm-up
    steps, start = 0, time.perf_counter()
    while steps < min_steps or time.perf_counter() - start < seconds:
        fn()
        steps += 1
    return (time.perf_counter() - start) / steps


def main() -> None:
    batch = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10
    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = network()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x = torch.rand(batch, 3, 32, 32) * 255
    y = torch.randint(0, 10, (batch,))
    loss_fn = nn.CrossEntropyLoss()

    def train_step() -> None:
        opt.zero_grad()
        loss_fn(model((x / 127.5) - 1), y).backward()
        opt.step()

    model.train()
    train_s = timed(train_step, seconds)
    model.eval()
    with torch.no_grad():
        infer_s = timed(lambda: model((x / 127.5) - 1), seconds / 2)
    print(json.dumps({"threads": threads, "batch": batch, "torch": torch.__version__,
                      "train_images_per_second": batch / train_s, "infer_images_per_second": batch / infer_s}))


if __name__ == "__main__":
    main()
