#!/usr/bin/python3
"""Reference fixture for GenSharp's SentencePiece-style (Metaspace, <0xNN> byte fallback) tokenizer.json reader
(src/GenSharp/Text/HfTokenizer.cs + MetaspaceBpe.cs), made by the real libraries and checked by
tests/GenSharp.Tests/Text/MetaspaceReferenceTests.cs.

It trains a small BPE model with SentencePiece itself (Llama-2's trainer settings: byte fallback, split digits,
identity normalisation, dummy prefix), converts it to tokenizer.json with transformers' own LlamaConverter (the
code that wrote the Llama-2 / Mistral tokenizer.json files) in both of its layouts, and records the ids and the
decoded text that Hugging Face `tokenizers` gives for a handful of strings:

  legacy/     normalizer Sequence [Prepend "▁", Replace " " → "▁"], no pre-tokenizer (Llama-2's files)
  metaspace/  no normalizer, pre-tokenizer Metaspace(prepend_scheme "first", split false) (legacy=False files)
  split/      the same with split true (files that do not say: tokenizers reads a missing "split" as true)

Runs in the Debian sid chroot (bench/chroot.sh), never in tests:

    bench/chroot.sh run -- python3 bench/pytorch/metaspace_fixture.py [OUT]
    (default OUT: tests/GenSharp.Tests/Fixtures/Metaspace)
"""
import argparse
import json
import os
import random
import tempfile

import sentencepiece as spm
import tokenizers
from tokenizers import normalizers, pre_tokenizers
from tokenizers.models import BPE
from transformers import LlamaTokenizer
from transformers.convert_slow_tokenizer import SentencePieceExtractor

# Training text: short English sentences with a few accented words, so that common words merge, "é" and "ü" are
# in the vocabulary, and CJK characters and emoji are not (they must fall back to <0xNN> bytes).
WORDS = ("the a of and to in is it that was he for on are with as his they at be this from have or by one had not "
         "but what all were when we there can an your which their said if do will each about how up out them then "
         "she many some so these would other into has more her two like him see time could no make than first been "
         "its who now people my made over did down only way find use may water long little very after words called "
         "just where most know café naïve résumé über Zürich 2024 1999 42").split()
STRINGS = [
    "the water",                               # plain words: merges, the prepended "▁"
    "Hello, world!",                           # capitals and punctuation the corpus never had as words
    "two  spaces and   three",                 # runs of spaces: "▁▁" pieces
    "  leading and trailing  ",                # spaces at both ends
    "line one\nline two\n\nend",               # newlines (byte fallback: <0x0A>)
    "tab\there",                               # a tab
    "café naïve über",                         # non-ASCII letters that are in the vocabulary
    "日本語 🙂 Ω",                               # characters that are not: UTF-8 bytes as <0xNN>
    "2024 is 12345",                           # split digits
    "<s>the</s> end <unk>",                    # special tokens written in the text
    "a",                                       # one character
    "    indented  by four",                   # whitespace-only pieces at the start
    "if x:\n        return the",                # and after a newline
]


def train(folder):
    rng = random.Random(0)
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12))) for _ in range(3000)]
    # Indented lines, as in code: whitespace-only pieces ("▁▁", "▁▁▁▁") join the vocabulary, as in Llama-2's.
    lines = [" " * rng.choice((0, 0, 0, 2, 4, 8)) + line for line in lines]
    corpus = os.path.join(folder, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    prefix = os.path.join(folder, "spm")
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=prefix, model_type="bpe", vocab_size=420, byte_fallback=True, split_digits=True,
        allow_whitespace_only_pieces=True, normalization_rule_name="identity", add_dummy_prefix=True,
        remove_extra_whitespaces=False, character_coverage=1.0, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        num_threads=1, minloglevel=2)
    return prefix + ".model"


def convert(model_file, layout):
    """The tokenizer.json of a SentencePiece BPE model in one of the two layouts of transformers' Llama code.

    Vocabulary and merges come from transformers' SentencePieceExtractor. The Metaspace layout is transformers'
    own LlamaTokenizer (5.x builds it in code); the legacy layout, which 5.x no longer writes, is assembled from the
    components of LlamaConverter(legacy=True): normalizer Prepend + Replace, no pre-tokenizer, the same model and
    decoder. (5.x's LlamaConverter itself fails on BPE models: it passes its scores where the extractor expects a
    model type.)
    """
    sp = spm.SentencePieceProcessor(model_file=model_file)
    parts = SentencePieceExtractor(model_file).extract(BPE)
    llama = LlamaTokenizer(vocab=parts["vocab"], merges=parts["merges"], legacy=False)
    tok = tokenizers.Tokenizer.from_str(llama.backend_tokenizer.to_str())
    if layout == "split":
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=True)
    if layout == "legacy":
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
        tok.pre_tokenizer = None
    tok.post_processor = None                                   # GenSharp puts BOS itself (add_bos_token)
    return tok, sp


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                          "tests", "GenSharp.Tests", "Fixtures", "Metaspace"),
                    help="output folder (default: %(default)s)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model_file = train(tmp)
        for name in ("legacy", "metaspace", "split"):
            tok, sp = convert(model_file, name)
            folder = os.path.join(args.out, name)
            os.makedirs(folder, exist_ok=True)
            path = os.path.join(folder, "tokenizer.json")
            tok.save(path)
            tok = tokenizers.Tokenizer.from_file(path)         # what is checked is what was written
            cases = []
            for s in STRINGS:
                ids = tok.encode(s, add_special_tokens=False).ids
                cases.append({"text": s, "ids": ids, "tokens": [tok.id_to_token(i) for i in ids],
                              "decoded": tok.decode(ids, skip_special_tokens=False)})
                # The legacy layout reproduces SentencePiece itself on text without special tokens; Metaspace
                # prepends no "▁" to text that already starts with one, and its split keeps "▁▁" pieces from forming.
                if "<" not in s and (name == "legacy" or (name == "metaspace" and not s.startswith(" "))):
                    assert ids == sp.encode(s), (name, s, ids, sp.encode(s))
            meta = {"generator": "bench/pytorch/metaspace_fixture.py", "tokenizers": tokenizers.__version__,
                    "sentencepiece": spm.__version__, "layout": name, "cases": cases}
            with open(os.path.join(folder, "expected.json"), "w", encoding="utf-8") as f:
                json.dump(meta, f, ensure_ascii=False, indent=1)
            print(f"wrote {folder}: vocab {tok.get_vocab_size()}, {len(cases)} strings")


if __name__ == "__main__":
    main()
