using GenSharp.Sampling;
using TorchSharp.Modules;
using static TorchSharp.torch.nn.functional;

namespace GenSharp.Models.Energy;

/// <summary>
/// Bernoulli–Bernoulli restricted Boltzmann machine over binary visible units v (V) and hidden
/// units h (H): energy E(v, h) = −bᵀv − cᵀh − hᵀWv, p(v, h) = exp(−E(v, h)) / Z.
/// Summing h out gives the free energy F(v) = −bᵀv − Σⱼ softplus(cⱼ + Wⱼ·v), p(v) = exp(−F(v)) / Z.
/// The conditionals factorise: p(hⱼ = 1 | v) = σ(cⱼ + Wⱼ·v), p(vᵢ = 1 | h) = σ(bᵢ + W·ᵢᵀh)
/// (Hinton 2002; Hinton 2010, "A Practical Guide to Training RBMs").
/// <para>
/// Besides the parameters, the module keeps the running mean of the inputs it was trained on
/// (<c>input_mean</c>, the base-rate model of annealed importance sampling and the start of the
/// sampler's chains) and, for persistent contrastive divergence, the fantasy particles
/// (<c>persistent</c>); both are buffers, so they are checkpointed and resumed.
/// </para>
/// </summary>
public sealed class Rbm : nn.Module
{
    // Field names are the checkpoint keys; weight is (H, V) as in nn.Linear.
    private readonly Parameter weight;        // (H, V)
    private readonly Parameter visible_bias;  // (V)
    private readonly Parameter hidden_bias;   // (H)
    private readonly Tensor input_mean;       // (V) mean of the training inputs seen so far
    private readonly Tensor input_count;      // (1) float64, how many inputs input_mean averages
    private readonly Tensor? persistent;      // (chains, V) PCD fantasy particles; absent for CD-k

    /// <summary>A fresh RBM: W ~ N(0, <paramref name="initStd"/>²), zero biases, input mean ½.</summary>
    /// <param name="visible">V, visible units.</param>
    /// <param name="hidden">H, hidden units.</param>
    /// <param name="persistentChains">Fantasy particles kept for PCD; 0 = none (CD-k).</param>
    /// <param name="initStd">Standard deviation of the initial weights (Hinton's guide: 0.01).</param>
    public Rbm(int visible, int hidden, int persistentChains = 0, double initStd = 0.01) : base(nameof(Rbm))
    {
        Visible = visible;
        Hidden = hidden;
        weight = new Parameter(torch.randn(hidden, visible) * initStd);
        visible_bias = new Parameter(torch.zeros(visible));
        hidden_bias = new Parameter(torch.zeros(hidden));
        input_mean = torch.full(visible, 0.5f);
        input_count = torch.zeros(1, dtype: ScalarType.Float64);
        // Chains start uniform; they move towards the model with the first updates.
        if (persistentChains > 0) persistent = BernoulliSampling.Sample(torch.full(persistentChains, visible, 0.5f));
        RegisterComponents();
    }

    /// <summary>V, visible units.</summary>
    public int Visible { get; }
    /// <summary>H, hidden units.</summary>
    public int Hidden { get; }
    /// <summary>W, (H, V).</summary>
    public Parameter Weight => weight;
    /// <summary>b, (V).</summary>
    public Parameter VisibleBias => visible_bias;
    /// <summary>c, (H).</summary>
    public Parameter HiddenBias => hidden_bias;
    /// <summary>Mean of the training inputs seen so far (½ before training), (V).</summary>
    public Tensor InputMean => input_mean;
    /// <summary>The PCD fantasy particles (chains, V), or null for a CD-k RBM.</summary>
    public Tensor? PersistentChains => persistent;

    /// <summary>Pre-sigmoid hidden activations c + W v, (B, H) for v (B, V).</summary>
    public Tensor HiddenLogits(Tensor v) => linear(v, weight, hidden_bias);

    /// <summary>Pre-sigmoid visible activations b + Wᵀ h, (B, V) for h (B, H).</summary>
    public Tensor VisibleLogits(Tensor h) => h.matmul(weight) + visible_bias;

    /// <summary>F(v) = −bᵀv − Σⱼ softplus(cⱼ + Wⱼ·v), (B) for v (B, V).</summary>
    public Tensor FreeEnergy(Tensor v) => -v.matmul(visible_bias) - softplus(HiddenLogits(v)).sum(1);

    /// <summary>The free energy of the hidden layer, F(h) = −cᵀh − Σᵢ softplus(bᵢ + W·ᵢᵀh), (B) for h (B, H); p(h) = exp(−F(h)) / Z.</summary>
    public Tensor HiddenFreeEnergy(Tensor h) => -h.matmul(hidden_bias) - softplus(VisibleLogits(h)).sum(1);

    /// <summary>One Gibbs sweep v → h ~ p(h | v) → v' ~ p(v | h). Returns v' (B, V) and p(v' = 1 | h) (B, V).</summary>
    public (Tensor Visible, Tensor VisibleProbs) GibbsStep(Tensor v)
    {
        var h = BernoulliSampling.Sample(torch.sigmoid(HiddenLogits(v)));   // (B, H)
        var pv = torch.sigmoid(VisibleLogits(h));                           // (B, V)
        return (BernoulliSampling.Sample(pv), pv);
    }

    /// <summary>
    /// Runs <paramref name="steps"/> ≥ 1 Gibbs sweeps from <paramref name="v"/> (B, V); returns the last
    /// visible sample and its mean-field probabilities p(v = 1 | h). Every step runs in its own dispose scope.
    /// </summary>
    public (Tensor Visible, Tensor VisibleProbs) Gibbs(Tensor v, int steps)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "at least one Gibbs step");
        Tensor x = v;
        Tensor? p = null;
        for (int s = 0; s < steps; s++)
        {
            using var scope = torch.NewDisposeScope();
            var (nv, np) = GibbsStep(x);
            // Only the newest state is kept: free the previous sweep's tensors (never the caller's input).
            if (!ReferenceEquals(x, v)) x.Dispose();
            p?.Dispose();
            x = nv.MoveToOuterDisposeScope();
            p = np.MoveToOuterDisposeScope();
        }
        return (x, p!);
    }

    /// <summary>
    /// Surrogate loss whose gradient is the contrastive-divergence gradient: mean F(v⁺) − mean F(v⁻), where
    /// v⁺ is the data and v⁻ the end of a k-step Gibbs chain (no gradient through it). ∂F/∂W = −σ(c + Wv) vᵀ, so
    /// the gradient is −(⟨p(h|v) vᵀ⟩_data − ⟨p(h|v) vᵀ⟩_chain): positive minus negative statistics with the
    /// hidden probabilities in both, as Hinton (2002, eq. 5) uses. The chain starts at the data (CD-k) or at the
    /// persistent fantasy particles (PCD, Tieleman 2008), which are advanced in place.
    /// </summary>
    /// <param name="v0">Binary data (B, V).</param>
    /// <param name="k">Gibbs sweeps.</param>
    public Tensor ContrastiveDivergenceLoss(Tensor v0, int k)
    {
        Tensor negative;
        using (torch.no_grad())
        {
            var start = persistent ?? v0;
            negative = Gibbs(start, k).Visible;                                // (B or chains, V)
            persistent?.copy_(negative);
        }
        return FreeEnergy(v0).mean() - FreeEnergy(negative).mean();
    }

    /// <summary>
    /// Training monitors on binary data v (B, V), without gradient: the reconstruction error
    /// Σᵢ (vᵢ − p(vᵢ = 1 | h))² per item with h ~ p(h | v), and the stochastic pseudo-likelihood estimate
    /// V · log p(vᵢ | v₋ᵢ) for one uniformly drawn pixel i per item (Besag 1975; p(vᵢ | v₋ᵢ) = σ(F(ṽ) − F(v)) where
    /// ṽ is v with bit i flipped). Both are means over the batch; the pseudo-likelihood is returned negated (nats).
    /// </summary>
    public (double ReconstructionError, double PseudoNll) Monitors(Tensor v)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var pv = torch.sigmoid(VisibleLogits(BernoulliSampling.Sample(torch.sigmoid(HiddenLogits(v)))));   // (B, V)
        double recon = (v - pv).square().sum(1).mean().item<float>();
        var i = torch.randint(Visible, v.shape[0], dtype: ScalarType.Int64, device: v.device);    // (B)
        var flip = one_hot(i, Visible).to_type(v.dtype);                                           // (B, V)
        var flipped = v + flip * (1 - 2 * v);
        var logCond = logsigmoid(FreeEnergy(flipped) - FreeEnergy(v));                             // (B)
        double pseudoNll = -(Visible * logCond).mean().item<float>();
        return (recon, pseudoNll);
    }

    /// <summary>Folds a batch of inputs (B, V), values in [0, 1], into the running input mean.</summary>
    public void TrackInputMean(Tensor x)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        long b = x.shape[0];
        var n = input_count.item<double>();
        var batchMean = x.to_type(ScalarType.Float32).mean(new long[] { 0 });
        input_mean.mul_(n / (n + b)).add_(batchMean * (b / (n + b)));
        input_count.add_(b);
    }

    /// <summary>
    /// Visible biases of the base-rate model p_A(v) = Πᵢ σ(bᴬᵢ)^vᵢ (1 − σ(bᴬᵢ))^(1−vᵢ) fitted to the training
    /// inputs' means (Salakhutdinov &amp; Murray 2008, §4.2), (V). Means are clamped to [1e-3, 1 − 1e-3] so
    /// pixels that were always off (or on) give finite biases; before any training the mean is ½ (bᴬ = 0).
    /// </summary>
    public Tensor BaseRateBias()
    {
        var p = input_mean.clamp(1e-3, 1 - 1e-3);
        return (p / (1 - p)).log();
    }

    /// <summary>
    /// Exact log Z by enumerating all states of the smaller layer (≤ 24 units): log Z = logsumexp over v of −F(v),
    /// or over h of −F(h). For tests and tiny models.
    /// </summary>
    public double ExactLogPartition()
    {
        int small = Math.Min(Visible, Hidden);
        if (small > 24) throw new GenSharpException($"exact log Z needs a layer of ≤ 24 units to enumerate, the smaller has {small}");
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var states = AllBinaryStates(small, weight.device);                                        // (2^small, small)
        var negF = Visible <= Hidden ? -FreeEnergy(states) : -HiddenFreeEnergy(states);
        return torch.logsumexp(negF.to_type(ScalarType.Float64), 0).item<double>();
    }

    /// <summary>Every binary vector of length <paramref name="n"/>, (2ⁿ, n) float32, row r = the bits of r.</summary>
    public static Tensor AllBinaryStates(int n, Device? device = null)
    {
        var r = torch.arange(1L << n, dtype: ScalarType.Int64, device: device).unsqueeze(1);      // (2^n, 1)
        var bits = torch.arange(n, dtype: ScalarType.Int64, device: device).unsqueeze(0);         // (1, n)
        return r.bitwise_right_shift(bits).bitwise_and(1).to_type(ScalarType.Float32);
    }
}
