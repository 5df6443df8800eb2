# The other direction of tests/GenSharp.Tests/Models/Lora/PeftInteropTests.cs, run by hand: an adapter GenSharp wrote
# (`gensharp finetune BASE ... --out ADAPTER --merge`) read as PEFT's files are (base_model.model.<module>.lora_A/B.weight,
# scale lora_alpha / r), merged by hand into transformers' model of BASE, against transformers' forward pass over
# GenSharp's merged folder ADAPTER/merged. A llama-family base.
# Run: bench/chroot.sh run /work/sid -- python3 bench/pytorch/lora_check_adapter.py BASE ADAPTER   (paths as the chroot sees them)
import json, sys, torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

base_dir, adapter_dir = sys.argv[1], sys.argv[2]
cfg = json.load(open(f"{adapter_dir}/adapter_config.json"))
assert cfg["peft_type"] == "LORA" and cfg["task_type"] == "CAUSAL_LM" and cfg["bias"] == "none"
base = AutoModelForCausalLM.from_pretrained(base_dir).eval()
merged = AutoModelForCausalLM.from_pretrained(f"{adapter_dir}/merged").eval()
plain = AutoModelForCausalLM.from_pretrained(base_dir).eval()
tensors = load_file(f"{adapter_dir}/adapter_model.safetensors")
scale = cfg["lora_alpha"] / (cfg["r"] ** 0.5 if cfg.get("use_rslora") else cfg["r"])
modules = dict(base.named_modules())
x = torch.tensor([[5, 17, 200, 33, 250, 9, 120, 77]])
with torch.no_grad():
    adapted = 0
    for key, a in tensors.items():
        if not key.endswith(".lora_A.weight"): continue
        module = key[len("base_model.model."):-len(".lora_A.weight")]
        modules[module].weight.add_(scale * tensors[key.replace(".lora_A.", ".lora_B.")] @ a)
        adapted += 1
    diff = (base(x).logits - merged(x).logits).abs().max().item()
    change = (plain(x).logits - merged(x).logits).abs().max().item()
print(f"{adapted} adapted modules; max |Δlogit| transformers+adapter vs GenSharp's merged folder = {diff:.2e} (the adapter moves logits by up to {change:.3f})")
sys.exit(0 if diff < 1e-4 and change > 1e-3 else 1)
