using GenSharp.Media.Audio;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;
using static TorchSharp.torch.nn.functional;

namespace GenSharp.Models.Audio;

/// <summary>
/// The WaveNet network: an embedding of the 256 μ-law codes (the one-hot input of the paper times a 1×1 conv), the
/// residual layers, the skip sum and the head ReLU → 1×1 → ReLU → 1×1 → 256 logits (Fig. 4). For a vocoder the
/// log-mel frames pass a kernel-3 convolution over frames and a tanh, each layer projects them to its gates, and the
/// projections are upsampled to the sample rate by repetition (each frame covers the hop of samples that follow its
/// centre).
/// </summary>
public sealed class WaveNetNetwork : Module
{
    private readonly Embedding embed;
    private readonly Conv1d? condition_in;
    private readonly ModuleList<WaveNetLayer> layers;
    private readonly Conv1d head_hidden;
    private readonly Conv1d head_out;
    readonly WaveNetConfig _config;

    public WaveNetNetwork(WaveNetConfig config) : base(nameof(WaveNetNetwork))
    {
        _config = config;
        bool mel = config.Conditioning == WaveNetConditioning.Mel;
        embed = Embedding(MuLaw.Levels, config.ResidualChannels);
        if (mel) condition_in = Conv1d(config.Mels, config.ConditionChannels, 3, padding: 1);
        layers = new ModuleList<WaveNetLayer>(Enumerable.Range(0, config.Layers).Select(i =>
            new WaveNetLayer(config.ResidualChannels, config.GateChannels, config.SkipChannels, mel ? config.ConditionChannels : 0, config.Dilation(i))).ToArray());
        head_hidden = Conv1d(config.SkipChannels, config.SkipChannels, 1);
        head_out = Conv1d(config.SkipChannels, MuLaw.Levels, 1);
        RegisterComponents();
    }

    /// <summary>Whether the network needs mel frames.</summary>
    public bool Conditional => condition_in is not null;

    /// <summary>The residual layers.</summary>
    public IReadOnlyList<WaveNetLayer> Layers => layers.ToArray();

    /// <summary>
    /// Per-layer gate conditioning at the frame rate, (B, 2G, frames) each, from log-mel frames (B, Mels, frames).
    /// </summary>
    public List<Tensor> FrameGates(Tensor mel)
    {
        var features = torch.tanh(condition_in!.forward(mel));      // (B, C, frames)
        return layers.Select(l => l.ConditionGates(features)).ToList();
    }

    /// <summary>
    /// Logits (B, 256, T) for input codes (B, T): position p sees the codes at positions ≤ p and, when conditional,
    /// the mel frame of sample <paramref name="conditionOffset"/> + p (frame ⌊(offset + p) / hop⌋ of
    /// <paramref name="mel"/> (B, Mels, frames)). Position p's logits are the distribution of the sample after it.
    /// </summary>
    public Tensor Forward(Tensor codes, Tensor? mel, long conditionOffset)
    {
        if (Conditional != (mel is not null))
            throw new GenSharpException(Conditional ? "this WaveNet is a vocoder: it needs a mel spectrogram" : "this WaveNet is unconditional: it takes no mel spectrogram");
        return ForwardWithGates(codes, mel is null ? null : FrameGates(mel), conditionOffset);
    }

    /// <summary>
    /// As <see cref="Forward(Tensor, Tensor?, long)"/> with the conditioning already projected to each layer's gates at
    /// the frame rate (<see cref="FrameGates"/>, (B, 2G, frames) per layer); <paramref name="conditionOffset"/> counts
    /// samples from the first of those frames. A (B, 256, T) view of <see cref="TimeMajorLogits"/>.
    /// </summary>
    public Tensor ForwardWithGates(Tensor codes, IReadOnlyList<Tensor>? frameGates, long conditionOffset)
    {
        using var logits = TimeMajorLogits(codes, frameGates, conditionOffset);
        return logits.transpose(1, 2);
    }

    /// <summary>
    /// Logits (B, T, 256), time-major, for input codes (B, T) and the per-layer frame gates (B, 2G, frames) of
    /// <see cref="FrameGates"/> (or null): the whole network runs on (B, T, C) activations, every convolution a matrix
    /// product over the B·T positions (<see cref="WaveNetLayer.Forward"/>).
    /// </summary>
    public Tensor TimeMajorLogits(Tensor codes, IReadOnlyList<Tensor>? frameGates, long conditionOffset)
    {
        long b = codes.shape[0], t = codes.shape[1];
        // Intermediates are disposed as soon as the next operation has consumed them, as Python drops a reference
        // (autograd keeps what backward needs); the caller's codes and frame gates are never disposed.
        // A row lookup in the embedding table (index_select, not Embedding.forward, which gave transient NaNs in
        // Release runs after an optimizer step).
        Tensor x;
        using (var flat = codes.flatten())
        using (var rows = embed.weight!.index_select(0, flat))
            x = rows.view(b, t, -1);                                                          // (B, T, R)
        Tensor? skips = null;
        for (int i = 0; i < layers.Count; i++)
        {
            Tensor? up = null, gates = null;
            if (frameGates is not null)
            {
                long needed = conditionOffset + t;
                var g = frameGates[i];                                                      // (B, 2G, frames)
                // Each frame repeated hop times along time (expand + reshape, not repeat_interleave: in a Release build
                // that gave transient NaNs past the first frame).
                using (var framesFirst = g.transpose(1, 2))                                  // (B, frames, 2G)
                using (var one = framesFirst.unsqueeze(2))
                using (var wide = one.expand(g.shape[0], g.shape[2], _config.Hop, g.shape[1]))
                    up = wide.reshape(g.shape[0], g.shape[2] * _config.Hop, g.shape[1]);   // (B, frames·hop, 2G)
                if (up.shape[1] < needed)
                {
                    up.Dispose();
                    throw new GenSharpException($"the mel spectrogram covers {g.shape[2] * _config.Hop} samples, {needed} are needed");
                }
                gates = up.narrow(1, conditionOffset, t);
            }
            var (output, skip) = layers[i].Forward(x, gates);
            gates?.Dispose();
            up?.Dispose();
            x.Dispose();
            x = output;
            if (skips is null) skips = skip;
            else
                using (var before = skips)
                using (skip)
                    skips = before.add(skip, AudioScalars.One);   // not +: see AudioScalars
        }
        x.Dispose();
        using (skips)
        using (var a = relu(skips!))
        using (var hiddenWeight = head_hidden.weight!.squeeze(2))
        using (var hidden = linear(a, hiddenWeight, head_hidden.bias))
        using (var c = relu(hidden))
        using (var outWeight = head_out.weight!.squeeze(2))
            return linear(c, outWeight, head_out.bias);                                       // (B, T, 256)
    }

    /// <summary>The head's weights as matrices for one sample at a time: (S, S), bias, (S, 256), bias.</summary>
    internal (Tensor Hidden, Tensor HiddenBias, Tensor Out, Tensor OutBias) HeadStepWeights() =>
        (head_hidden.weight!.squeeze(2).t().contiguous(), head_hidden.bias!, head_out.weight!.squeeze(2).t().contiguous(), head_out.bias!);

    /// <summary>The embedding table (256, R).</summary>
    internal Tensor EmbeddingTable => embed.weight!;
}
