# Independent reference for GenSharp's LoRA adapters (tests/GenSharp.Tests/Models/Lora/PeftInteropTests.cs).
# Writes, with transformers' own classes, tiny random Hugging Face folders (a llama with grouped-query attention and an
# untied head, and a gpt2 with Conv1D layers) via save_pretrained, then for each an adapter folder in PEFT's format —
# adapter_config.json and adapter_model.safetensors with PEFT's tensor names (base_model.model.<module>.lora_A.weight (r, in),
# .lora_B.weight (out, r)) — written by hand (peft is not installed in the chroot; the format is plain safetensors + JSON).
# B is random, not zero, so the adapter changes the model. The expected logits come from transformers' forward pass over
# the base weights with (lora_alpha / r) * B @ A added by hand (transposed for gpt2's Conv1D, which PEFT calls fan_in_fan_out).
# Run: bench/chroot.sh run /work/sid -- python3 bench/pytorch/lora_reference.py [OUT]   (default tests/GenSharp.Tests/Fixtures/Lora)
import json, os, sys, torch
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "tests", "GenSharp.Tests", "Fixtures", "Lora")
torch.manual_seed(0)
V = 260
tokens = torch.tensor([[5, 17, 200, 33, 250, 9, 120, 77, 3, 64, 180]])

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]; n = 0
    for b in range(256):
        if b not in bs: bs.append(b); cs.append(256 + n); n += 1
    return dict(zip(bs, map(chr, cs)))

def tokenizer(d):
    bu = bytes_to_unicode()
    json.dump({"model": {"type": "BPE", "vocab": {bu[b]: b for b in range(256)}, "merges": []}, "added_tokens": [],
               "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}, "decoder": {"type": "ByteLevel"}},
              open(os.path.join(d, "tokenizer.json"), "w"))

def randomize(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(1 + 0.1 * torch.randn_like(p) if name.endswith("norm.weight") or ".ln_" in name and name.endswith(".weight") else 0.2 * torch.randn_like(p))

def case(name, model, targets, prefix, r, alpha, conv1d, rslora=False):
    base = os.path.join(OUT, name); adapter = os.path.join(OUT, name + "-adapter")
    os.makedirs(base, exist_ok=True); os.makedirs(adapter, exist_ok=True)
    randomize(model); model.eval()
    model.save_pretrained(base, safe_serialization=True); tokenizer(base)
    scale = alpha / (r ** 0.5 if rslora else r)
    tensors = {}
    with torch.no_grad():
        for module_name, module in model.named_modules():
            if module_name.split(".")[-1] not in targets: continue
            w = module.weight                                   # Linear (out, in); Conv1D (in, out)
            fan_in, fan_out = (w.shape[0], w.shape[1]) if conv1d else (w.shape[1], w.shape[0])
            a, b = 0.3 * torch.randn(r, fan_in), 0.3 * torch.randn(fan_out, r)
            tensors[f"base_model.model.{module_name}.lora_A.weight"] = a.contiguous()
            tensors[f"base_model.model.{module_name}.lora_B.weight"] = b.contiguous()
            delta = scale * (b @ a)                             # (out, in)
            w.add_(delta.T if conv1d else delta)
        logits = model(tokens).logits[0]
    save_file(tensors, os.path.join(adapter, "adapter_model.safetensors"), metadata={"format": "pt"})
    json.dump({"peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": name, "r": r, "lora_alpha": alpha,
               "lora_dropout": 0.1, "target_modules": sorted(targets), "bias": "none", "fan_in_fan_out": conv1d, "use_rslora": rslora,
               "use_dora": False, "init_lora_weights": True, "inference_mode": True, "modules_to_save": None, "layers_to_transform": None,
               "layers_pattern": None, "rank_pattern": {}, "alpha_pattern": {}, "revision": None},
              open(os.path.join(adapter, "adapter_config.json"), "w"), indent=2)
    json.dump({"tokens": tokens[0].tolist(), "logits": [[round(v, 6) for v in row] for row in logits.tolist()]},
              open(os.path.join(adapter, "expected.json"), "w"))

case("llama", LlamaForCausalLM(LlamaConfig(vocab_size=V, hidden_size=16, intermediate_size=24, num_hidden_layers=2, num_attention_heads=4,
                                          num_key_value_heads=2, max_position_embeddings=64, rope_theta=10000.0, tie_word_embeddings=False)),
     {"q_proj", "v_proj", "o_proj", "down_proj"}, "", r=4, alpha=8, conv1d=False)
case("gpt2", GPT2LMHeadModel(GPT2Config(vocab_size=V, bos_token_id=0, eos_token_id=0, n_embd=16, n_layer=2, n_head=2, n_positions=32)),
     {"c_attn", "c_proj"}, "transformer.", r=2, alpha=6, conv1d=True, rslora=True)
print("ok")
