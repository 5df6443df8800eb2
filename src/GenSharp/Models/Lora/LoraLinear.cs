using System.Reflection;
using GenSharp.Models.Gpt;
using TorchSharp.Modules;

namespace GenSharp.Models.Lora;

/// <summary>
/// A frozen projection plus a low-rank update: y = base(x) + s·B·A·dropout(x), A (r, in), B (out, r), s = α/r
/// (Hu et al. 2021, eq. 3). The base is any module of the projection's widths — a dense <see cref="Linear"/> or one whose
/// weights are stored in fewer bits (QLoRA-style: only its forward is called). A starts Kaiming-uniform and B at zero, so
/// a fresh adapter leaves the output unchanged. Submodules are named as PEFT names them (<c>base_layer</c>,
/// <c>lora_A</c>, <c>lora_B</c>), so the adapter's tensors are <c>….lora_A.weight</c> and <c>….lora_B.weight</c>.
/// </summary>
public sealed class LoraLinear : nn.Module<Tensor, Tensor>
{
    readonly nn.Module<Tensor, Tensor> base_layer;
    readonly Linear lora_A;
    readonly Linear lora_B;
    readonly Dropout? lora_dropout;
    // Kept alive across native calls (a temporary Scalar may be finalised during one).
    readonly Scalar _scale;

    /// <param name="baseLayer">The frozen projection; its parameters get requires_grad = false.</param>
    /// <param name="inFeatures">Input width of the projection.</param>
    /// <param name="outFeatures">Output width.</param>
    /// <param name="rank">r.</param>
    /// <param name="scaling">s, the factor of B·A (α/r).</param>
    /// <param name="dropout">Dropout probability on the adapter's input in training mode (0 = none).</param>
    public LoraLinear(nn.Module<Tensor, Tensor> baseLayer, long inFeatures, long outFeatures, int rank, double scaling, double dropout = 0)
        : base(nameof(LoraLinear))
    {
        if (rank < 1) throw new ArgumentOutOfRangeException(nameof(rank), rank, "rank must be ≥ 1");
        base_layer = baseLayer;
        foreach (var p in baseLayer.parameters()) p.requires_grad = false;
        var device = baseLayer.parameters().Select(p => (Tensor)p).Concat(baseLayer.buffers()).FirstOrDefault()?.device ?? torch.CPU;
        lora_A = nn.Linear(inFeatures, rank, hasBias: false, device: device);         // default init: Kaiming-uniform, a = √5 (as PEFT)
        lora_B = nn.Linear(rank, outFeatures, hasBias: false, device: device);
        using (torch.no_grad()) lora_B.weight!.zero_();
        lora_dropout = dropout > 0 ? nn.Dropout(dropout) : null;
        Rank = rank;
        Scaling = scaling;
        _scale = scaling;
        RegisterComponents();
    }

    /// <summary>The frozen projection.</summary>
    public nn.Module<Tensor, Tensor> Base => base_layer;
    /// <summary>A (r, in).</summary>
    public Parameter A => lora_A.weight!;
    /// <summary>B (out, r).</summary>
    public Parameter B => lora_B.weight!;
    /// <summary>r.</summary>
    public int Rank { get; }
    /// <summary>s, the factor of B·A.</summary>
    public double Scaling { get; }
    /// <summary>Input width.</summary>
    public long InFeatures => A.shape[1];
    /// <summary>Output width.</summary>
    public long OutFeatures => B.shape[0];

    public override Tensor forward(Tensor x)
    {
        // The dense base keeps the few-row fast path of decoding; any other base runs its own forward.
        return AddUpdate(Projection.Forward(base_layer, x), x);                       // (…, out)
    }

    /// <summary><paramref name="y"/> + s·B·A·dropout(x): the adapter's update added to the base's output y for x.</summary>
    internal Tensor AddUpdate(Tensor y, Tensor x)
    {
        var h = lora_dropout is null ? x : lora_dropout.forward(x);
        var update = lora_B.forward(lora_A.forward(h));                                  // (…, r) → (…, out)
        return y.add(update, _scale);
    }

    /// <summary>s·B·A (out, in): the change the adapter makes to a dense weight.</summary>
    public Tensor Delta()
    {
        using var _ = torch.no_grad();
        return B.mm(A).mul(_scale);
    }

    /// <summary>
    /// Adds s·B·A into the dense base's weight and returns the base (this wrapper is then spent). A base that is not a
    /// <see cref="Linear"/> (quantized weights) cannot take the update: merge the adapter into a dense copy of the model.
    /// </summary>
    public Linear MergeIntoBase()
    {
        if (base_layer is not Linear dense)
            throw new GenSharpException($"an adapter over a {base_layer.GetType().Name} cannot be merged: merging needs dense (float) base weights; merge into the unquantized model, then quantize");
        using var _ = torch.no_grad();
        using var delta = Delta();
        dense.weight!.add_(delta.to(dense.weight.dtype));
        return dense;
    }

    /// <summary>
    /// The (in, out) widths of a projection: a <see cref="Linear"/>'s weight, or the <c>InFeatures</c>/<c>OutFeatures</c>
    /// properties a stand-in module exposes (a quantized layer should), or else its 2-D <c>weight</c> tensor (out, in).
    /// </summary>
    public static (long In, long Out) Widths(nn.Module<Tensor, Tensor> projection)
    {
        if (projection is Linear dense) return (dense.weight!.shape[1], dense.weight.shape[0]);
        var type = projection.GetType();
        if (ReadWidth(type, projection, "InFeatures") is { } i && ReadWidth(type, projection, "OutFeatures") is { } o) return (i, o);
        var weight = projection.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).Concat(projection.named_buffers())
            .FirstOrDefault(p => p.Item1 == "weight" && p.Item2.dim() == 2).Item2;
        if (weight is not null) return (weight.shape[1], weight.shape[0]);
        throw new GenSharpException($"cannot tell the widths of a {type.Name} projection: it needs InFeatures and OutFeatures properties to take an adapter");
    }

    static long? ReadWidth(Type type, object o, string name) =>
        type.GetProperty(name, BindingFlags.Public | BindingFlags.Instance)?.GetValue(o) switch
        {
            long l => l,
            int n => n,
            _ => null,
        };

    protected override void Dispose(bool disposing)
    {
        if (disposing) _scale.Dispose();
        base.Dispose(disposing);
    }
}
