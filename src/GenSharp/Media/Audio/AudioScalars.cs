namespace GenSharp.Media.Audio;

/// <summary>
/// Scalars the audio code passes to native calls, rooted for the life of the process. TorchSharp's
/// <c>a + b</c> (and <c>a - b</c>) pass a temporary alpha = 1 Scalar whose finaliser can run while libtorch still reads it
/// (a GC on another thread in an optimised build), which made sums transiently NaN; an add with this alpha cannot.
/// </summary>
internal static class AudioScalars
{
    /// <summary>1, the alpha of a plain sum: <c>a.add(b, One)</c>.</summary>
    internal static readonly Scalar One = 1.0.ToScalar();

    /// <summary>Integer 1, the alpha of a sum of integer tensors.</summary>
    internal static readonly Scalar OneInteger = 1L.ToScalar();
}
