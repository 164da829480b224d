"""PyTorch side of `npm run bench`: the same work as bench/*.ts, printed as JSON lines.

Run with Debian's python3-torch (1.13) and libopenblas0. For the AVX-512 kernels, unset
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE in the command that runs this (run-all.ts does).
Usage: python3 bench/torch_bench.py mlp|cnn|xor|matmul|mlp64|gpt|lstm [--threads N] [--epochs E] [--batches B] [--quick]
(--batches: cnn only, stop after B batches and skip the test accuracy, for quick runs;
--quick: mlp64/gpt/lstm only, fewer warm-up steps and timed rounds)
"""
import argparse, gzip, json, math, os, resource, struct, sys, time

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


# ---- the small-op rows (issue 17 point 6, issue 14's bench rows) ---------------------------
# Each builds the same model, data and optimiser as its counterpart in bench/chainrule_bench.ts.

def time_steps(step, warm, rounds, per_round):
    """Warm-up steps, then `rounds` timed rounds of `per_round` steps: (median, best, all) seconds per step."""
    for _ in range(warm):
        step()
    runs = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(per_round):
            step()
        runs.append((time.perf_counter() - t0) / per_round)
    return sorted(runs)[len(runs) // 2], min(runs), runs


def moons():
    """chainrule_bench.ts's moons(): 100 two-moons points, offsets from the fractional parts of i/phi."""
    x, y = [], []
    jitter = lambda j: 0.2 * (((j * 0.6180339887498949) % 1) - 0.5)
    for i in range(100):
        t = math.pi * (i % 50) / 49
        upper = i < 50
        x.append([(math.cos(t) if upper else 1 - math.cos(t)) + jitter(2 * i),
                  (math.sin(t) if upper else 0.5 - math.sin(t)) + jitter(2 * i + 1)])
        y.append([1.0 if upper else -1.0])
    return torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)


def mlp64(args):
    torch.manual_seed(0)
    x, y = moons()
    nn = torch.nn
    model = nn.Sequential(nn.Linear(2, 16, dtype=torch.float64), nn.ReLU(), nn.Linear(16, 16, dtype=torch.float64), nn.ReLU(),
                          nn.Linear(16, 1, dtype=torch.float64))
    params = list(model.parameters())
    opt = torch.optim.SGD(params, lr=0.05)
    last = [0.0]

    def step():
        scores = model(x)
        hinge = (1 - y * scores).relu().mean()
        reg = sum((p * p).sum() for p in params)
        loss = hinge + 1e-4 * reg
        opt.zero_grad()
        loss.backward()
        opt.step()
        last[0] = loss.item()
    med, best, runs = time_steps(step, 200 if args.quick else 1000, 3 if args.quick else 7, 200 if args.quick else 1000)
    print(json.dumps({'work': 'mlp64', 'threads': torch.get_num_threads(), 'us_per_step': med * 1e6, 'best_us_per_step': best * 1e6,
                      'rounds_us': [r * 1e6 for r in runs], 'final_loss': last[0]}))


def token_stream(n, vocab, seed):
    """chainrule_bench.ts's tokenStream(): MINSTD, token = state mod vocab."""
    out, s = [], seed
    for _ in range(n):
        s = (s * 48271) % 2147483647
        out.append(s % vocab)
    return out


def windows(stream, count, rows, length):
    """chainrule_bench.ts's windows(): `count` batches of [rows, length] inputs and next-token targets."""
    out = []
    for b in range(count):
        x, y = [], []
        for r in range(rows):
            start = ((b * rows + r) * 37) % (len(stream) - length - 1)
            x.append(stream[start:start + length])
            y.append(stream[start + 1:start + length + 1])
        out.append((torch.tensor(x), torch.tensor(y)))
    return out


class CausalSelfAttention(torch.nn.Module):
    """test/fixtures/gen_gpt.py's attention (PyTorch 1.13 has no scaled_dot_product_attention)."""

    def __init__(self, embed, heads):
        super().__init__()
        self.heads = heads
        self.c_attn = torch.nn.Linear(embed, 3 * embed)
        self.c_proj = torch.nn.Linear(embed, embed)

    def forward(self, x):
        B, T, E = x.shape
        hd = E // self.heads
        q, k, v = self.c_attn(x).split(E, dim=2)
        q = q.view(B, T, self.heads, hd).transpose(1, 2)
        k = k.view(B, T, self.heads, hd).transpose(1, 2)
        v = v.view(B, T, self.heads, hd).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
        blocked = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
        att = torch.nn.functional.softmax(att.masked_fill(blocked, float('-inf')), dim=-1)
        return self.c_proj((att @ v).transpose(1, 2).reshape(B, T, E))


class Block(torch.nn.Module):
    def __init__(self, embed, heads):
        super().__init__()
        nn = torch.nn
        self.ln_1 = nn.LayerNorm(embed)
        self.attn = CausalSelfAttention(embed, heads)
        self.ln_2 = nn.LayerNorm(embed)
        self.mlp = nn.Sequential(nn.Linear(embed, 4 * embed), nn.GELU(), nn.Linear(4 * embed, embed))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(torch.nn.Module):
    """src/train/gpt-model.ts's GPT (nanoGPT layout, untied head, no dropout), nanoGPT's init."""

    def __init__(self, vocab, context, layers, heads, embed):
        super().__init__()
        nn = torch.nn
        self.transformer = nn.ModuleDict(dict(wte=nn.Embedding(vocab, embed), wpe=nn.Embedding(context, embed),
                                              h=nn.ModuleList([Block(embed, heads) for _ in range(layers)]), ln_f=nn.LayerNorm(embed)))
        self.lm_head = nn.Linear(embed, vocab, bias=False)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith('.bias'):
                    p.zero_()
                elif 'ln_' in name:
                    p.fill_(1)
                else:
                    p.normal_(0, 0.02 / math.sqrt(2 * layers) if name.endswith('c_proj.weight') else 0.02)

    def forward(self, idx):
        pos = torch.arange(0, idx.shape[1])
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x))


def gpt(args):
    B, T, V = 16, 32, 65
    torch.manual_seed(0)
    model = GPT(V, T, 2, 4, 64)
    params = list(model.parameters())
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': no_decay, 'weight_decay': 0.0}], lr=1e-3, betas=(0.9, 0.99))
    data = windows(token_stream(20000, V, 1), 8, B, T)
    state = {'k': 0, 'loss': 0.0}

    def step():
        xb, yb = data[state['k'] % len(data)]
        state['k'] += 1
        loss = torch.nn.functional.cross_entropy(model(xb).reshape(-1, V), yb.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        state['loss'] = loss.item()
    med, best, runs = time_steps(step, 3 if args.quick else 10, 3 if args.quick else 7, 3 if args.quick else 8)
    print(json.dumps({'work': 'gpt', 'threads': torch.get_num_threads(), 'tokens_per_s': B * T / med, 'best_tokens_per_s': B * T / best,
                      'median_step_ms': med * 1000, 'rounds_ms': [r * 1000 for r in runs], 'final_loss': state['loss']}))


class WordLstm(torch.nn.Module):
    """pytorch/examples word_language_model's RNNModel('LSTM', 1000, 200, 200, 2, dropout 0.2), untied."""

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.encoder = nn.Embedding(1000, 200)
        self.drop = nn.Dropout(0.2)
        self.rnn = nn.LSTM(200, 200, 2, dropout=0.2)
        self.decoder = nn.Linear(200, 1000)

    def forward(self, x, hidden):
        out, h = self.rnn(self.drop(self.encoder(x)), hidden)
        return self.decoder(self.drop(out)), h


def lstm(args):
    S, B, V = 35, 20, 1000
    torch.manual_seed(0)
    model = WordLstm()
    params = list(model.parameters())
    opt = torch.optim.SGD(params, lr=20)
    data = [(x.t().contiguous(), y.t().contiguous()) for x, y in windows(token_stream(50000, V, 2), 8, B, S)]
    state = {'k': 0, 'loss': 0.0, 'hidden': (torch.zeros(2, B, 200), torch.zeros(2, B, 200))}

    def step():
        xb, yb = data[state['k'] % len(data)]
        state['k'] += 1
        hidden = tuple(h.detach() for h in state['hidden'])
        opt.zero_grad()
        logits, state['hidden'] = model(xb, hidden)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), yb.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 0.25)
        opt.step()
        state['loss'] = loss.item()
    med, best, runs = time_steps(step, 3 if args.quick else 8, 3 if args.quick else 7, 3 if args.quick else 6)
    print(json.dumps({'work': 'lstm', 'threads': torch.get_num_threads(), 'tokens_per_s': S * B / med, 'best_tokens_per_s': S * B / best,
                      'median_step_ms': med * 1000, 'rounds_ms': [r * 1000 for r in runs], 'final_loss': state['loss']}))


if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('work', choices=['mlp', 'cnn', 'xor', 'matmul', 'mlp64', 'gpt', 'lstm'])
    p.add_argument('--threads', type=int, default=0)
    p.add_argument('--epochs', type=int, default=1)
    p.add_argument('--batches', type=int, default=0)
    p.add_argument('--quick', action='store_true')
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    {'mlp': mlp, 'cnn': cnn, 'xor': xor, 'matmul': matmul, 'mlp64': mlp64, 'gpt': gpt, 'lstm': lstm}[a.work](a)
