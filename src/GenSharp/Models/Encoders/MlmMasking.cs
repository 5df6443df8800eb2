namespace GenSharp.Models.Encoders;

/// <summary>
/// BERT's masked-language-model corruption (Devlin et al. 2019, §3.1 and Appendix A.1): each maskable token is chosen
/// with probability p; a chosen token becomes [MASK] with probability 0.8, a uniformly random token with 0.1, and
/// stays as it is with 0.1. Targets hold the original id at chosen positions and −100 (ignored) elsewhere.
/// </summary>
public static class MlmMasking
{
    /// <summary>The target value of positions that are not predicted (cross-entropy's ignore_index).</summary>
    public const long Ignore = -100;

    /// <param name="tokens">int64 (B, T), not modified.</param>
    /// <param name="maskable">Boolean (B, T): true where a token may be chosen (not [CLS], [SEP] or padding).</param>
    /// <param name="probability">Share of maskable tokens chosen.</param>
    /// <param name="maskId">Id of [MASK].</param>
    /// <param name="randomLimit">Random replacements are drawn from [0, randomLimit).</param>
    /// <param name="generator">Random source (null = libtorch's global one).</param>
    /// <returns>The corrupted inputs and the targets, both int64 (B, T).</returns>
    public static (Tensor Inputs, Tensor Targets) Apply(Tensor tokens, Tensor maskable, double probability, long maskId,
        long randomLimit, torch.Generator? generator = null)
    {
        using var scope = torch.NewDisposeScope();
        var u = torch.rand(tokens.shape, generator: generator, device: tokens.device);
        var chosen = u.lt(probability).logical_and(maskable);
        // One more uniform draw decides the fate of each chosen token: [0, 0.8) mask, [0.8, 0.9) random, [0.9, 1) keep.
        var fate = torch.rand(tokens.shape, generator: generator, device: tokens.device);
        var toMask = chosen.logical_and(fate.lt(0.8));
        var toRandom = chosen.logical_and(fate.ge(0.8)).logical_and(fate.lt(0.9));
        var random = torch.randint(0, randomLimit, tokens.shape, generator: generator, dtype: ScalarType.Int64, device: tokens.device);
        var inputs = torch.where(toMask, torch.full_like(tokens, maskId), tokens);
        inputs = torch.where(toRandom, random, inputs);
        var targets = torch.where(chosen, tokens, torch.full_like(tokens, Ignore));
        return (inputs.MoveToOuterDisposeScope(), targets.MoveToOuterDisposeScope());
    }
}
