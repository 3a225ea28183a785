#!/usr/bin/env python3
"""Reads a GGUF file that quantbench-cli export wrote with llama.cpp's own Python package
(gguf-py) and compares what it decodes with quantbench's:

  --dump FILE.safetensors   the tensors as quantbench's GGUF reader decodes them
                            (quantbench-cli check-export FILE.gguf --model DIR --dump FILE.safetensors):
                            max |gguf-py - quantbench| per tensor; 0 means both readers agree
  --model DIR               the Hugging Face checkpoint it was exported from (model.safetensors
                            or shards, F32/F16/BF16): max |gguf-py - original| per tensor, q/k rows
                            put back from llama.cpp's RoPE order for the "llama" architecture;
                            and for F16/BF16/Q8_0/Q4_0/Q4_1/Q5_0/Q5_1 tensors, whether gguf-py's own
                            quantization of the original gives the file's bytes

gguf-py is not installed by quantbench; point --gguf-py at the gguf-py folder of a llama.cpp
checkout (the folder that holds gguf/). Needs numpy (Debian: python3-numpy). Not run in CI.

  /usr/bin/python3 scripts/check_gguf.py out.gguf --gguf-py ~/llama.cpp/gguf-py \\
      --model resources/models/stories260K --dump decoded.safetensors
"""
import argparse
import json
import struct
import sys
import types
from pathlib import Path

import numpy as np


def import_gguf(path):
    sys.path.insert(0, str(Path(path).resolve()))
    try:
        import sentencepiece  # noqa: F401  (gguf/vocab.py imports it; reading needs none of it)
    except ImportError:
        stub = types.ModuleType("sentencepiece")
        stub.SentencePieceProcessor = object
        sys.modules["sentencepiece"] = stub
    import gguf
    return gguf


def read_safetensors(path):
    """name -> float32 array (F32, F16, BF16), read without the safetensors package."""
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        buf = raw[base + a:base + b]
        dtype = info["dtype"]
        if dtype == "F32":
            arr = np.frombuffer(buf, dtype="<f4")
        elif dtype == "F16":
            arr = np.frombuffer(buf, dtype="<f2").astype(np.float32)
        elif dtype == "BF16":
            arr = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            continue
        out[name] = arr.reshape(info["shape"])
    return out


def read_checkpoint(model_dir):
    d = Path(model_dir)
    files = sorted(d.glob("model*.safetensors"))
    tensors = {}
    for f in files:
        tensors.update(read_safetensors(f))
    return tensors, json.loads((d / "config.json").read_text())


def hf_name(gguf_name):
    """The Hugging Face tensor of a GGUF tensor name (None for rope_freqs)."""
    fixed = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
             "output.weight": "lm_head.weight"}
    if gguf_name in fixed:
        return fixed[gguf_name]
    if not gguf_name.startswith("blk."):
        return None
    _, layer, rest = gguf_name.split(".", 2)
    module, suffix = rest.rsplit(".", 1)
    names = {"attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
             "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
             "attn_output": "self_attn.o_proj", "attn_q_norm": "self_attn.q_norm", "attn_k_norm": "self_attn.k_norm",
             "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}
    return f"model.layers.{layer}.{names[module]}.{suffix}"


def unpermute(w, n_head):
    """Inverse of convert_hf_to_gguf.py's permute: reshape(n_head, d/2, 2, ...).swapaxes(1, 2)."""
    shape = w.shape
    return w.reshape(n_head, shape[0] // n_head // 2, 2, *shape[1:]).swapaxes(1, 2).reshape(shape)


def permute(w, n_head):
    """convert_hf_to_gguf.py's permute: reshape(n_head, 2, d/2, ...).swapaxes(1, 2)."""
    shape = w.shape
    return w.reshape(n_head, 2, shape[0] // n_head // 2, *shape[1:]).swapaxes(1, 2).reshape(shape)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("gguf_file")
    p.add_argument("--gguf-py", required=True, help="llama.cpp's gguf-py folder (holding gguf/)")
    p.add_argument("--dump", help="quantbench-cli check-export --dump output")
    p.add_argument("--model", help="the Hugging Face folder the file was exported from")
    args = p.parse_args()

    gguf = import_gguf(args.gguf_py)
    reader = gguf.GGUFReader(args.gguf_file)
    arch = bytes(reader.fields["general.architecture"].parts[-1]).decode()
    dump = read_safetensors(args.dump) if args.dump else {}
    original, config = read_checkpoint(args.model) if args.model else ({}, {})
    heads = {"attn_q": config.get("num_attention_heads"), "attn_k": config.get("num_key_value_heads")}

    print(f"{args.gguf_file}: GGUF via gguf-py {Path(args.gguf_py).resolve()}, architecture {arch}, {len(reader.tensors)} tensors")
    print(f"{'tensor':28s} {'type':5s} {'shape':>12s} {'|gguf-py - quantbench|':>24s} {'|gguf-py - original|':>22s} "
          f"{'bytes = gguf-py quantize':>26s}")
    requantizable = {"F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"}
    worst_reader, worst_original, failures = 0.0, 0.0, 0
    same_blocks, all_blocks = 0, 0
    for t in reader.tensors:
        decoded = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        shape = tuple(int(n) for n in reversed(t.shape))  # outermost first, as numpy and safetensors
        decoded = decoded.reshape(shape)
        cells = [f"{t.name:28s}", f"{t.tensor_type.name:5s}", f"{'x'.join(map(str, shape)):>12s}"]
        if t.name in dump:
            d = float(np.max(np.abs(decoded - dump[t.name].reshape(shape))))
            worst_reader = max(worst_reader, d)
            failures += d != 0.0 and d > 1e-6 * float(np.max(np.abs(decoded)) + 1e-30)
            cells.append(f"{d:24.3g}")
        else:
            cells.append(f"{'-':>24s}")
        name = hf_name(t.name)
        if name and name in original:
            ref = original[name].astype(np.float32)
            module = t.name.split(".")[2] if t.name.startswith("blk.") else ""
            permuted = arch == "llama" and module in heads and heads[module]
            if permuted:
                decoded = unpermute(decoded, heads[module])
            d = float(np.max(np.abs(decoded.reshape(ref.shape) - ref)))
            worst_original = max(worst_original, d)
            cells.append(f"{d:22.4g}")
            if t.tensor_type.name in requantizable:
                source = permute(ref, heads[module]) if permuted else ref
                want = np.ascontiguousarray(gguf.quants.quantize(np.ascontiguousarray(source), t.tensor_type)).view(np.uint8).reshape(-1)
                got = np.ascontiguousarray(t.data).view(np.uint8).reshape(-1)
                block_bytes = gguf.GGML_QUANT_SIZES[t.tensor_type][1]
                same = np.all(want.reshape(-1, block_bytes) == got.reshape(-1, block_bytes), axis=1)
                same_blocks += int(same.sum())
                all_blocks += same.size
                cells.append(f"{int(same.sum()):>14d} of {same.size:<9d}")
            else:
                cells.append(f"{'-':>26s}")
        else:
            cells.append(f"{'-':>22s} {'-':>26s}")
        print(" ".join(cells))
    if dump:
        print(f"gguf-py against quantbench's reader: max |difference| {worst_reader:.3g} over every tensor")
    if original:
        print(f"gguf-py against the original weights: max |dW| {worst_original:.4g}")
        if all_blocks:
            print(f"gguf-py's quantization of the original weights: {same_blocks} of {all_blocks} blocks byte-identical to the file")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
