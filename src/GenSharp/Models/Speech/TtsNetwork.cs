using GenSharp.Models.Encoders;
using TorchSharp.Modules;

namespace GenSharp.Models.Speech;

/// <summary>
/// The layers of <see cref="TtsModel"/>. Shapes: phoneme ids (B, N), 0 = padding; encoder states (B, N, H); frames
/// (B, T, ·). Buffers hold the per-band mean and standard deviation of the training features (log-mel and log-magnitude
/// STFT), so the network works in normalised units and its checkpoint carries what turns them back.
/// </summary>
public sealed class TtsNetwork : nn.Module
{
    readonly TtsConfig _c;
    readonly Embedding embed;
    readonly ModuleList<Conv1d> enc_conv;
    readonly ModuleList<LayerNorm> enc_norm;
    readonly ModuleList<BertLayer> enc_attn;
    readonly Linear prior;
    readonly Conv1d dur_conv1, dur_conv2;
    readonly LayerNorm dur_norm1, dur_norm2;
    readonly Linear dur_out, frame_position;
    readonly ModuleList<Conv1d> dec_conv;
    readonly ModuleList<LayerNorm> dec_norm;
    readonly Linear mel_out;
    readonly ModuleList<Conv1d> post_conv;
    readonly Linear post_out, post_skip;
    readonly Dropout dropout;

    public TtsNetwork(TtsConfig c) : base(nameof(TtsNetwork))
    {
        c.Validate();
        _c = c;
        int h = c.Hidden, k = c.KernelSize;
        int vocabulary = Math.Max(c.PhonemeList.Count, 1) + 1;
        embed = nn.Embedding(vocabulary, h, padding_idx: 0);
        enc_conv = new ModuleList<Conv1d>(Enumerable.Range(0, c.EncoderConvLayers).Select(_ => nn.Conv1d(h, h, k, padding: k / 2)).ToArray());
        enc_norm = new ModuleList<LayerNorm>(Enumerable.Range(0, c.EncoderConvLayers).Select(_ => nn.LayerNorm(h)).ToArray());
        var attention = new BertConfig
        {
            HiddenSize = h, NumAttentionHeads = c.Heads, IntermediateSize = 2 * h, Dropout = c.Dropout,
            PreLayerNorm = true, HiddenAct = BertActivation.Relu, LayerNormEps = 1e-5,
        };
        enc_attn = new ModuleList<BertLayer>(Enumerable.Range(0, c.EncoderAttentionLayers).Select(_ => new BertLayer(attention)).ToArray());
        prior = nn.Linear(h, c.Mels);
        dur_conv1 = nn.Conv1d(h, h, 3, padding: 1);
        dur_norm1 = nn.LayerNorm(h);
        dur_conv2 = nn.Conv1d(h, h, 3, padding: 1);
        dur_norm2 = nn.LayerNorm(h);
        dur_out = nn.Linear(h, 1);
        frame_position = nn.Linear(1, h);
        dec_conv = new ModuleList<Conv1d>(Enumerable.Range(0, c.DecoderLayers)
            .Select(i => nn.Conv1d(h, h, k, padding: k / 2 * Dilation(i), dilation: Dilation(i))).ToArray());
        dec_norm = new ModuleList<LayerNorm>(Enumerable.Range(0, c.DecoderLayers).Select(_ => nn.LayerNorm(h)).ToArray());
        mel_out = nn.Linear(h, c.Mels);
        post_conv = new ModuleList<Conv1d>(Enumerable.Range(0, c.PostnetLayers).Select(i => nn.Conv1d(i == 0 ? c.Mels : h, h, k, padding: k / 2)).ToArray());
        post_out = nn.Linear(h, c.Bins);
        post_skip = nn.Linear(c.Mels, c.Bins);
        dropout = nn.Dropout(c.Dropout);
        RegisterComponents();
        register_buffer("mel_mean", torch.zeros(c.Mels));
        register_buffer("mel_std", torch.ones(c.Mels));
        register_buffer("lin_mean", torch.zeros(c.Bins));
        register_buffer("lin_std", torch.ones(c.Bins));
    }

    static int Dilation(int layer) => 1 << (layer % 3);

    /// <summary>Per-band statistics of the training features: (mel mean, mel std, log-magnitude mean, std).</summary>
    public (Tensor MelMean, Tensor MelStd, Tensor LinMean, Tensor LinStd) Statistics =>
        (get_buffer("mel_mean")!, get_buffer("mel_std")!, get_buffer("lin_mean")!, get_buffer("lin_std")!);

    /// <summary>Sets the feature statistics (new runs; a checkpoint brings its own).</summary>
    public void SetStatistics(Tensor melMean, Tensor melStd, Tensor linMean, Tensor linStd)
    {
        using var _ = torch.no_grad();
        var (mm, ms, lm, ls) = Statistics;
        mm.copy_(melMean); ms.copy_(melStd); lm.copy_(linMean); ls.copy_(linStd);
    }

    /// <summary>Encoder states (B, N, H) of phoneme ids (B, N), zero at padding.</summary>
    public Tensor Encode(Tensor ids)
    {
        using var scope = torch.NewDisposeScope();
        var keep = ids.ne(0L).unsqueeze(-1).to(ScalarType.Float32);                         // (B, N, 1)
        var x = embed.forward(ids) * Math.Sqrt(_c.Hidden);
        for (int i = 0; i < enc_conv.Count; i++)
        {
            var y = enc_conv[i].forward((x * keep).transpose(1, 2)).transpose(1, 2).relu();
            var z = dropout.forward(enc_norm[i].forward(y));
            x = i == 0 ? z : x + z;
        }
        x = (x + Positions(ids.shape[1], _c.Hidden, x.device)) * keep;
        var attend = ids.ne(0L).view(ids.shape[0], 1, 1, ids.shape[1]);                        // keys that are not padding
        foreach (var layer in enc_attn) x = layer.forward(x, attend) * keep;
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>Per-phoneme mel means (B, N, Mels) in normalised units: the alignment's prior.</summary>
    public Tensor Prior(Tensor states) => prior.forward(states);

    /// <summary>Predicted log(1 + frames) per phoneme (B, N).</summary>
    public Tensor LogDurations(Tensor states, Tensor ids)
    {
        using var scope = torch.NewDisposeScope();
        var keep = ids.ne(0L).unsqueeze(-1).to(ScalarType.Float32);
        var x = dur_conv1.forward((states * keep).transpose(1, 2)).transpose(1, 2).relu();
        x = dropout.forward(dur_norm1.forward(x));
        x = dur_conv2.forward((x * keep).transpose(1, 2)).transpose(1, 2).relu();
        x = dropout.forward(dur_norm2.forward(x));
        return dur_out.forward(x).squeeze(-1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Normalised log-mel frames (B, T, Mels) from frame-aligned encoder states (B, T, H), each frame's position inside its
    /// phoneme (B, T) in (0, 1), and the frame mask (B, T).
    /// </summary>
    public Tensor Decode(Tensor aligned, Tensor position, Tensor frameMask)
    {
        using var scope = torch.NewDisposeScope();
        var keep = frameMask.unsqueeze(-1).to(ScalarType.Float32);
        var x = (aligned + frame_position.forward(position.unsqueeze(-1))) * keep;
        for (int i = 0; i < dec_conv.Count; i++)
        {
            var y = dec_conv[i].forward((x * keep).transpose(1, 2)).transpose(1, 2).relu();
            x = x + dec_norm[i].forward(y);
        }
        return (mel_out.forward(x) * keep).MoveToOuterDisposeScope();
    }

    /// <summary>Normalised log-magnitude STFT frames (B, T, Bins) from normalised log-mel frames (B, T, Mels).</summary>
    public Tensor PostNet(Tensor mel, Tensor frameMask)
    {
        using var scope = torch.NewDisposeScope();
        var keep = frameMask.unsqueeze(-1).to(ScalarType.Float32);
        var x = mel;
        for (int i = 0; i < post_conv.Count; i++)
            x = post_conv[i].forward((x * keep).transpose(1, 2)).transpose(1, 2).tanh();
        return ((post_out.forward(x) + post_skip.forward(mel)) * keep).MoveToOuterDisposeScope();
    }

    /// <summary>Sinusoidal positions (N, H) of Vaswani et al. (2017, §3.5).</summary>
    static Tensor Positions(long n, int h, Device device)
    {
        using var scope = torch.NewDisposeScope();
        var position = torch.arange(n, dtype: ScalarType.Float32, device: device).unsqueeze(1);          // (N, 1)
        var rate = torch.exp(torch.arange(0, h, 2, dtype: ScalarType.Float32, device: device) * (-Math.Log(10000.0) / h)); // (H/2)
        var angles = position * rate;                                                                      // (N, H/2)
        var pe = torch.stack(new[] { angles.sin(), angles.cos() }, 2).view(n, -1).narrow(1, 0, h);
        return pe.MoveToOuterDisposeScope();
    }
}
