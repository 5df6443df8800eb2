using GenSharp.Media.Audio;

namespace GenSharp.Models.Speech;

/// <summary>
/// A small non-autoregressive acoustic model for text-to-speech (<c>tts</c>): phonemes (espeak-ng) → a convolution +
/// self-attention encoder → per-phoneme durations → a dilated-convolution decoder → log-mel frames, and a post-net from
/// the log-mel frames to the log-magnitude STFT that Griffin-Lim turns into a waveform. Durations come from monotonic
/// alignment search against per-phoneme mel means (Kim et al. 2020, "Glow-TTS"), learnt with the rest; the decoder and
/// length regulation follow FastSpeech (Ren et al. 2019); the post-net to a linear spectrogram follows Tacotron (Wang et
/// al. 2017). The defaults fit the Allison corpus (8 kHz, 20 minutes) on 2 cores.
/// </summary>
public sealed record TtsConfig : FamilyConfig
{
    /// <summary>The phoneme vocabulary, space-separated (token k has id k + 1; 0 pads). Filled from the corpus when empty.</summary>
    public string Phonemes { get; init; } = "";
    /// <summary>Channels of the encoder and decoder.</summary>
    public int Hidden { get; init; } = 128;
    /// <summary>Convolution layers of the encoder (before self-attention).</summary>
    public int EncoderConvLayers { get; init; } = 3;
    /// <summary>Pre-LN self-attention layers of the encoder.</summary>
    public int EncoderAttentionLayers { get; init; } = 2;
    /// <summary>Attention heads.</summary>
    public int Heads { get; init; } = 2;
    /// <summary>Residual dilated-convolution layers of the decoder (dilations 1, 2, 4, 1, 2, 4, …).</summary>
    public int DecoderLayers { get; init; } = 6;
    /// <summary>Kernel size of the encoder and decoder convolutions (odd).</summary>
    public int KernelSize { get; init; } = 5;
    /// <summary>Convolution layers of the post-net (log-mel → log-magnitude STFT).</summary>
    public int PostnetLayers { get; init; } = 3;
    /// <summary>Dropout in the encoder and duration predictor.</summary>
    public double Dropout { get; init; } = 0.1;
    /// <summary>Audio sample rate (Hz).</summary>
    public int SampleRate { get; init; } = 8000;
    /// <summary>STFT size (= window), samples.</summary>
    public int NFft { get; init; } = 256;
    /// <summary>Samples between frames.</summary>
    public int Hop { get; init; } = 80;
    /// <summary>Mel bands.</summary>
    public int Mels { get; init; } = 40;
    /// <summary>Training utterances longer than this many frames are left out (memory).</summary>
    public int MaxFrames { get; init; } = 1200;
    /// <summary>Adam learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Clip the global gradient norm to this (0 = off).</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>Estimate the held-out losses every N steps (and at the end).</summary>
    public int EvalInterval { get; init; } = 250;
    /// <summary>Held-out utterances in each estimate.</summary>
    public int EvalUtterances { get; init; } = 32;

    /// <summary>The phoneme tokens, in id order from 1.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IReadOnlyList<string> PhonemeList => Phonemes.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The spectrogram settings.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public MelSettings Mel => new() { SampleRate = SampleRate, NFft = NFft, Hop = Hop, Mels = Mels };

    /// <summary>STFT bins of the post-net's output.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int Bins => NFft / 2 + 1;

    public override void Validate()
    {
        Require(PhonemeList.Count is 0 or >= 3, "phonemes", "empty (filled from the corpus) or at least 3 tokens", Phonemes);
        Require(PhonemeList.Distinct().Count() == PhonemeList.Count, "phonemes", "distinct tokens", Phonemes);
        RequireIn(Hidden, "hidden", 8, 2048);
        RequireIn(EncoderConvLayers, "encoder_conv_layers", 0, 32);
        RequireIn(EncoderAttentionLayers, "encoder_attention_layers", 0, 32);
        RequireIn(Heads, "heads", 1, 64);
        Require(Hidden % Heads == 0, "heads", $"a divisor of hidden ({Hidden})", Heads);
        RequireIn(DecoderLayers, "decoder_layers", 1, 64);
        Require(KernelSize is >= 1 and <= 31 && KernelSize % 2 == 1, "kernel_size", "odd, 1 to 31", KernelSize);
        RequireIn(PostnetLayers, "postnet_layers", 1, 32);
        Require(Dropout is >= 0 and < 1, "dropout", "in [0, 1)", Dropout);
        RequireIn(SampleRate, "sample_rate", 1000, 192000);
        RequireIn(NFft, "n_fft", 16, 8192);
        RequireIn(Mels, "mels", 1, NFft / 2);
        RequireIn(Hop, "hop", 1, NFft);
        RequireIn(MaxFrames, "max_frames", 8, 100_000);
        RequireLearningRate(LearningRate);
        RequireGradClip(GradClip);
        RequireIn(EvalInterval, "eval_interval", 1, 1_000_000);
        RequireIn(EvalUtterances, "eval_utterances", 1, 10_000);
    }
}
