# Fixture generator for GenSharp's Stable Diffusion folder loader (tests/GenSharp.Tests/TextToImage/StableDiffusionReferenceTests.cs).
# Writes a tiny random diffusers-layout folder (model_index.json; tokenizer = CLIP BPE vocab.json + merges.txt;
# text_encoder = transformers CLIPTextModel; unet = UNet2DConditionModel-shaped; vae = AutoencoderKL-shaped;
# scheduler config) with F16 weights, plus expected.safetensors holding:
#   - token ids from transformers' CLIPTokenizer for a few prompts,
#   - CLIPTextModel last_hidden_state / pooler_output for them (the real transformers model),
#   - UNet and VAE outputs from the plain-PyTorch forward passes below. diffusers is not packaged in Debian, so these
#     are written here from the published architecture (Rombach et al. 2022 and the diffusers config fields):
#     ResNet blocks with a time projection, Transformer2D blocks (GroupNorm, proj_in, self-attn, cross-attn, GEGLU
#     feed-forward, proj_out), skip concatenation in the up path, nearest-2x upsampling, the VAE's asymmetric-pad
#     downsampling and single-head mid-block attention.
# Run: bench/chroot.sh run /work/sid -- python3 /repo/bench/pytorch/sd_reference.py [OUT]
import json, math, os, sys, torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "tests", "GenSharp.Tests", "Fixtures", "StableDiffusion")
SD = os.path.join(OUT, "tiny-sd")
for d in ["tokenizer", "text_encoder", "unet", "vae", "scheduler"]:
    os.makedirs(os.path.join(SD, d), exist_ok=True)
torch.manual_seed(0)

# ---------------- tokenizer: byte alphabet, its "</w>" twins, merges learned on a tiny corpus ----------------
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]; n = 0
    for b in range(256):
        if b not in bs: bs.append(b); cs.append(256 + n); n += 1
    return [chr(c) for _, c in sorted(zip(bs, cs))]
alpha = bytes_to_unicode()
vocab = alpha + [a + "</w>" for a in alpha]
corpus = ("a photo of a cat sitting on the mat . an astronaut riding a horse on the moon , highly detailed "
          "a painting of the sea at night with stars and a small boat ; the cat's hat is red and the dog's is blue").split()
words = [list(w[:-1]) + [w[-1] + "</w>"] for w in corpus]
merges = []
for _ in range(120):
    counts = {}
    for w in words:
        for a, b in zip(w, w[1:]): counts[(a, b)] = counts.get((a, b), 0) + 1
    if not counts: break
    (a, b), c = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    if c < 1: break
    merges.append((a, b)); vocab.append(a + b)
    nw = []
    for w in words:
        o, i = [], 0
        while i < len(w):
            if i + 1 < len(w) and w[i] == a and w[i + 1] == b: o.append(a + b); i += 2
            else: o.append(w[i]); i += 1
        nw.append(o)
    words = nw
vocab += ["<|startoftext|>", "<|endoftext|>"]
tok_dir = os.path.join(SD, "tokenizer")
json.dump({t: i for i, t in enumerate(vocab)}, open(os.path.join(tok_dir, "vocab.json"), "w", encoding="utf-8"), ensure_ascii=False)
with open(os.path.join(tok_dir, "merges.txt"), "w", encoding="utf-8") as f:
    f.write("#version: 0.2\n"); [f.write(f"{a} {b}\n") for a, b in merges]
json.dump({"model_max_length": 77, "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
           "unk_token": "<|endoftext|>", "do_lower_case": True, "tokenizer_class": "CLIPTokenizer"},
          open(os.path.join(tok_dir, "tokenizer_config.json"), "w"))
# transformers 5.12's CLIPTokenizer passes cls= to RobertaProcessing, which sid's tokenizers names cls_token.
import tokenizers.processors as _proc
_Roberta = _proc.RobertaProcessing
_proc.RobertaProcessing = lambda sep, cls, **kw: _Roberta(sep, cls, **kw)
tok = CLIPTokenizer(os.path.join(tok_dir, "vocab.json"), os.path.join(tok_dir, "merges.txt"), pad_token="<|endoftext|>")
V = len(vocab)
prompts = ["a photo of a cat", "An astronaut riding a horse on the Moon, highly detailed!", "",
           "the cat's hat   is RED; 12 boats… 🚀", "a " * 60 + "very long prompt that must be cut"]
ids = torch.tensor(tok(prompts, padding="max_length", max_length=77, truncation=True).input_ids)

# ---------------- text encoder: the real transformers CLIPTextModel ----------------
tcfg = CLIPTextConfig(vocab_size=V, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                      max_position_embeddings=77, hidden_act="quick_gelu", layer_norm_eps=1e-5, projection_dim=32,
                      bos_token_id=V - 2, eos_token_id=V - 1, pad_token_id=V - 1)
te = CLIPTextModel(tcfg).eval()
te.half().save_pretrained(os.path.join(SD, "text_encoder"), safe_serialization=True)
te = CLIPTextModel.from_pretrained(os.path.join(SD, "text_encoder"), torch_dtype=torch.float32).eval()
with torch.no_grad():
    o = te(input_ids=ids)
    text_hidden, text_pooled = o.last_hidden_state, o.pooler_output

# ---------------- UNet2DConditionModel-shaped network, written from the architecture ----------------
ucfg = {"_class_name": "UNet2DConditionModel", "in_channels": 4, "out_channels": 4, "sample_size": 8,
        "block_out_channels": [8, 16], "layers_per_block": 1, "norm_num_groups": 4, "norm_eps": 1e-5,
        "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
        "mid_block_type": "UNetMidBlock2DCrossAttn", "cross_attention_dim": 32, "attention_head_dim": 2,
        "use_linear_projection": False, "flip_sin_to_cos": True, "freq_shift": 0, "act_fn": "silu"}
vcfg = {"_class_name": "AutoencoderKL", "in_channels": 3, "out_channels": 3, "latent_channels": 4, "sample_size": 16,
        "block_out_channels": [8, 16], "layers_per_block": 1, "norm_num_groups": 4, "scaling_factor": 0.18215,
        "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D"], "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D"],
        "act_fn": "silu"}
W = {}
def p(name, *shape, kind="w"):
    if kind == "gn_w": t = 1 + 0.1 * torch.randn(*shape)
    elif kind == "b": t = 0.05 * torch.randn(*shape)
    else:
        fan = shape[1] * (shape[2] * shape[3] if len(shape) == 4 else 1)
        t = torch.randn(*shape) / math.sqrt(fan)
    W[name] = t.half().float()
def conv(n, cin, cout, k): p(n + ".weight", cout, cin, k, k); p(n + ".bias", cout, kind="b")
def lin(n, cin, cout, bias=True): p(n + ".weight", cout, cin); (p(n + ".bias", cout, kind="b") if bias else None)
def norm(n, c): p(n + ".weight", c, kind="gn_w"); p(n + ".bias", c, kind="b")
def resnet_params(n, cin, cout, temb):
    norm(n + ".norm1", cin); conv(n + ".conv1", cin, cout, 3)
    if temb: lin(n + ".time_emb_proj", temb, cout)
    norm(n + ".norm2", cout); conv(n + ".conv2", cout, cout, 3)
    if cin != cout: conv(n + ".conv_shortcut", cin, cout, 1)
def transformer_params(n, c, ctx, linear):
    norm(n + ".norm", c)
    (lin(n + ".proj_in", c, c) if linear else conv(n + ".proj_in", c, c, 1))
    b = n + ".transformer_blocks.0"
    for i in (1, 2, 3): norm(f"{b}.norm{i}", c)
    for a, kv in (("attn1", c), ("attn2", ctx)):
        lin(f"{b}.{a}.to_q", c, c, False); lin(f"{b}.{a}.to_k", kv, c, False); lin(f"{b}.{a}.to_v", kv, c, False); lin(f"{b}.{a}.to_out.0", c, c)
    lin(b + ".ff.net.0.proj", c, 8 * c); lin(b + ".ff.net.2", 4 * c, c)
    (lin(n + ".proj_out", c, c) if linear else conv(n + ".proj_out", c, c, 1))

def unet_params(cfg):
    ch = cfg["block_out_channels"]; L = cfg["layers_per_block"]; temb = 4 * ch[0]; ctx = cfg["cross_attention_dim"]
    lin_proj = cfg["use_linear_projection"]
    conv("conv_in", cfg["in_channels"], ch[0], 3)
    lin("time_embedding.linear_1", ch[0], temb); lin("time_embedding.linear_2", temb, temb)
    out = ch[0]
    for i, t in enumerate(cfg["down_block_types"]):
        cin, out = out, ch[i]
        for j in range(L):
            resnet_params(f"down_blocks.{i}.resnets.{j}", cin if j == 0 else out, out, temb)
            if t.startswith("CrossAttn"): transformer_params(f"down_blocks.{i}.attentions.{j}", out, ctx, lin_proj)
        if i < len(ch) - 1: conv(f"down_blocks.{i}.downsamplers.0.conv", out, out, 3)
    resnet_params("mid_block.resnets.0", ch[-1], ch[-1], temb)
    transformer_params("mid_block.attentions.0", ch[-1], ctx, lin_proj)
    resnet_params("mid_block.resnets.1", ch[-1], ch[-1], temb)
    rch = list(reversed(ch)); prev = rch[0]
    for i, t in enumerate(cfg["up_block_types"]):
        out = rch[i]; skip_in = rch[min(i + 1, len(ch) - 1)]
        for j in range(L + 1):
            skip = skip_in if j == L else out
            resnet_params(f"up_blocks.{i}.resnets.{j}", (prev if j == 0 else out) + skip, out, temb)
            if t.startswith("CrossAttn"): transformer_params(f"up_blocks.{i}.attentions.{j}", out, ctx, lin_proj)
        if i < len(ch) - 1: conv(f"up_blocks.{i}.upsamplers.0.conv", out, out, 3)
        prev = out
    norm("conv_norm_out", ch[0]); conv("conv_out", ch[0], cfg["out_channels"], 3)

def vae_params(cfg):
    ch = cfg["block_out_channels"]; L = cfg["layers_per_block"]; z = cfg["latent_channels"]
    def attn(n, c): norm(n + ".group_norm", c); [lin(f"{n}.{k}", c, c) for k in ("to_q", "to_k", "to_v", "to_out.0")]
    def mid(n, c): resnet_params(n + ".resnets.0", c, c, 0); attn(n + ".attentions.0", c); resnet_params(n + ".resnets.1", c, c, 0)
    conv("encoder.conv_in", cfg["in_channels"], ch[0], 3); out = ch[0]
    for i in range(len(ch)):
        cin, out = out, ch[i]
        for j in range(L): resnet_params(f"encoder.down_blocks.{i}.resnets.{j}", cin if j == 0 else out, out, 0)
        if i < len(ch) - 1: conv(f"encoder.down_blocks.{i}.downsamplers.0.conv", out, out, 3)
    mid("encoder.mid_block", ch[-1]); norm("encoder.conv_norm_out", ch[-1]); conv("encoder.conv_out", ch[-1], 2 * z, 3)
    conv("quant_conv", 2 * z, 2 * z, 1); conv("post_quant_conv", z, z, 1)
    rch = list(reversed(ch)); conv("decoder.conv_in", z, rch[0], 3); mid("decoder.mid_block", rch[0]); prev = rch[0]
    for i in range(len(ch)):
        out = rch[i]
        for j in range(L + 1): resnet_params(f"decoder.up_blocks.{i}.resnets.{j}", prev if j == 0 else out, out, 0)
        if i < len(ch) - 1: conv(f"decoder.up_blocks.{i}.upsamplers.0.conv", out, out, 3)
        prev = out
    norm("decoder.conv_norm_out", ch[0]); conv("decoder.conv_out", ch[0], cfg["out_channels"], 3)

# ---- forward passes ----
def c2d(x, n, stride=1, pad=None):
    w = W[n + ".weight"]; return F.conv2d(x, w, W[n + ".bias"], stride, w.shape[-1] // 2 if pad is None else pad)
def linear(x, n): return F.linear(x, W[n + ".weight"], W.get(n + ".bias"))
def gn(x, n, groups, eps): return F.group_norm(x, groups, W[n + ".weight"], W[n + ".bias"], eps)
def resnet(x, n, temb, groups, eps):
    h = c2d(F.silu(gn(x, n + ".norm1", groups, eps)), n + ".conv1")
    if temb is not None: h = h + linear(F.silu(temb), n + ".time_emb_proj")[:, :, None, None]
    h = c2d(F.silu(gn(h, n + ".norm2", groups, eps)), n + ".conv2")
    if n + ".conv_shortcut.weight" in W: x = c2d(x, n + ".conv_shortcut")
    return x + h
def mha(q, k, v, heads):
    B, Tq, C = q.shape; d = C // heads
    q, k, v = (t.reshape(B, t.shape[1], heads, d).transpose(1, 2) for t in (q, k, v))
    a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), -1)
    return (a @ v).transpose(1, 2).reshape(B, Tq, C)
def attention(x, ctx, n, heads):
    ctx = x if ctx is None else ctx
    return linear(mha(linear(x, n + ".to_q"), linear(ctx, n + ".to_k"), linear(ctx, n + ".to_v"), heads), n + ".to_out.0")
def layer_norm(x, n): return F.layer_norm(x, x.shape[-1:], W[n + ".weight"], W[n + ".bias"], 1e-5)
def transformer(x, ctx, n, heads, groups, linear_proj):
    B, C, H, Wd = x.shape; res = x
    h = gn(x, n + ".norm", groups, 1e-6)
    if linear_proj: h = linear(h.permute(0, 2, 3, 1).reshape(B, H * Wd, C), n + ".proj_in")
    else: h = c2d(h, n + ".proj_in").permute(0, 2, 3, 1).reshape(B, H * Wd, C)
    b = n + ".transformer_blocks.0"
    h = attention(layer_norm(h, b + ".norm1"), None, b + ".attn1", heads) + h
    h = attention(layer_norm(h, b + ".norm2"), ctx, b + ".attn2", heads) + h
    a, g = linear(layer_norm(h, b + ".norm3"), b + ".ff.net.0.proj").chunk(2, -1)
    h = linear(a * F.gelu(g), b + ".ff.net.2") + h
    if linear_proj: h = linear(h, n + ".proj_out").reshape(B, H, Wd, C).permute(0, 3, 1, 2)
    else: h = c2d(h.reshape(B, H, Wd, C).permute(0, 3, 1, 2), n + ".proj_out")
    return h + res
def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
    a = t.float()[:, None] * freqs[None]
    return torch.cat([a.cos(), a.sin()], -1)  # flip_sin_to_cos=True puts cos first
def unet(x, t, ctx, cfg):
    ch = cfg["block_out_channels"]; L = cfg["layers_per_block"]; G = cfg["norm_num_groups"]; eps = cfg["norm_eps"]
    hd = cfg["attention_head_dim"]; heads = hd if isinstance(hd, list) else [hd] * len(ch); lp = cfg["use_linear_projection"]
    temb = linear(F.silu(linear(timestep_embedding(t, ch[0]), "time_embedding.linear_1")), "time_embedding.linear_2")
    h = c2d(x, "conv_in"); skips = [h]
    for i, ty in enumerate(cfg["down_block_types"]):
        for j in range(L):
            h = resnet(h, f"down_blocks.{i}.resnets.{j}", temb, G, eps)
            if ty.startswith("CrossAttn"): h = transformer(h, ctx, f"down_blocks.{i}.attentions.{j}", heads[i], G, lp)
            skips.append(h)
        if i < len(ch) - 1: h = c2d(h, f"down_blocks.{i}.downsamplers.0.conv", stride=2, pad=1); skips.append(h)
    h = resnet(h, "mid_block.resnets.0", temb, G, eps)
    h = transformer(h, ctx, "mid_block.attentions.0", heads[-1], G, lp)
    h = resnet(h, "mid_block.resnets.1", temb, G, eps)
    rheads = list(reversed(heads))
    for i, ty in enumerate(cfg["up_block_types"]):
        for j in range(L + 1):
            h = torch.cat([h, skips.pop()], 1)
            h = resnet(h, f"up_blocks.{i}.resnets.{j}", temb, G, eps)
            if ty.startswith("CrossAttn"): h = transformer(h, ctx, f"up_blocks.{i}.attentions.{j}", rheads[i], G, lp)
        if i < len(ch) - 1: h = c2d(F.interpolate(h, scale_factor=2.0, mode="nearest"), f"up_blocks.{i}.upsamplers.0.conv")
    return c2d(F.silu(gn(h, "conv_norm_out", G, eps)), "conv_out")
def vae_mid(h, n, G):
    h = resnet(h, n + ".resnets.0", None, G, 1e-6)
    B, C, H, Wd = h.shape; a = n + ".attentions.0"
    s = gn(h, a + ".group_norm", G, 1e-6).reshape(B, C, H * Wd).transpose(1, 2)
    h = attention(s, None, a, 1).transpose(1, 2).reshape(B, C, H, Wd) + h
    return resnet(h, n + ".resnets.1", None, G, 1e-6)
def vae_encode(x, cfg):
    ch = cfg["block_out_channels"]; L = cfg["layers_per_block"]; G = cfg["norm_num_groups"]
    h = c2d(x, "encoder.conv_in")
    for i in range(len(ch)):
        for j in range(L): h = resnet(h, f"encoder.down_blocks.{i}.resnets.{j}", None, G, 1e-6)
        if i < len(ch) - 1: h = c2d(F.pad(h, (0, 1, 0, 1)), f"encoder.down_blocks.{i}.downsamplers.0.conv", stride=2, pad=0)
    h = vae_mid(h, "encoder.mid_block", G)
    h = c2d(F.silu(gn(h, "encoder.conv_norm_out", G, 1e-6)), "encoder.conv_out")
    mean, logvar = c2d(h, "quant_conv").chunk(2, 1)
    return mean, logvar.clamp(-30, 20)
def vae_decode(z, cfg):
    ch = cfg["block_out_channels"]; L = cfg["layers_per_block"]; G = cfg["norm_num_groups"]
    h = c2d(c2d(z, "post_quant_conv"), "decoder.conv_in")
    h = vae_mid(h, "decoder.mid_block", G)
    for i in range(len(ch)):
        for j in range(L + 1): h = resnet(h, f"decoder.up_blocks.{i}.resnets.{j}", None, G, 1e-6)
        if i < len(ch) - 1: h = c2d(F.interpolate(h, scale_factor=2.0, mode="nearest"), f"decoder.up_blocks.{i}.upsamplers.0.conv")
    return c2d(F.silu(gn(h, "decoder.conv_norm_out", G, 1e-6)), "decoder.conv_out")

W = {}; unet_params(ucfg); UW = dict(W)
W = {}; vae_params(vcfg); VW = dict(W)
save_file({k: v.half().contiguous() for k, v in UW.items()}, os.path.join(SD, "unet", "diffusion_pytorch_model.safetensors"))
save_file({k: v.half().contiguous() for k, v in VW.items()}, os.path.join(SD, "vae", "diffusion_pytorch_model.safetensors"))
json.dump(ucfg, open(os.path.join(SD, "unet", "config.json"), "w"), indent=1)
json.dump(vcfg, open(os.path.join(SD, "vae", "config.json"), "w"), indent=1)
json.dump({"_class_name": "PNDMScheduler", "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
           "num_train_timesteps": 1000, "prediction_type": "epsilon", "set_alpha_to_one": False, "steps_offset": 1,
           "skip_prk_steps": True, "clip_sample": False}, open(os.path.join(SD, "scheduler", "scheduler_config.json"), "w"), indent=1)
json.dump({"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.30.0",
           "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
           "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
           "scheduler": ["diffusers", "PNDMScheduler"], "safety_checker": [None, None], "feature_extractor": [None, None]},
          open(os.path.join(SD, "model_index.json"), "w"), indent=1)

with torch.no_grad():
    W = UW
    ux = torch.randn(2, 4, 8, 8); ut = torch.tensor([999, 17]); uctx = text_hidden[:2]
    uy = unet(ux, ut, uctx, ucfg)
    W = VW
    vx = torch.rand(1, 3, 16, 16) * 2 - 1
    vmean, vlogvar = vae_encode(vx, vcfg)
    vz = torch.randn(1, 4, 8, 8)
    vy = vae_decode(vz, vcfg)
save_file({k: v.contiguous() for k, v in {"token_ids": ids.int(), "text_hidden": text_hidden.contiguous(), "text_pooled": text_pooled.contiguous(),
           "unet_x": ux, "unet_t": ut.int(), "unet_out": uy, "vae_x": vx, "vae_mean": vmean.contiguous(), "vae_logvar": vlogvar.contiguous(),
           "vae_z": vz, "vae_out": vy}.items()}, os.path.join(OUT, "expected.safetensors"))
json.dump(prompts, open(os.path.join(OUT, "prompts.json"), "w", encoding="utf-8"), ensure_ascii=False)
print("vocab", V, "merges", len(merges), "unet params", sum(v.numel() for v in UW.values()), "vae params", sum(v.numel() for v in VW.values()))
print(ids[:, :16])
