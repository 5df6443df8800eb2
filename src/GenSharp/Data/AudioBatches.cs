using GenSharp.Media.Audio;

namespace GenSharp.Data;

/// <summary>
/// Random crops of a set of recordings for an audio model: each batch holds <c>B</c> crops of a fixed number of
/// samples, each starting on a frame boundary (a multiple of the mel hop) so that the crop's log-mel frames are exactly
/// the frames of the whole recording's spectrogram. Crops are drawn uniformly over all such starts of all recordings
/// long enough; the crops of a step depend only on (seed, step).
/// </summary>
public sealed class AudioBatches : IBatchSource, IDisposable
{
    readonly List<Tensor> _audio = new();   // (T) float32 per recording
    readonly List<Tensor> _mels = new();    // (Mels, frames) per recording
    readonly long[] _cumulativeStarts;      // crops possible in recordings 0..i
    readonly int _crop, _batch, _hop;
    readonly long _seed;

    /// <param name="recordings">The audio (all at <paramref name="mel"/>'s sample rate).</param>
    /// <param name="mel">How the conditioning spectrograms are computed.</param>
    /// <param name="cropSamples">Samples per crop, a multiple of the hop.</param>
    /// <param name="batchSize">Crops per batch.</param>
    /// <param name="seed">Seeds the crop positions.</param>
    public AudioBatches(IEnumerable<Waveform> recordings, MelSettings mel, int cropSamples, int batchSize, long seed)
    {
        mel.Validate();
        if (cropSamples < mel.Hop || cropSamples % mel.Hop != 0)
            throw new GenSharpException($"crop length {cropSamples} must be a positive multiple of the mel hop {mel.Hop}");
        if (batchSize < 1) throw new ParameterException("batch_size", $"must be ≥ 1, got {batchSize}");
        _crop = cropSamples;
        _batch = batchSize;
        _hop = mel.Hop;
        _seed = seed;
        var starts = new List<long>();
        long total = 0;
        foreach (var w in recordings)
        {
            if (w.SampleRate != mel.SampleRate)
                throw new GenSharpException($"a recording has {w.SampleRate} Hz audio; the model works at {mel.SampleRate} Hz");
            if (w.Samples.Length < cropSamples) continue;
            using var scope = torch.NewDisposeScope();
            var audio = w.ToTensor();
            _audio.Add(audio.MoveToOuterDisposeScope());
            _mels.Add(Spectrogram.LogMel(audio, mel).MoveToOuterDisposeScope());
            total += (w.Samples.Length - cropSamples) / mel.Hop + 1;
            starts.Add(total);
            Samples += w.Samples.Length;
        }
        if (_audio.Count == 0) throw new GenSharpException($"no recording is as long as one crop of {cropSamples} samples; use a shorter sample_length");
        _cumulativeStarts = starts.ToArray();
    }

    /// <summary>Recordings long enough for a crop.</summary>
    public int Recordings => _audio.Count;
    /// <summary>Samples in those recordings.</summary>
    public long Samples { get; }

    /// <summary>One pass ≈ as many crops as cover the audio once.</summary>
    public int BatchesPerEpoch => (int)Math.Max(1, Samples / ((long)_crop * _batch));

    /// <summary>Audio crops (B, crop) float32 in [−1, 1] and their log-mel frames (B, Mels, crop / hop).</summary>
    public (Tensor Inputs, Tensor Targets) GetBatch(long step)
    {
        var rng = new Random(unchecked((int)(_seed * 1_000_003 + step * 7919 + 17)));
        var audio = new Tensor[_batch];
        var mels = new Tensor[_batch];
        using var scope = torch.NewDisposeScope();
        for (int b = 0; b < _batch; b++)
        {
            long pick = rng.NextInt64(_cumulativeStarts[^1]);
            int i = Array.BinarySearch(_cumulativeStarts, pick + 1);
            if (i < 0) i = ~i;
            long before = i == 0 ? 0 : _cumulativeStarts[i - 1];
            long start = (pick - before) * _hop;
            audio[b] = _audio[i].narrow(0, start, _crop);
            mels[b] = _mels[i].narrow(1, start / _hop, _crop / _hop);
        }
        return (torch.stack(audio).MoveToOuterDisposeScope(), torch.stack(mels).MoveToOuterDisposeScope());
    }

    /// <summary>The batches of steps 0…n−1: the same crops every call (held-out estimates).</summary>
    public IEnumerable<(Tensor Inputs, Tensor Targets)> FixedBatches(int n)
    {
        for (int k = 0; k < n; k++) yield return GetBatch(k);
    }

    public void Dispose()
    {
        foreach (var t in _audio) t.Dispose();
        foreach (var t in _mels) t.Dispose();
    }
}
