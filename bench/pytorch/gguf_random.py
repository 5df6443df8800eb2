#!/usr/bin/python3
"""Converts a model folder written by random_smollm2.py to GGUF with the converter Debian's llama.cpp-tools ships.

    /usr/bin/python3 bench/pytorch/gguf_random.py MODEL_DIR OUT.gguf [--outtype f32]

The converter recognises a BPE pre-tokenizer by hashing how it splits a test string and refuses hashes it has no entry
for. The random model's tokenizer has no merges, so its hash is in no list; its pre-tokenizer is plain byte-level with
GPT-2's split pattern, which llama.cpp calls "gpt-2", so this script answers that name. llama.cpp also refuses a BPE
vocabulary without merges, so the GGUF gets one merge of two placeholder tokens ("<t257> <t258>"); byte-level text never
produces placeholder tokens, so the merge never applies and the tokenizer splits text into bytes as before.
"""
import runpy
import sys

CONVERTER = "/usr/share/doc/llama.cpp-tools/scripts/convert_hf_to_gguf.py"
CONVERSION = "/usr/share/llama.cpp/llama.cpp-tools"


def main(argv):
    if len(argv) < 2 or argv[0].startswith("-"):
        print("usage: gguf_random.py MODEL_DIR OUT.gguf [converter options]", file=sys.stderr)
        return 2
    model, out, rest = argv[0], argv[1], argv[2:]
    sys.path.insert(1, CONVERSION)
    from conversion.base import TextModel
    TextModel.get_vocab_base_pre = lambda self, tokenizer: "gpt-2"
    import gguf.vocab
    add_to_gguf = gguf.vocab.SpecialVocab.add_to_gguf

    def with_merge(self, writer, quiet=False):
        if self.load_merges and not self.merges:
            self.merges = ["<t257> <t258>"]
        add_to_gguf(self, writer, quiet)
    gguf.vocab.SpecialVocab.add_to_gguf = with_merge
    if "--outtype" not in rest:
        rest = ["--outtype", "f32"] + rest
    sys.argv = [CONVERTER, model, "--outfile", out] + rest
    runpy.run_path(CONVERTER, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
