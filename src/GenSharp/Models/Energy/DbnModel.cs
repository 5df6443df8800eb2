using GenSharp.Data;
using GenSharp.Sampling;
using GenSharp.Training;
using static TorchSharp.torch.nn.functional;

namespace GenSharp.Models.Energy;

/// <summary>
/// A deep belief net: a top RBM over (h_{L−1}, h_L) and directed sigmoid layers p(h_{l−1} | h_l) below it,
/// each given by RBM l's visible conditional (h₀ = the pixels). Trained greedily (see <see cref="DbnConfig"/>),
/// sampled by Gibbs sweeps in the top RBM followed by one downward pass.
/// <para>
/// Evaluation reports the variational lower bound of Hinton et al. (2006, eq. 2 applied at every layer;
/// Salakhutdinov &amp; Murray 2008, §5, eq. 19) with the recognition distribution q(h_l | h_{l−1}) = σ(c_l + W_l h_{l−1})
/// of the up pass:
/// log p(v) ≥ E_q[ Σ_{l=1}^{L−1} (log p(h_{l−1} | h_l) + H(q(h_l | h_{l−1}))) − F_top(h_{L−1}) ] − log Z_top,
/// with the expectation estimated from S samples of the up pass per image (the entropies are exact given the
/// sampled layer below) and log Z_top by AIS. For one layer it is the RBM's own −F(v) − log Z.
/// </para>
/// </summary>
public sealed class DbnModel : FamilyModel<DbnConfig, DbnNetwork>, ILikelihoodModel, IGibbsSampler
{
    readonly AisCache _ais = new();

    /// <summary>Registry name.</summary>
    public const string FamilyName = "dbn";

    public DbnModel(DbnConfig config, Device device) : base(FamilyName, config, new DbnNetwork(config), device) { }

    /// <summary>One SGD optimizer per layer (as <see cref="RbmModel"/>'s), so the frozen layers' momentum and weight decay never touch them.</summary>
    public override IReadOnlyList<OptimizerSpec> OptimizerSpecs =>
        _net.Layers.Select((rbm, l) => RbmTraining.Optimizer($"layer{l}", rbm, _config.Layer(l))).ToArray();
    public override IReadOnlyCollection<string> LossMetrics => RbmTraining.LossMetrics;
    /// <summary>The update counter checkpoints kept before the trainer owned it.</summary>
    public override IReadOnlyCollection<string> ObsoleteTensorNames => new[] { "steps_done" };
    int Depth => _net.Layers.Count;
    Rbm Top => _net.Layers[^1];

    public IReadOnlyCollection<string> EvalParameters => ["k", "ais_chains", "ais_betas", "ais_runs"];

    public string LikelihoodDescription => Depth == 1
        ? "one-layer DBN = RBM: log p(v) = −F(v) − log Z with log Z by AIS (low in expectation, so nll is optimistic if AIS has not converged); binarized test set, fixed seed"
        : "DBN variational lower bound on log p(v) (Hinton et al. 2006; Salakhutdinov & Murray 2008 eq. 19) with the up-pass recognition " +
          "distribution, Monte-Carlo over k up-pass samples per image, log Z of the top RBM by AIS: bound_nll = −bound is an upper bound on " +
          "−log p(v) up to the AIS error in log Z (AIS is low in expectation, making bound_nll optimistic by that error); binarized test set, fixed seed. " +
          "score: −bound without log Z (one constant)";

    /// <summary>The layer being trained at update <paramref name="step"/>: each gets layer_steps updates, then the top keeps training.</summary>
    public int TrainingLayer(long step) => (int)Math.Min(step / _config.LayerSteps, Depth - 1);

    public override IEnumerable<LossTerm> TrainStep(Tensor images, Tensor labels, StepContext ctx)
    {
        _net.train();
        int l = TrainingLayer(ctx.Step);
        var x01 = ImageTransforms.ToFloat(images, PixelScale.ZeroOne).flatten(1);   // (B, V)
        Tensor input;
        if (l == 0)
        {
            _net.Layers[0].TrackInputMean(x01);
            input = ImageTransforms.Binarize(x01, stochastic: true);
        }
        else
        {
            using (torch.no_grad())
            {
                // Up the frozen layers with binary samples, the states the next RBM models.
                input = ImageTransforms.Binarize(x01, stochastic: true);
                for (int j = 0; j < l; j++) input = BernoulliSampling.Sample(torch.sigmoid(_net.Layers[j].HiddenLogits(input)));
            }
            _net.Layers[l].TrackInputMean(input);
        }
        foreach (var term in RbmTraining.Step(_net.Layers[l], l, input, _config.CdSteps, $"dbn layer {l}", ctx)) yield return term;
        ctx.Log("layer", l);
    }

    public int SampleSteps => _config.SampleSteps;

    /// <summary>
    /// <paramref name="steps"/> Gibbs sweeps in the top RBM from its inputs' mean, then a downward pass sampling each
    /// h_{l−1} ~ p(h_{l−1} | h_l); returns p(v = 1 | h₁) as images (n, C, H, W) in [0, 1] on the CPU.
    /// </summary>
    public Tensor Sample(int n, int steps)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        _net.eval();
        var layers = _net.Layers;
        var start = BernoulliSampling.Sample(Top.InputMean.expand(n, Top.Visible).contiguous());   // (n, H_{L−1})
        var (x, probs) = Top.Gibbs(start, steps);
        if (Depth > 1)
        {
            for (int l = Depth - 2; l >= 1; l--) x = BernoulliSampling.Sample(torch.sigmoid(layers[l].VisibleLogits(x)));
            probs = torch.sigmoid(layers[0].VisibleLogits(x));                           // (n, V)
        }
        var s = _config.ImageSize;
        return probs.view(n, _config.ImageChannels, s, s).cpu().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The lower bound on log p(v) without its −log Z_top term, (B) for binary v (B, V), averaged over
    /// <paramref name="samples"/> up-pass samples per item (see the class remarks). Uses torch's global generator.
    /// </summary>
    public Tensor BoundWithoutLogZ(Tensor v, int samples)
    {
        if (Depth == 1) return -Top.FreeEnergy(v);
        long b = v.shape[0];
        var below = v.unsqueeze(1).expand(b, samples, v.shape[1]).reshape(b * samples, v.shape[1]);   // (B·S, V), item-major
        var total = torch.zeros(below.shape[0], dtype: ScalarType.Float64, device: v.device);
        for (int l = 0; l < Depth - 1; l++)
        {
            var rbm = _net.Layers[l];
            var a = rbm.HiddenLogits(below);                                              // (B·S, H_l), q's logits
            var h = BernoulliSampling.Sample(torch.sigmoid(a));
            // log p(h_{l−1} | h_l) of the directed layer, Bernoulli with logits b + Wᵀh.
            var logP = -binary_cross_entropy_with_logits(rbm.VisibleLogits(h), below, reduction: nn.Reduction.None).sum(1);
            var entropy = (softplus(a) - torch.sigmoid(a) * a).sum(1);                    // H(q(h | below)) = Σ softplus(a) − σ(a)·a
            total = total + (logP + entropy).to_type(ScalarType.Float64);
            below = h;
        }
        total = total - Top.FreeEnergy(below).to_type(ScalarType.Float64);
        return total.view(b, samples).mean(new long[] { 1 });
    }

    /// <summary>Binarizes raw uint8 test images reproducibly (seeded generator on the CPU), (B, V).</summary>
    public Tensor BinarizeForEval(Tensor images, Generator gen) => RbmModel.BinarizeForEval(images, gen, Device);

    /// <summary>−(bound without log Z) from 10 up-pass samples: −log p(v)'s upper bound up to the constant log Z_top.</summary>
    public Tensor NegativeLogLikelihood(Tensor images)
    {
        using var _ = torch.no_grad();
        _net.eval();
        using var gen = new Generator(0);
        return -BoundWithoutLogZ(BinarizeForEval(images, gen), 10).to_type(ScalarType.Float32);
    }

    /// <summary>log Z of the top RBM by AIS from the base rate of its training inputs (cached per settings).</summary>
    public AisEstimate TopLogPartition(EvalSettings settings) => _ais.Get(Top, settings);

    /// <summary>Sums over the batch of bound_nll = −bound and of −(bound without log Z); AIS figures of the top RBM as in the RBM.</summary>
    public IReadOnlyDictionary<string, double> EvaluateBatch(Tensor images, EvalSettings settings)
    {
        var ais = TopLogPartition(settings);
        using var _ = torch.no_grad();
        _net.eval();
        using var gen = new Generator((ulong)settings.Seed);
        var partial = BoundWithoutLogZ(BinarizeForEval(images, gen), Math.Max(1, settings.ImportanceSamples));   // (B)
        double b = images.shape[0], sum = partial.sum().item<double>();
        var r = EnergyReport.Metrics(-sum + b * ais.LogZ, -sum, ais, b, Depth == 1 ? "nll" : "bound_nll", Depth == 1 ? "free_energy" : "bound_free_energy");
        r["bound_samples"] = Math.Max(1, settings.ImportanceSamples) * b;
        return r;
    }
}
