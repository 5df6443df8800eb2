using GenSharp.Media.Audio;
using GenSharp.Training;
using static TorchSharp.torch.nn.functional;

namespace GenSharp.Models.Speech;

/// <summary>
/// Text-to-speech (<see cref="TtsConfig"/>). Training batches are phoneme ids (B, N), 0-padded, and frames (B, T, 1 +
/// Mels + Bins): a validity flag, then normalised log-mel and log-magnitude STFT features (<see cref="Data.SpeechBatches"/>).
/// A step encodes the phonemes, aligns them to the frames by monotonic alignment search under unit-variance Gaussians
/// around each phoneme's prior mean (no gradient through the search), and sums four losses: the prior's Gaussian
/// negative log-likelihood (½‖x − μ‖² per band), L1 of the decoded log-mel, L1 of the post-net's log-magnitude, and the
/// squared error of the predicted log(1 + duration). Speaking replaces the alignment by the predicted durations and
/// the waveform comes from Griffin-Lim on the post-net's magnitudes.
/// </summary>
public sealed class TtsModel : FamilyModel<TtsConfig, TtsNetwork>, ISpeechModel
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "tts";
    readonly Dictionary<string, long> _ids;

    public TtsModel(TtsConfig config, Device device) : base(FamilyName, config, new TtsNetwork(config), device)
    {
        _ids = config.PhonemeList.Select((p, i) => (p, i)).ToDictionary(x => x.p, x => (long)x.i + 1, StringComparer.Ordinal);
    }

    public override IReadOnlyList<OptimizerSpec> OptimizerSpecs =>
        new[] { OptimizerSpec.Single("tts", OptimizerAlgorithm.Adam, _net.parameters(), _config.LearningRate) with { GradClip = _config.GradClip } };
    public override IReadOnlyCollection<string> LossMetrics => new[] { "loss", "prior", "mel_l1", "linear_l1", "duration" };

    public int SampleRate => _config.SampleRate;
    public MelSettings Mel => _config.Mel;

    /// <summary>The phoneme ids of <paramref name="phonemes"/>; tokens outside the vocabulary are left out and returned.</summary>
    public (long[] Ids, IReadOnlyList<string> Unknown) Ids(IReadOnlyList<string> phonemes)
    {
        var ids = new List<long>();
        var unknown = new List<string>();
        foreach (var p in phonemes)
        {
            if (_ids.TryGetValue(p, out var id)) ids.Add(id);
            else unknown.Add(p);
        }
        return (ids.ToArray(), unknown);
    }

    /// <summary>The four losses (each a scalar) of a batch; <see cref="TrainStep"/> and validation share it.</summary>
    public (Tensor Prior, Tensor Mel, Tensor Linear, Tensor Duration) Losses(Tensor ids, Tensor frames)
    {
        using var scope = torch.NewDisposeScope();
        ids = ids.to(Device);
        frames = frames.to(Device);
        int m = _config.Mels;
        var frameMask = frames.select(2, 0).gt(0.5);                                          // (B, T)
        var mel = frames.narrow(2, 1, m);                                                     // (B, T, M)
        var lin = frames.narrow(2, 1 + m, _config.Bins);                                      // (B, T, F)
        var states = _net.Encode(ids);                                                        // (B, N, H)
        var mu = _net.Prior(states);                                                          // (B, N, M)
        var (index, position, durations) = Align(mu, mel, ids, frameMask);
        var gatherIndex = index.unsqueeze(-1);
        var aligned = states.gather(1, gatherIndex.expand(-1, -1, states.shape[2]));         // (B, T, H)
        var muAligned = mu.gather(1, gatherIndex.expand(-1, -1, m));                          // (B, T, M)
        var keep = frameMask.unsqueeze(-1).to(ScalarType.Float32);
        var validFrames = frameMask.sum().to(ScalarType.Float32).clamp_min(1);
        var prior = ((mel - muAligned).square() * keep).sum() / (validFrames * m) * 0.5;
        var melOut = _net.Decode(aligned, position, frameMask);
        var melL1 = ((melOut - mel).abs() * keep).sum() / (validFrames * m);
        var linOut = _net.PostNet(melOut, frameMask);
        var linL1 = ((linOut - lin).abs() * keep).sum() / (validFrames * _config.Bins);
        var tokenMask = ids.ne(0L).to(ScalarType.Float32);
        var logDuration = _net.LogDurations(states.detach(), ids);
        var duration = ((logDuration - (durations + 1).log()).square() * tokenMask).sum() / tokenMask.sum().clamp_min(1);
        return (prior.MoveToOuterDisposeScope(), melL1.MoveToOuterDisposeScope(), linL1.MoveToOuterDisposeScope(), duration.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The most likely monotonic alignment of each utterance: for every frame the index of its phoneme (B, T) and its
    /// position inside the phoneme (B, T), and the frames per phoneme (B, N), all without gradient.
    /// </summary>
    (Tensor Index, Tensor Position, Tensor Durations) Align(Tensor mu, Tensor mel, Tensor ids, Tensor frameMask)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        // log N(x_j; μ_i, I) up to a constant: −½‖x_j‖² + μ_i·x_j − ½‖μ_i‖²  (B, N, T)
        var logp = torch.matmul(mu, mel.transpose(1, 2)) - 0.5 * mu.square().sum(2, keepdim: true) - 0.5 * mel.square().sum(2).unsqueeze(1);
        var cpu = logp.to(ScalarType.Float32).cpu().contiguous();
        long b = ids.shape[0], n = ids.shape[1], t = mel.shape[1];
        var tokens = ids.ne(0L).sum(1).cpu().data<long>().ToArray();
        var frames = frameMask.sum(1).cpu().data<long>().ToArray();
        var all = cpu.data<float>().ToArray();
        var index = new long[b * t];
        var position = new float[b * t];
        var durations = new float[b * n];
        for (int k = 0; k < b; k++)
        {
            int nk = (int)tokens[k], tk = (int)frames[k];
            var d = MonotonicAlignment.Durations(all.AsSpan((int)(k * n * t), (int)(n * t)), nk, tk, (int)t);
            for (int i = 0; i < nk; i++) durations[k * n + i] = d[i];
            LengthRegulate(d.Select(x => (long)x).ToArray(), index.AsSpan((int)(k * t)), position.AsSpan((int)(k * t)));
        }
        var device = mu.device;
        return (torch.tensor(index, b, t).to(device).MoveToOuterDisposeScope(),
                torch.tensor(position, b, t).to(device).MoveToOuterDisposeScope(),
                torch.tensor(durations, b, n).to(device).MoveToOuterDisposeScope());
    }

    /// <summary>
    /// FastSpeech's length regulation as indices: for the frames of phonemes held <paramref name="durations"/> frames each,
    /// the phoneme of every frame and its position inside the phoneme, (f + ½) / d.
    /// </summary>
    static void LengthRegulate(long[] durations, Span<long> index, Span<float> position)
    {
        for (int i = 0, j = 0; i < durations.Length; i++)
            for (int f = 0; f < durations[i]; f++, j++)
            {
                index[j] = i;
                position[j] = (f + 0.5f) / durations[i];
            }
    }

    public override IEnumerable<LossTerm> TrainStep(Tensor ids, Tensor frames, StepContext ctx)
    {
        _net.train();
        var (prior, mel, linear, duration) = Losses(ids, frames);
        var loss = prior + mel + linear + duration;
        ctx.Log("loss", loss);
        ctx.Log("prior", prior);
        ctx.Log("mel_l1", mel);
        ctx.Log("linear_l1", linear);
        ctx.Log("duration", duration);
        yield return new LossTerm(0, loss) { Diagnose = () => "lower learning_rate or set grad_clip" };
    }

    public SpeechResult Speak(string text, SpeechOptions options) => SpeakAll(new[] { text }, options)[0];

    public SpeechResult Resynthesize(Waveform recording, SpeechOptions options) => ResynthesizeAll(new[] { recording }, options)[0];

    public IReadOnlyList<SpeechResult> SpeakAll(IReadOnlyList<string> texts, SpeechOptions options)
    {
        Check(options);
        foreach (var text in texts)
            if (string.IsNullOrWhiteSpace(text)) throw new GenSharpException("the text to speak is empty");
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        _net.eval();
        var spectra = texts.Select(t => Spectrogram(t, options)).ToList();
        return Vocode(spectra, options);
    }

    public IReadOnlyList<SpeechResult> ResynthesizeAll(IReadOnlyList<Waveform> recordings, SpeechOptions options)
    {
        Check(options);
        foreach (var recording in recordings)
            if (recording.SampleRate != SampleRate)
                throw new GenSharpException($"the recording is {recording.SampleRate} Hz; this model works at {SampleRate} Hz (convert it with 'sox IN.wav -r {SampleRate} OUT.wav')");
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        _net.eval();
        var (mm, ms, _, _) = _net.Statistics;
        var spectra = recordings.Select(r =>
        {
            var logMel = Media.Audio.Spectrogram.LogMel(r.ToTensor(), Mel).t().unsqueeze(0).to(Device);   // (1, T, M)
            return new Spectrum((logMel - mm) / ms, Array.Empty<string>(), Array.Empty<string>());
        }).ToList();
        return Vocode(spectra, options);
    }

    void Check(SpeechOptions options)
    {
        if (options.Speed is <= 0 or > 10 || double.IsNaN(options.Speed)) throw new GenSharpException($"speed must be in (0, 10], got {options.Speed}");
        if (options.VocoderBatch < 1) throw new GenSharpException($"the vocoder batch must be ≥ 1, got {options.VocoderBatch}");
        if (options.Temperature <= 0 || !double.IsFinite(options.Temperature)) throw new GenSharpException($"the vocoder temperature must be > 0, got {options.Temperature}");
        if (options.Vocoder is { } v)
        {
            if (!v.NeedsMel) throw new GenSharpException("the vocoder must be a mel-conditioned WaveNet (train wavenet with conditioning=mel); this one is unconditional");
            if (v.Mel != Mel)
                throw new GenSharpException($"the vocoder hears spectrograms of {Describe(v.Mel)}; this tts model makes {Describe(Mel)}: train them with the same sample_rate, n_fft, hop and mels");
        }
    }

    static string Describe(MelSettings m) => $"{m.Mels} mel bands, n_fft {m.NFft}, hop {m.Hop} at {m.SampleRate} Hz";

    /// <summary>What the acoustic model made of one text: normalised log-mel (1, T, M), its phonemes, the ones left out.</summary>
    sealed record Spectrum(Tensor Mel, IReadOnlyList<string> Phonemes, IReadOnlyList<string> Unknown);

    Spectrum Spectrogram(string text, SpeechOptions options)
    {
        var phonemes = EspeakPhonemes.Phonemize(text);
        var (ids, unknown) = Ids(phonemes);
        if (ids.Length < 3) throw new GenSharpException($"nothing to speak in \"{text}\": espeak-ng gave no phoneme this model knows");
        var x = torch.tensor(ids, 1, ids.Length).to(Device);
        var states = _net.Encode(x);
        var durations = ((_net.LogDurations(states, x).exp() - 1) / options.Speed).round().clamp_min(1).to(ScalarType.Int64).cpu().data<long>().ToArray();
        long total = durations.Sum();
        if (total > 100_000) throw new GenSharpException($"the text is too long to speak at once ({total} frames); split it");
        var index = new long[total];
        var position = new float[total];
        LengthRegulate(durations, index, position);
        var idx = torch.tensor(index, 1, total).to(Device);
        var aligned = states.gather(1, idx.unsqueeze(-1).expand(-1, -1, states.shape[2]));
        var mask = torch.ones(1, total, dtype: ScalarType.Bool, device: Device);
        return new Spectrum(_net.Decode(aligned, torch.tensor(position, 1, total).to(Device), mask), phonemes, unknown);
    }

    /// <summary>
    /// Normalised log-mel frames → waveforms: through the vocoder in batches of utterances of similar length, or
    /// post-net magnitudes → Griffin-Lim one by one. Runs inside the caller's dispose scope; the results' tensors leave it.
    /// </summary>
    List<SpeechResult> Vocode(List<Spectrum> spectra, SpeechOptions options)
    {
        var (mm, ms, lm, ls) = _net.Statistics;
        var logMels = spectra.Select(s => (s.Mel[0] * ms + mm).t().cpu()).ToList();                   // (M, T) each
        Tensor[] audio;
        if (options.Vocoder is { } vocoder)
            audio = vocoder.DrawEach(logMels, options.VocoderBatch, options.Seed, options.Temperature, options.Progress);
        else
        {
            audio = new Tensor[spectra.Count];
            for (int i = 0; i < spectra.Count; i++)
            {
                var mask = torch.ones(1, spectra[i].Mel.shape[1], dtype: ScalarType.Bool, device: Device);
                var lin = _net.PostNet(spectra[i].Mel, mask)[0] * ls + lm;                             // (T, F) log-magnitude
                audio[i] = GriffinLim.Reconstruct(lin.exp().t().cpu(), Mel, options.Iterations, seed: options.Seed);
            }
        }
        return spectra.Select((s, i) => new SpeechResult(Waveform.FromTensor(audio[i], SampleRate), logMels[i].MoveToOuterDisposeScope(), s.Phonemes, s.Unknown)).ToList();
    }
}
