# Independent PyTorch reference for GenSharp's pretrained-model loader (tests/GenSharp.Tests/Models/Pretrained/HfReferenceTests.cs):
# tiny random gpt2 / llama (GQA with one kv head, head_dim != hidden/heads, llama3 RoPE scaling, untied head) /
# qwen2 (q/k/v biases, GQA, tied head) models written as Hugging Face folders (config.json, F32 model.safetensors with
# HF names, gpt2 Conv1D weights (in, out) and without the "transformer." prefix, a byte-level tokenizer.json), each
# with the logits this file's own forward pass (plain PyTorch following the HF model definitions: rotate_half RoPE,
# repeat_kv, RMSNorm, SwiGLU, tanh GELU) gives for a fixed token sequence.
# Run: /usr/bin/python3 bench/pytorch/hf_reference.py [OUT]   (default tests/GenSharp.Tests/Fixtures/HfReference)
import json, math, os, struct, sys, torch
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "tests", "GenSharp.Tests", "Fixtures", "HfReference")
torch.manual_seed(0)
V = 260
def save_st(path, tensors):
    header, off, blobs = {}, 0, []
    for k, t in tensors.items():
        b = t.contiguous().float().numpy().tobytes()
        header[k] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        off += len(b); blobs.append(b)
    h = json.dumps(header).encode(); h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h); [f.write(b) for b in blobs]
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]; n = 0
    for b in range(256):
        if b not in bs: bs.append(b); cs.append(256 + n); n += 1
    return dict(zip(bs, map(chr, cs)))
def tokenizer(d):
    bu = bytes_to_unicode()
    vocab = {bu[b]: b for b in range(256)}
    json.dump({"model": {"type": "BPE", "vocab": vocab, "merges": []}, "added_tokens": [],
               "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}, "decoder": {"type": "ByteLevel"}},
              open(os.path.join(d, "tokenizer.json"), "w"))
tokens = torch.tensor([[5, 17, 200, 33, 250, 9, 120, 77, 3, 64, 180]])

def rms(x, w, eps): return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))
def rotate_half(x): x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]; return torch.cat((-x2, x1), -1)
def llama_inv_freq(cfg, D):
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    rs = cfg.get("rope_scaling")
    if rs:
        f, lo, hi, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
        wl = 2 * math.pi / inv
        out = torch.where(wl > old / lo, inv / f, inv)
        sm = (old / wl - lo) / (hi - lo)
        smoothed = (1 - sm) * out / f + sm * out
        med = ~(wl < old / hi) & ~(wl > old / lo)
        inv = torch.where(med, smoothed, out)
    return inv
def llama(cfg, W, toks):
    H, KV, C = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["hidden_size"]
    D = cfg.get("head_dim", C // H); T = toks.shape[1]; eps = cfg["rms_norm_eps"]
    inv = llama_inv_freq(cfg, D)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None]
    emb = torch.cat((ang, ang), -1); cos, sin = emb.cos().float(), emb.sin().float()
    x = W["model.embed_tokens.weight"][toks]
    mask = torch.full((T, T), float("-inf")).triu(1)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        def lin(n, h):
            y = h @ W[p + n + ".weight"].T
            return y + W[p + n + ".bias"] if p + n + ".bias" in W else y
        h = rms(x, W[p + "input_layernorm.weight"], eps)
        q = lin("self_attn.q_proj", h).view(1, T, H, D).transpose(1, 2)
        k = lin("self_attn.k_proj", h).view(1, T, KV, D).transpose(1, 2)
        v = lin("self_attn.v_proj", h).view(1, T, KV, D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin; k = k * cos + rotate_half(k) * sin
        k = k[:, :, None].expand(1, KV, H // KV, T, D).reshape(1, H, T, D)
        v = v[:, :, None].expand(1, KV, H // KV, T, D).reshape(1, H, T, D)
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D) + mask, -1) @ v
        x = x + lin("self_attn.o_proj", a.transpose(1, 2).reshape(1, T, H * D))
        h = rms(x, W[p + "post_attention_layernorm.weight"], eps)
        x = x + lin("mlp.down_proj", torch.nn.functional.silu(lin("mlp.gate_proj", h)) * lin("mlp.up_proj", h))
    x = rms(x, W["model.norm.weight"], eps)
    return x @ W.get("lm_head.weight", W["model.embed_tokens.weight"]).T
def gpt2(cfg, W, toks):
    C, H, T = cfg["n_embd"], cfg["n_head"], toks.shape[1]; D = C // H
    x = W["wte.weight"][toks] + W["wpe.weight"][:T]
    mask = torch.full((T, T), float("-inf")).triu(1)
    ln = lambda h, n: torch.nn.functional.layer_norm(h, (C,), W[n + ".weight"], W[n + ".bias"], cfg["layer_norm_epsilon"])
    conv = lambda h, n: h @ W[n + ".weight"] + W[n + ".bias"]          # Conv1D: weight (in, out)
    for i in range(cfg["n_layer"]):
        p = f"h.{i}."
        qkv = conv(ln(x, p + "ln_1"), p + "attn.c_attn")
        q, k, v = [t.view(1, T, H, D).transpose(1, 2) for t in qkv.split(C, -1)]
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D) + mask, -1) @ v
        x = x + conv(a.transpose(1, 2).reshape(1, T, C), p + "attn.c_proj")
        h = conv(ln(x, p + "ln_2"), p + "mlp.c_fc")
        h = 0.5 * h * (1 + torch.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h.pow(3))))
        x = x + conv(h, p + "mlp.c_proj")
    return ln(x, "ln_f") @ W["wte.weight"].T

def rnd(*s, gain=False): return (1 + 0.1 * torch.randn(*s)) if gain else 0.2 * torch.randn(*s)
def make_llama(name, cfg):
    H, KV, C, I = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["hidden_size"], cfg["intermediate_size"]
    D = cfg.get("head_dim", C // H); W = {"model.embed_tokens.weight": rnd(V, C), "model.norm.weight": rnd(C, gain=True)}
    qkvb = cfg["model_type"] == "qwen2"
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        W[p + "self_attn.q_proj.weight"] = rnd(H * D, C); W[p + "self_attn.k_proj.weight"] = rnd(KV * D, C)
        W[p + "self_attn.v_proj.weight"] = rnd(KV * D, C); W[p + "self_attn.o_proj.weight"] = rnd(C, H * D)
        if qkvb:
            W[p + "self_attn.q_proj.bias"] = rnd(H * D); W[p + "self_attn.k_proj.bias"] = rnd(KV * D); W[p + "self_attn.v_proj.bias"] = rnd(KV * D)
        W[p + "mlp.gate_proj.weight"] = rnd(I, C); W[p + "mlp.up_proj.weight"] = rnd(I, C); W[p + "mlp.down_proj.weight"] = rnd(C, I)
        W[p + "input_layernorm.weight"] = rnd(C, gain=True); W[p + "post_attention_layernorm.weight"] = rnd(C, gain=True)
    if not cfg["tie_word_embeddings"]: W["lm_head.weight"] = rnd(V, C)
    out(name, cfg, W, llama(cfg, W, tokens))
def make_gpt2(name, cfg):
    C, I = cfg["n_embd"], 4 * cfg["n_embd"]
    W = {"wte.weight": rnd(V, C), "wpe.weight": rnd(cfg["n_positions"], C), "ln_f.weight": rnd(C, gain=True), "ln_f.bias": rnd(C)}
    for i in range(cfg["n_layer"]):
        p = f"h.{i}."
        for n, s in [("attn.c_attn", (C, 3 * C)), ("attn.c_proj", (C, C)), ("mlp.c_fc", (C, I)), ("mlp.c_proj", (I, C))]:
            W[p + n + ".weight"] = rnd(*s); W[p + n + ".bias"] = rnd(s[1])
        for n in ("ln_1", "ln_2"): W[p + n + ".weight"] = rnd(C, gain=True); W[p + n + ".bias"] = rnd(C)
    out(name, cfg, W, gpt2(cfg, W, tokens))
def out(name, cfg, W, logits):
    d = os.path.join(OUT, name); os.makedirs(d, exist_ok=True)
    cfg = dict(cfg, vocab_size=V); json.dump(cfg, open(d + "/config.json", "w"))
    save_st(d + "/model.safetensors", W); tokenizer(d)
    json.dump({"tokens": tokens[0].tolist(), "logits": [[round(v, 6) for v in row] for row in logits[0].tolist()]}, open(d + "/expected.json", "w"))
base = dict(hidden_size=16, intermediate_size=24, num_hidden_layers=2, max_position_embeddings=64, rms_norm_eps=1e-5, hidden_act="silu")
make_llama("qwen2", dict(base, model_type="qwen2", num_attention_heads=4, num_key_value_heads=2, rope_theta=10000.0, tie_word_embeddings=True))
make_llama("llama", dict(base, model_type="llama", num_attention_heads=4, num_key_value_heads=1, head_dim=12, rope_theta=500.0, tie_word_embeddings=False,
    rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, original_max_position_embeddings=16)))
make_gpt2("gpt2", dict(model_type="gpt2", n_embd=16, n_layer=2, n_head=2, n_positions=32, layer_norm_epsilon=1e-5, activation_function="gelu_new"))
print("ok")
