#!/usr/bin/env python3
"""Builds the RAG evaluation set over Debian's python3-doc HTML pages.

    bench/rag_qa_build.py [--html /usr/share/doc/python3.11/html/library] [--collection DIR]

Reads bench/data/rag-qa-python3-doc.questions.tsv (ANCHOR <tab> QUESTION; ANCHOR '-' = not answerable from the
pages) and writes bench/data/rag-qa-python3-doc.jsonl: one question per line with its gold span, the lines of the
page's HTML source from the <dt id="ANCHOR"> that names the API to the </dd> that closes its description, and the
SHA-256 of the page so an evaluation can refuse a different version of the docs. With --collection it also copies
the pages (every page that holds a gold span, plus the distractor pages listed below) into DIR, the folder to ingest.
Standard library only; runs on the host.
"""
import argparse, hashlib, json, os, re, shutil, sys

# Pages that hold no gold span but sit in the same collection, so retrieval has near misses to reject.
DISTRACTORS = ["os", "array", "decimal", "fractions", "numbers", "cmath", "filecmp", "fileinput", "stat", "tarfile",
               "bz2", "lzma", "zlib", "configparser", "tomllib", "netrc", "plistlib", "hmac", "select", "selectors",
               "signal", "mmap", "codecs", "locale", "gettext", "getopt", "getpass", "curses", "platform", "errno",
               "ctypes", "concurrent.futures", "multiprocessing", "sched", "contextvars", "weakref", "types",
               "pprint", "reprlib", "graphlib", "zoneinfo", "abc", "inspect", "ast", "dis", "traceback", "warnings",
               "doctest", "unittest", "html.parser", "xml.etree.elementtree", "email.message", "http.client",
               "urllib.request", "socket", "ssl", "ipaddress", "mimetypes", "binascii", "quopri"]

def span_of(lines, anchor):
    """1-based inclusive (start, end): the <dt> line holding id="anchor" to the </dd> closing its description."""
    tag = f'id="{anchor}"'
    for i, line in enumerate(lines):
        if tag in line and "<dt" in line:
            depth, j = 0, i
            while j < len(lines):
                depth += len(re.findall(r"<dd[ >]", lines[j]))
                closes = lines[j].count("</dd>")
                if closes and depth and depth - closes <= 0:
                    return i + 1, j + 1
                depth -= closes
                j += 1
    return None

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--html", default="/usr/share/doc/python3.11/html/library")
    ap.add_argument("--collection")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--questions", default=os.path.join(here, "data", "rag-qa-python3-doc.questions.tsv"))
    ap.add_argument("--out", default=os.path.join(here, "data", "rag-qa-python3-doc.jsonl"))
    a = ap.parse_args()
    pages = sorted(f[:-5] for f in os.listdir(a.html) if f.endswith(".html"))
    cache, used, out = {}, set(), []
    def page_lines(p):
        if p not in cache:
            with open(os.path.join(a.html, p + ".html"), "rb") as f: data = f.read()
            cache[p] = (data.decode("utf-8").split("\n"), hashlib.sha256(data).hexdigest().upper())
        return cache[p]
    with open(a.questions, encoding="utf-8") as f:
        rows = [l.rstrip("\n").split("\t") for l in f if l.strip()]
    for n, (anchor, question) in enumerate(rows, 1):
        item = {"id": f"q{n:03d}", "question": question}
        if anchor == "-":
            item["answerable"] = False
            item["gold"] = []
        else:
            # The page is the longest module name the anchor starts with (os.path.join -> os.path, not os).
            parts = anchor.split(".")
            cands = [".".join(parts[:k]) for k in range(len(parts) - 1, 0, -1)]
            page = next((c for c in cands if c.lower() in pages or c in pages), None)
            page = page.lower() if page and page.lower() in pages else page
            if page is None: sys.exit(f"{anchor}: no page for it in {a.html}")
            lines, digest = page_lines(page)
            s = span_of(lines, anchor)
            if s is None: sys.exit(f"{anchor}: no <dt id> for it in {page}.html")
            used.add(page)
            item["answerable"] = True
            item["api"] = anchor
            item["gold"] = [{"path": page + ".html", "start": s[0], "end": s[1], "sha256": digest}]
        out.append(item)
    with open(a.out, "w", encoding="utf-8") as f:
        for item in out: f.write(json.dumps(item, ensure_ascii=False) + "\n")
    coll = sorted(used | {d for d in DISTRACTORS if d in pages})
    print(f"{len(out)} questions ({sum(i['answerable'] for i in out)} answerable) over {len(used)} pages; "
          f"collection {len(coll)} pages -> {a.out}", file=sys.stderr)
    if a.collection:
        os.makedirs(a.collection, exist_ok=True)
        for p in coll: shutil.copyfile(os.path.join(a.html, p + ".html"), os.path.join(a.collection, p + ".html"))

if __name__ == "__main__":
    main()
