#!/usr/bin/env python3
"""Writes the outlier-injected equivalent of a Llama-family checkpoint folder (issue 16).

    scripts/inject_outliers.py SRC_DIR OUT_DIR [--channels 5,37] [--factor 40]

For every decoder layer i, hidden channels c of the two RMSNorms are multiplied by the factor
and the matching input columns of the linears that read them are divided by it:

    model.layers.i.input_layernorm.weight[c]          *= factor
    model.layers.i.self_attn.{q,k,v}_proj.weight[:, c] /= factor
    model.layers.i.post_attention_layernorm.weight[c] *= factor
    model.layers.i.mlp.{gate,up}_proj.weight[:, c]     /= factor

RMSNorm(x)·g feeds W only through the product W·diag(g), which is unchanged, so the model
computes the same function (up to the float rounding of the two scalings); the activations
entering q/k/v and gate/up now carry factor× outlier channels, as real LLMs' do. This is the
same transform as tests/support/outlier_model.h (makeOutlierInjectedModel), written to disk so
the CLI (`plan --auto`, `quantize`, `eval`, scripts/autoplan_table.sh) can run on it.

Standard library only. Tensors in F32, F16 or BF16; every other file of SRC_DIR is copied as
it is. The folder is written under a temporary name and renamed when complete.
"""
import argparse
import json
import os
import shutil
import struct
import sys

NORMS = ("input_layernorm", "post_attention_layernorm")
READERS = {
    "input_layernorm": ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"),
    "post_attention_layernorm": ("mlp.gate_proj", "mlp.up_proj"),
}
WIDTH = {"F32": 4, "F16": 2, "BF16": 2}


def fail(path, problem):
    print(f"error: {path}: {problem}", file=sys.stderr)
    sys.exit(1)


def decode(dtype, raw):
    if dtype == "F32":
        return struct.unpack("<f", raw)[0]
    if dtype == "F16":
        return struct.unpack("<e", raw)[0]
    return struct.unpack("<f", b"\0\0" + raw)[0]  # BF16: the high half of an F32


def encode(dtype, value):
    if dtype == "F32":
        return struct.pack("<f", value)
    if dtype == "F16":
        return struct.pack("<e", value)
    bits = struct.unpack("<I", struct.pack("<f", value))[0]
    bits += 0x7FFF + ((bits >> 16) & 1)  # round to nearest even, as torch's bfloat16 cast
    return struct.pack("<I", bits & 0xFFFFFFFF)[2:]


def scale(data, base, entry, offsets, factor, divide, path, name):
    dtype = entry["dtype"]
    if dtype not in WIDTH:
        fail(path, f"tensor {name} is {dtype}; this script scales F32, F16 and BF16 only")
    w = WIDTH[dtype]
    begin = base + entry["data_offsets"][0]
    for off in offsets:
        at = begin + off * w
        x = decode(dtype, bytes(data[at:at + w]))
        data[at:at + w] = encode(dtype, x / factor if divide else x * factor)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--channels", default="5,37")
    ap.add_argument("--factor", type=float, default=40.0)
    args = ap.parse_args()
    channels = [int(c) for c in args.channels.split(",")]
    if args.factor <= 0:
        fail(args.out, "--factor must be positive")
    config_path = os.path.join(args.src, "config.json")
    try:
        with open(config_path) as f:
            config = json.load(f)
    except (OSError, ValueError) as e:
        fail(config_path, f"cannot read it ({e})")
    hidden, layers = config.get("hidden_size"), config.get("num_hidden_layers")
    if not isinstance(hidden, int) or not isinstance(layers, int):
        fail(config_path, "hidden_size and num_hidden_layers must be integers")
    if any(c < 0 or c >= hidden for c in channels):
        fail(args.src, f"--channels {args.channels}: channels must lie in [0, {hidden})")
    if os.path.exists(args.out):
        fail(args.out, "exists; give a new folder")

    # What to scale: tensor name -> kind (the norm's channels are multiplied, the readers' columns divided).
    wanted = {}
    for i in range(layers):
        for norm in NORMS:
            wanted[f"model.layers.{i}.{norm}.weight"] = "norm"
            for reader in READERS[norm]:
                wanted[f"model.layers.{i}.{reader}.weight"] = "columns"

    tmp = f"{args.out.rstrip('/')}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    found = set()
    try:
        for name in sorted(os.listdir(args.src)):
            src = os.path.join(args.src, name)
            if not os.path.isfile(src):
                continue
            if not name.endswith(".safetensors"):
                shutil.copy2(src, os.path.join(tmp, name))
                continue
            with open(src, "rb") as f:
                data = bytearray(f.read())
            if len(data) < 8:
                fail(src, "too short for a safetensors header")
            n = struct.unpack("<Q", data[:8])[0]
            try:
                header = json.loads(data[8:8 + n])
            except ValueError as e:
                fail(src, f"header is not JSON ({e})")
            base = 8 + n
            for tname, entry in header.items():
                if tname not in wanted:
                    continue
                kind = wanted[tname]
                shape = entry.get("shape", [])
                if kind == "norm":
                    if shape != [hidden]:
                        fail(src, f"{tname} has shape {shape}, expected [{hidden}]")
                    offsets = channels
                else:
                    if len(shape) != 2 or shape[1] != hidden:
                        fail(src, f"{tname} has shape {shape}, expected [out, {hidden}]")
                    offsets = [r * hidden + c for r in range(shape[0]) for c in channels]
                scale(data, base, entry, offsets, args.factor, kind == "columns", src, tname)
                found.add(tname)
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(data)
        missing = sorted(set(wanted) - found)
        if missing:
            fail(args.src, f"{len(missing)} tensors to scale are missing, e.g. {missing[0]}")
        os.rename(tmp, args.out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f"{args.out}: {layers} layers, channels {channels} ×{args.factor:g} in both norms, "
          f"q/k/v and gate/up columns ÷{args.factor:g}")


if __name__ == "__main__":
    main()
