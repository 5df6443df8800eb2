using GenSharp.Data;
using GenSharp.Sampling;
using GenSharp.Training;
using static TorchSharp.torch.nn.functional;

namespace GenSharp.Models.Autoregressive;

/// <summary>
/// A Gated PixelCNN ready to train, sample, score and complete images. log p(x) = Σᵢ log p(xᵢ | x₍&lt;ᵢ₎)
/// over pixels in raster order, exact: a 256-way softmax on the 8-bit values (network input scaled
/// to [−1, 1]), or Bernoulli on binarized pixels (training binarizes stochastically, evaluation with a
/// fixed seed, as the VAE does).
/// <para>
/// Sampling is pixel by pixel for the whole batch, but never runs the full network per pixel. Once
/// per row r the vertical stacks run on the rows that can reach row r's links (at most
/// <see cref="PixelCnnNetwork.Reach"/> + 2 rows ending at r: nothing flows upward). Then, per pixel,
/// only one column of each horizontal stack and the head run (<see cref="PixelCnnRowCache"/>: each
/// block's row is cached, and column c needs only the few columns its 1×n kernel reads). With the
/// defaults that is 28 vertical passes over ≤ 12 rows plus 784 one-column passes, instead of 784
/// full-image passes; a test checks these logits against the full network's.
/// </para>
/// </summary>
public sealed class PixelCnnModel : FamilyModel<PixelCnnConfig, PixelCnnNetwork>, ILikelihoodModel, IImageCompletion, IPlainImageSampler
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "pixelcnn";

    public PixelCnnModel(PixelCnnConfig config, Device device) : base(FamilyName, config, new PixelCnnNetwork(config), device) { }

    /// <summary>
    /// The 64- and 128-channel convolutions run in oneDNN's blocked layout and the first block's outputs return to the
    /// default layout (GatedPixelCnnBlock): +5 % training throughput against channels-last everywhere on 2 threads
    /// (docs/benchmarks.md).
    /// </summary>
    protected override bool BlockedConvolutions => true;

    /// <summary>Adam with gradient-norm clipping at grad_clip.</summary>
    public override IReadOnlyList<OptimizerSpec> OptimizerSpecs =>
        new[] { OptimizerSpec.Single("pixelcnn", OptimizerAlgorithm.Adam, _net.parameters(), _config.LearningRate) with { GradClip = _config.GradClip } };
    public override IReadOnlyCollection<string> LossMetrics => new[] { "loss", "bpd" };
    public override int ConditionalClasses => _config.Conditional ? _config.NumClasses : 0;
    bool Softmax => _config.Output == PixelCnnOutput.Softmax256;

    public string LikelihoodDescription => (Softmax
        ? "exact log-likelihood of the discrete 8-bit pixels (256-way softmax per pixel, raster order)"
        : "exact log-likelihood of binarized pixels (Bernoulli per pixel, raster order; test set binarized stochastically with a fixed seed)") +
        (_config.Conditional ? "; class-conditional: −log Σ_y p(y) p(x|y) with uniform p(y)" : "");

    /// <summary>
    /// Pixel levels (B, C, H, W) as floats — 0…255 for the softmax, 0/1 for Bernoulli — to the
    /// network input in [−1, 1].
    /// </summary>
    public Tensor NetworkInput(Tensor levels) => Softmax ? levels * (2.0 / 255.0) - 1.0 : levels * 2.0 - 1.0;

    /// <summary>
    /// Per-pixel logits for pixel levels (B, C, H, W): (B, 256, C, H, W) for the softmax,
    /// (B, C, H, W) for Bernoulli.
    /// </summary>
    public Tensor Logits(Tensor levels, Tensor? labels)
    {
        var logits = _net.forward(NetworkInput(levels), ClassLabels(labels, levels.shape[0]));
        var s = levels.shape;
        return Softmax ? logits.view(s[0], 256, s[1], s[2], s[3]) : logits;
    }

    /// <summary>−log p(x) per image in nats, (B), for pixel levels (B, C, H, W) as floats.</summary>
    public Tensor NegativeLogLikelihoodOfLevels(Tensor levels, Tensor? labels)
    {
        var logits = Logits(levels, labels);
        var perPixel = Softmax
            ? cross_entropy(logits, levels.to_type(ScalarType.Int64), reduction: nn.Reduction.None)       // (B, C, H, W)
            : binary_cross_entropy_with_logits(logits, levels, reduction: nn.Reduction.None);
        return perPixel.flatten(1).sum(1);
    }

    public override IEnumerable<LossTerm> TrainStep(Tensor images, Tensor labels, StepContext ctx)
    {
        _net.train();
        var levels = Softmax
            ? images.to_type(ScalarType.Float32)
            : ImageTransforms.Binarize(ImageTransforms.ToFloat(images, PixelScale.ZeroOne), stochastic: true);
        var loss = NegativeLogLikelihoodOfLevels(levels, labels).mean();
        ctx.Log("loss", loss);
        ctx.Log("bpd", loss.detach().to(ScalarType.Float64) / (images.shape[1] * images.shape[2] * images.shape[3] * Math.Log(2)));
        yield return new LossTerm(0, loss) { Diagnose = () => "lower learning_rate or set grad_clip" };
    }

    /// <summary>Draws from torch's global generator; the sampler has no options.</summary>
    public Tensor Sample(int n, Tensor? labels)
    {
        using var _ = torch.no_grad();
        var s = _config.ImageSize;
        using var levels = torch.zeros(new long[] { n, _config.ImageChannels, s, s }, device: Device);
        return Generate(levels, 0, labels);
    }

    public Tensor Complete(Tensor images, long knownPixels, Tensor? labels)
    {
        long pixels = images.shape[2] * images.shape[3];
        if (knownPixels < 0 || knownPixels > pixels)
            throw new GenSharpException($"known pixels must be in [0, {pixels}], got {knownPixels}");
        using var _ = torch.no_grad();
        using var levels = Softmax
            ? images.to(Device).to_type(ScalarType.Float32)
            : ImageTransforms.Binarize(ImageTransforms.ToFloat(images.to(Device), PixelScale.ZeroOne), stochastic: false);
        return Generate(levels, knownPixels, labels);
    }

    /// <summary>Binarizes raw uint8 test images reproducibly (seeded generator, independent of the global RNG).</summary>
    public Tensor BinarizeForEval(Tensor images, Generator gen)
    {
        // The generator lives on the CPU, so the draws happen there.
        var x01 = ImageTransforms.ToFloat(images, PixelScale.ZeroOne).cpu();
        return ImageTransforms.Binarize(x01, stochastic: true, generator: gen).to(Device);
    }

    public Tensor NegativeLogLikelihood(Tensor images)
    {
        using var _ = torch.no_grad();
        using var gen = new Generator(0);
        return NegativeLogLikelihood(images, gen);
    }

    public IReadOnlyDictionary<string, double> EvaluateBatch(Tensor images, EvalSettings settings)
    {
        using var _ = torch.no_grad();
        using var gen = new Generator((ulong)settings.Seed);
        return new Dictionary<string, double> { ["nll"] = NegativeLogLikelihood(images, gen).sum().item<float>() };
    }

    Tensor NegativeLogLikelihood(Tensor images, Generator gen)
    {
        _net.eval();
        var levels = Softmax ? images.to(Device).to_type(ScalarType.Float32) : BinarizeForEval(images, gen);
        if (!_config.Conditional) return NegativeLogLikelihoodOfLevels(levels, null);
        // Class-conditional: the exact marginal under a uniform class prior,
        // −log p(x) = −log Σ_y p(y) p(x | y) = −(logsumexp_y log p(x | y) − log K).
        int k = _config.NumClasses;
        long n = levels.shape[0];
        var logPerClass = torch.stack(Enumerable.Range(0, k).Select(cls =>
            -NegativeLogLikelihoodOfLevels(levels, torch.full(n, cls, ScalarType.Int64, device: Device))), 1); // (B, K)
        return -(torch.logsumexp(logPerClass, 1) - Math.Log(k));
    }

    /// <summary>
    /// Samples, in raster order, every pixel of <paramref name="levels"/> (B, C, H, W) from index
    /// <paramref name="start"/> on (the pixels before it are kept) and returns images in [0, 1] on the CPU.
    /// Writes into <paramref name="levels"/>.
    /// </summary>
    Tensor Generate(Tensor levels, long start, Tensor? labels)
    {
        _net.eval();
        long n = levels.shape[0], ch = levels.shape[1], height = levels.shape[2], width = levels.shape[3];
        var y = ClassLabels(labels, n, sampleIfMissing: true);
        using var x = NetworkInput(levels);
        for (long r = start / width; r < height; r++)
        {
            using var rowScope = torch.NewDisposeScope();
            var cache = new PixelCnnRowCache(_net, x.narrow(2, r, 1), _net.RowLinks(x, r, y), y);
            for (long c = 0; c < width; c++)
            {
                using var pixelScope = torch.NewDisposeScope();
                var logits = cache.Logits(c);                                       // (B, Levels·C)
                if (r * width + c < start) continue;                                // known pixel: already in the row
                Tensor value;                                                       // (B, C) pixel levels
                if (Softmax)
                {
                    var probs = softmax(logits.view(n, 256, ch).transpose(1, 2).reshape(n * ch, 256), 1); // (B·C, 256)
                    value = torch.multinomial(probs, 1).view(n, ch).to_type(ScalarType.Float32);
                }
                else
                {
                    value = BernoulliSampling.Sample(torch.sigmoid(logits));
                }
                var input = NetworkInput(value);
                levels.select(3, c).select(2, r).copy_(value);
                x.select(3, c).select(2, r).copy_(input);
                cache.Set(c, input);
            }
        }
        return (Softmax ? levels / 255.0 : levels.clone()).cpu();
    }

    /// <summary>The labels to condition on (on the device), or null for an unconditional model.</summary>
    Tensor? ClassLabels(Tensor? labels, long n, bool sampleIfMissing = false)
    {
        if (!_config.Conditional) return null;
        if (labels is null)
        {
            if (!sampleIfMissing) throw new GenSharpException("this PixelCNN is class-conditional: pass class labels");
            return torch.randint(_config.NumClasses, n, dtype: ScalarType.Int64).to(Device);
        }
        if (labels.shape[0] != n) throw new GenSharpException($"expected {n} labels, got {labels.shape[0]}");
        return labels.to(Device);
    }
}
