"""Training throughput of edgenas against PyTorch, on the same networks and data.

For each model, edgenas describes the network (`edgenas inspect --data ... --json`) and this
script builds the same graph in PyTorch from that description: same layers, shapes, batch
size, optimiser (AdamW, lr 3e-3, weight decay 0.01) and number of steps, on the same samples
(random .npy files written here; speed does not depend on the values). Each framework trains
RUNS times, alternating, and the medians of training samples per second (forward, backward,
optimiser step; evaluation excluded) are compared.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MODELS = [
    # name, space, genotype, sample shape, samples, epochs, batch
    ("mlp-digits", "mlp", "act=relu,hidden.depth=2,hidden.b1.out=128,hidden.b2.out=64", (1, 8, 8), 2000, 5, 32),
    ("ds-cnn-8x8", "ds-cnn", "stem.out=64,ds.depth=2,ds.b1.out=64,ds.b2.out=64,ds.b1.kernel=3,ds.b2.kernel=3", (1, 8, 8), 2000, 3, 32),
    ("tiny-cnn-28x28", "bench/spaces/tiny-cnn.toml", "", (1, 28, 28), 1500, 2, 32),
    ("mobilenetv2-32x32", "mobilenetv2-tiny", None, (3, 32, 32), 400, 1, 32),
]


class Graph(nn.Module):
    """A PyTorch network built from edgenas's layer list; returns the logits."""

    def __init__(self, layers):
        super().__init__()
        self.plan = []
        self.mods = nn.ModuleList()
        names = {}
        for node in layers:
            names[node["name"]] = len(self.plan)
            inputs = [names[i] for i in node["inputs"]]
            kind, attrs = next(iter(node["layer"].items()))
            module = None
            in_shape = None
            if kind == "conv2d":
                cin = layers[inputs[0]]["output"][0]
                module = nn.Conv2d(cin, attrs["out_channels"], attrs["kernel"], attrs["stride"],
                                   attrs["padding"], groups=attrs["groups"], bias=attrs["bias"])
            elif kind == "dense":
                module = nn.Linear(int(np.prod(layers[inputs[0]]["output"])), attrs["out_features"], bias=attrs["bias"])
            elif kind == "batch_norm":
                c = node["output"][0]
                module = nn.BatchNorm2d(c, eps=attrs["epsilon"]) if len(node["output"]) == 3 else nn.BatchNorm1d(c, eps=attrs["epsilon"])
            if module is not None:
                self.mods.append(module)
            self.plan.append((kind, attrs, inputs, len(self.mods) - 1 if module is not None else None, node["output"]))
        # Train on the logits: drop a final softmax.
        self.last = len(self.plan) - 1
        if self.plan[-1][0] == "softmax":
            self.last = self.plan[-1][2][0]

    def forward(self, x):
        values = [x]
        for kind, attrs, inputs, m, out in self.plan[1:self.last + 1]:
            a = values[inputs[0]] if inputs else None
            if kind in ("conv2d", "dense", "batch_norm"):
                y = self.mods[m](a)
            elif kind == "activation":
                y = F.relu(a) if attrs["kind"] == "relu" else F.relu6(a)
            elif kind == "pool":
                if attrs["kind"] == "max":
                    y = F.max_pool2d(a, attrs["kernel"], attrs["stride"], attrs["padding"])
                else:
                    y = F.avg_pool2d(a, attrs["kernel"], attrs["stride"], attrs["padding"], count_include_pad=attrs["count_include_pad"])
            elif kind == "global_avg_pool":
                y = F.adaptive_avg_pool2d(a, 1)
            elif kind == "add":
                y = a + values[inputs[1]]
            elif kind == "flatten":
                y = torch.flatten(a, 1)
            elif kind == "softmax":
                y = F.softmax(a, 1)
            elif kind == "zero":
                y = torch.zeros((x.shape[0], *out))
            else:
                raise ValueError(kind)
            values.append(y)
        return values[self.last].flatten(1)


def torch_speed(layers, x, y, epochs, batch):
    torch.manual_seed(0)
    model = Graph(layers)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    n = len(x)
    model.train()
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return n * epochs / (time.perf_counter() - start)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgenas", required=True)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    rows = []
    for name, space, genotype, shape, samples, epochs, batch in MODELS:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((samples, *shape)).astype(np.float32)
        y = (np.arange(samples) % 10).astype(np.int64)
        xp, yp = os.path.join(tmp, f"{name}-x.npy"), os.path.join(tmp, f"{name}-y.npy")
        np.save(xp, x)
        np.save(yp, y)
        data = f"npy:{xp},{yp}"
        which = ["--random", "--seed", "1"] if genotype is None else ["--genotype", genotype]
        desc = json.loads(subprocess.check_output([args.edgenas, "inspect", "--space", space, *which, "--data", data, "--json"]))
        cmd = [args.edgenas, "train", "--space", space, *which, "--data", data, "--epochs", str(epochs),
               "--patience", "0", "--batch-size", str(batch), "--json"]
        ours, theirs, n_train = [], [], None
        for _ in range(args.runs):
            out = json.loads(subprocess.check_output(cmd, stderr=subprocess.DEVNULL))
            ours.append(out["samples_per_second"])
            n_train = out["data"]["train"]
            theirs.append(torch_speed(desc["layers"], x[:n_train], y[:n_train], epochs, batch))
        rows.append((name, desc["params"], desc["macs"], n_train * epochs, statistics.median(ours), statistics.median(theirs)))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.runs} runs each, medians")
    print(f"{'model':<20} {'params':>8} {'MACs':>10} {'samples':>8} {'edgenas/s':>10} {'pytorch/s':>10} {'ratio':>6}")
    for name, params, macs, n, ours, theirs in rows:
        print(f"{name:<20} {params:>8} {macs:>10} {n:>8} {ours:>10.0f} {theirs:>10.0f} {ours / theirs:>6.2f}")


if __name__ == "__main__":
    main()
