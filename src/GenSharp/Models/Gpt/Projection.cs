using TorchSharp.Modules;

namespace GenSharp.Models.Gpt;

/// <summary>How hosts call their projections, and the bookkeeping they share to expose and replace them.</summary>
internal static class Projection
{
    /// <summary><paramref name="projection"/>(x): a dense layer through <see cref="FewRowLinear"/>, anything else by its own forward.</summary>
    public static Tensor Forward(nn.Module<Tensor, Tensor> projection, Tensor x) =>
        projection is Linear dense ? FewRowLinear.Forward(dense, x) : projection.forward(x);

    /// <summary>
    /// Each of <paramref name="projections"/>(x). When they are, in order, all the parts of one joined int8 layer
    /// (<see cref="Quantization.Int8Linear.Join"/>), directly or as the base of a LoRA adapter, the joined layer runs once
    /// and each adapter adds its update to its part; otherwise each runs on its own.
    /// </summary>
    public static Tensor[] Joined(Tensor x, params nn.Module<Tensor, Tensor>[] projections)
    {
        if (JointOf(projections) is not { } joint) return projections.Select(p => Forward(p, x)).ToArray();
        var parts = joint.forward(x).split(projections.Select(p => Part(p)!.OutFeatures).ToArray(), -1);
        for (int i = 0; i < projections.Length; i++)
            if (projections[i] is Lora.LoraLinear lora) parts[i] = lora.AddUpdate(parts[i], x);
        return parts;
    }

    static Quantization.Int8Linear? Part(nn.Module<Tensor, Tensor> projection) =>
        (projection is Lora.LoraLinear lora ? lora.Base : projection) as Quantization.Int8Linear;

    /// <summary>The joined layer whose parts <paramref name="projections"/> are, in order and all of them; else null.</summary>
    internal static Quantization.Int8Linear? JointOf(IReadOnlyList<nn.Module<Tensor, Tensor>?> projections)
    {
        Quantization.Int8Linear? joint = null;
        long next = 0;
        foreach (var p in projections)
        {
            var part = p is null ? null : Part(p);
            if (part?.Joint is not { } j || (joint is not null && j != joint) || part.JointOffset != next) return null;
            joint = j;
            next += part.OutFeatures;
        }
        return joint is not null && next == joint.OutFeatures ? joint : null;
    }
}
