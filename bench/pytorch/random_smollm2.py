#!/usr/bin/python3
"""Writes a Hugging Face model folder with SmolLM2's architecture (llama: RMSNorm, RoPE, grouped-query attention,
SwiGLU, tied head) and random weights (no hub here), for decoding benchmarks and tests of the llama path. The defaults
are SmolLM2-135M's sizes: 30 layers, 576-d, 9 query heads / 3 kv heads, SwiGLU 1536, vocab 49,152 (269 MB in BF16).

    /usr/bin/python3 bench/pytorch/random_smollm2.py OUT_DIR
    /usr/bin/python3 bench/pytorch/random_smollm2.py OUT_DIR --layers 2 --hidden 64 --heads 4 --kv-heads 2 --vocab 300

The tokenizer is a byte-level BPE without merges (256 bytes, then placeholder tokens "<tN>" so that every id the
random model emits decodes to text): decoding speed does not depend on it. Its tokenizer.json is in the form that
Hugging Face `tokenizers` writes and reads (Tokenizer.from_file).
"""
import argparse
import json
import os
import struct
import sys

import torch


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("out", metavar="OUT_DIR", help="folder to write config.json, model.safetensors, tokenizer.json, tokenizer_config.json into")
    ap.add_argument("--layers", type=int, default=30, help="decoder layers (num_hidden_layers)")
    ap.add_argument("--hidden", type=int, default=576, help="model width (hidden_size)")
    ap.add_argument("--heads", type=int, default=9, help="query heads (num_attention_heads); must divide --hidden")
    ap.add_argument("--kv-heads", type=int, default=3, help="key/value heads (num_key_value_heads); must divide --heads")
    ap.add_argument("--intermediate", type=int, default=1536, help="SwiGLU width (intermediate_size)")
    ap.add_argument("--vocab", type=int, default=49152, help="vocabulary size; at least 257 (the end-of-text token and 256 bytes)")
    ap.add_argument("--max-positions", type=int, default=8192, help="max_position_embeddings (the model's context)")
    ap.add_argument("--dtype", choices=("bf16", "f32"), default="bf16", help="weight type in model.safetensors")
    ap.add_argument("--seed", type=int, default=0, help="torch seed of the random weights")
    a = ap.parse_args(argv)
    for name in ("layers", "hidden", "heads", "kv_heads", "intermediate", "max_positions"):
        if getattr(a, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(a, name)}")
    if a.hidden % a.heads:
        ap.error(f"--heads {a.heads} must divide --hidden {a.hidden}")
    if a.heads % a.kv_heads:
        ap.error(f"--kv-heads {a.kv_heads} must divide --heads {a.heads}")
    if (a.hidden // a.heads) % 2:
        ap.error(f"the head size --hidden / --heads = {a.hidden // a.heads} must be even (rotary embedding)")
    if a.vocab < 257:
        ap.error(f"--vocab must be at least 257 (the end-of-text token and 256 bytes), got {a.vocab}")
    if os.path.exists(os.path.join(a.out, "model.safetensors")):
        ap.error(f"{a.out} already holds a model.safetensors; give a new folder")
    return a


def tokenizer_json(vocab):
    """Byte-level BPE without merges in the exact form `tokenizers` serialises (every field it requires present)."""
    # GPT-2's byte-to-unicode table: printable bytes map to themselves, the rest to U+0100 onwards.
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    table, extra = {}, 0
    for byte in range(256):
        if byte in keep:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + extra)
            extra += 1
    vocab_map = {"<|endoftext|>": 0}
    for byte in range(256):
        vocab_map[table[byte]] = byte + 1
    for i in range(257, vocab):                                              # unreachable by merges, but decodable
        vocab_map[f"<t{i}>"] = i
    byte_level = {"add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {"version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [{"id": 0, "content": "<|endoftext|>", "single_word": False, "lstrip": False, "rstrip": False,
                              "normalized": False, "special": True}],
            "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", **byte_level},
            "post_processor": None,
            "decoder": {"type": "ByteLevel", **byte_level},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                      "vocab": vocab_map, "merges": []}}


def main(argv=None):
    a = parse_args(argv)
    out = a.out
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(a.seed)
    c, inter, heads, kv, vocab, layers = a.hidden, a.intermediate, a.heads, a.kv_heads, a.vocab, a.layers
    d = c // heads
    cfg = dict(architectures=["LlamaForCausalLM"], model_type="llama", vocab_size=vocab, hidden_size=c, intermediate_size=inter, num_hidden_layers=layers,
               num_attention_heads=heads, num_key_value_heads=kv, max_position_embeddings=a.max_positions, rms_norm_eps=1e-5,
               rope_theta=100000.0, hidden_act="silu", tie_word_embeddings=True, rope_scaling=None,
               eos_token_id=0, bos_token_id=0)
    w = {"model.embed_tokens.weight": 0.02 * torch.randn(vocab, c), "model.norm.weight": torch.ones(c)}
    for i in range(layers):
        p = f"model.layers.{i}."
        for name, shape in [("self_attn.q_proj", (heads * d, c)), ("self_attn.k_proj", (kv * d, c)), ("self_attn.v_proj", (kv * d, c)),
                            ("self_attn.o_proj", (c, heads * d)), ("mlp.gate_proj", (inter, c)), ("mlp.up_proj", (inter, c)),
                            ("mlp.down_proj", (c, inter))]:
            w[p + name + ".weight"] = 0.02 * torch.randn(*shape)
        w[p + "input_layernorm.weight"] = torch.ones(c)
        w[p + "post_attention_layernorm.weight"] = torch.ones(c)
    header, offset, blobs = {}, 0, []
    for k, t in w.items():
        b = t.bfloat16().view(torch.int16).numpy().tobytes() if a.dtype == "bf16" else t.float().numpy().tobytes()
        header[k] = {"dtype": "BF16" if a.dtype == "bf16" else "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    json.dump(cfg, open(os.path.join(out, "config.json"), "w"))
    json.dump(tokenizer_json(vocab), open(os.path.join(out, "tokenizer.json"), "w"))
    json.dump({"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"}, open(os.path.join(out, "tokenizer_config.json"), "w"))
    print(f"wrote {out}: {sum(t.numel() for t in w.values())} parameters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
