namespace GenSharp.Models.Gpt;

/// <summary>
/// Pre-norm transformer block: x + attn(norm₁(x)), then x + mlp(norm₂(x)). GPT uses LayerNorm and a GELU MLP
/// (<c>ln_1</c>, <c>attn</c>, <c>ln_2</c>, <c>mlp</c>); Llama uses RMSNorm and SwiGLU (<c>input_layernorm</c>,
/// <c>self_attn</c>, <c>post_attention_layernorm</c>, <c>mlp</c>).
/// </summary>
public sealed class DecoderBlock : nn.Module
{
    /// <summary>Checkpoint names of a block's parts: first norm, attention, second norm, MLP.</summary>
    public sealed record Names(string Norm1, string Attention, string Norm2, string Mlp);

    /// <summary>GPT-2's names.</summary>
    public static readonly Names GptNames = new("ln_1", "attn", "ln_2", "mlp");

    readonly nn.Module<Tensor, Tensor> _norm1, _norm2;
    readonly CausalSelfAttention _attn;
    readonly DecoderMlp _mlp;

    public DecoderBlock(Names names, nn.Module<Tensor, Tensor> norm1, CausalSelfAttention attn, nn.Module<Tensor, Tensor> norm2, DecoderMlp mlp)
        : base(nameof(DecoderBlock))
    {
        (_norm1, _attn, _norm2, _mlp) = (norm1, attn, norm2, mlp);
        register_module(names.Norm1, norm1);
        register_module(names.Attention, attn);
        register_module(names.Norm2, norm2);
        register_module(names.Mlp, mlp);
    }

    // Registered by name in the constructor; TorchSharp's field-name registration (run lazily too) would add the fields again.
    protected override void RegisterComponents() { }

    /// <summary>Whether one-token steps at inference run as TorchScript (<see cref="DecoderNetwork.ScriptedDecoding"/>).</summary>
    internal bool ScriptedDecoding { get; set; } = ScriptedDecode.EnabledByDefault;

    /// <summary>GPT block <paramref name="layer"/> of <paramref name="c"/>.</summary>
    public static DecoderBlock Gpt(GptConfig c, int layer) => new(GptNames,
        new GptLayerNorm(c.NEmbd, c.Bias, c.LayerNormEpsilon),
        CausalSelfAttention.Fused(c.NEmbd, c.NHead, c.Bias, c.Dropout, layer),
        new GptLayerNorm(c.NEmbd, c.Bias, c.LayerNormEpsilon),
        DecoderMlp.Gpt(c));

    /// <summary>
    /// This block's parts for the scripted decoder (<see cref="ScriptedDecode.Blocks"/>), or null when it runs eagerly:
    /// scripted decoding is off, the block is training, or a norm is not one the script knows.
    /// </summary>
    internal ScriptedDecode.BlockParts? ScriptParts() =>
        ScriptedDecoding && !training && _norm1 is IScriptableNorm n1 && _norm2 is IScriptableNorm n2
            ? new(n1.Weights, _attn.ScriptParts(), n2.Weights, _mlp.ScriptParts())
            : null;

    /// <summary>x (B, T, C) → (B, T, C); <paramref name="rotary"/>: cos/sin tables (T, D) for rotary attention, or null.</summary>
    public Tensor Forward(Tensor x, IKvCache? cache, (Tensor Cos, Tensor Sin)? rotary = null)
    {
        x = x + _attn.Forward(_norm1.forward(x), cache, rotary);
        return x + _mlp.forward(_norm2.forward(x));
    }
}
