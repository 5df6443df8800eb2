using TorchSharp.Modules;

namespace GenSharp.Models.Gpt;

/// <summary>
/// The position-wise MLP of a decoder block, proj(act(fc(x)) [⊙ up(x)]), in two checkpoint layouts:
/// <see cref="Gpt"/> is C → 4C → GELU → C → dropout (<c>c_fc</c>, <c>c_proj</c>); <see cref="SwiGlu"/> is Llama's
/// gated form (Shazeer 2020, Eq. 6), down(silu(gate(x)) ⊙ up(x)) (<c>gate_proj</c>, <c>up_proj</c>, <c>down_proj</c>).
/// </summary>
public sealed class DecoderMlp : nn.Module<Tensor, Tensor>, IProjectionHost
{
    // Projections (dense Linear layers, or modules put in their place through IProjectionHost.Replace)
    nn.Module<Tensor, Tensor> _fc;                // c_fc / gate_proj
    nn.Module<Tensor, Tensor>? _up;               // up_proj (gated only)
    nn.Module<Tensor, Tensor> _proj;              // c_proj / down_proj
    readonly Dropout? _dropout;
    readonly Func<Tensor, Tensor> _act;
    readonly bool _geluTanh;

    DecoderMlp(Linear fc, Linear? up, Linear proj, Dropout? dropout, Func<Tensor, Tensor> act, bool geluTanh = false) : base(nameof(DecoderMlp))
    {
        (_fc, _up, _proj, _dropout, _act, _geluTanh) = (fc, up, proj, dropout, act, geluTanh);
        // The names are the checkpoint keys of each layout (GPT-2 / Hugging Face Llama).
        if (up is null)
        {
            register_module("c_fc", fc);
            register_module("c_proj", proj);
        }
        else
        {
            register_module("gate_proj", fc);
            register_module("up_proj", up);
            register_module("down_proj", proj);
        }
        if (dropout is not null) register_module("dropout", dropout);
    }

    // Registered by name in the constructor; TorchSharp's field-name registration (run lazily too) would add the fields again.
    protected override void RegisterComponents() { }

    /// <summary>The projections, for the scripted decoder (which decides whether it can run them).</summary>
    internal MlpWeights ScriptParts() => new(_fc, _up, _proj, _geluTanh);

    public IEnumerable<(string Name, nn.Module<Tensor, Tensor> Projection)> Projections =>
        _up is null
            ? new[] { ("c_fc", _fc), ("c_proj", _proj) }
            : new[] { ("gate_proj", _fc), ("up_proj", _up), ("down_proj", _proj) };

    public void Replace(string name, nn.Module<Tensor, Tensor> projection)
    {
        switch (name)
        {
            case "c_fc" when _up is null: _fc = projection; break;
            case "c_proj" when _up is null: _proj = projection; break;
            case "gate_proj" when _up is not null: _fc = projection; break;
            case "up_proj" when _up is not null: _up = projection; break;
            case "down_proj" when _up is not null: _proj = projection; break;
            default: throw new ArgumentException($"this MLP has no projection {name} (it has {string.Join(", ", Projections.Select(p => p.Name))})", nameof(name));
        }
        _internal_submodules[name] = projection;
    }

    /// <summary>GPT layout of <paramref name="c"/>: C → 4C → GELU (exact or tanh form, as configured) → C → dropout.</summary>
    public static DecoderMlp Gpt(GptConfig c) =>
        new(DeferredWeights.Projection(c.NEmbd, 4 * c.NEmbd, bias: c.Bias), null, DeferredWeights.Projection(4 * c.NEmbd, c.NEmbd, bias: c.Bias), nn.Dropout(c.Dropout),
            c.Activation == GptActivation.GeluTanh ? GeluTanh : x => x.gelu(), c.Activation == GptActivation.GeluTanh);

    /// <summary>SwiGLU layout: width → hidden (gate and up) → width.</summary>
    public static DecoderMlp SwiGlu(int width, int hidden, bool bias) =>
        new(DeferredWeights.Projection(width, hidden, bias: bias), DeferredWeights.Projection(width, hidden, bias: bias), DeferredWeights.Projection(hidden, width, bias: bias), null,
            x => nn.functional.silu(x));

    /// <summary>x (B, T, C) → (B, T, C).</summary>
    public override Tensor forward(Tensor x)
    {
        Tensor h;
        if (_up is null) h = _act(Projection.Forward(_fc, x));                      // (B, T, hidden)
        else
        {
            var gateUp = Projection.Joined(x, _fc, _up);
            h = _act(gateUp[0]) * gateUp[1];
        }
        h = Projection.Forward(_proj, h);                                           // (B, T, C)
        return _dropout is null ? h : _dropout.forward(h);
    }

    /// <summary>GELU by tanh (Hendrycks &amp; Gimpel 2016, §2): ½x(1 + tanh(√(2/π)(x + 0.044715x³))), GPT-2's gelu_new.</summary>
    static Tensor GeluTanh(Tensor x) => 0.5 * x * (1 + ((x + 0.044715 * x.pow(3)) * Math.Sqrt(2 / Math.PI)).tanh());
}
