using TorchSharp.Modules;

namespace GenSharp.Models.Gpt;

/// <summary>
/// Builds a decoder's dense layers without storage when a loader is about to put other layers in their place: inside a
/// scope, the projections (and, when asked, the head and a head-tied token embedding) are made on libtorch's meta device,
/// which records shapes and allocates nothing, so loading a quantized model never holds (or randomly initialises) the
/// float32 matrices its codes replace. Outside a scope every layer is built on the CPU as usual.
/// </summary>
/// <remarks>
/// The scope is per thread and covers only construction; the loader must replace every layer built here before the
/// network runs (<see cref="Check"/> says which one it missed).
/// </remarks>
public sealed class DeferredWeights : IDisposable
{
    [ThreadStatic] static DeferredWeights? _current;
    readonly DeferredWeights? _outer;
    readonly bool _head;

    DeferredWeights(bool head)
    {
        (_outer, _head) = (_current, head);
        _current = this;
    }

    /// <summary>Defers the projections of decoders built on this thread until disposed, and their head (and a tied token embedding) when <paramref name="head"/>.</summary>
    public static DeferredWeights Begin(bool head) => new(head);

    public void Dispose() => _current = _outer;

    static Device? ProjectionDevice => _current is null ? null : torch.META;
    static Device? HeadDevice => _current?._head == true ? torch.META : null;

    /// <summary>A projection (in → out).</summary>
    internal static Linear Projection(long inFeatures, long outFeatures, bool bias) =>
        nn.Linear(inFeatures, outFeatures, hasBias: bias, device: ProjectionDevice);

    /// <summary>An untied head (width → vocabulary).</summary>
    internal static Linear Head(long width, long vocabulary) =>
        nn.Linear(width, vocabulary, hasBias: false, device: HeadDevice);

    /// <summary>The token embedding; deferred with the head when <paramref name="tiedHead"/> (the head's codes then serve the lookups).</summary>
    internal static Embedding TokenEmbedding(long vocabulary, long width, bool tiedHead)
    {
        if (!tiedHead || HeadDevice is null) return nn.Embedding(vocabulary, width);
        // TorchSharp builds an embedding's table on the CPU and then moves it: build a one-row one, give it a storageless table.
        var embedding = nn.Embedding(1, width);
        embedding.weight = new Parameter(torch.empty(vocabulary, width, device: torch.META));
        return embedding;
    }

    /// <summary>Throws when a tensor of <paramref name="network"/> still has no storage: the loaded file did not replace it.</summary>
    public static void Check(nn.Module network, string source)
    {
        foreach (var (name, p) in network.named_parameters())
            if (p.device_type == DeviceType.META)
                throw new GenSharpException($"{source} gives no weights for {name}; the quantized model is incomplete");
    }
}
