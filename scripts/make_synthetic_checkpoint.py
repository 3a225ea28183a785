#!/usr/bin/env python3
"""Write a synthetic Hugging Face LlamaForCausalLM checkpoint for scale tests.

The default shape is TinyLlama-1.1B (hidden 2048, intermediate 5632, 22 layers, 32 query
heads over 4 key/value heads, vocabulary 32000, untied embeddings): about 1.1 B parameters,
2.2 GB of F16 weights in shards of at most --max-shard-mb MB, with
model.safetensors.index.json, config.json and a copy of the bundled tokenizer.model
(vocabulary 512, so every token id it produces is inside the 32000-entry embedding).

Weights are small and finite: one block of N(0, 0.02) values is drawn with random.gauss
(seeded) and tiled over every tensor with an offset that changes from tensor to tensor;
RMSNorm weights are 1.0. Python standard library only; ~2.2 GB take well under a minute.

    python3 scripts/make_synthetic_checkpoint.py /tmp/qb-synth-1b
"""

import argparse
import json
import os
import random
import shutil
import struct
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKENIZER = os.path.join(REPO, "resources", "models", "stories260K", "tokenizer.model")
BLOCK_VALUES = 1 << 21  # 2 Mi F16 values = 4 MiB of random data, tiled


def tensor_list(a):
    """(name, shape) in the order Hugging Face writes them; norms are marked by a 1-D shape."""
    head_dim = a.hidden // a.heads
    q, kv = a.heads * head_dim, a.kv_heads * head_dim
    tensors = [("model.embed_tokens.weight", [a.vocab, a.hidden])]
    for i in range(a.layers):
        p = f"model.layers.{i}."
        tensors += [
            (p + "input_layernorm.weight", [a.hidden]),
            (p + "self_attn.q_proj.weight", [q, a.hidden]),
            (p + "self_attn.k_proj.weight", [kv, a.hidden]),
            (p + "self_attn.v_proj.weight", [kv, a.hidden]),
            (p + "self_attn.o_proj.weight", [a.hidden, q]),
            (p + "post_attention_layernorm.weight", [a.hidden]),
            (p + "mlp.gate_proj.weight", [a.intermediate, a.hidden]),
            (p + "mlp.up_proj.weight", [a.intermediate, a.hidden]),
            (p + "mlp.down_proj.weight", [a.hidden, a.intermediate]),
        ]
    tensors.append(("model.norm.weight", [a.hidden]))
    tensors.append(("lm_head.weight", [a.vocab, a.hidden]))
    return tensors


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def shard_plan(tensors, max_bytes):
    """Greedy packing in file order: a new shard starts when the next tensor would not fit."""
    shards, current, size = [], [], 0
    for name, shape in tensors:
        nbytes = 2 * numel(shape)
        if current and size + nbytes > max_bytes:
            shards.append(current)
            current, size = [], 0
        current.append((name, shape))
        size += nbytes
    if current:
        shards.append(current)
    return shards


def write_shard(path, tensors, block, ones, state):
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in tensors:
        nbytes = 2 * numel(shape)
        header[name] = {"dtype": "F16", "shape": shape, "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)  # data section 8-byte aligned
    view = memoryview(block)
    period = len(block) // 2  # block holds the random data twice, so any window of `period` bytes fits
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name, shape in tensors:
            nbytes = 2 * numel(shape)
            if len(shape) == 1:  # RMSNorm weight: 1.0
                f.write(ones[:nbytes])
                continue
            while nbytes > 0:
                start = state["offset"]
                chunk = min(nbytes, period)
                f.write(view[start:start + chunk])
                nbytes -= chunk
                # A new, odd number of values further on for the next chunk: tensors do not repeat in step.
                state["offset"] = (start + 2 * state["rng"].randrange(1, period // 2, 2)) % period
    os.replace(path + ".tmp", path)
    return offset + 8 + len(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="output folder (created; must be outside the repository)")
    ap.add_argument("--hidden", type=int, default=2048)
    ap.add_argument("--intermediate", type=int, default=5632)
    ap.add_argument("--layers", type=int, default=22)
    ap.add_argument("--heads", type=int, default=32)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--max-shard-mb", type=float, default=500.0, help="largest shard, in MB (10^6 bytes)")
    ap.add_argument("--std", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    out = os.path.abspath(a.out)
    if os.path.commonpath([out, REPO]) == REPO:
        sys.exit(f"error: {out} lies inside the repository; write synthetic checkpoints elsewhere (e.g. /tmp)")
    if a.hidden % a.heads or a.heads % a.kv_heads or (a.hidden // a.heads) % 2:
        sys.exit("error: hidden must split into an even head dimension, heads into kv-heads")
    os.makedirs(out, exist_ok=True)
    for old in os.listdir(out):
        if old.startswith("model") and (old.endswith(".safetensors") or old.endswith(".json")):
            os.remove(os.path.join(out, old))

    t0 = time.time()
    rng = random.Random(a.seed)
    values = [rng.gauss(0.0, a.std) for _ in range(BLOCK_VALUES)]
    data = struct.pack(f"<{BLOCK_VALUES}e", *values)
    block = data + data
    ones = struct.pack("<e", 1.0) * max(a.hidden, 1)

    tensors = tensor_list(a)
    shards = shard_plan(tensors, int(a.max_shard_mb * 1e6))
    weight_map, total, state = {}, 0, {"offset": 0, "rng": rng}
    for i, shard in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        size = write_shard(os.path.join(out, fname), shard, block, ones, state)
        total += sum(2 * numel(s) for _, s in shard)
        for name, _ in shard:
            weight_map[name] = fname
        print(f"{fname}  {size / 1e6:8.1f} MB  {len(shard)} tensors", flush=True)

    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": a.hidden,
        "intermediate_size": a.intermediate,
        "num_hidden_layers": a.layers,
        "num_attention_heads": a.heads,
        "num_key_value_heads": a.kv_heads,
        "vocab_size": a.vocab,
        "max_position_embeddings": 2048,
        "rms_norm_eps": 1e-05,
        "rope_theta": 10000.0,
        "hidden_act": "silu",
        "tie_word_embeddings": False,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "torch_dtype": "float16",
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    shutil.copyfile(TOKENIZER, os.path.join(out, "tokenizer.model"))
    params = sum(numel(s) for _, s in tensors)
    print(f"{out}: {params:,} parameters, {total / 1e9:.2f} GB of F16 weights in {len(shards)} shards, "
          f"{time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
