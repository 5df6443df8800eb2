namespace GenSharp.Models.Gpt;

/// <summary>
/// A part of a decoder that owns linear projections (attention's q/k/v/o, the MLP's fc/gate/up/down) under their checkpoint
/// names. A projection is a dense <see cref="TorchSharp.Modules.Linear"/> or any module that stands in for one with the
/// same input and output widths (weights stored in fewer bits, a frozen layer plus low-rank adapters), so such
/// wrappers are put in place from outside (<see cref="DecoderNetwork.ReplaceProjections"/>) without the host knowing them.
/// </summary>
public interface IProjectionHost
{
    /// <summary>The host's projections by their checkpoint names (<c>q_proj</c>, <c>c_attn</c>, …), in registration order.</summary>
    IEnumerable<(string Name, nn.Module<Tensor, Tensor> Projection)> Projections { get; }

    /// <summary>Puts <paramref name="projection"/> in place of the projection called <paramref name="name"/> (same widths); the old one is not disposed.</summary>
    void Replace(string name, nn.Module<Tensor, Tensor> projection);
}
