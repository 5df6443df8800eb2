#!/usr/bin/python3
"""Builds a small dialogue set for LoRA fine-tuning figures from this machine's manual pages: each conversation asks
what a command does and the assistant answers in one fixed format, "NAME - its one-line summary." (the NAME section of
its man page). Lines are chat JSONL ({"messages":[{"role":"user",...},{"role":"assistant",...}]}), shuffled with a fixed
seed, so `gensharp finetune` holds out the last 10% (commands never seen in training).

    /usr/bin/python3 bench/lora_chat_data.py OUT.jsonl [--count 600] [--charset FILE] [--section 1]

--charset FILE keeps only conversations whose every character occurs in FILE (a character-level gpt trained on
tiny Shakespeare cannot encode others).
"""
import argparse, glob, gzip, json, random, re, sys

QUESTIONS = ["what does {} do?", "what is {} for?", "explain {} in one line.", "tell me about {}."]


def summaries(section):
    """(name, summary) from the NAME section of every man page of the section."""
    out = {}
    for path in sorted(glob.glob(f"/usr/share/man/man{section}/*.{section}*.gz")):
        try:
            text = gzip.open(path, "rt", errors="replace").read(4000)
        except OSError:
            continue
        m = re.search(r"^\.S[Hh]\s+\"?(NAME|Name)\"?\s*\n(.*?)\n\.", text, re.M | re.S)
        if not m:
            continue
        line = re.sub(r"\\f[BIRP]|\\&|\\\(em|\\\(en", "", " ".join(m.group(2).split()))
        parts = re.split(r"\s+\\?-\s+", line, maxsplit=1)
        if len(parts) != 2:
            continue
        name, summary = parts[0].split(",")[0].strip(), parts[1].strip().rstrip(".")
        # Plain command names only (not the thousands of "gcloud group subcommand" pages, nor troff left-overs).
        if re.fullmatch(r"[a-z][a-z0-9+._-]*", name) and not name.startswith("gcloud") and summary and len(summary) < 90 and name not in out:
            out[name] = summary
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=600)
    ap.add_argument("--charset")
    ap.add_argument("--section", default="1")
    a = ap.parse_args()
    allowed = set(open(a.charset, encoding="utf-8").read()) if a.charset else None
    pairs = sorted(summaries(a.section).items())
    rng = random.Random(0)
    rng.shuffle(pairs)
    rows = []
    for i, (name, summary) in enumerate(pairs):
        user = QUESTIONS[i % len(QUESTIONS)].format(name)
        reply = f"{name} - {summary}."
        if allowed is not None and not set(user + reply + "UserAssistant: \n") <= allowed:
            continue
        rows.append({"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]})
        if len(rows) == a.count:
            break
    with open(a.out, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(rows)} conversations from {len(pairs)} man pages of section {a.section} -> {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
