#!/usr/bin/env python3
"""Word error rate of spoken Allison test sentences through pocketsphinx 5 (Debian sid), for issue 19.

Runs inside the sid chroot (bench/chroot.sh run /work/sid -- python3 bench/tts_wer.py WORK).  WORK holds
  refs.tsv             id<TAB>transcript of every held-out utterance
  transcripts.txt      every transcript of the corpus (the language model's text)
  SYSTEM/ID.wav        16 kHz mono 16-bit WAV per system folder (real, tts, espeak, resynth, ...)
It builds a bigram ARPA language model over the normalised transcripts (interpolated absolute discounting,
D = 0.75, unigrams interpolated with a uniform floor), decodes every WAV with `pocketsphinx -lm LM single`, and prints
WER per system (word-level Levenshtein distance / reference words, summed over utterances), and writes WORK/wer.json.
"""
import json, math, os, re, subprocess, sys
from collections import Counter, defaultdict

ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n):
    if n < 20: return [ONES[n]]
    if n < 100: return [TENS[n // 10]] + ([ONES[n % 10]] if n % 10 else [])
    if n < 1000: return [ONES[n // 100], "hundred"] + (number_words(n % 100) if n % 100 else [])
    if n < 1_000_000: return number_words(n // 1000) + ["thousand"] + (number_words(n % 1000) if n % 1000 else [])
    return [str(n)]


def normalise(text):
    """Lower case words: digits spelled out, '#' and '*' as spoken on a phone, other punctuation dropped."""
    text = text.lower().replace("#", " pound ").replace("*", " star ").replace("&", " and ")
    text = re.sub(r"\[[^\]]*\]", " ", text)
    words = []
    for token in re.findall(r"[a-z']+|\d+", text.replace("-", " ")):
        if token.isdigit():
            words += number_words(int(token))
        else:
            token = token.strip("'")
            if token: words.append(token)
    return words


def bigram_arpa(sentences, path, discount=0.75):
    uni, bi = Counter(), Counter()
    for s in sentences:
        w = ["<s>"] + s + ["</s>"]
        uni.update(w)
        bi.update(zip(w, w[1:]))
    vocab = sorted(uni)
    total = sum(c for w, c in uni.items() if w != "<s>")
    floor = 1.0 / len(vocab)
    # Unigram: interpolate counts with a uniform floor (10 %), so every word keeps some mass.
    p_uni = {w: 0.9 * (uni[w] / total if w != "<s>" else 0) + 0.1 * floor for w in vocab}
    followers = defaultdict(list)
    for (a, b), c in bi.items(): followers[a].append((b, c))
    context = Counter()
    for (a, b), c in bi.items(): context[a] += c
    lines = ["\\data\\", f"ngram 1={len(vocab)}", f"ngram 2={len(bi)}", "", "\\1-grams:"]
    backoff = {}
    bigram_lines = []
    for a in vocab:
        if a not in context:
            backoff[a] = 0.0
            continue
        n, types = context[a], len(followers[a])
        lam = discount * types / n                      # mass left for the lower order
        for b, c in followers[a]:
            p = (c - discount) / n + lam * p_uni[b]
            bigram_lines.append(f"{math.log10(p):.6f} {a} {b}")
        # Interpolated: an unseen follower b gets lam · p_uni(b), so the back-off weight is lam itself.
        backoff[a] = math.log10(lam)
    for w in vocab:
        p = -99.0 if w == "<s>" else math.log10(p_uni[w])
        lines.append(f"{p:.6f} {w} {backoff.get(w, 0.0):.6f}")
    lines += ["", "\\2-grams:"] + sorted(bigram_lines) + ["", "\\end\\", ""]
    with open(path, "w") as f: f.write("\n".join(lines))
    return len(vocab), len(bi)


def edit_distance(ref, hyp):
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
    return d[len(hyp)]


# Extra decoder settings, e.g. PS_ARGS="-lw 10" (pocketsphinx's language-model weight, default 6.5).
EXTRA = os.environ.get("PS_ARGS", "").split()


def decode(wav, lm):
    out = subprocess.run(["pocketsphinx", "-lm", lm] + EXTRA + ["single", wav], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"pocketsphinx failed on {wav}: {out.stderr[-400:]}")
    text = ""
    for line in out.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            text += " " + json.loads(line).get("t", "")
    return text.split()


def main():
    work = sys.argv[1]
    refs = {}
    for line in open(os.path.join(work, "refs.tsv")):
        i, t = line.rstrip("\n").split("\t", 1)
        refs[i] = normalise(t)
    sentences = [normalise(l) for l in open(os.path.join(work, "transcripts.txt")) if l.strip()]
    lm = os.path.join(work, "allison-bigram.arpa")
    words, pairs = bigram_arpa(sentences, lm)
    print(f"language model: {words} words, {pairs} bigrams from {len(sentences)} transcripts -> {lm}", file=sys.stderr)
    print(f"pocketsphinx settings: {' '.join(EXTRA) or 'defaults'}", file=sys.stderr)
    systems = sys.argv[2:] or sorted(d for d in os.listdir(work) if os.path.isdir(os.path.join(work, d)))
    result = {}
    for system in systems:
        errors = ref_words = 0
        rows = []
        for i, ref in sorted(refs.items()):
            wav = os.path.join(work, system, i.replace("/", "__") + ".wav")
            if not os.path.exists(wav):
                raise SystemExit(f"{wav} missing")
            hyp = decode(wav, lm)
            e = edit_distance(ref, hyp)
            errors += e
            ref_words += len(ref)
            rows.append({"id": i, "ref": " ".join(ref), "hyp": " ".join(hyp), "errors": e})
        wer = errors / ref_words
        result[system] = {"wer": wer, "errors": errors, "words": ref_words, "utterances": len(rows), "rows": rows}
        print(f"{system:10s} WER {100 * wer:6.2f} %  ({errors} errors / {ref_words} words, {len(rows)} utterances)")
    with open(os.path.join(work, "wer.json"), "w") as f: json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
