"""PyTorch side of `npm run bench`: the same work as bench/*.ts, printed as JSON lines.

Run with Debian's python3-torch (1.13) and libopenblas0. For the AVX-512 kernels, unset
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE in the command that runs this (run-all.ts does).
Usage: python3 bench/torch_bench.py mlp|cnn|xor|matmul [--threads N] [--epochs E] [--batches B]
(--batches: cnn only, stop after B batches and skip the test accuracy, for quick runs)
"""
import argparse, gzip, json, os, resource, struct, sys, time

import numpy as np
import torch

DATA = '/usr/share/datasets/fashion-mnist'


def read_idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack('>' + 'I' * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion():
    """Fashion-MNIST as flat float32 pixels / 255 ([N, 784]) and int64 labels: train, then test."""
    def images(stem):
        return torch.tensor(read_idx(f'{DATA}/{stem}-images-idx3-ubyte.gz').reshape(-1, 784), dtype=torch.float32) / 255

    def labels(stem):
        return torch.tensor(read_idx(f'{DATA}/{stem}-labels-idx1-ubyte.gz'), dtype=torch.long)
    return images('train'), labels('train'), images('t10k'), labels('t10k')


def train(model, xtr, ytr, epochs, max_steps=float('inf')):
    """Adam (lr 1e-3) on batches of 128 in a torch.randperm order each epoch, as chainrule's bench.
    Returns the samples seen, the seconds taken, the sorted times of full batches and samples/s per epoch."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = xtr.shape[0]
    samples = 0
    steps = []
    t0 = time.perf_counter()
    epoch_rates = []
    for epoch in range(epochs):
        te = time.perf_counter()
        samples0 = samples
        perm = torch.randperm(n)
        for i in range(0, n, 128):
            if len(steps) >= max_steps:
                break
            ts = time.perf_counter()
            idx = perm[i:i + 128]
            loss = torch.nn.functional.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            samples += idx.shape[0]
            if idx.shape[0] == 128:
                steps.append(time.perf_counter() - ts)
        epoch_rates.append((samples - samples0) / (time.perf_counter() - te))
    dt = time.perf_counter() - t0
    steps.sort()
    return samples, dt, steps, epoch_rates


def step_times(steps):
    return {'median_step_ms': steps[len(steps) // 2] * 1000, 'p90_step_ms': steps[int(len(steps) * 0.9)] * 1000}


def mlp(args):
    xtr, ytr, xte, yte = fashion()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    samples, dt, steps, epoch_rates = train(model, xtr, ytr, args.epochs)
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({'work': 'mlp', 'threads': torch.get_num_threads(), 'samples_per_s': samples / dt, 'test_acc': acc, 'peak_rss_mb': rss, 'epochs': args.epochs,
                      'epoch_samples_per_s': epoch_rates, **step_times(steps)}))


def cnn(args):
    # Kept flat as in chainrule's bench (its model takes [N, 784]); the model reshapes each batch.
    xtr, ytr, xte, yte = fashion()
    torch.manual_seed(0)
    nn = torch.nn
    # chainrule's buildModel({kind: 'cnn', channels: [8, 16], hidden: 64}), layer for layer.
    model = nn.Sequential(nn.Unflatten(1, (1, 28, 28)),
                          nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(16 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10))
    samples, dt, steps, epoch_rates = train(model, xtr, ytr, args.epochs, args.batches or float('inf'))
    # Before the test pass, as chainrule's figure is: the training's peak, not the evaluation's.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {'work': 'cnn', 'threads': torch.get_num_threads(), 'samples_per_s': samples / dt, 'peak_rss_mb': rss, **step_times(steps)}
    if not args.batches:
        correct = 0
        with torch.no_grad():
            # 1000 at a time, as chainrule's bench: 10,000 images at once hold ~250 MB of activations.
            for s in range(0, xte.shape[0], 1000):
                correct += (model(xte[s:s + 1000]).argmax(1) == yte[s:s + 1000]).sum().item()
        out.update({'test_acc': correct / xte.shape[0], 'epochs': args.epochs, 'epoch_samples_per_s': epoch_rates})
    print(json.dumps(out))


def xor(args):
    torch.manual_seed(0)
    x = torch.tensor([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
    y = torch.tensor([[0.], [1.], [1.], [0.]])
    model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Sigmoid(), torch.nn.Linear(4, 1), torch.nn.Sigmoid())
    opt = torch.optim.SGD(model.parameters(), lr=0.5)

    def step():
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    for _ in range(2000):
        step()
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(5000):
            step()
        times.append((time.perf_counter() - t0) / 5000)
    print(json.dumps({'work': 'xor', 'threads': torch.get_num_threads(), 'us_per_step': sorted(times)[2] * 1e6}))


def matmul(args):
    out = {}
    for n in (128, 256, 512, 1024):
        a = torch.randn(n, n)
        b = torch.randn(n, n)
        a @ b
        reps = max(3, int(2e9 / (2 * n ** 3)))
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(reps):
                a @ b
            times.append((time.perf_counter() - t0) / reps)
        out[n] = 2 * n ** 3 / sorted(times)[2] / 1e9
    print(json.dumps({'work': 'matmul', 'threads': torch.get_num_threads(), 'gflops': out}))


if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('work', choices=['mlp', 'cnn', 'xor', 'matmul'])
    p.add_argument('--threads', type=int, default=0)
    p.add_argument('--epochs', type=int, default=1)
    p.add_argument('--batches', type=int, default=0)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    {'mlp': mlp, 'cnn': cnn, 'xor': xor, 'matmul': matmul}[a.work](a)
