using GenSharp.Media.Audio;

namespace GenSharp.Models.Audio;

/// <summary>
/// WaveNet (van den Oord et al. 2016, "WaveNet: A Generative Model for Raw Audio", arXiv:1609.03499): a stack of
/// dilated causal convolutions (kernel 2, dilations 1, 2, 4, … 2^(cycle−1), repeated) with gated activations,
/// residual and skip connections, and a 256-way softmax over μ-law codes of the next sample; unconditional, or
/// conditioned on a log-mel spectrogram (local conditioning, eq. 3) as a vocoder. The defaults fit a CPU: 16 layers
/// of 32 channels (two cycles of 1…128, a receptive field of 511 samples = 64 ms at 8 kHz).
/// </summary>
public sealed record WaveNetConfig : FamilyConfig
{
    /// <summary>Residual layers.</summary>
    public int Layers { get; init; } = 16;
    /// <summary>Dilations double for this many layers, then start again at 1.</summary>
    public int DilationCycle { get; init; } = 8;
    /// <summary>Channels of the residual stream (and the input embedding of the μ-law codes).</summary>
    public int ResidualChannels { get; init; } = 32;
    /// <summary>Channels of each half of the gate (tanh filter, sigmoid gate).</summary>
    public int GateChannels { get; init; } = 32;
    /// <summary>Channels of the skip connections and the output head.</summary>
    public int SkipChannels { get; init; } = 64;
    /// <summary>none (unconditional) or mel (vocoder).</summary>
    public WaveNetConditioning Conditioning { get; init; } = WaveNetConditioning.Mel;
    /// <summary>Channels of the conditioning features computed from the mel frames (kernel-3 conv over frames).</summary>
    public int ConditionChannels { get; init; } = 64;
    /// <summary>Audio sample rate (Hz).</summary>
    public int SampleRate { get; init; } = 8000;
    /// <summary>Mel bands of the conditioning spectrogram.</summary>
    public int Mels { get; init; } = 40;
    /// <summary>STFT size (= window) of the spectrogram, samples.</summary>
    public int NFft { get; init; } = 256;
    /// <summary>Samples between spectrogram frames (the conditioning is upsampled by this factor).</summary>
    public int Hop { get; init; } = 80;
    /// <summary>Samples per training crop (a multiple of hop).</summary>
    public int SampleLength { get; init; } = 2400;
    /// <summary>Adam learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Clip the global gradient norm to this (0 = off).</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>Estimate the held-out loss every N steps (and at the end).</summary>
    public int EvalInterval { get; init; } = 250;
    /// <summary>Batches of fixed held-out crops in each estimate.</summary>
    public int EvalBatches { get; init; } = 4;

    /// <summary>Samples the prediction of one sample can see: 1 + Σ dilations (kernel 2).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int ReceptiveField => 1 + Enumerable.Range(0, Layers).Sum(i => 1 << (i % DilationCycle));

    /// <summary>Dilation of layer <paramref name="i"/>.</summary>
    public int Dilation(int i) => 1 << (i % DilationCycle);

    /// <summary>The spectrogram settings of the conditioning.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public MelSettings Mel => new() { SampleRate = SampleRate, NFft = NFft, Hop = Hop, Mels = Mels };

    public override void Validate()
    {
        RequireIn(Layers, "layers", 1, 128);
        RequireIn(DilationCycle, "dilation_cycle", 1, 16);
        RequireIn(ResidualChannels, "residual_channels", 1, 1024);
        RequireIn(GateChannels, "gate_channels", 1, 1024);
        RequireIn(SkipChannels, "skip_channels", 1, 2048);
        Require(Enum.IsDefined(Conditioning), "conditioning", "none or mel", Conditioning);
        RequireIn(ConditionChannels, "condition_channels", 1, 1024);
        RequireIn(SampleRate, "sample_rate", 1000, 192000);
        RequireIn(NFft, "n_fft", 16, 8192);
        RequireIn(Mels, "mels", 1, NFft / 2);
        RequireIn(Hop, "hop", 1, NFft);
        Require(SampleLength >= 2 * Hop && SampleLength % Hop == 0 && SampleLength <= 1_000_000, "sample_length",
            $"a multiple of hop ({Hop}), at least two frames and at most 1000000", SampleLength);
        RequireLearningRate(LearningRate);
        RequireGradClip(GradClip);
        RequireIn(EvalInterval, "eval_interval", 1, 1_000_000);
        RequireIn(EvalBatches, "eval_batches", 1, 10_000);
    }
}
