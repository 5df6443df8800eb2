using GenSharp.Checkpoints;

namespace GenSharp.Media.Audio;

/// <summary>
/// Pictures a log-mel spectrogram: time left to right, low bands at the bottom, the top 80 dB of the picture's range
/// mapped through a black → purple → orange → yellow colour ramp.
/// </summary>
public static class SpectrogramImage
{
    // Colour ramp anchors (RGB in [0, 1]), equally spaced over [0, 1].
    static readonly float[,] Ramp = { { 0, 0, 0 }, { 0.33f, 0.07f, 0.45f }, { 0.85f, 0.3f, 0.2f }, { 0.98f, 0.75f, 0.15f }, { 1, 1, 0.85f } };

    /// <summary>Writes <paramref name="logMel"/> (Mels, frames) (natural-log magnitudes) as a PNG.</summary>
    /// <param name="path">File to write (replaced atomically).</param>
    /// <param name="logMel">(Mels, frames) as from <see cref="Spectrogram.LogMel"/>.</param>
    /// <param name="scale">Pixels per band and per frame.</param>
    public static void Save(string path, Tensor logMel, int scale = 3)
    {
        AtomicFile.CheckPath(path);
        using var scope = torch.NewDisposeScope();
        ImageGrid.SavePng(Colour(logMel).unsqueeze(0), path, padding: 0, scale: scale);
    }

    /// <summary>The picture as (3, Mels, frames) floats in [0, 1].</summary>
    public static Tensor Colour(Tensor logMel)
    {
        if (logMel.dim() != 2) throw new ArgumentException($"expected (mels, frames), got [{string.Join(", ", logMel.shape)}]");
        using var scope = torch.NewDisposeScope();
        int n = Ramp.GetLength(0) - 1;
        using var toDb = (20 / Math.Log(10)).ToScalar();
        using var range = 80.0.ToScalar();
        using var zero = 0.0.ToScalar();
        using var one = 1.0.ToScalar();
        using var steps = ((double)n).ToScalar();
        using var last = (n - 1.0).ToScalar();
        var db = logMel.to(ScalarType.Float32).cpu() * toDb;                       // natural log of magnitude → dB
        var top = db.max();
        var v = db.sub(top).add(range, AudioScalars.One).div(range).clamp(zero, one).flip(0);  // (Mels, frames), low bands at the bottom
        var pos = v * steps;
        var index = pos.floor().clamp(zero, last).to(ScalarType.Int64);
        var frac = pos.sub(index.to(ScalarType.Float32));
        var anchors = torch.tensor(Ramp.Cast<float>().ToArray()).view(n + 1, 3);  // (n+1, 3)
        var a = anchors.index_select(0, index.flatten()).view(v.shape[0], v.shape[1], 3);
        var b = anchors.index_select(0, index.add(AudioScalars.OneInteger, AudioScalars.OneInteger).flatten()).view(v.shape[0], v.shape[1], 3);
        var rgb = a.add(b.sub(a) * frac.unsqueeze(-1), AudioScalars.One);   // (Mels, frames, 3)
        return rgb.permute(2, 0, 1).contiguous().MoveToOuterDisposeScope();
    }
}
