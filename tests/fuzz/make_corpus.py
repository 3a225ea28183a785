#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/<target>/ (committed; rerun only to change them).

  tests/fuzz/make_corpus.py BUILD_DIR [exported_folder]

With exported_folder only that target's seeds are rewritten (they need quantize and export).

BUILD_DIR is a Release build (its quantbench-cli makes the quantized configs and the session;
its third_party/tokenizers holds the real tokenizer files, shrunk here to a few hundred tokens).
Seeds come from the test fixtures and the bundled model's small files; large files are cut
down or crafted by hand so that every seed stays a few KB (libFuzzer mutates small inputs fast).
"""
import json, os, shutil, struct, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(sys.argv[1])
CLI = os.path.join(BUILD, 'app/cli/quantbench-cli')
MODEL = os.path.join(ROOT, 'resources/models/stories260K')
FAMILIES = os.path.join(ROOT, 'tests/fixtures/families')
OUT = os.path.join(ROOT, 'tests/fuzz/corpus')
SPLIT = b'\n#qb-fuzz-split#\n'  # fuzz_support.h kSplitMarker


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def safetensors(tensors, metadata=None):
    """tensors: [(name, dtype, shape, bytes)] -> file bytes (8-byte aligned data)."""
    header, data = {}, b''
    for name, dtype, shape, blob in tensors:
        data += b'\0' * (-len(data) % 8)
        header[name] = {'dtype': dtype, 'shape': shape, 'data_offsets': [len(data), len(data) + len(blob)]}
        data += blob
    if metadata is not None:
        header['__metadata__'] = metadata
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-(8 + len(text)) % 8)
    return struct.pack('<Q', len(text)) + text + data


def gguf(version, kvs, tensors, alignment=32):
    """kvs: [(key, type, value)]; tensors: [(name, ne, ggml_type, data)] -> file bytes."""
    def s(x):
        b = x.encode()
        return struct.pack('<Q', len(b)) + b
    fmt = {0: '<B', 1: '<b', 2: '<H', 3: '<h', 4: '<I', 5: '<i', 6: '<f', 7: '<?', 10: '<Q', 11: '<q', 12: '<d'}

    def val(t, v):
        if t == 8:
            return s(v)
        if t == 9:
            et, items = v
            return struct.pack('<IQ', et, len(items)) + b''.join(val(et, i) for i in items)
        return struct.pack(fmt[t], v)
    out = b'GGUF' + struct.pack('<IQQ', version, len(tensors), len(kvs))
    for k, t, v in kvs:
        out += s(k) + struct.pack('<I', t) + val(t, v)
    offset, blobs = 0, b''
    for name, ne, typ, data in tensors:
        offset += -offset % alignment
        blobs += b'\0' * (offset - len(blobs))
        out += s(name) + struct.pack('<I', len(ne)) + b''.join(struct.pack('<Q', n) for n in ne)
        out += struct.pack('<IQ', typ, offset)
        blobs += data
        offset += len(data)
    out += b'\0' * (-len(out) % alignment)
    return out + blobs


def shrink_tokenizer(tok, cfg, keep=320):
    """The real tokenizer.json cut to its first `keep` ids, merges among them, added tokens renumbered."""
    model = tok['model']
    vocab = model.get('vocab')
    if isinstance(vocab, dict):
        kept = {p: i for p, i in vocab.items() if i < keep}
        model['vocab'] = kept
        merges = []
        for m in model.get('merges', []):
            a, b = m.split(' ', 1) if isinstance(m, str) else m
            if a in kept and b in kept and (a + b) in kept:
                merges.append(m)
        model['merges'] = merges
    added = []
    for n, t in enumerate(tok.get('added_tokens') or []):
        if t['id'] < keep:
            added.append(t)
        elif len(added) < 6:
            t = dict(t)
            t['id'] = keep + n
            added.append(t)
    tok['added_tokens'] = added
    if cfg is not None:
        cfg.pop('chat_template', None)
        atd = cfg.get('added_tokens_decoder')
        if isinstance(atd, dict):
            ids = {str(t['id']): t['content'] for t in added}
            cfg['added_tokens_decoder'] = {i: {**v, 'content': ids[i]} for i, v in atd.items() if i in ids}
    return tok, cfg


def exported_folder_seeds(tmp):
    """exported_folder: config.json + SPLIT + model.safetensors of the bundled model quantized
    with a 4-bit g32 RTN plan and exported to each HF format (and bf16), cut to layer 0: its
    modules' tensors (gate/up kept only where quantized, to stay under 64 KB) and the
    quantization_config entries that name layer 0."""
    d = os.path.join(OUT, 'exported_folder')
    if os.path.isdir(d):
        shutil.rmtree(d)
    plan = os.path.join(tmp, 'rtn.json')
    with open(plan, 'w') as f:
        json.dump({'default': {'method': 'rtn', 'bits': 4, 'group_size': 32}}, f)
    calib = os.path.join(ROOT, 'resources/data/tinystories/calib.txt')
    q = os.path.join(tmp, 'rtn')
    subprocess.run([CLI, 'quantize', '--model', MODEL, '--plan', plan, '--calib', calib, '--out', q,
                    '--calib-windows', '2', '--calib-ctx', '32', '--quiet', '--threads', '1'], check=True, stdout=subprocess.DEVNULL)
    exports = {'gptq': ['--format', 'gptq'], 'gptq_v2': ['--format', 'gptq', '--checkpoint-format', 'gptq_v2'],
               'awq': ['--format', 'awq'], 'compressed_tensors': ['--format', 'compressed-tensors'], 'bf16': ['--format', 'bf16']}
    layer0 = lambda name: '.layers.0.' in name
    for seed, args in exports.items():
        out = os.path.join(tmp, 'e-' + seed)
        subprocess.run([CLI, 'export', '--model', q, '--out', out, '--no-check', '--threads', '1'] + args, check=True,
                       stdout=subprocess.DEVNULL)
        cfg = json.loads(read(os.path.join(out, 'config.json')))
        qc = cfg.get('quantization_config', {})
        if 'dynamic' in qc:
            qc['dynamic'] = {k: v for k, v in qc['dynamic'].items() if 'layers\\.0\\.' in k}
        for key in ('modules_to_not_convert', 'ignore'):
            if key in qc:
                qc[key] = [m for m in qc[key] if layer0(m) or 'layers' not in m]
        for g in qc.get('config_groups', {}).values():
            g['targets'] = [t for t in g['targets'] if layer0(t)]
        blob = read(os.path.join(out, 'model.safetensors'))
        n = struct.unpack('<Q', blob[:8])[0]
        header = json.loads(blob[8:8 + n])
        keep = []
        for name, t in sorted(header.items()):
            if name == '__metadata__' or not layer0(name) or 'layernorm' in name:
                continue
            if seed == 'bf16' and '.mlp.' in name:
                continue
            if seed != 'compressed_tensors' and name.endswith(('gate_proj.weight', 'up_proj.weight')):
                continue
            a, b = t['data_offsets']
            keep.append((name, t['dtype'], t['shape'], blob[8 + n + a:8 + n + b]))
        put('exported_folder', seed, json.dumps(cfg, indent=1).encode() + SPLIT + safetensors(keep))


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    tmp = tempfile.mkdtemp(prefix='qb-corpus-')
    f32 = lambda *v: struct.pack('<%df' % len(v), *v)

    # safetensors: hand-made files of each dtype, metadata, empty and scalar tensors.
    put('safetensors', 'f32_f16_bf16', safetensors([('a.weight', 'F32', [2, 2], f32(1, 2, 3, 4)),
                                                    ('b', 'F16', [3], struct.pack('<3H', 0x3c00, 0x4000, 0xc000)),
                                                    ('c', 'BF16', [1, 2], struct.pack('<2H', 0x3f80, 0x4000))],
                                                   {'format': 'pt', 'note': 'seed'}))
    put('safetensors', 'ints', safetensors([('i8', 'I8', [4], bytes([1, 2, 255, 0])), ('u8', 'U8', [2], b'\x07\x08'),
                                            ('i32', 'I32', [2], struct.pack('<2i', -1, 7)), ('i64', 'I64', [1], struct.pack('<q', 9)),
                                            ('i16', 'I16', [1], struct.pack('<h', -3)), ('f64', 'F64', [1], struct.pack('<d', 0.5)),
                                            ('flag', 'BOOL', [2], b'\x01\x00')]))
    put('safetensors', 'empty_and_scalar', safetensors([('empty', 'F32', [0, 4], b''), ('scalar', 'F32', [], f32(5))]))
    put('safetensors', 'no_tensors', safetensors([], {}))
    put('safetensors', 'header_only_garbage', struct.pack('<Q', 16) + b'{"x":{"dtype":1}')

    # config.json: the bundled model, every family fixture, a quantized model (below).
    put('model_config', 'stories260K', read(os.path.join(MODEL, 'config.json')))
    for fam in sorted(os.listdir(FAMILIES)):
        if os.path.isdir(os.path.join(FAMILIES, fam)):
            put('model_config', fam, read(os.path.join(FAMILIES, fam, 'config.json')))
            put('checkpoint_index', fam, read(os.path.join(FAMILIES, fam, 'model.safetensors.index.json')))

    # plans: the README's example, every method with its keys, -1 groups, globs.
    plans = {
        'readme': {'default': {'method': 'gptq', 'bits': 4, 'group_size': 128},
                   'rules': [{'match': 'model.layers.*.mlp.down_proj', 'bits': 8}, {'match': 'model.layers.0.*', 'method': 'fp16'}]},
        'gptq_all_keys': {'default': {'method': 'gptq', 'bits': 3, 'group_size': -1, 'sym': True, 'act_order': True,
                                      'damp_percent': 0.05, 'block_size': 64, 'static_groups': True}},
        'awq': {'default': {'method': 'awq', 'bits': 4, 'group_size': 64, 'grid': 20, 'clip_search': False},
                'rules': [{'match': '*q_proj', 'bits': 2}, {'match': 'lm_head'}]},
        'int8_family': {'default': {'method': 'w8a8', 'act_bits': 8},
                        'rules': [{'match': '*.self_attn.?_proj', 'method': 'smoothquant', 'alpha': 0.5, 'act_bits': 6},
                                  {'match': '*mlp*', 'method': 'llm_int8', 'threshold': 6.0}]},
        'rtn': {'default': {'method': 'rtn', 'bits': 4, 'group_size': 32}},
    }
    for name, p in plans.items():
        put('plan', name, json.dumps(p, indent=1))

    # quantized checkpoints: quantize writes config.json with quantization_config (GPTQ keys,
    # dynamic overrides, quantbench.modules); a GPTQModel-style config with only "dynamic".
    plan = os.path.join(tmp, 'plan.json')
    with open(plan, 'w') as f:
        json.dump({'default': {'method': 'rtn', 'bits': 4, 'group_size': 32},
                   'rules': [{'match': 'model.layers.1.self_attn.k_proj', 'method': 'w8a8'},
                             {'match': 'model.layers.1.self_attn.v_proj', 'method': 'llm_int8', 'threshold': 0.5},
                             {'match': 'model.layers.1.self_attn.o_proj', 'method': 'fp16'},
                             {'match': 'model.layers.1.mlp.down_proj', 'bits': 8},
                             {'match': 'model.layers.1.mlp.up_proj', 'group_size': -1, 'sym': True},
                             {'match': 'model.layers.1.mlp.gate_proj', 'bits': 3}]}, f)
    calib = os.path.join(ROOT, 'resources/data/tinystories/calib.txt')
    session = os.path.join(tmp, 'session.h5')
    subprocess.run([CLI, 'quantize', '--model', MODEL, '--plan', plan, '--calib', calib, '--out', os.path.join(tmp, 'q'),
                    '--calib-windows', '2', '--calib-ctx', '64', '--quiet', '--threads', '1', '--session', session],
                   check=True, stdout=subprocess.DEVNULL)
    qconfig = read(os.path.join(tmp, 'q', 'config.json'))
    put('quantized_checkpoint', 'mixed_plan', qconfig)
    put('model_config', 'quantized_mixed_plan', qconfig)
    cfg = json.loads(qconfig)
    q = cfg['quantization_config']
    q.pop('quantbench', None)
    q['dynamic'] = {r'-:model\.layers\.1\.self_attn\.o_proj': {}, r'+:.*mlp\.down_proj': {'bits': 8, 'group_size': 32},
                    r'+:.*gate_proj': {'bits': 3}, r'+:.*up_proj': {'group_size': -1, 'sym': True}}
    put('quantized_checkpoint', 'gptqmodel_dynamic', json.dumps(cfg, indent=1))
    q['checkpoint_format'] = 'gptq_v2'
    q.pop('dynamic')
    put('quantized_checkpoint', 'gptq_v2_plain', json.dumps(cfg, indent=1))
    put('session_store', 'one_run', read(session))

    # tokenizers: each real tokenizer.json + tokenizer_config.json cut to 320 ids.
    tokdir = os.path.join(BUILD, 'third_party/tokenizers')
    for fam in sorted(os.listdir(tokdir)):
        with open(os.path.join(tokdir, fam, 'tokenizer.json'), encoding='utf-8') as f:
            tok = json.load(f)
        cpath = os.path.join(tokdir, fam, 'tokenizer_config.json')
        cfgj = json.load(open(cpath, encoding='utf-8')) if os.path.exists(cpath) else None
        tok, cfgj = shrink_tokenizer(tok, cfgj)
        data = json.dumps(tok, ensure_ascii=False, separators=(',', ':')).encode()
        put('hf_tokenizer', fam + '_no_config', data)
        if cfgj is not None:
            put('hf_tokenizer', fam, data + SPLIT + json.dumps(cfgj, ensure_ascii=False).encode())

    # GGUF: v3 and v2 files with every metadata type, nested arrays and F32/F16/Q8_0/Q4_0 tensors.
    kvs = [('general.architecture', 8, 'llama'), ('general.name', 8, 'seed'), ('llama.block_count', 4, 1),
           ('llama.rope.freq_base', 6, 10000.0), ('general.file_type', 4, 1), ('u8', 0, 7), ('i8', 1, -7), ('u16', 2, 9),
           ('i16', 3, -9), ('i32', 5, -1), ('b', 7, True), ('u64', 10, 1 << 40), ('i64', 11, -5), ('f64', 12, 0.25),
           ('tokenizer.ggml.tokens', 9, (8, ['<unk>', '<s>', 'a'])), ('tokenizer.ggml.scores', 9, (6, [0.0, -1.0, -2.5])),
           ('nested', 9, (9, [(4, [1, 2]), (4, [3])])), ('general.alignment', 4, 32)]
    q8 = struct.pack('<H', 0x3c00) + bytes(range(32))
    q4 = struct.pack('<H', 0x3800) + bytes(range(16))
    tensors = [('token_embd.weight', [4, 2], 0, f32(*range(8))), ('output_norm.weight', [4], 1, struct.pack('<4H', *[0x3c00] * 4)),
               ('blk.0.attn_q.weight', [32, 1], 8, q8), ('blk.0.ffn_down.weight', [32, 2], 2, q4 + q4)]
    put('gguf_reader', 'v3_mixed', gguf(3, kvs, tensors))
    put('gguf_reader', 'v2_small', gguf(2, kvs[:4], tensors[:2]))
    put('gguf_reader', 'no_tensors', gguf(3, kvs[:2], []))
    exported_folder_seeds(tmp)
    shutil.rmtree(tmp)


if __name__ == '__main__':
    if sys.argv[2:] == ['exported_folder']:
        tmp = tempfile.mkdtemp(prefix='qb-corpus-')
        exported_folder_seeds(tmp)
        shutil.rmtree(tmp)
    else:
        main()
