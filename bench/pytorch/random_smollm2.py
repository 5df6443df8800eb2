#!/usr/bin/python3
"""Writes a Hugging Face model folder with SmolLM2-135M's architecture and random BF16 weights (no hub here), for
decoding benchmarks of the llama path: 30 layers, 576-d, 9 query heads / 3 kv heads, SwiGLU 1536, vocab 49,152, tied head.

    /usr/bin/python3 bench/pytorch/random_smollm2.py OUT_DIR

The tokenizer is a byte-level BPE without merges (256 bytes, then 48,895 placeholder tokens "<tN>" so that every id the
random model emits decodes to text): decoding speed does not depend on it.
"""
import json
import os
import struct
import sys

import torch


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    c, inter, heads, kv, vocab, layers = 576, 1536, 9, 3, 49152, 30
    d = c // heads
    cfg = dict(model_type="llama", vocab_size=vocab, hidden_size=c, intermediate_size=inter, num_hidden_layers=layers,
               num_attention_heads=heads, num_key_value_heads=kv, max_position_embeddings=8192, rms_norm_eps=1e-5,
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
        b = t.bfloat16().view(torch.int16).numpy().tobytes()
        header[k] = {"dtype": "BF16", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
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
    tok = {"version": "1.0", "added_tokens": [{"id": 0, "content": "<|endoftext|>", "special": True, "single_word": False,
                                                "lstrip": False, "rstrip": False, "normalized": False}],
           "normalizer": None,
           "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
           "post_processor": None, "decoder": {"type": "ByteLevel"},
           "model": {"type": "BPE", "vocab": vocab_map, "merges": []}}
    json.dump(tok, open(os.path.join(out, "tokenizer.json"), "w"))
    json.dump({"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"}, open(os.path.join(out, "tokenizer_config.json"), "w"))
    print(f"wrote {out}: {sum(t.numel() for t in w.values())} parameters")


if __name__ == "__main__":
    main()
