namespace GenSharp.Data;

/// <summary>
/// Random windows of <c>context + 1</c> tokens from token-encoded pieces (<see cref="Models.Music.MusicTokens"/>):
/// inputs are the first <c>context</c>, targets the last. A piece is drawn with probability proportional to its
/// length and the window starts at a multiple of <c>alignment</c> (a step boundary of the SATB form). A piece shorter
/// than a window is padded: inputs with its last token, targets with −100 (ignored by the loss); the start tokens (the first <c>prefix</c>) are never targets. The windows of
/// step s come from a SplitMix64 stream seeded by (seed, s) alone, so a resumed run sees the same batches.
/// </summary>
public sealed class MusicBatches : IBatchSource
{
    /// <summary>Target value the loss ignores.</summary>
    public const long Ignore = -100;
    readonly IReadOnlyList<long[]> _pieces;
    readonly long[] _cumulative;
    readonly int _batch, _context, _alignment, _prefix;
    readonly long _seed;

    public MusicBatches(IReadOnlyList<long[]> pieces, int batchSize, int context, int alignment, int prefix, long seed)
    {
        if (pieces.Count == 0) throw new ArgumentException("no pieces");
        (_pieces, _batch, _context, _alignment, _prefix, _seed) = (pieces, batchSize, context, alignment, prefix, seed);
        _cumulative = new long[pieces.Count];
        long sum = 0;
        for (int i = 0; i < pieces.Count; i++) _cumulative[i] = sum += pieces[i].Length;
        Tokens = sum;
    }

    /// <summary>Tokens over all pieces.</summary>
    public long Tokens { get; }

    public int BatchesPerEpoch => (int)Math.Max(1, Tokens / _context / _batch);

    public (Tensor Inputs, Tensor Targets) GetBatch(long step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "step must be 0 or more");
        ulong state = (ulong)_seed * 0x9E3779B97F4A7C15UL ^ (ulong)step;
        var x = new long[_batch * _context];
        var y = new long[_batch * _context];
        for (int b = 0; b < _batch; b++)
        {
            long r = (long)(Next(ref state) % (ulong)Tokens);
            int piece = Array.BinarySearch(_cumulative, r + 1);
            if (piece < 0) piece = ~piece;
            var t = _pieces[piece];
            int starts = Math.Max(0, t.Length - 1 - _context) / _alignment + 1;       // aligned starts with a full window (or 0)
            int start = (int)(Next(ref state) % (ulong)starts) * _alignment;
            for (int i = 0; i < _context; i++)
            {
                int j = start + i;
                x[b * _context + i] = j < t.Length ? t[j] : t[^1];
                y[b * _context + i] = j + 1 < t.Length && j + 1 >= _prefix ? t[j + 1] : Ignore;
            }
        }
        return (torch.tensor(x).view(_batch, _context), torch.tensor(y).view(_batch, _context));
    }

    static ulong Next(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
