using GenSharp.Models.Gpt;

namespace GenSharp.Models.Lora;

/// <summary>
/// Low-rank adapters put into a decoder through its projections (<see cref="DecoderNetwork.ReplaceProjections"/>):
/// wrap the targets, list the adapters, merge them back into dense weights, freeze everything else.
/// </summary>
public static class LoraAdapters
{
    /// <summary>
    /// Freezes every parameter of <paramref name="network"/> and wraps each projection whose local name is one of the
    /// config's targets in a fresh <see cref="LoraLinear"/> (A drawn from torch's RNG, B zero). Returns the adapters by
    /// full projection name, in network order.
    /// </summary>
    /// <exception cref="ParameterException">A target names no projection of this network (the message lists those it has).</exception>
    public static IReadOnlyList<(string Name, LoraLinear Layer)> Apply(DecoderNetwork network, LoraConfig config)
    {
        config.Validate();
        var names = LocalNames(network);
        var unknown = config.Targets.Where(t => !names.Contains(t)).ToList();
        if (unknown.Count > 0)
            throw new ParameterException("target", $"{string.Join(",", unknown)}: no such projection in this model; it has {string.Join(", ", names)}");
        Freeze(network);
        var targets = config.Targets.ToHashSet(StringComparer.Ordinal);
        var added = new List<(string, LoraLinear)>();
        network.ReplaceProjections((name, projection) =>
        {
            if (projection is LoraLinear) throw new GenSharpException($"{name} already has an adapter");
            if (!targets.Contains(name[(name.LastIndexOf('.') + 1)..])) return null;
            var (inWidth, outWidth) = LoraLinear.Widths(projection);
            var layer = new LoraLinear(projection, inWidth, outWidth, config.Rank, config.Scaling, config.Dropout);
            added.Add((name, layer));
            return layer;
        });
        return added;
    }

    /// <summary>The distinct local projection names of <paramref name="network"/> (q_proj, k_proj, …), in order.</summary>
    public static IReadOnlyList<string> LocalNames(DecoderNetwork network) =>
        network.NamedProjections().Select(p => p.LocalName).Distinct().ToList();

    /// <summary>The adapters in <paramref name="network"/> by full projection name.</summary>
    public static IReadOnlyList<(string Name, LoraLinear Layer)> Find(DecoderNetwork network) =>
        network.NamedProjections().Where(p => p.Projection is LoraLinear).Select(p => (p.Name, (LoraLinear)p.Projection)).ToList();

    /// <summary>Sets requires_grad = false on every parameter of <paramref name="network"/>.</summary>
    public static void Freeze(nn.Module network)
    {
        foreach (var p in network.parameters()) p.requires_grad = false;
    }

    /// <summary>
    /// Adds every adapter's s·B·A into its dense base weight and puts the base back in its place: the network then has
    /// its original structure and parameter names, and computes what it computed with the adapters. Returns how many merged.
    /// </summary>
    public static int Merge(DecoderNetwork network)
    {
        var spent = new List<LoraLinear>();
        int merged = network.ReplaceProjections((_, projection) =>
        {
            if (projection is not LoraLinear lora) return null;
            spent.Add(lora);
            return lora.MergeIntoBase();
        });
        // The spent wrappers' own tensors (A, B) go; their base lives on in the network.
        foreach (var lora in spent)
        {
            lora.A.Dispose();
            lora.B.Dispose();
        }
        return merged;
    }

    /// <summary>The adapters' A and B, in network order: the parameters a LoRA fine-tune optimizes.</summary>
    public static IReadOnlyList<TorchSharp.Modules.Parameter> Parameters(DecoderNetwork network) =>
        Find(network).SelectMany(a => new[] { a.Layer.A, a.Layer.B }).ToList();
}
