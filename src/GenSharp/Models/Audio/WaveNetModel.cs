using GenSharp.Runtime;
using GenSharp.Media.Audio;
using GenSharp.Training;
using static TorchSharp.torch.nn.functional;

namespace GenSharp.Models.Audio;

/// <summary>
/// A WaveNet ready to train, sample and score: log p(x) = Σ_t log p(x_t | x_&lt;t [, mel]) over μ-law codes, exact.
/// Training batches are audio crops (B, L) with their log-mel frames (B, Mels, L / hop); the codes of positions
/// 0…L−2 predict those of 1…L−1. Generation starts from a silent previous sample (code 128) and draws one sample at a
/// time, with the per-layer queues of <see cref="WaveNetQueues"/> (O(layers) per sample) or, for comparison, with the
/// full network over the last receptive field of samples; both give the same samples for the same seed.
/// </summary>
public sealed class WaveNetModel : FamilyModel<WaveNetConfig, WaveNetNetwork>, IAudioModel
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "wavenet";
    /// <summary>The code of a silent sample, μ-law(0) = 127.5 rounded to even.</summary>
    public const long SilenceCode = 128;
    /// <summary>Samples per chunk when scoring long recordings (bounds memory).</summary>
    const long ScoreChunk = 16_000;

    public WaveNetModel(WaveNetConfig config, Device device) : base(FamilyName, config, new WaveNetNetwork(config), device) { }

    /// <summary>Adam with gradient-norm clipping at grad_clip.</summary>
    public override IReadOnlyList<OptimizerSpec> OptimizerSpecs =>
        new[] { OptimizerSpec.Single("wavenet", OptimizerAlgorithm.Adam, _net.parameters(), _config.LearningRate) with { GradClip = _config.GradClip } };
    public override IReadOnlyCollection<string> LossMetrics => new[] { "loss", "bits_per_sample" };

    public int SampleRate => _config.SampleRate;
    public MelSettings Mel => _config.Mel;
    public bool NeedsMel => _config.Conditioning == WaveNetConditioning.Mel;
    public int ReceptiveField => _config.ReceptiveField;
    /// <summary>
    /// Chosen when WaveNet's dilated kernel-2 convolutions were libtorch convolutions, which ran faster natively than
    /// through oneDNN's channels-last path. Since the layers became matrix products (<see cref="WaveNetLayer.Forward"/>)
    /// only the conditioning's convolutions over frames remain, and training runs as fast with oneDNN (A/B on 2 threads,
    /// docs/benchmarks.md, "Does WaveNet still need native convolutions?"); generation was not measured apart.
    /// </summary>
    public override bool NativeConvolutions => true;

    /// <summary>Mean cross-entropy in nats per predicted sample of audio crops (B, L) with their mel frames (B, Mels, L / hop).</summary>
    public Tensor CropLoss(Tensor audio, Tensor mel)
    {
        using var convolutions = TorchRuntime.NativeConvolutions();
        var codes = MuLaw.Encode(audio.to(Device));                                                 // (B, L)
        long l = codes.shape[1];
        using var inputs = codes.narrow(1, 0, l - 1);
        using var targets = codes.narrow(1, 1, l - 1).reshape(-1);
        var gates = NeedsMel ? _net.FrameGates(mel.to(Device)) : null;                              // the unconditional ignore the frames
        try
        {
            using var logits = _net.TimeMajorLogits(inputs, gates, conditionOffset: 1);          // (B, L−1, 256)
            using var rows = logits.view(-1, MuLaw.Levels);
            return cross_entropy(rows, targets);
        }
        finally { gates?.ForEach(g => g.Dispose()); }
    }

    public override IEnumerable<LossTerm> TrainStep(Tensor audio, Tensor mel, StepContext ctx)
    {
        _net.train();
        var loss = CropLoss(audio, mel);
        ctx.Log("loss", loss);
        using var ln2 = Math.Log(2).ToScalar();
        ctx.Log("bits_per_sample", loss.detach() / ln2);
        yield return new LossTerm(0, loss) { Diagnose = () => "lower learning_rate or set grad_clip" };
    }

    public (double Nats, long Samples) NegativeLogLikelihood(Tensor audio)
    {
        if (audio.dim() != 1) throw new ArgumentException("expected a recording (T)");
        using var convolutions = TorchRuntime.NativeConvolutions();
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        _net.eval();
        var x = audio.to(Device).to(ScalarType.Float32);
        long t = x.shape[0];
        var codes = MuLaw.Encode(x);                                                                   // (T)
        using var silence = SilenceCode.ToScalar();
        var inputs = torch.cat(new[] { torch.full(1, silence, ScalarType.Int64, device: Device), codes.narrow(0, 0, t - 1) }); // (T)
        var mel = NeedsMel ? Spectrogram.LogMel(x, Mel).unsqueeze(0) : null;                          // (1, Mels, frames)
        double nats = 0;
        int reach = ReceptiveField - 1;
        for (long start = 0; start < t; start += ScoreChunk)
        {
            using var chunkScope = torch.NewDisposeScope();
            long end = Math.Min(t, start + ScoreChunk), from = Math.Max(0, start - reach);
            // The chunk's inputs with a receptive field of context before it: its logits equal the whole pass's.
            var logits = _net.Forward(inputs.narrow(0, from, end - from).unsqueeze(0), mel, conditionOffset: from); // (1, 256, n)
            var mine = logits.narrow(2, start - from, end - start);
            nats += cross_entropy(mine, codes.narrow(0, start, end - start).unsqueeze(0), reduction: nn.Reduction.Sum).to(ScalarType.Float64).item<double>();
        }
        return (nats, t);
    }

    public Tensor Generate(AudioGenerationOptions o)
    {
        if (o.Mels is not null && o.Mel is not null) throw new ParameterException("mels", "give mel (one spectrogram for every waveform) or mels (one each), not both");
        if (o.Mels is { Count: 0 }) throw new ParameterException("mels", "is empty");
        if (o.Mels is null && o.Count < 1) throw new ParameterException("count", $"must be ≥ 1, got {o.Count}");
        var each = o.Mels ?? (o.Mel is null ? null : Enumerable.Repeat(o.Mel, o.Count).ToList());
        if (o.Temperature <= 0 || !double.IsFinite(o.Temperature)) throw new ParameterException("temperature", $"must be > 0, got {o.Temperature}");
        if (NeedsMel && each is null) throw new ParameterException("mel", "is needed: this WaveNet is a vocoder; give the spectrogram (or a recording) to resynthesise");
        if (!NeedsMel && each is not null) throw new ParameterException("mel", "does not apply: this WaveNet is unconditional");
        long samples = o.Samples;
        if (each is not null)
        {
            foreach (var m in each)
                if (m.dim() != 2 || m.shape[0] != _config.Mels || m.shape[1] < 1)
                    throw new ParameterException("mel", $"must be ({_config.Mels}, frames), got [{string.Join(", ", m.shape)}]");
            samples = Math.Min(samples, each.Max(m => m.shape[1]) * _config.Hop);
        }
        if (samples < 1) throw new ParameterException("samples", $"must be ≥ 1, got {samples}");
        using var convolutions = TorchRuntime.NativeConvolutions();
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        _net.eval();
        long n = each?.Count ?? o.Count;
        using var gen = new Generator((ulong)o.Seed, Device);
        // Shorter spectrograms are padded with zero frames at the end: the conditioning's kernel-3 convolution pads each
        // one with zeros anyway, so every row's own frames get exactly the features they get alone.
        long longest = each?.Max(m => m.shape[1]) ?? 0;
        var mel = each is null ? null
            : torch.stack(each.Select(m => pad(m.to(Device).to(_net.EmbeddingTable.dtype), new long[] { 0, longest - m.shape[1] })).ToArray()); // (B, Mels, frames)
        using var silence = SilenceCode.ToScalar();
        using var temperature = o.Temperature.ToScalar();
        var codes = torch.full(new long[] { n, samples + 1 }, silence, ScalarType.Int64, device: Device); // position 0: the silent start
        var frameGates = mel is null ? null : _net.FrameGates(mel);                                     // per layer (B, 2G, frames)
        var queues = o.Naive ? null : new WaveNetQueues(_net, _config, n, Device);
        List<Tensor>? gates = null;
        for (long p = 0; p < samples; p++)
        {
            using var step = torch.NewDisposeScope();
            // Position p's input is the code before sample p; its logits are sample p's distribution.
            if (frameGates is not null && (p % _config.Hop == 0 || gates is null))
            {
                gates?.ForEach(g => g.Dispose());
                gates = frameGates.Select(g => g.select(2, p / _config.Hop).contiguous()).ToList();
                step.Detach(gates);
            }
            Tensor logits;
            if (queues is not null) logits = queues.Step(codes.select(1, p), gates);
            else
            {
                // The full network over the last receptive field of inputs; the conditioning network ran once above, and
                // only the frames this window covers are upsampled.
                long from = Math.Max(0, p - ReceptiveField + 1);
                long firstFrame = from / _config.Hop, frames = p / _config.Hop - firstFrame + 1;
                var window = frameGates?.Select(g => g.narrow(2, firstFrame, frames)).ToList();
                logits = _net.ForwardWithGates(codes.narrow(1, from, p + 1 - from), window, conditionOffset: from - firstFrame * _config.Hop).select(2, p - from); // (B, 256)
            }
            var probs = softmax(logits.to(ScalarType.Float64) / temperature, 1);
            codes.select(1, p + 1).copy_(torch.multinomial(probs, 1, generator: gen).squeeze(1));
            o.Progress?.Invoke(p + 1);
        }
        gates?.ForEach(g => g.Dispose());
        return MuLaw.Decode(codes.narrow(1, 1, samples)).cpu().MoveToOuterDisposeScope();
    }
}
