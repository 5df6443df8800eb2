namespace GenSharp.Training;

/// <summary>Loads other weights (e.g. the EMA) into a module for a while and puts the originals back on dispose.</summary>
public sealed class WeightSwap : IDisposable
{
    readonly nn.Module _module;
    readonly Dictionary<string, Tensor> _saved = new();

    public WeightSwap(nn.Module module, IReadOnlyDictionary<string, Tensor> weights)
    {
        _module = module;
        using var _ = torch.no_grad();
        foreach (var (name, t) in module.state_dict())
        {
            if (!weights.TryGetValue(name, out var w)) continue;
            _saved[name] = t.detach().clone().DetachFromDisposeScope();
            t.copy_(w);
        }
    }

    public void Dispose()
    {
        using var _ = torch.no_grad();
        var state = _module.state_dict();
        foreach (var (name, t) in _saved)
        {
            state[name].copy_(t);
            t.Dispose();
        }
        _saved.Clear();
    }
}
