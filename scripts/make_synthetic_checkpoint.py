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

Presets for other shapes (any shape option given as well overrides the preset's value):

    --preset llama3.2-1b   Llama-3.2-1B: 16 layers, hidden 2048, intermediate 8192, 32/8 heads,
                           head_dim 64, vocabulary 128256, tied embeddings (no lm_head.weight),
                           rope_theta 500000, rope_scaling llama3 (factor 32, original context 8192),
                           BF16 in exactly two shards, bos 128000, eos 128001: 1.24 B parameters, 2.5 GB
    --preset llama3-8b     Llama-3.1-8B: 32 layers, hidden 4096, intermediate 14336, 32/8 heads,
                           vocabulary 128256, untied, rope_scaling llama3 (factor 8), BF16 in shards
                           of at most 5 GB: 8.03 B parameters, 16.1 GB

    --preset llama3-70b    Llama-3.1-70B: 80 layers, hidden 8192, intermediate 28672, 64/8 heads, head_dim 128,
                           vocabulary 128256, untied, rope_scaling llama3 (factor 8), BF16 in shards of at
                           most 5 GB: 70.55 B parameters, 141.1 GB apparent

--fill-layers K writes random values only into decoder layers 0..K-1 (and always into the
embedding, every RMSNorm and lm_head); the linear weights of layers K and up are left as holes
(the file position is moved past them and the file's length set at the end), so the shards are
sparse files: their apparent size is the whole checkpoint's, the disk blocks used are those of
the filled tensors only, and a hole reads as zeros (a layer of zero weights adds nothing to the
residual stream). The 70B shape with --fill-layers 2 takes about 141 GB apparent and 7.6 GB of
disk; the data are streamed tensor by tensor (each shard's header and offsets computed first),
never more than an 8 MiB block of random values in memory:

    python3 scripts/make_synthetic_checkpoint.py /tmp/qb-l3-70b --preset llama3-70b --fill-layers 2 \
        --tokenizer-dir build/third_party/tokenizers/llama3_1

--tokenizer-dir DIR copies tokenizer.json and tokenizer_config.json (and special_tokens_map.json
when present) from DIR instead of the bundled tokenizer.model, e.g. the real Llama 3 tokenizer
files in build/third_party/tokenizers/llama3/:

    python3 scripts/make_synthetic_checkpoint.py /tmp/qb-llama3.2-1b --preset llama3.2-1b \
        --tokenizer-dir build/third_party/tokenizers/llama3
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

LLAMA3_CONFIG = {
    "max_position_embeddings": 131072,
    "rope_theta": 500000.0,
    "bos_token_id": 128000,
    "eos_token_id": 128001,
    "attention_bias": False,
    "mlp_bias": False,
    "attention_dropout": 0.0,
    "initializer_range": 0.02,
    "pretraining_tp": 1,
    "use_cache": True,
}
# Shape options (None on the command line: taken from the preset) and extra config.json fields.
PRESETS = {
    "tinyllama": {
        "shape": dict(hidden=2048, intermediate=5632, layers=22, heads=32, kv_heads=4, head_dim=None,
                      vocab=32000, tied=False, dtype="f16", max_shard_mb=500.0, shards=None),
        "config": {},
    },
    "llama3.2-1b": {
        "shape": dict(hidden=2048, intermediate=8192, layers=16, heads=32, kv_heads=8, head_dim=64,
                      vocab=128256, tied=True, dtype="bf16", max_shard_mb=None, shards=2),
        "config": dict(LLAMA3_CONFIG, rope_scaling={
            "rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
            "original_max_position_embeddings": 8192}),
    },
    "llama3-70b": {
        "shape": dict(hidden=8192, intermediate=28672, layers=80, heads=64, kv_heads=8, head_dim=None,
                      vocab=128256, tied=False, dtype="bf16", max_shard_mb=5000.0, shards=None),
        "config": dict(LLAMA3_CONFIG, rope_scaling={
            "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
            "original_max_position_embeddings": 8192}),
    },
    "llama3-8b": {
        "shape": dict(hidden=4096, intermediate=14336, layers=32, heads=32, kv_heads=8, head_dim=None,
                      vocab=128256, tied=False, dtype="bf16", max_shard_mb=5000.0, shards=None),
        "config": dict(LLAMA3_CONFIG, rope_scaling={
            "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
            "original_max_position_embeddings": 8192}),
    },
}


def tensor_list(a):
    """(name, shape) in the order Hugging Face writes them; norms are marked by a 1-D shape."""
    head_dim = a.head_dim or a.hidden // a.heads
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
    if not a.tied:
        tensors.append(("lm_head.weight", [a.vocab, a.hidden]))
    return tensors


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def shard_plan_count(tensors, count):
    """Exactly `count` shards in file order, cut where the running size crosses k/count of the total."""
    total = sum(2 * numel(shape) for _, shape in tensors)
    shards, current, size, k = [], [], 0, 1
    for i, (name, shape) in enumerate(tensors):
        current.append((name, shape))
        size += 2 * numel(shape)
        left = len(tensors) - i - 1  # tensors still to place; every shard needs one
        if k < count and (size >= total * k / count or left == count - k) and left >= count - k:
            shards.append(current)
            current, k = [], k + 1
    shards.append(current)
    return shards


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


def is_hole(name, shape, fill_layers):
    """True for a linear weight of a decoder layer at or past fill_layers (left unwritten)."""
    if fill_layers is None or len(shape) != 2 or not name.startswith("model.layers."):
        return False
    return int(name.split(".")[2]) >= fill_layers


def write_shard(path, tensors, block, ones, state, dtype="F16", fill_layers=None):
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in tensors:
        nbytes = 2 * numel(shape)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + nbytes]}
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
            if is_hole(name, shape, fill_layers):  # a hole: reads as zeros, takes no disk blocks
                f.seek(nbytes, os.SEEK_CUR)
                continue
            while nbytes > 0:
                start = state["offset"]
                chunk = min(nbytes, period)
                f.write(view[start:start + chunk])
                nbytes -= chunk
                # A new, odd number of values further on for the next chunk: tensors do not repeat in step.
                state["offset"] = (start + 2 * state["rng"].randrange(1, period // 2, 2)) % period
        f.truncate(f.tell())  # a trailing hole: the length still covers it
    os.replace(path + ".tmp", path)
    return offset + 8 + len(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="output folder (created; must be outside the repository)")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="tinyllama",
                    help="checkpoint shape and config (default tinyllama: TinyLlama-1.1B, F16, untied)")
    ap.add_argument("--hidden", type=int, help="default: the preset's (tinyllama 2048)")
    ap.add_argument("--intermediate", type=int, help="default: the preset's (tinyllama 5632)")
    ap.add_argument("--layers", type=int, help="default: the preset's (tinyllama 22)")
    ap.add_argument("--heads", type=int, help="default: the preset's (tinyllama 32)")
    ap.add_argument("--kv-heads", type=int, help="default: the preset's (tinyllama 4)")
    ap.add_argument("--head-dim", type=int, help="written to config.json; default hidden / heads")
    ap.add_argument("--vocab", type=int, help="default: the preset's (tinyllama 32000)")
    ap.add_argument("--max-shard-mb", type=float, help="largest shard, in MB (10^6 bytes); default 500")
    ap.add_argument("--shards", type=int, help="exactly this many shards, of about equal size (instead of --max-shard-mb)")
    ap.add_argument("--dtype", choices=["f16", "bf16"], help="weight type; default f16 (bf16 for the llama3 presets)")
    ap.add_argument("--tokenizer-dir", help="copy tokenizer.json and tokenizer_config.json from this folder "
                                            "instead of the bundled tokenizer.model")
    ap.add_argument("--fill-layers", type=int, metavar="K",
                    help="random values only in decoder layers 0..K-1 (plus embedding, norms, lm_head); "
                         "the other layers' linear weights are holes of a sparse file and read as zeros")
    ap.add_argument("--std", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    preset = PRESETS[a.preset]
    sharding_given = a.shards is not None or a.max_shard_mb is not None
    for key, value in preset["shape"].items():
        if key in ("shards", "max_shard_mb") and sharding_given:
            continue  # --shards or --max-shard-mb on the command line replaces the preset's sharding
        if getattr(a, key, None) is None:
            setattr(a, key, value)
    if a.shards is not None and a.shards < 1:
        sys.exit("error: --shards must be at least 1")
    if a.fill_layers is not None and not 0 <= a.fill_layers <= a.layers:
        sys.exit(f"error: --fill-layers must lie between 0 and the {a.layers} layers")
    if a.shards is None and a.max_shard_mb is None:
        a.max_shard_mb = 500.0

    out = os.path.abspath(a.out)
    if os.path.commonpath([out, REPO]) == REPO:
        sys.exit(f"error: {out} lies inside the repository; write synthetic checkpoints elsewhere (e.g. /tmp)")
    head_dim = a.head_dim or (a.hidden // a.heads if a.hidden % a.heads == 0 else 0)
    if not head_dim or head_dim % 2 or a.heads % a.kv_heads:
        sys.exit("error: hidden must split into an even head dimension (or give --head-dim), heads into kv-heads")
    tokenizer_files = []
    if a.tokenizer_dir:
        src = os.path.abspath(a.tokenizer_dir)
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            path = os.path.join(src, name)
            if os.path.isfile(path):
                tokenizer_files.append(path)
            elif name != "special_tokens_map.json":
                sys.exit(f"error: {path} not found")
    os.makedirs(out, exist_ok=True)
    for old in os.listdir(out):
        if old.startswith("model") and (old.endswith(".safetensors") or old.endswith(".json")):
            os.remove(os.path.join(out, old))
        elif old in ("tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            os.remove(os.path.join(out, old))

    t0 = time.time()
    rng = random.Random(a.seed)
    values = [rng.gauss(0.0, a.std) for _ in range(BLOCK_VALUES)]
    if a.dtype == "bf16":
        # BF16 is the upper half of an F32, rounded to nearest even.
        bits = struct.unpack(f"<{BLOCK_VALUES}I", struct.pack(f"<{BLOCK_VALUES}f", *values))
        data = struct.pack(f"<{BLOCK_VALUES}H", *[(u + 0x7FFF + ((u >> 16) & 1)) >> 16 for u in bits])
        one, dtype = struct.pack("<H", 0x3F80), "BF16"
    else:
        data = struct.pack(f"<{BLOCK_VALUES}e", *values)
        one, dtype = struct.pack("<e", 1.0), "F16"
    block = data + data
    ones = one * max(a.hidden, head_dim, 1)

    tensors = tensor_list(a)
    if a.shards and a.shards > len(tensors):
        sys.exit(f"error: --shards {a.shards} is more than the {len(tensors)} tensors")
    shards = shard_plan_count(tensors, a.shards) if a.shards else shard_plan(tensors, int(a.max_shard_mb * 1e6))
    weight_map, total, state = {}, 0, {"offset": 0, "rng": rng}
    for i, shard in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        size = write_shard(os.path.join(out, fname), shard, block, ones, state, dtype, a.fill_layers)
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
        "tie_word_embeddings": a.tied,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "torch_dtype": "bfloat16" if a.dtype == "bf16" else "float16",
    }
    if a.head_dim:
        config["head_dim"] = a.head_dim
    config.update(preset["config"])
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    if tokenizer_files:
        for path in tokenizer_files:
            shutil.copyfile(path, os.path.join(out, os.path.basename(path)))
    else:
        shutil.copyfile(TOKENIZER, os.path.join(out, "tokenizer.model"))
    params = sum(numel(s) for _, s in tensors)
    print(f"{out}: {params:,} parameters, {total / 1e9:.2f} GB of {dtype} weights in {len(shards)} shards, "
          f"{time.time() - t0:.1f} s")
    if a.fill_layers is not None:
        used = sum(os.stat(os.path.join(out, f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors")).st_blocks * 512
                   for i in range(len(shards)))
        print(f"{a.fill_layers} of {a.layers} layers filled, the other {a.layers - a.fill_layers} left as holes (read as zeros): "
              f"{used / 1e9:.2f} GB on disk")


if __name__ == "__main__":
    main()
