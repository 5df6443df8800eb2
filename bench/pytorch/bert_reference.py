# Reference for GenSharp's BERT loader (tests/GenSharp.Tests/Models/Encoders/BertReferenceTests.cs), made with the real
# Hugging Face `transformers` and `tokenizers` (Debian sid chroot, see DEVELOPERS.md):
#   mlm/     a tiny random BertForMaskedLM (save_pretrained: config.json, model.safetensors with "bert." + "cls." names)
#            and a WordPiece tokenizer.json (BertTokenizerFast over a small vocab.txt, uncased, accents stripped)
#   st_cls/  a sentence-transformers folder: a tiny BertModel (no prefix) + modules.json, 1_Pooling/config.json (CLS),
#            2_Normalize, sentence_bert_config.json
#   expected.json  token ids the tokenizer gives for SENTENCES, MLM logits of mlm/ (padded batch with its attention mask),
#            mean-pooled last hidden states of mlm/'s encoder, the pooler output, and st_cls/'s normalised CLS embeddings.
# Run: bench/chroot.sh run /work/sid -- python3 /repo/bench/pytorch/bert_reference.py [OUT]
#      (default tests/GenSharp.Tests/Fixtures/BertReference)
import json, os, sys, torch
from transformers import BertConfig, BertForMaskedLM, BertModel, BertTokenizerFast

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "GenSharp.Tests", "Fixtures", "BertReference")
torch.manual_seed(0)
SENTENCES = [
    "The cat sat on the mat.",
    "A dog plays in the garden!",
    "Unbelievable: the cats, the dogs and THE birds.",
    "Héllo wörld",
    "",
]
words = sorted({"the", "cat", "sat", "on", "mat", "a", "dog", "plays", "in", "garden", "and", "bird", "un", "hello", "world"})
pieces = ["##s", "##be", "##lie", "##va", "##ble", "##ie", "##v", "##b", "##l", "##e"]
chars = list("abcdefghijklmnopqrstuvwxyz") + ["##" + c for c in "abcdefghijklmnopqrstuvwxyz"]
vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "!", ":"] + words + pieces + [c for c in chars if c not in words and c not in pieces]
os.makedirs(OUT, exist_ok=True)
tok = BertTokenizerFast(vocab={t: i for i, t in enumerate(vocab)}, do_lower_case=True, strip_accents=None)

cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                 max_position_embeddings=40, type_vocab_size=2, hidden_act="gelu", layer_norm_eps=1e-12, pad_token_id=0)
mlm = BertForMaskedLM(cfg).eval()
with torch.no_grad():   # random LayerNorm gains/biases and a nonzero output bias, so loading them wrongly shows
    for n, p in mlm.named_parameters():
        if "LayerNorm" in n or n.endswith("bias"): p.add_(torch.randn_like(p) * 0.1)
mlm_dir = os.path.join(OUT, "mlm")
mlm.save_pretrained(mlm_dir, safe_serialization=True)
tok.save_pretrained(mlm_dir)
for extra in ["vocab.txt", "special_tokens_map.json"]:
    p = os.path.join(mlm_dir, extra)
    if os.path.exists(p): os.remove(p)

enc = tok(SENTENCES, padding=True, return_tensors="pt")
with torch.no_grad():
    out = mlm(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], output_hidden_states=True)
    hidden = out.hidden_states[-1]
    m = enc["attention_mask"].unsqueeze(-1).float()
    mean = (hidden * m).sum(1) / m.sum(1)
    pooled_model = BertModel(cfg, add_pooling_layer=True).eval()
    pooled_model.load_state_dict({k[5:]: v for k, v in mlm.state_dict().items() if k.startswith("bert.")}, strict=False)

# sentence-transformers folder: another random BertModel with CLS pooling and normalisation.
torch.manual_seed(1)
st = BertModel(BertConfig(**{**cfg.to_dict(), "hidden_act": "gelu_new"}), add_pooling_layer=False).eval()
with torch.no_grad():
    for n, p in st.named_parameters():
        if "LayerNorm" in n or n.endswith("bias"): p.add_(torch.randn_like(p) * 0.1)
st_dir = os.path.join(OUT, "st_cls")
st.save_pretrained(st_dir, safe_serialization=True)
tok.save_pretrained(st_dir)
for extra in ["vocab.txt", "special_tokens_map.json"]:
    p = os.path.join(st_dir, extra)
    if os.path.exists(p): os.remove(p)
json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
           {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
           {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
          open(os.path.join(st_dir, "modules.json"), "w"), indent=1)
os.makedirs(os.path.join(st_dir, "1_Pooling"), exist_ok=True)
os.makedirs(os.path.join(st_dir, "2_Normalize"), exist_ok=True)
json.dump({"word_embedding_dimension": 32, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False,
           "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False},
          open(os.path.join(st_dir, "1_Pooling", "config.json"), "w"), indent=1)
json.dump({"max_seq_length": 16, "do_lower_case": False}, open(os.path.join(st_dir, "sentence_bert_config.json"), "w"))
enc16 = tok(SENTENCES, padding=True, truncation=True, max_length=16, return_tensors="pt")
with torch.no_grad():
    cls = st(input_ids=enc16["input_ids"], attention_mask=enc16["attention_mask"]).last_hidden_state[:, 0]
    cls = torch.nn.functional.normalize(cls, p=2, dim=1)

json.dump({
    "sentences": SENTENCES,
    "input_ids": [[i for i, a in zip(ids, am) if a] for ids, am in zip(enc["input_ids"].tolist(), enc["attention_mask"].tolist())],
    "mlm_logits": out.logits.tolist(),
    "mean_hidden": mean.tolist(),
    "st_cls_embeddings": cls.tolist(),
    "st_input_ids": [[i for i, a in zip(ids, am) if a] for ids, am in zip(enc16["input_ids"].tolist(), enc16["attention_mask"].tolist())],
    "versions": {"torch": torch.__version__, "transformers": __import__("transformers").__version__, "tokenizers": __import__("tokenizers").__version__},
}, open(os.path.join(OUT, "expected.json"), "w"))
print("wrote", OUT, "vocab", len(vocab))
