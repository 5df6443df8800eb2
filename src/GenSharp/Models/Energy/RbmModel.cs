using GenSharp.Data;
using GenSharp.Sampling;
using GenSharp.Training;

namespace GenSharp.Models.Energy;

/// <summary>
/// A Bernoulli–Bernoulli RBM ready to train, sample, evaluate and score. Images are flattened to
/// V = C·H·W binary visible units. Training binarizes each batch stochastically; evaluation binarizes the
/// test set stochastically with a fixed seed (as the VAE does), so log-likelihoods are in nats on
/// binarized images. log p(v) = −F(v) − log Z needs log Z, which <see cref="EvaluateBatch"/> estimates once
/// by annealed importance sampling and reuses for every batch with the same settings.
/// </summary>
public sealed class RbmModel : FamilyModel<RbmConfig, Rbm>, ILikelihoodModel, IGibbsSampler
{
    readonly AisCache _ais = new();

    /// <summary>Registry name.</summary>
    public const string FamilyName = "rbm";

    public RbmModel(RbmConfig config, Device device)
        : base(FamilyName, config, new Rbm(config.Visible, config.Hidden, config.Persistent ? config.PersistentChains : 0, config.InitStd), device) { }

    /// <summary>SGD with momentum, weight decay on W only.</summary>
    public override IReadOnlyList<OptimizerSpec> OptimizerSpecs => new[] { RbmTraining.Optimizer("rbm", _net, _config) };
    public override IReadOnlyCollection<string> LossMetrics => RbmTraining.LossMetrics;

    public IReadOnlyCollection<string> EvalParameters => ["k", "ais_chains", "ais_betas", "ais_runs"];

    public string LikelihoodDescription =>
        "RBM log-likelihood log p(v) = −F(v) − log Z on binarized pixels (test set binarized stochastically with a fixed seed); " +
        "log Z by annealed importance sampling from a base-rate model of the training pixel means (Salakhutdinov & Murray 2008), " +
        "an estimate that is low in expectation, so nll is optimistic if AIS has not converged; log_z_std is the spread over " +
        "independent AIS runs, log_z_minus/plus_3sigma the ±3σ bounds of the pooled importance weights. " +
        "score: the free energy F(v) = −log p(v) − log Z (log Z is one constant, so rankings and AUROC equal the NLL's)";

    /// <summary>Raw uint8 images (B, C, H, W) to pixel intensities (B, V) in [0, 1].</summary>
    static Tensor Flatten01(Tensor images) => ImageTransforms.ToFloat(images, PixelScale.ZeroOne).flatten(1);

    public override IEnumerable<LossTerm> TrainStep(Tensor images, Tensor labels, StepContext ctx)
    {
        _net.train();
        var x01 = Flatten01(images);                                           // (B, V)
        _net.TrackInputMean(x01);
        var v0 = ImageTransforms.Binarize(x01, stochastic: true);               // fresh draws every epoch
        return RbmTraining.Step(_net, 0, v0, _config.CdSteps, "rbm", ctx);
    }

    public int SampleSteps => _config.SampleSteps;

    /// <summary>
    /// Runs <paramref name="n"/> Gibbs chains for <paramref name="steps"/> sweeps from v ~ Bernoulli(training pixel means)
    /// and returns the mean-field p(v = 1 | h) of the last sweep as images (n, C, H, W) in [0, 1] on the CPU.
    /// </summary>
    public Tensor Sample(int n, int steps)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        _net.eval();
        var v = BernoulliSampling.Sample(_net.InputMean.expand(n, _config.Visible).contiguous());   // (n, V)
        var probs = _net.Gibbs(v, steps).VisibleProbs;
        var s = _config.ImageSize;
        return probs.view(n, _config.ImageChannels, s, s).cpu().MoveToOuterDisposeScope();
    }

    /// <summary>Binarizes raw uint8 test images reproducibly (seeded generator, independent of the global RNG), (B, V).</summary>
    public Tensor BinarizeForEval(Tensor images, Generator gen) => BinarizeForEval(images, gen, Device);

    /// <summary>Images (B, C, H, W) → (B, V) binary draws from <paramref name="gen"/> (on the CPU), on <paramref name="device"/>; shared with the DBN.</summary>
    internal static Tensor BinarizeForEval(Tensor images, Generator gen, Device device) =>
        ImageTransforms.Binarize(Flatten01(images).cpu(), stochastic: true, generator: gen).to(device);   // the generator is on the CPU

    /// <summary>The free energy F(v) (B) of the test images binarized with seed 0: −log p(v) up to the constant log Z.</summary>
    public Tensor NegativeLogLikelihood(Tensor images)
    {
        using var _ = torch.no_grad();
        using var gen = new Generator(0);
        return _net.FreeEnergy(BinarizeForEval(images, gen));
    }

    /// <summary>
    /// log Z by AIS with the settings' chains, intermediate distributions and runs (cached for the same settings).
    /// Draws from torch's global generator.
    /// </summary>
    public AisEstimate LogPartition(EvalSettings settings) => _ais.Get(_net, settings);

    /// <summary>
    /// Sums over the batch: nll = Σ (F(v) + log Ẑ) and free_energy; log Z and its spread are constants, returned
    /// multiplied by the batch size so that the dataset average is the value itself.
    /// </summary>
    public IReadOnlyDictionary<string, double> EvaluateBatch(Tensor images, EvalSettings settings)
    {
        var ais = LogPartition(settings);
        using var _ = torch.no_grad();
        _net.eval();
        using var gen = new Generator((ulong)settings.Seed);
        var f = _net.FreeEnergy(BinarizeForEval(images, gen)).to_type(ScalarType.Float64);   // (B)
        double b = images.shape[0], sumF = f.sum().item<double>();
        return EnergyReport.Metrics(sumF + b * ais.LogZ, sumF, ais, b);
    }
}
