#!/usr/bin/python3
"""Trains a small llama-family model (a folder written by random_smollm2.py with --dtype f32 and its byte-level
tokenizer) on a text file with Hugging Face transformers, and writes the trained folder: trained weights that both
GenSharp and llama.cpp read, so that each side's perplexity change from F32 to 8 and 4 bits is measured on the same
real weights (bench/llama_cpp.sh).

    /usr/bin/python3 bench/pytorch/train_tiny_llama.py RANDOM_DIR TEXT OUT_DIR [--steps 600] [--batch 8] [--context 256]

The text is read as bytes; the tokenizer maps byte b to id b + 1 (id 0 is the end-of-text token). The first 90 % of the
text is trained on, so that the last 10 % stays held out for the perplexity runs.
"""
import argparse
import os
import shutil
import sys
import time

import torch
from safetensors.torch import save_file
from transformers import LlamaForCausalLM


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", metavar="RANDOM_DIR")
    ap.add_argument("text", metavar="TEXT")
    ap.add_argument("out", metavar="OUT_DIR")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    if os.path.exists(os.path.join(a.out, "model.safetensors")):
        ap.error(f"{a.out} already holds a model.safetensors; give a new folder")
    torch.manual_seed(a.seed)
    data = open(a.text, "rb").read()
    ids = torch.tensor(list(data[: int(0.9 * len(data))]), dtype=torch.long) + 1     # byte b -> id b + 1
    model = LlamaForCausalLM.from_pretrained(a.model, torch_dtype=torch.float32)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.95), weight_decay=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=a.steps, pct_start=0.05)
    start = time.time()
    for step in range(1, a.steps + 1):
        at = torch.randint(0, len(ids) - a.context - 1, (a.batch,))
        x = torch.stack([ids[i: i + a.context] for i in at])
        out = model(input_ids=x, labels=x)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 50 == 0 or step == a.steps:
            print(f"step {step}/{a.steps} loss {out.loss.item():.3f} ({time.time() - start:.0f} s)", flush=True)
    os.makedirs(a.out, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}   # tied head
    save_file(state, os.path.join(a.out, "model.safetensors"), metadata={"format": "pt"})
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(a.model, f), os.path.join(a.out, f))
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
