#!/usr/bin/env bash
# Writes the tiny "previous release" checkpoints used by LegacyCheckpointTests, with the samples each produced.
# Run once with the release being frozen (these were made at commit f82a003, before the issue-14 redesign); the
# output is committed. Usage: tests/GenSharp.Tests/Fixtures/Legacy/make.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
g="$root/gensharp"
tmp=$(mktemp -d)
common=(--data embedded --limit 64 --batch-size 8 --steps 3 --seed 7 --checkpoint-every 0 --sample-every 0 --threads 1)
train() { local fam=$1; shift; "$g" train "$fam" --out "$tmp/$fam" "${common[@]}" "$@" > /dev/null; }
train vae --set latent_dim=4 --set channels=4 --set hidden=16
train dcgan --set latent_dim=8 --set generator_channels=8 --set discriminator_channels=8 --set conditional=true
train pixelcnn --set layers=2 --set channels=8 --set output_hidden_channels=8
train realnvp --set scales=1 --set coupling_channels=8 --set residual_blocks=1
train glow --set levels=1 --set steps_per_level=2 --set hidden_channels=8
train ddpm --set base_channels=8 --set 'channel_mult=[1,2]' --set 'attention_resolutions=[14]' --set norm_groups=4 \
      --set timesteps=20 --set sampler_steps=5 --set conditional=true --ema 0.9
train rbm --set hidden=16 --set sample_steps=10
train dbn --set 'hidden_layers=[16,8]' --set layer_steps=2 --set sample_steps=10
train ebm --set channels=8 --set langevin_steps=5 --set replay_size=64 --set sample_steps=5
train classifier --set channels=4 --set feature_dim=8
head -c 3000 "$root/data/tinyshakespeare.txt" > "$tmp/text.txt"
"$g" train gpt --out "$tmp/gpt" --data "$tmp/text.txt" --batch-size 4 --steps 3 --seed 7 --checkpoint-every 0 --threads 1 \
  --set n_layer=1 --set n_head=2 --set n_embd=16 --set block_size=16 --set eval_iters=1 > /dev/null
for fam in vae dcgan pixelcnn realnvp glow ddpm rbm dbn ebm classifier gpt; do
  rm -rf "$here/$fam"; mkdir -p "$here/$fam"
  cp "$tmp/$fam/checkpoint/"* "$here/$fam/"
  # resume state is not part of what a release ships to samplers
  rm -f "$here/$fam/optimizer.bin"
done
for fam in vae dcgan pixelcnn realnvp glow ddpm rbm dbn ebm; do
  "$g" sample "$here/$fam" --out "$here/$fam.samples.npy" --n 4 --seed 3 --threads 1 > /dev/null
done
"$g" generate "$here/gpt" --prompt "ROMEO:" --max-tokens 20 --temperature 0.8 --seed 3 --threads 1 | tail -1 > /dev/null
"$g" generate "$here/gpt" --prompt "ROMEO:" --max-tokens 20 --temperature 0.8 --seed 3 --threads 1 | head -n -1 > "$here/gpt.generated.txt"
"$g" eval "$here/classifier" --data embedded --limit 50 --threads 1 | tail -1 > "$here/classifier.eval.json"
rm -rf "$tmp"
