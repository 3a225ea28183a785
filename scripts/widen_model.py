#!/usr/bin/env python3
"""Writes a function-preserving widening of a small F32 Llama checkpoint: hidden_size and
intermediate_size padded with zeros to multiples of WIDTH (default 256), so that the rows of
q/k/v, gate/up, down and the embedding fill llama.cpp's 256-wide k-quant super-blocks (Q4_K,
Q6_K). The bundled stories260K model's 64/172 widths fall back from k-quants; its widened twin
does not, and predicts the same tokens with the same probabilities:

  - embed_tokens [V, H] -> [V, H']: zero columns; the tied head reads h' whose padded
    components are zero, so the logits are unchanged;
  - q/k/v_proj, gate/up_proj [out, H] -> [out, H']: zero input columns;
  - o_proj [H, A] -> [H', A] and down_proj [H, I] -> [H', I']: zero output rows (the residual's
    padded components stay zero), zero input columns for down's padded intermediate;
  - gate/up_proj [I, H] -> [I', H']: zero output rows (silu(0) * 0 = 0);
  - the RMSNorm weights [H] -> [H']: w * sqrt(H / H') on the real components, 0 on the padding,
    and rms_norm_eps * H / H': with x padded by zeros, mean(x'^2) = mean(x^2) * H / H', so
    x' / sqrt(mean(x'^2) + eps') * w' = x / sqrt(mean(x^2) + eps) * w exactly.

Heads and head_dim are unchanged (RoPE sees the same vectors). Only F32 safetensors with one
file; the other files of the folder (tokenizer, generation config) are copied. No numpy.

  scripts/widen_model.py SRC_DIR OUT_DIR [WIDTH]
"""
import json
import math
import os
import shutil
import struct
import sys
from array import array


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            sys.exit(f"{path}: {name} is {info['dtype']}; widen_model.py reads F32 only")
        a, b = info["data_offsets"]
        values = array("f")
        values.frombytes(data[a:b])
        tensors[name] = (info["shape"], values)
    return tensors


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, (shape, values) in tensors.items():
        blob = values.tobytes()
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)


def pad(shape, values, rows, cols, scale=1.0):
    """[r, c] (or [c] when rows is None) -> [rows, cols] with zeros, real entries times scale."""
    if rows is None:
        out = array("f", [0.0]) * cols
        for j in range(shape[0]):
            out[j] = values[j] * scale
        return [cols], out
    r, c = shape
    out = array("f", [0.0]) * (rows * cols)
    for i in range(r):
        out[i * cols : i * cols + c] = values[i * c : (i + 1) * c]
    return [rows, cols], out


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    src, out = sys.argv[1], sys.argv[2]
    width = int(sys.argv[3]) if len(sys.argv) == 4 else 256
    config = json.load(open(os.path.join(src, "config.json")))
    H, I = config["hidden_size"], config["intermediate_size"]
    H2, I2 = -(-H // width) * width, -(-I // width) * width
    norm_scale = math.sqrt(H / H2)
    tensors = read_safetensors(os.path.join(src, "model.safetensors"))
    wide = {}
    for name, (shape, values) in tensors.items():
        if name.endswith("norm.weight"):
            wide[name] = pad(shape, values, None, H2, norm_scale)
        elif name.endswith("embed_tokens.weight") or name == "lm_head.weight":
            wide[name] = pad(shape, values, shape[0], H2)
        elif name.endswith(("q_proj.weight", "k_proj.weight", "v_proj.weight")):
            wide[name] = pad(shape, values, shape[0], H2)
        elif name.endswith("o_proj.weight"):
            wide[name] = pad(shape, values, H2, shape[1])
        elif name.endswith(("gate_proj.weight", "up_proj.weight")):
            wide[name] = pad(shape, values, I2, H2)
        elif name.endswith("down_proj.weight"):
            wide[name] = pad(shape, values, H2, I2)
        else:
            sys.exit(f"{src}: {name}: widen_model.py does not know this tensor")
    os.makedirs(out, exist_ok=True)
    config["hidden_size"], config["intermediate_size"] = H2, I2
    config["rms_norm_eps"] = config.get("rms_norm_eps", 1e-6) * H / H2
    config.setdefault("head_dim", H // config["num_attention_heads"])
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    write_safetensors(os.path.join(out, "model.safetensors"), wide)
    for name in os.listdir(src):
        if name not in ("config.json", "model.safetensors") and os.path.isfile(os.path.join(src, name)):
            shutil.copy(os.path.join(src, name), os.path.join(out, name))
    print(f"{out}: hidden {H} -> {H2}, intermediate {I} -> {I2}, rms_norm_eps {config['rms_norm_eps']:g}")


if __name__ == "__main__":
    main()
