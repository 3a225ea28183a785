#!/usr/bin/python3
"""Write the per-family logits fixtures in tests/fixtures/families/ (issue 12).

For each case: a small random-weight Hugging Face checkpoint (config.json as transformers
writes it, BF16 weights in two safetensors shards with model.safetensors.index.json) and
reference.safetensors holding

    tokens              I32 [W, T]         fixed random ids (< 300; vocab_size is 320)
    logits              F32 [W, T, vocab]  the forward below, in float64 on the BF16 weights
    logits_feature_off  F32 [W, T, vocab]  the same forward with the case's feature switched off

Each of the W windows is an independent sequence at positions 0..T-1 (a full-window forward,
no KV cache). The forward is written here from the equations of transformers' modelling code
(modeling_llama / modeling_mistral / modeling_qwen2 / modeling_qwen3 and
modeling_rope_utils); transformers itself is not used. tests/fixtures/families/README.md
lists the formulas and conventions one per line.

Needs Debian's python3-torch (run with /usr/bin/python3, not a pyenv python). Not run in CI:
the output is committed.

    /usr/bin/python3 scripts/make_family_fixtures.py [--out tests/fixtures/families] [--only CASE ...]
"""

import argparse
import json
import math
import os
import struct
import sys

import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "tests", "fixtures", "families")

WINDOWS = 2          # W: independent sequences
T = 48               # tokens per window
TOKEN_LIMIT = 300    # token ids are drawn from [0, 300); vocab_size 320 is larger, as with real tokenizers
HIDDEN, INTERMEDIATE, LAYERS, HEADS, KV_HEADS, VOCAB = 64, 160, 2, 4, 2, 320

# Standard deviations of the random weights, chosen so that attention is not uniform and the
# logits are not flat (max |logit| of a few units), while staying far from float32 trouble.
STD = {"embed": 0.3, "lm_head": 0.3, "q": 0.2, "k": 0.2, "v": 0.15, "o": 0.15, "mlp": 0.1, "bias": 0.3, "norm": 0.1}


def base_config(arch, model_type):
    """The fields transformers writes for every Llama-like family (values for the tiny shape)."""
    return {
        "architectures": [arch],
        "model_type": model_type,
        "hidden_size": HIDDEN,
        "intermediate_size": INTERMEDIATE,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "num_key_value_heads": KV_HEADS,
        "vocab_size": VOCAB,
        "hidden_act": "silu",
        "initializer_range": 0.02,
        "attention_dropout": 0.0,
        "use_cache": True,
        "torch_dtype": "bfloat16",
    }


def llama_config(**kw):
    c = base_config("LlamaForCausalLM", "llama")
    c.update({
        "max_position_embeddings": 2048,
        "rms_norm_eps": 1e-05,
        "rope_theta": 10000.0,
        "rope_scaling": None,
        "attention_bias": False,
        "mlp_bias": False,
        "pretraining_tp": 1,
        "tie_word_embeddings": False,
        "bos_token_id": 1,
        "eos_token_id": 2,
    })
    c.update(kw)
    return c


def case_configs():
    """name -> (seed, config, what the case covers, what logits_feature_off switches off)."""
    cases = {}
    cases["llama2"] = (
        1201,
        llama_config(max_position_embeddings=4096),
        "LlamaForCausalLM baseline: rotate-half RoPE (theta 10000, no scaling), GQA 4/2, untied lm_head, "
        "BF16 in two shards",
        "RoPE not applied at all (q and k unrotated)",
    )
    cases["llama3_rope"] = (
        1202,
        llama_config(
            head_dim=16,
            max_position_embeddings=512,
            rope_theta=500000.0,
            rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                          "original_max_position_embeddings": 64},
            tie_word_embeddings=True,
            bos_token_id=256,
            eos_token_id=[257, 258],
        ),
        "Llama 3.1/3.2: rope_scaling rope_type llama3 (original_max_position_embeddings 64 puts the 8 frequencies "
        "of head_dim 16 in all three bands: 1 unchanged, 1 smoothed, 6 divided by factor), rope_theta 500000, "
        "tied embeddings (no lm_head.weight), explicit head_dim equal to hidden/heads, eos_token_id a list",
        "rope_scaling removed: plain RoPE with the same rope_theta",
    )
    cases["linear_rope"] = (
        1203,
        llama_config(rope_scaling={"type": "linear", "factor": 4.0}),
        "rope_scaling linear, written with the older \"type\" key",
        "rope_scaling removed: plain RoPE with the same rope_theta",
    )
    cases["dynamic_rope"] = (
        1204,
        llama_config(max_position_embeddings=32, rope_scaling={"rope_type": "dynamic", "factor": 2.0}),
        "rope_scaling dynamic (NTK): max_position_embeddings 32 < T = 48, so the base is rescaled with seq_len = T",
        "rope_scaling removed: plain RoPE with the same rope_theta",
    )
    cases["yarn_rope"] = (
        1205,
        llama_config(
            max_position_embeddings=256,
            rope_scaling={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64,
                          "beta_fast": 32.0, "beta_slow": 1.0},
        ),
        "rope_scaling yarn with its attention factor (0.1 ln(factor) + 1 on cos and sin); "
        "original_max_position_embeddings 64 gives the ramp fractional values (low 0, high 3)",
        "rope_scaling removed: plain RoPE with the same rope_theta and no attention factor",
    )
    mistral = base_config("MistralForCausalLM", "mistral")
    mistral.update({
        "max_position_embeddings": 32768,
        "rms_norm_eps": 1e-05,
        "rope_theta": 10000.0,
        "sliding_window": 16,
        "tie_word_embeddings": False,
        "bos_token_id": 1,
        "eos_token_id": 2,
    })
    cases["mistral_window"] = (
        1206,
        mistral,
        "MistralForCausalLM sliding_window 16 < T: token i attends to j when i - 16 < j <= i",
        "sliding_window null: full causal attention",
    )
    qwen2 = base_config("Qwen2ForCausalLM", "qwen2")
    qwen2.update({
        "max_position_embeddings": 32768,
        "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0,
        "rope_scaling": None,
        "sliding_window": 16,
        "use_sliding_window": False,
        "max_window_layers": 1,
        "tie_word_embeddings": True,
        "bos_token_id": 290,
        "eos_token_id": 291,
    })
    cases["qwen2_bias"] = (
        1207,
        qwen2,
        "Qwen2ForCausalLM: q/k/v_proj biases (o_proj has none), tied embeddings, rope_theta 1e6; "
        "sliding_window 16 with use_sliding_window false, which transformers ignores (full causal attention)",
        "q/k/v biases zeroed",
    )
    qwen3 = base_config("Qwen3ForCausalLM", "qwen3")
    qwen3.update({
        "head_dim": 32,
        "max_position_embeddings": 40960,
        "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0,
        "rope_scaling": None,
        "attention_bias": False,
        "sliding_window": None,
        "use_sliding_window": False,
        "max_window_layers": LAYERS,
        "tie_word_embeddings": True,
        "bos_token_id": 290,
        "eos_token_id": 291,
    })
    cases["qwen3_qknorm"] = (
        1208,
        qwen3,
        "Qwen3ForCausalLM: q_norm/k_norm (RMSNorm over head_dim, per head, before RoPE), explicit head_dim 32 "
        "while hidden/heads = 16 (q_proj 128x64, k/v_proj 64x64, o_proj 64x128), tied embeddings, no bias",
        "q_norm and k_norm skipped",
    )
    return cases


# ---------------------------------------------------------------------------------------------
# Weights


def head_dim_of(c):
    return c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]


def make_weights(c, seed):
    """(name, BF16 tensor) in the order transformers' state_dict has them."""
    g = torch.Generator().manual_seed(seed)
    hd, H, I = head_dim_of(c), c["hidden_size"], c["intermediate_size"]
    q_out, kv_out = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    qkv_bias = c["model_type"] == "qwen2"
    qk_norm = c["model_type"] == "qwen3"

    def normal(shape, std):
        return (torch.randn(shape, generator=g, dtype=torch.float32) * std).to(torch.bfloat16)

    def norm_weight(n):
        return (1.0 + torch.randn(n, generator=g, dtype=torch.float32) * STD["norm"]).to(torch.bfloat16)

    w = [("model.embed_tokens.weight", normal([c["vocab_size"], H], STD["embed"]))]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w.append((p + "input_layernorm.weight", norm_weight(H)))
        w.append((p + "self_attn.q_proj.weight", normal([q_out, H], STD["q"])))
        if qkv_bias:
            w.append((p + "self_attn.q_proj.bias", normal([q_out], STD["bias"])))
        w.append((p + "self_attn.k_proj.weight", normal([kv_out, H], STD["k"])))
        if qkv_bias:
            w.append((p + "self_attn.k_proj.bias", normal([kv_out], STD["bias"])))
        w.append((p + "self_attn.v_proj.weight", normal([kv_out, H], STD["v"])))
        if qkv_bias:
            w.append((p + "self_attn.v_proj.bias", normal([kv_out], STD["bias"])))
        w.append((p + "self_attn.o_proj.weight", normal([H, q_out], STD["o"])))
        if qk_norm:
            w.append((p + "self_attn.q_norm.weight", norm_weight(hd)))
            w.append((p + "self_attn.k_norm.weight", norm_weight(hd)))
        w.append((p + "post_attention_layernorm.weight", norm_weight(H)))
        w.append((p + "mlp.gate_proj.weight", normal([I, H], STD["mlp"])))
        w.append((p + "mlp.up_proj.weight", normal([I, H], STD["mlp"])))
        w.append((p + "mlp.down_proj.weight", normal([H, I], STD["mlp"])))
    w.append(("model.norm.weight", norm_weight(H)))
    if not c["tie_word_embeddings"]:
        w.append(("lm_head.weight", normal([c["vocab_size"], H], STD["lm_head"])))
    return w


# ---------------------------------------------------------------------------------------------
# safetensors, written by hand


def tensor_bytes(t):
    if t.dtype == torch.bfloat16:
        return "BF16", t.contiguous().view(torch.int16).numpy().astype("<i2").tobytes()
    if t.dtype == torch.float32:
        return "F32", t.contiguous().numpy().astype("<f4").tobytes()
    if t.dtype == torch.int32:
        return "I32", t.contiguous().numpy().astype("<i4").tobytes()
    raise ValueError(f"unsupported dtype {t.dtype}")


def write_safetensors(path, tensors, metadata=None):
    """8-byte little-endian header length, JSON header (data 8-byte aligned), raw little-endian data."""
    header = {"__metadata__": dict({"format": "pt"}, **(metadata or {}))}
    blobs, offset = [], 0
    for name, t in tensors:
        dtype, data = tensor_bytes(t)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    return offset


def write_checkpoint(out, weights):
    """Two shards split at half the bytes, in state_dict order (so a layer may straddle them)."""
    sizes = [t.numel() * 2 for _, t in weights]
    total, acc, cut = sum(sizes), 0, len(weights) - 1
    for i, s in enumerate(sizes):
        acc += s
        if acc >= total / 2:
            cut = i + 1
            break
    shards = [weights[:cut], weights[cut:]]
    weight_map = {}
    for k, shard in enumerate(shards):
        fname = f"model-{k + 1:05d}-of-{len(shards):05d}.safetensors"
        write_safetensors(os.path.join(out, fname), shard)
        for name, _ in shard:
            weight_map[name] = fname
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        # save_pretrained writes the index with indent 2 and sorted keys
        f.write(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2, sort_keys=True) + "\n")


# ---------------------------------------------------------------------------------------------
# RoPE frequencies (modeling_rope_utils), in float64


def rope_type_of(c):
    s = c.get("rope_scaling")
    if not s:
        return "default"
    return s.get("rope_type", s.get("type", "default"))


def inv_freq_plain(dim, base):
    """theta_i = base^(-2i/dim), i = 0 .. dim/2 - 1."""
    return 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))


def rope_parameters(c, seq_len, scaling=True):
    """(inv_freq [dim/2] float64, attention_factor) as transformers computes them for a forward of
    seq_len = max(position_ids) + 1 tokens."""
    dim, base = head_dim_of(c), float(c["rope_theta"])
    kind = rope_type_of(c) if scaling else "default"
    s = c.get("rope_scaling") or {}
    if kind == "default":
        return inv_freq_plain(dim, base), 1.0
    if kind == "linear":
        return inv_freq_plain(dim, base) / s["factor"], 1.0
    if kind == "dynamic":
        max_pos, factor = c["max_position_embeddings"], s["factor"]
        L = max(seq_len, max_pos)  # transformers: frequencies recomputed only when seq_len > max_position_embeddings
        base = base * ((factor * L / max_pos) - (factor - 1)) ** (dim / (dim - 2))
        return inv_freq_plain(dim, base), 1.0
    if kind == "llama3":
        inv = inv_freq_plain(dim, base)
        factor, lf, hf = s["factor"], s["low_freq_factor"], s["high_freq_factor"]
        L0 = s["original_max_position_embeddings"]
        low_wavelen, high_wavelen = L0 / lf, L0 / hf
        out = inv.clone()
        for i in range(len(inv)):
            wavelen = 2 * math.pi / inv[i].item()
            if wavelen > low_wavelen:
                out[i] = inv[i] / factor
            elif wavelen >= high_wavelen:  # medium band: high_wavelen <= wavelen <= low_wavelen
                smooth = (L0 / wavelen - lf) / (hf - lf)
                out[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i]
        return out, 1.0
    if kind == "yarn":
        factor = s["factor"]
        L0 = s.get("original_max_position_embeddings", c["max_position_embeddings"])
        attention_factor = s.get("attention_factor")
        mscale, mscale_all_dim = s.get("mscale"), s.get("mscale_all_dim")

        def get_mscale(scale, m=1.0):
            return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

        if attention_factor is None:
            if mscale and mscale_all_dim:
                attention_factor = get_mscale(factor, mscale) / get_mscale(factor, mscale_all_dim)
            else:
                attention_factor = get_mscale(factor)
        beta_fast = s.get("beta_fast") or 32
        beta_slow = s.get("beta_slow") or 1

        def correction_dim(rotations):
            return (dim * math.log(L0 / (rotations * 2 * math.pi))) / (2 * math.log(base))

        low, high = correction_dim(beta_fast), correction_dim(beta_slow)
        if s.get("truncate", True):
            low, high = math.floor(low), math.ceil(high)
        low, high = max(low, 0), min(high, dim - 1)
        if low == high:
            high += 0.001
        ramp = ((torch.arange(dim // 2, dtype=torch.float64) - low) / (high - low)).clamp(0, 1)
        extrapolation = 1 - ramp
        inv = inv_freq_plain(dim, base)
        out = (inv / factor) * (1 - extrapolation) + inv * extrapolation
        return out, float(attention_factor)
    raise ValueError(f"rope type {kind} not covered")


def rope_cos_sin(c, T_, scaling=True):
    inv, attn = rope_parameters(c, T_, scaling)
    pos = torch.arange(T_, dtype=torch.float64)
    freqs = pos[:, None] * inv[None, :]             # [T, dim/2]
    emb = torch.cat([freqs, freqs], dim=-1)         # [T, dim]: rotate-half layout
    return emb.cos() * attn, emb.sin() * attn


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


# ---------------------------------------------------------------------------------------------
# The forward, float64


def rms_norm(x, w, eps):
    return x / torch.sqrt((x * x).mean(dim=-1, keepdim=True) + eps) * w


def forward(c, W, tokens, off=None):
    """Logits [windows, T, vocab]. `off` names the feature switched off: 'rope' (no RoPE at all),
    'scaling' (plain RoPE), 'window' (full causal), 'bias' (q/k/v biases zero), 'qknorm' (skipped)."""
    nW, nT = tokens.shape
    hd, nh, nkv, eps = head_dim_of(c), c["num_attention_heads"], c["num_key_value_heads"], c["rms_norm_eps"]
    rep = nh // nkv
    cos, sin = rope_cos_sin(c, nT, scaling=(off != "scaling"))
    window = c.get("sliding_window")
    if c["model_type"] == "qwen2" and not c.get("use_sliding_window", False):
        window = None  # Qwen2Config: sliding_window = sliding_window if use_sliding_window else None
    if c["model_type"] == "qwen3" and not c.get("use_sliding_window", False):
        window = None
    if off == "window":
        window = None
    i = torch.arange(nT)[:, None]
    j = torch.arange(nT)[None, :]
    allowed = j <= i
    if window is not None:
        allowed = allowed & (j > i - window)  # masking_utils.sliding_window_overlay: kv_idx > q_idx - sliding_window
    mask = torch.zeros(nT, nT, dtype=torch.float64).masked_fill(~allowed, float("-inf"))

    def lin(x, name, bias=True):
        y = x @ W[name + ".weight"].T
        if bias and (name + ".bias") in W and off != "bias":
            y = y + W[name + ".bias"]
        return y

    x = W["model.embed_tokens.weight"][tokens.long()]  # [W, T, H]
    cos, sin, mask = cos.to(x.dtype), sin.to(x.dtype), mask.to(x.dtype)
    for layer in range(c["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        h = rms_norm(x, W[p + "input_layernorm.weight"], eps)
        q = lin(h, p + "self_attn.q_proj").view(nW, nT, nh, hd)
        k = lin(h, p + "self_attn.k_proj").view(nW, nT, nkv, hd)
        v = lin(h, p + "self_attn.v_proj").view(nW, nT, nkv, hd)
        if (p + "self_attn.q_norm.weight") in W and off != "qknorm":
            q = rms_norm(q, W[p + "self_attn.q_norm.weight"], eps)  # per head, over head_dim, before RoPE
            k = rms_norm(k, W[p + "self_attn.k_norm.weight"], eps)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [W, heads, T, hd]
        if off != "rope":
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(rep, dim=1)  # repeat_kv: query head h reads kv head h // rep
        v = v.repeat_interleave(rep, dim=1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd) + mask
        attn = torch.softmax(scores, dim=-1) @ v  # [W, heads, T, hd]
        attn = attn.transpose(1, 2).reshape(nW, nT, nh * hd)
        x = x + lin(attn, p + "self_attn.o_proj")
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        gate = lin(h, p + "mlp.gate_proj")
        x = x + lin(torch.nn.functional.silu(gate) * lin(h, p + "mlp.up_proj"), p + "mlp.down_proj")
    x = rms_norm(x, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if c["tie_word_embeddings"] else W["lm_head.weight"]
    return x @ head.T


FEATURE_OFF = {
    "llama2": "rope",
    "llama3_rope": "scaling",
    "linear_rope": "scaling",
    "dynamic_rope": "scaling",
    "yarn_rope": "scaling",
    "mistral_window": "window",
    "qwen2_bias": "bias",
    "qwen3_qknorm": "qknorm",
}


def make_case(out_root, name, seed, config, covers, off_text):
    out = os.path.join(out_root, name)
    os.makedirs(out, exist_ok=True)
    for old in os.listdir(out):
        os.remove(os.path.join(out, old))
    with open(os.path.join(out, "config.json"), "w") as f:
        f.write(json.dumps(config, indent=2, sort_keys=True) + "\n")  # as PretrainedConfig.to_json_string
    weights = make_weights(config, seed)
    write_checkpoint(out, weights)

    g = torch.Generator().manual_seed(seed + 100000)
    tokens = torch.randint(0, TOKEN_LIMIT, (WINDOWS, T), generator=g, dtype=torch.int64).to(torch.int32)
    W64 = {n: t.to(torch.float64) for n, t in weights}  # the BF16-rounded values, exactly
    with torch.no_grad():
        logits = forward(config, W64, tokens)
        logits_off = forward(config, W64, tokens, off=FEATURE_OFF[name])
    write_safetensors(
        os.path.join(out, "reference.safetensors"),
        [("tokens", tokens), ("logits", logits.to(torch.float32)), ("logits_feature_off", logits_off.to(torch.float32))],
        {"case": name, "covers": covers, "feature_off": off_text, "torch": torch.__version__},
    )
    inv, attn = rope_parameters(config, T)
    size = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    return {
        "max_abs_logit": logits.abs().max().item(),
        "std_logit": logits.std().item(),
        "max_abs_feature_effect": (logits - logits_off).abs().max().item(),
        "inv_freq": [round(v, 8) for v in inv.tolist()],
        "attention_factor": attn,
        "bytes": size,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--only", nargs="*", help="case names (default: all)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    cases = case_configs()
    names = a.only or list(cases)
    for n in names:
        if n not in cases:
            sys.exit(f"error: unknown case {n}; cases: {', '.join(cases)}")
    os.makedirs(a.out, exist_ok=True)
    print(f"torch {torch.__version__}")
    for n in names:
        seed, config, covers, off_text = cases[n]
        r = make_case(a.out, n, seed, config, covers, off_text)
        print(f"{n:15s} max|logit| {r['max_abs_logit']:7.3f}  std {r['std_logit']:6.3f}  "
              f"max|logit - off| {r['max_abs_feature_effect']:7.3f}  attention_factor {r['attention_factor']:.6f}  "
              f"{r['bytes'] / 1024:6.1f} KiB")
        print(f"{'':15s} inv_freq {r['inv_freq']}")


if __name__ == "__main__":
    main()
