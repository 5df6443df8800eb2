using TorchSharp.Modules;

namespace GenSharp.Models.Gpt;

/// <summary>How hosts call their projections, and the bookkeeping they share to expose and replace them.</summary>
internal static class Projection
{
    /// <summary><paramref name="projection"/>(x): a dense layer through <see cref="FewRowLinear"/>, anything else by its own forward.</summary>
    public static Tensor Forward(nn.Module<Tensor, Tensor> projection, Tensor x) =>
        projection is Linear dense ? FewRowLinear.Forward(dense, x) : projection.forward(x);
}
