#!/usr/bin/env python3
"""PyTorch side of the weights round trip: train a small model a few steps, write its state dict
as safetensors (model.safetensors) and an input with PyTorch's output (check.json) into DIR.

    python3 examples/pytorch-weights/save_from_pytorch.py DIR
    npx tsx examples/pytorch-weights/load_in_chainrule.ts DIR

Uses the `safetensors` package when it is installed, else writes the format with the standard
library (8-byte little-endian header length, a JSON header, then the raw little-endian data).
"""
import json
import os
import struct
import sys

import torch
import torch.nn as nn


def write_safetensors(path, tensors):
    try:
        from safetensors.torch import save_file
        save_file(tensors, path)
        return
    except ImportError:
        pass
    codes = {torch.float32: ("F32", "f"), torch.float64: ("F64", "d"), torch.int64: ("I64", "q"), torch.int32: ("I32", "i")}
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        dtype, code = codes[t.dtype]
        values = t.contiguous().reshape(-1).tolist()
        data = struct.pack("<%d%s" % (len(values), code), *values)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    # The same architecture as load_in_chainrule.ts builds: names map one to one.
    model = nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(20):
        x = torch.randn(32, 4)
        loss = nn.functional.cross_entropy(model(x), (x[:, 0] > 0).long() + (x[:, 1] > 0).long())
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    x = torch.randn(5, 4)
    with torch.no_grad():
        y = model(x)
    write_safetensors(os.path.join(out_dir, "model.safetensors"), model.state_dict())
    with open(os.path.join(out_dir, "check.json"), "w") as f:
        json.dump({"input": x.tolist(), "output": y.tolist()}, f)
    print("wrote", os.path.join(out_dir, "model.safetensors"), "and check.json:", ", ".join(model.state_dict().keys()))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "pytorch-weights")
