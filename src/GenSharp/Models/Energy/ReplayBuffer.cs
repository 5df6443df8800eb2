namespace GenSharp.Models.Energy;

/// <summary>
/// The replay buffer of short-run EBM training (Du &amp; Mordatch 2019, §3.1): each negative batch starts from random
/// buffer entries, except a fraction replaced by fresh uniform noise; the chains' end points are written back over
/// the entries they were drawn from. The buffer itself is a tensor (N, ...) owned by the caller.
/// </summary>
public static class ReplayBuffer
{
    /// <summary>
    /// Draws <paramref name="n"/> starts: indices (n) into <paramref name="buffer"/> chosen uniformly with replacement,
    /// and the starts (n, ...) = those entries, except that each is replaced independently with probability
    /// <paramref name="freshFraction"/> by uniform noise in [-1, 1]. Returns the starts, the indices and the fresh flags (n, bool).
    /// </summary>
    public static (Tensor Starts, Tensor Indices, Tensor Fresh) Draw(Tensor buffer, long n, double freshFraction)
    {
        var device = buffer.device;
        var indices = torch.randint(buffer.shape[0], new[] { n }, device: device);                      // (n)
        var fromBuffer = buffer.index_select(0, indices);                                                // (n, ...)
        var fresh = torch.rand(n, device: device) < freshFraction;                                      // (n)
        var noise = torch.rand_like(fromBuffer) * 2 - 1;
        var shape = new long[buffer.dim()];
        Array.Fill(shape, 1L);
        shape[0] = n;
        return (torch.where(fresh.view(shape), noise, fromBuffer), indices, fresh);
    }

    /// <summary>Writes <paramref name="samples"/> (n, ...) over the buffer entries <paramref name="indices"/> (n), in place.</summary>
    public static void Store(Tensor buffer, Tensor indices, Tensor samples)
    {
        using var _ = torch.no_grad();
        buffer.index_copy_(0, indices, samples.detach().to(buffer.dtype));
    }
}
