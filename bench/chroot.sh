#!/usr/bin/env bash
# A Debian sid chroot holding the reference peers that Debian 12 is too old for: PyTorch, Hugging Face
# transformers/tokenizers/safetensors, sentencepiece, onnxruntime, llama.cpp, gguf and pocketsphinx 5. Tests and CI never
# need it; bench/ scripts and fixture generators (bench/pytorch/*.py) run inside it.
#
#   bench/chroot.sh [DIR]                 create or update the chroot (default DIR: /work/sid); idempotent
#   bench/chroot.sh run [DIR] -- CMD...   run CMD inside it, with this repository mounted at /repo
#
# Needs root and Debian's mirror; about 2.5 GB and a few minutes the first time. Later runs only check.
set -euo pipefail

MIRROR=http://deb.debian.org/debian
PACKAGES=(python3-torch libopenblas0-pthread python3-transformers python3-tokenizers python3-sentencepiece
          python3-safetensors python3-onnxruntime llama.cpp llama.cpp-tools-extra python3-gguf
          pocketsphinx pocketsphinx-en-us)
REPO=$(cd "$(dirname "$0")/.." && pwd)

[[ $(id -u) == 0 ]] || { echo "chroot.sh: needs root (debootstrap, mount, chroot)" >&2; exit 1; }
# Every mount below lives in a private mount namespace of this script: it disappears when the script ends
# (nothing stays bind-mounted under DIR, so removing DIR never reaches the host's /dev), and concurrent
# runs from several work trees each see their own /repo.
if [[ -z "${GENSHARP_CHROOT_NS:-}" ]]; then
  GENSHARP_CHROOT_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi

mode=setup
if [[ "${1:-}" == run ]]; then mode=run; shift; fi
DIR=/work/sid
if [[ $# -gt 0 && "$1" != -- ]]; then DIR=$1; shift; fi
[[ "${1:-}" == -- ]] && shift

mount_all() { # /proc for python and apt, /dev for /dev/null and /dev/urandom, the repository at /repo
  mount --bind /proc "$DIR/proc"
  mount --bind /dev "$DIR/dev"
  mkdir -p "$DIR/repo"
  mount --bind "$REPO" "$DIR/repo"
  cp -L /etc/resolv.conf "$DIR/etc/resolv.conf" 2>/dev/null || true
}

if [[ $mode == run ]]; then
  [[ -x "$DIR/usr/bin/python3" ]] || { echo "chroot.sh: no chroot at $DIR; run bench/chroot.sh $DIR first" >&2; exit 1; }
  [[ $# -gt 0 ]] || { echo "chroot.sh run: give a command after --" >&2; exit 2; }
  mount_all
  chroot "$DIR" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
    OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" ${OPENBLAS_NUM_THREADS:+OPENBLAS_NUM_THREADS=$OPENBLAS_NUM_THREADS} \
    ${PS_ARGS:+PS_ARGS="$PS_ARGS"} ${MALLOC_MMAP_THRESHOLD_:+MALLOC_MMAP_THRESHOLD_=$MALLOC_MMAP_THRESHOLD_} ${MALLOC_TRIM_THRESHOLD_:+MALLOC_TRIM_THRESHOLD_=$MALLOC_TRIM_THRESHOLD_} \
    bash -c 'cd /repo && "$@"' bash "$@"
  exit $?
fi

start=$(date +%s)
command -v debootstrap >/dev/null || { apt-get update -qq; apt-get install -y -qq debootstrap; }

if [[ ! -x "$DIR/usr/bin/apt-get" ]]; then
  echo "debootstrap sid into $DIR ..." >&2
  debootstrap --variant=minbase sid "$DIR" "$MIRROR"
fi

mount_all

missing=()
for p in "${PACKAGES[@]}"; do
  chroot "$DIR" dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "installing ${missing[*]} ..." >&2
  chroot "$DIR" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Check-Valid-Until=false update -qq
  chroot "$DIR" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  chroot "$DIR" apt-get clean
fi

chroot "$DIR" /usr/bin/python3 -c 'import torch, tokenizers, transformers, sentencepiece, safetensors, onnxruntime, gguf
print("torch", torch.__version__, "| tokenizers", tokenizers.__version__, "| transformers", transformers.__version__)'
echo "chroot ready at $DIR in $(( $(date +%s) - start )) s ($(du -shx --exclude=./repo --exclude=./proc --exclude=./dev "$DIR"/. 2>/dev/null | cut -f1))" >&2
