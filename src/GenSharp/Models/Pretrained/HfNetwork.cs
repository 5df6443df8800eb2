using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenSharp.Models.Pretrained;

/// <summary>A pretrained decoder's network: tokens in, next-token logits out, with an optional KV cache. Inference only.</summary>
public abstract class HfNetwork : nn.Module
{
    protected HfNetwork(string name) : base(name) { }

    /// <summary>
    /// Tokens (B, T) → logits (B, T, V), or (B, 1, V) for the last position when <paramref name="lastOnly"/>.
    /// With a cache the tokens sit at positions cache.Length … and are appended to it.
    /// </summary>
    public abstract Tensor Forward(Tensor tokens, KvCache? cache = null, bool lastOnly = false);

    /// <summary>The parameter a checkpoint tensor fills, by its Hugging Face name, or null for tensors the model has no use for.</summary>
    /// <remarks>Also says whether the stored matrix must be transposed first (GPT-2's Conv1D keeps (in, out)).</remarks>
    public abstract (string Name, bool Transpose)? MapCheckpointName(string hfName);

    /// <summary>One-line error when <paramref name="fresh"/> tokens after the cached ones exceed the context.</summary>
    protected static void CheckContext(KvCache? cache, long fresh, int context, string contextKey)
    {
        int start = cache?.Length ?? 0;
        if (start + fresh > context)
            throw new GenSharpException($"{start + fresh} tokens exceed the model's context of {context} ({contextKey})");
    }

    /// <summary>Logits of hidden states (B, T, C): the untied <paramref name="lmHead"/>, or the embedding matrix when tied.</summary>
    protected static Tensor Head(Tensor hidden, Tensor embedding, Linear? lmHead) =>
        lmHead is null ? nn.functional.linear(hidden, embedding) : lmHead.forward(hidden);   // (B, T, V)
}
