#!/usr/bin/env bash
# Word error rate of the 71 held-out Allison sentences, recognised by pocketsphinx 5 (Debian sid chroot) with a bigram
# language model over the corpus transcripts, for: the real recordings (the floor), GenSharp's TTS, espeak-ng (a
# rule-based baseline) and GenSharp's vocoder half alone (resynthesis of the real recordings' log-mel frames).
#
#   bench/tts_wer.sh TTS_CHECKPOINT [WORK_DIR]      (needs root for the chroot; bench/chroot.sh /work/sid first)
#   VOCODER=WAVENET_CHECKPOINT bench/tts_wer.sh ...  also the TTS and the resynthesis through that WaveNet vocoder
#                                                   (systems tts_wavenet, resynth_wavenet; TEMPERATURE, default 1)
#
# Host needs sox, espeak-ng and the asterisk packages; results: WORK_DIR/wer.json and the table on stdout.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
CKPT=${1:?usage: bench/tts_wer.sh TTS_CHECKPOINT [WORK_DIR]}
WORK=${2:-$REPO/bench/results/tts-wer}
SID=${SID:-/work/sid}
AUDIO=/usr/share/asterisk/sounds/en_US_f_Allison
TRANSCRIPTS=/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz
rm -rf "$WORK"; mkdir -p "$WORK"/{real8k,tts8k,resynth8k,real,tts,espeak,resynth}
VOCODER=${VOCODER:-}
TEMPERATURE=${TEMPERATURE:-1}
SYSTEMS="real espeak tts resynth"
[[ -n $VOCODER ]] && { mkdir -p "$WORK"/{tts_wavenet8k,resynth_wavenet8k,tts_wavenet,resynth_wavenet}; SYSTEMS="$SYSTEMS tts_wavenet resynth_wavenet"; }

# The held-out split exactly as AllisonCorpus computes it: spoken transcripts whose id's FNV-1a hash is 0 mod 10.
python3 - "$TRANSCRIPTS" "$AUDIO" "$WORK" <<'PY'
import gzip, os, re, sys
src, audio, work = sys.argv[1:]
def fnv(s):
    h = 2166136261
    for b in s.encode(): h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h
refs, allt, lines = [], [], []
for line in gzip.open(src, "rt", encoding="utf-8"):
    if line.startswith(";") or ":" not in line: continue
    i, t = line.split(":", 1)
    i, t = i.strip(), t.strip()
    if not os.path.exists(os.path.join(audio, i + ".wav")) or t.startswith("("): continue
    t = re.sub(r"\s+", " ", re.sub(r"\[[^\]]*\]", " ", t)).strip()
    if not t: continue
    allt.append(t)
    if fnv(i) % 10 == 0:
        refs.append((i, t))
open(os.path.join(work, "refs.tsv"), "w").write("".join(f"{i}\t{t}\n" for i, t in sorted(refs)))
open(os.path.join(work, "transcripts.txt"), "w").write("".join(t + "\n" for t in allt))
open(os.path.join(work, "lines.txt"), "w").write("".join(f"{i.replace('/', '__')}\t{t}\n" for i, t in sorted(refs)))
print(f"{len(refs)} held-out utterances, {len(allt)} transcripts", file=sys.stderr)
PY

while IFS=$'\t' read -r id text; do
  name=${id//\//__}
  cp "$AUDIO/$id.wav" "$WORK/real8k/$name.wav"
  espeak-ng -v en-us -w "$WORK/espeak/$name.22k.wav" "$text"
done < "$WORK/refs.tsv"

GS=${GENSHARP:-$REPO/gensharp}
$GS speak "$CKPT" --input-file "$WORK/lines.txt" --out "$WORK/tts8k" --threads 2 --vocoder none
$GS speak "$CKPT" --resynthesize "$WORK/real8k" --out "$WORK/resynth8k" --threads 2 --vocoder none
if [[ -n $VOCODER ]]; then
  # Two one-thread processes side by side: a WaveNet draw is a chain of small steps that a second thread barely helps.
  $GS speak "$CKPT" --input-file "$WORK/lines.txt" --out "$WORK/tts_wavenet8k" --threads 1 --vocoder "$VOCODER" --temperature "$TEMPERATURE" --vocoder-batch 24 &
  p1=$!
  $GS speak "$CKPT" --resynthesize "$WORK/real8k" --out "$WORK/resynth_wavenet8k" --threads 1 --vocoder "$VOCODER" --temperature "$TEMPERATURE" --vocoder-batch 24 &
  p2=$!
  wait $p1; wait $p2
fi

to16k() { sox "$1" -r 16000 -c 1 -b 16 -e signed-integer "$2"; }
for f in "$WORK"/real8k/*.wav; do n=$(basename "$f"); to16k "$f" "$WORK/real/$n"; done
for f in "$WORK"/tts8k/*.wav; do n=$(basename "$f"); to16k "$f" "$WORK/tts/$n"; done
for f in "$WORK"/resynth8k/*.wav; do n=$(basename "$f"); to16k "$f" "$WORK/resynth/$n"; done
if [[ -n $VOCODER ]]; then
  for f in "$WORK"/tts_wavenet8k/*.wav; do n=$(basename "$f"); to16k "$f" "$WORK/tts_wavenet/$n"; done
  for f in "$WORK"/resynth_wavenet8k/*.wav; do n=$(basename "$f"); to16k "$f" "$WORK/resynth_wavenet/$n"; done
  rm -f "$WORK"/tts_wavenet8k/*.png "$WORK"/resynth_wavenet8k/*.png
fi
# espeak-ng speaks at 22.05 kHz with the full band; band-limit it to 8 kHz first, as the corpus and the TTS are.
for f in "$WORK"/espeak/*.22k.wav; do n=$(basename "$f" .22k.wav); sox "$f" -r 8000 "$WORK/espeak/$n.8k.wav"; to16k "$WORK/espeak/$n.8k.wav" "$WORK/espeak/$n.wav"; rm "$f" "$WORK/espeak/$n.8k.wav"; done
rm -f "$WORK"/tts8k/*.png "$WORK"/resynth8k/*.png

"$REPO/bench/chroot.sh" run "$SID" -- python3 -u "bench/tts_wer.py" "${WORK/#$REPO//repo}" $SYSTEMS
