namespace GenSharp.Models.Pretrained;

/// <summary>
/// Which parameter of GenSharp's network a Hugging Face checkpoint tensor fills, by its name, and whether the
/// stored matrix must be transposed first.
/// </summary>
public static class HfTensorNames
{
    // GPT-2's Conv1D layers keep their weights as (in, out); the Linear layers of GptNetwork hold (out, in).
    static readonly string[] Conv1D = { ".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight" };

    /// <summary>The parameter <paramref name="hfName"/> fills, or null for tensors the model has no use for.</summary>
    public static (string Name, bool Transpose)? Map(HfModelConfig config, string hfName) =>
        config.IsGpt2 ? Gpt2(hfName, config.TieEmbeddings) : Llama(hfName, config.TieEmbeddings);

    /// <summary>
    /// gpt2 → <see cref="Gpt.GptNetwork"/>: GPT2LMHeadModel saves "transformer.h.0…", GPT2Model saves "h.0…"; GenSharp's
    /// GPT names are the bare ones. The causal-mask buffers of old checkpoints and a tied lm_head are skipped.
    /// </summary>
    static (string, bool)? Gpt2(string hfName, bool tied)
    {
        if (hfName == "lm_head.weight") return tied ? null : (hfName, false);
        var name = hfName.StartsWith("transformer.", StringComparison.Ordinal) ? hfName["transformer.".Length..] : hfName;
        if (name.EndsWith(".attn.bias", StringComparison.Ordinal) || name.EndsWith(".attn.masked_bias", StringComparison.Ordinal)) return null;
        return (name, Conv1D.Any(s => name.EndsWith(s, StringComparison.Ordinal)));
    }

    /// <summary>llama, qwen2, mistral → <see cref="LlamaNetwork"/>, whose names are Hugging Face's (<c>model.layers.0.self_attn.q_proj.weight</c>, …).</summary>
    static (string, bool)? Llama(string hfName, bool tied)
    {
        if (hfName.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal)) return null;     // older checkpoints keep the RoPE table
        if (hfName == "lm_head.weight") return tied ? null : (hfName, false);                  // tied: the embedding is the head
        return (hfName.StartsWith("model.", StringComparison.Ordinal) ? hfName : "model." + hfName, false);
    }
}
