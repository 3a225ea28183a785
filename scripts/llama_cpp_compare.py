#!/usr/bin/env python3
"""Helpers of scripts/check_llama_cpp.sh (plain Python 3, no numpy):

  hf-from-dump DUMP.safetensors SRC_MODEL_DIR OUT_DIR
      A Hugging Face folder holding the weights of a GGUF file as quantbench's independent reader
      decodes them (quantbench-cli check-export FILE.gguf --model DIR --dump DUMP.safetensors):
      GGUF names back to Hugging Face names, q/k rows put back from llama.cpp's RoPE order, F32;
      config and tokenizer files copied from SRC_MODEL_DIR. quantbench-cli eval on OUT_DIR then
      scores exactly the file's weights.

  chunk-ppl LOGITS.safetensors FIRST [WINDOWS]
      From quantbench-cli eval --save-logits: exp(mean NLL) of the predictions at positions
      FIRST .. ctx-2 of the first WINDOWS windows (default 1) -- llama-perplexity's scoring of a
      chunk (it scores the second half, first = n_ctx/2).

  tokens-check BASE.bin IDS.json [BOS_ID]
      Compares the token stream that llama-perplexity --kl-divergence-base wrote (its header:
      "_logits_", n_ctx, n_vocab, n_chunk, then n_chunk * n_ctx token ids) with quantbench-cli
      tokenize --json of the same text, BOS (default id 1; Llama 3: 128000) put first as
      llama.cpp does.
"""
import array
import json
import math
import shutil
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def read_header(path):
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return raw, json.loads(raw[8:8 + n]), 8 + n


def tensor(raw, base, info, code):
    a, b = info["data_offsets"]
    out = array.array(code)
    out.frombytes(raw[base + a:base + b])
    if sys.byteorder != "little":
        out.byteswap()
    return out


def hf_name(gguf_name):
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


def unpermute_rows(values, rows, cols, n_head):
    """Inverse of convert_hf_to_gguf.py's permute (reshape(n_head, 2, d/2).swapaxes(1, 2)) on rows."""
    half = rows // n_head // 2
    out = array.array("f", bytes(4 * rows * cols))
    for h in range(n_head):
        for a in range(2):
            for b in range(half):
                dst = h * 2 * half + a * half + b
                src = h * 2 * half + b * 2 + a
                out[dst * cols:(dst + 1) * cols] = values[src * cols:(src + 1) * cols]
    return out


def hf_from_dump(dump, src, out):
    src, out = Path(src), Path(out)
    config = json.loads((src / "config.json").read_text())
    heads = {"attn_q": config["num_attention_heads"],
             "attn_k": config.get("num_key_value_heads", config["num_attention_heads"])}
    arch = config.get("model_type", "llama")
    raw, header, base = read_header(dump)
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        hf = hf_name(name)
        if hf is None:
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{name}: dump dtype {info['dtype']}, expected F32")
        values = tensor(raw, base, info, "f")
        module = name.split(".")[2] if name.startswith("blk.") else ""
        if arch in ("llama", "mistral") and module in heads and name.endswith(".weight"):
            rows, cols = info["shape"]
            values = unpermute_rows(values, rows, cols, heads[module])
        tensors[hf] = (info["shape"], values)
    out.mkdir(parents=True, exist_ok=True)
    meta, offset, blobs = {}, 0, []
    for hf in sorted(tensors):
        shape, values = tensors[hf]
        data = values.tobytes()
        meta[hf] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    head = json.dumps(meta, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(out / "model.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for blob in blobs:
            f.write(blob)
    for p in src.iterdir():
        if p.is_file() and p.suffix != ".safetensors" and p.name != "model.safetensors.index.json":
            shutil.copy(p, out / p.name)
    config["torch_dtype"] = "float32"
    (out / "config.json").write_text(json.dumps(config, indent=2))


def chunk_ppl(path, first, windows):
    raw, header, base = read_header(path)
    tok_name = next(n for n, i in header.items() if n != "__metadata__" and i["dtype"] == "I32")
    log_name = next(n for n, i in header.items() if n != "__metadata__" and i["dtype"] == "F32")
    nw, ctx = header[tok_name]["shape"]
    vocab = header[log_name]["shape"][2]
    tokens = tensor(raw, base, header[tok_name], "i")
    logits = tensor(raw, base, header[log_name], "f")
    nll, count = 0.0, 0
    for w in range(min(windows, nw)):
        for j in range(first, ctx - 1):
            row = logits[(w * ctx + j) * vocab:(w * ctx + j + 1) * vocab]
            m = max(row)
            lse = m + math.log(math.fsum(math.exp(x - m) for x in row))
            nll += lse - row[tokens[w * ctx + j + 1]]
            count += 1
    print(f"{math.exp(nll / count):.6f} {count}")


def tokens_check(base, ids_json, bos=1):
    with open(base, "rb") as f:
        magic = f.read(8)
        if magic != b"_logits_":
            raise SystemExit(f"{base}: not a llama-perplexity logits file")
        n_ctx, n_vocab, n_chunk = struct.unpack("<iii", f.read(12))
        theirs = array.array("i")
        theirs.frombytes(f.read(4 * n_ctx * n_chunk))
    ours = [bos] + json.loads(Path(ids_json).read_text())["ids"]
    n = len(theirs)
    diff = next((i for i in range(min(n, len(ours))) if theirs[i] != ours[i]), None)
    if diff is None and len(ours) >= n:
        print(f"llama.cpp's first {n} tokens ({n_chunk} chunks x {n_ctx}) equal quantbench's "
              f"(BOS + {len(ours) - 1} ids; llama.cpp drops the last {len(ours) - n})")
    else:
        print(f"tokens differ at position {diff}: llama.cpp {theirs[diff:diff + 8].tolist() if diff is not None else ''} "
              f"quantbench {ours[diff:diff + 8] if diff is not None else len(ours)}")
        sys.exit(1)


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "hf-from-dump":
        hf_from_dump(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) >= 4 and sys.argv[1] == "chunk-ppl":
        chunk_ppl(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    elif len(sys.argv) >= 4 and sys.argv[1] == "tokens-check":
        tokens_check(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
