#!/usr/bin/env bash
# Writes the run folders used by LegacyResumeTests: 2-step runs whose checkpoints keep
# optimizer.bin and trainer_state.json, made with the release before the trainer owned the step (the CLI built at
# commit a371d1f; its models held their own optimizers and a steps_done buffer), and the weights the same release
# reached in an uninterrupted 3-step run (FAMILY.step3.safetensors). The output is committed.
# Usage: GENSHARP_DLL=/path/to/old/GenSharp.Cli.dll tests/GenSharp.Tests/Fixtures/LegacyResume/make.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
g="dotnet ${GENSHARP_DLL:?set GENSHARP_DLL to the previous release's GenSharp.Cli.dll}"
tmp=$(mktemp -d)
head -c 3000 "$root/data/tinyshakespeare.txt" > "$here/text.txt"
run() {   # run STEPS OUT
  local common=(--data embedded --limit 64 --batch-size 8 --steps "$1" --seed 7 --checkpoint-every 0 --sample-every 0 --threads 1)
  $g train dcgan --out "$2/dcgan" "${common[@]}" --set latent_dim=8 --set generator_channels=8 --set discriminator_channels=8 > /dev/null
  $g train glow --out "$2/glow" "${common[@]}" --set levels=1 --set steps_per_level=2 --set hidden_channels=8 > /dev/null
  $g train dbn --out "$2/dbn" "${common[@]}" --set 'hidden_layers=[16,8]' --set layer_steps=1 --set sample_steps=10 > /dev/null
  $g train classifier --out "$2/classifier" "${common[@]}" --set channels=4 --set feature_dim=8 --set decay_steps=4 > /dev/null
  $g train gpt --out "$2/gpt" --data "$here/text.txt" --batch-size 4 --steps "$1" --seed 7 --checkpoint-every 0 --threads 1 \
    --set n_layer=1 --set n_head=2 --set n_embd=16 --set block_size=16 --set eval_iters=1 > /dev/null
}
run 2 "$tmp/2"
run 3 "$tmp/3"
for fam in dcgan glow dbn classifier gpt; do
  rm -rf "$here/$fam"; mkdir -p "$here/$fam"
  cp -r "$tmp/2/$fam/checkpoint" "$here/$fam/"
  cp "$tmp/3/$fam/checkpoint/model.safetensors" "$here/$fam.step3.safetensors"
done
rm -rf "$tmp"
