using GenSharp.Media.Audio;

namespace GenSharp.Data;

/// <summary>
/// Whole utterances for a text-to-speech model: phoneme ids and the recording's features. Each batch holds B utterances
/// of one pass (a seeded permutation per epoch, so a step's batch depends only on seed and step): ids (B, N) int64 with
/// 0 after each utterance's end, and frames (B, T, 1 + Mels + Bins) float32 = a 1/0 validity flag, the log-mel frame and
/// the log-magnitude STFT frame, both normalised per band by the training set's mean and standard deviation.
/// </summary>
public sealed class SpeechBatches : IBatchSource, IDisposable
{
    readonly List<long[]> _ids = new();
    readonly List<Tensor> _features = new();   // (T, Mels + Bins) normalised
    readonly int _batch;
    readonly long _seed;
    readonly bool _ownsStatistics;

    /// <param name="utterances">(phoneme ids, recording) pairs.</param>
    /// <param name="mel">Spectrogram settings.</param>
    /// <param name="maxFrames">Longer utterances are left out.</param>
    /// <param name="batchSize">Utterances per batch.</param>
    /// <param name="seed">Seeds the order.</param>
    /// <param name="statistics">Normalisation (mel mean, mel std, log-magnitude mean, std); null = computed from these utterances.</param>
    public SpeechBatches(IEnumerable<(long[] Ids, Waveform Audio)> utterances, MelSettings mel, int maxFrames, int batchSize, long seed,
        (Tensor, Tensor, Tensor, Tensor)? statistics = null)
    {
        mel.Validate();
        if (batchSize < 1) throw new ParameterException("batch_size", $"must be ≥ 1, got {batchSize}");
        _batch = batchSize;
        _seed = seed;
        var raw = new List<Tensor>();
        foreach (var (ids, audio) in utterances)
        {
            if (audio.SampleRate != mel.SampleRate)
                throw new GenSharpException($"a recording has {audio.SampleRate} Hz audio; the model works at {mel.SampleRate} Hz");
            long frames = mel.Frames(audio.Samples.Length);
            if (frames > maxFrames || frames < ids.Length) { Skipped++; continue; }
            using var scope = torch.NewDisposeScope();
            var x = audio.ToTensor();
            var logMel = Spectrogram.LogMel(x, mel).t();                                            // (T, M)
            using var floor = mel.LogFloor.ToScalar();
            var logMag = Spectrogram.Magnitude(x, mel).clamp_min(floor).log().t();                  // (T, F)
            raw.Add(torch.cat(new[] { logMel, logMag }, 1).MoveToOuterDisposeScope());
            _ids.Add(ids);
            Frames += frames;
        }
        if (raw.Count == 0) throw new GenSharpException($"no utterance fits in max_frames={maxFrames}; raise it");
        _ownsStatistics = statistics is null;
        if (statistics is null)
        {
            using var all = torch.cat(raw, 0);
            using var mean = all.mean(new long[] { 0 });
            using var std = all.std(0).clamp_min(1e-3);
            int m = mel.Mels;
            statistics = (mean.narrow(0, 0, m).clone(), std.narrow(0, 0, m).clone(), mean.narrow(0, m, mean.shape[0] - m).clone(), std.narrow(0, m, std.shape[0] - m).clone());
        }
        Statistics = statistics.Value;
        var (mm, ms, lm, ls) = Statistics;
        using (var meanAll = torch.cat(new[] { mm, lm }))
        using (var stdAll = torch.cat(new[] { ms, ls }))
            foreach (var r in raw)
            {
                _features.Add((r - meanAll) / stdAll);
                r.Dispose();
            }
    }

    /// <summary>The normalisation: per-band (mel mean, mel std, log-magnitude mean, log-magnitude std).</summary>
    public (Tensor MelMean, Tensor MelStd, Tensor LinMean, Tensor LinStd) Statistics { get; }
    /// <summary>Utterances kept.</summary>
    public int Count => _ids.Count;
    /// <summary>Utterances left out as too long (or with more phonemes than frames).</summary>
    public int Skipped { get; }
    /// <summary>Frames of the kept utterances.</summary>
    public long Frames { get; }

    public int BatchesPerEpoch => Math.Max(1, Count / _batch);

    public (Tensor Inputs, Tensor Targets) GetBatch(long step)
    {
        long epoch = step / BatchesPerEpoch;
        int within = (int)(step % BatchesPerEpoch);
        return Batch(EpochBatches(epoch)[within]);
    }

    /// <summary>
    /// The batches of one pass: a seeded permutation, sorted by length inside windows of <see cref="BucketWindow"/>
    /// batches (so a batch pads little), cut into batches, the batches shuffled again.
    /// </summary>
    int[][] EpochBatches(long epoch)
    {
        if (_epochBatches is { } cached && _epochOf == epoch) return cached;
        var rng = new Random(unchecked((int)(_seed * 1_000_003 + epoch * 7919 + 29)));
        var order = Enumerable.Range(0, Count).ToArray();
        rng.Shuffle(order);
        var batches = new List<int[]>();
        int window = BucketWindow * _batch;
        for (int start = 0; start + _batch <= order.Length; start += window)
        {
            var sorted = order.Skip(start).Take(window).OrderBy(i => _features[i].shape[0]).ToArray();
            for (int b = 0; b + _batch <= sorted.Length; b += _batch) batches.Add(sorted[b..(b + _batch)]);
        }
        while (batches.Count < BatchesPerEpoch) batches.Add(order.Take(_batch).ToArray()); // fewer utterances than one batch
        var result = batches.Take(BatchesPerEpoch).ToArray();
        rng.Shuffle(result);
        (_epochBatches, _epochOf) = (result, epoch);
        return result;
    }

    /// <summary>Batches per window whose utterances are sorted by length before batching.</summary>
    public const int BucketWindow = 8;
    int[][]? _epochBatches;
    long _epochOf = -1;

    /// <summary>The batch of the given utterances (by position), padded.</summary>
    public (Tensor Inputs, Tensor Targets) Batch(IReadOnlyList<int> which)
    {
        int n = which.Max(i => _ids[i].Length);
        long t = which.Max(i => _features[i].shape[0]);
        long width = _features[0].shape[1] + 1;
        var ids = new long[which.Count * n];
        using var scope = torch.NewDisposeScope();
        var frames = torch.zeros(which.Count, t, width);
        for (int b = 0; b < which.Count; b++)
        {
            var u = which[b];
            Array.Copy(_ids[u], 0, ids, b * n, _ids[u].Length);
            long len = _features[u].shape[0];
            frames[b].narrow(0, 0, len).select(1, 0).fill_(1);
            frames[b].narrow(0, 0, len).narrow(1, 1, width - 1).copy_(_features[u]);
        }
        return (torch.tensor(ids, which.Count, n).MoveToOuterDisposeScope(), frames.MoveToOuterDisposeScope());
    }

    /// <summary>Batches of every utterance in order (held-out estimates).</summary>
    public IEnumerable<(Tensor Inputs, Tensor Targets)> InOrder(int limit)
    {
        int count = Math.Min(limit, Count);
        for (int start = 0; start < count; start += _batch)
            yield return Batch(Enumerable.Range(start, Math.Min(_batch, count - start)).ToArray());
    }

    public void Dispose()
    {
        foreach (var f in _features) f.Dispose();
        if (!_ownsStatistics) return;
        var (a, b, c, d) = Statistics;
        a.Dispose(); b.Dispose(); c.Dispose(); d.Dispose();
    }
}
