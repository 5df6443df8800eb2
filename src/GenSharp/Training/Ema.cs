namespace GenSharp.Training;

/// <summary>
/// Exponential moving average of a module's parameters:
/// shadow ← d·shadow + (1 − d)·θ after every optimiser step, d = min(decay, (1 + step)/(10 + step)) (a warm-up,
/// see <see cref="DecayAt"/>); integer buffers are copied.
/// The average starts from the weights after the first step, not from the initial weights, because
/// some layers initialise themselves from the first batch (Glow's data-dependent ActNorm): an average
/// that started at their placeholder values would lag for thousands of steps. Sampling from the
/// average is usually better than from the last iterate (used by diffusion and GAN recipes).
/// </summary>
public sealed class Ema : IDisposable
{
    readonly nn.Module _module;
    readonly Dictionary<string, Tensor> _shadow = new();
    bool _started;   // false until the first Update (or a Load): that update copies the weights

    /// <summary>Decay per step, in [0, 1).</summary>
    public double Decay { get; }

    public Ema(nn.Module module, double decay)
    {
        if (!(decay >= 0 && decay < 1))
            throw new GenSharpException($"ema_decay must be in [0, 1), got {decay}");
        _module = module;
        Decay = decay;
        using var _ = torch.no_grad();
        foreach (var (name, t) in module.state_dict())
            _shadow[name] = t.detach().clone();
    }

    /// <summary>The averaged tensors, named as the module's state dict.</summary>
    public IReadOnlyDictionary<string, Tensor> Shadow => _shadow;

    /// <summary>
    /// The decay used after optimiser step <paramref name="step"/> (1-based): min(Decay, (1 + step) / (10 + step)).
    /// Early on the average forgets fast, later it settles at <see cref="Decay"/>. Without this warm-up a
    /// 0.999 average still carries 0.999^1000 ≈ 37% of the first weights after 1,000 steps; measured on the
    /// pixel DDPM, that average sampled pure noise at step 1,100 while the raw weights already drew garments.
    /// </summary>
    public double DecayAt(long step) => Math.Min(Decay, (1.0 + step) / (10.0 + step));

    /// <summary>Moves the average toward the current weights after optimiser step <paramref name="step"/> (1-based).</summary>
    public void Update(long step)
    {
        double decay = DecayAt(step);
        using var _ = torch.no_grad();
        foreach (var (name, t) in _module.state_dict())
        {
            var s = _shadow[name];
            if (_started && t.is_floating_point()) s.mul_(decay).add_(t.detach(), alpha: 1 - decay);
            else s.copy_(t);
        }
        _started = true;
    }

    /// <summary>Replaces the average with the given tensors (resume).</summary>
    public void Load(IReadOnlyDictionary<string, Tensor> tensors)
    {
        using var _ = torch.no_grad();
        foreach (var (name, s) in _shadow)
        {
            if (!tensors.TryGetValue(name, out var t))
                throw new GenSharpException($"EMA state lacks '{name}'; resume from a checkpoint made with the same ema_decay setting");
            s.copy_(t);
        }
        _started = true;
    }

    public void Dispose()
    {
        foreach (var t in _shadow.Values) t.Dispose();
        _shadow.Clear();
    }
}
