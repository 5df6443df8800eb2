namespace GenSharp.Sampling;

/// <summary>
/// The forward (noising) process of a diffusion model: β_t, α_t = 1 − β_t and ᾱ_t = Π_{s≤t} α_s for
/// t = 0..T-1, and the closed-form q(x_t | x0) built from them. Immutable, so any number of schedulers can
/// share one schedule.
/// </summary>
/// <remarks>
/// The arrays are float64 (the products of 1000 factors lose precision in float32). Tensor methods take the
/// timestep as an int64 tensor of shape (B) (or a single value) on any device, broadcast its coefficients over
/// the remaining dimensions of (B, ...) samples, and compute in the sample's dtype (float32 in practice) on the
/// sample's device. Results are new tensors owned by the caller.
/// </remarks>
public sealed class NoiseSchedule
{
    /// <summary>The offset s of the cosine schedule (Nichol &amp; Dhariwal 2021, §3.2), keeping β_0 from being tiny.</summary>
    public const double CosineOffset = 0.008;

    /// <summary>The cap on β_t of the cosine schedule, avoiding the singularity at t = T.</summary>
    public const double CosineMaxBeta = 0.999;

    readonly double[] _betas;
    readonly double[] _alphas;
    readonly double[] _alphasCumprod;
    readonly double[] _sqrtAlphasCumprod;
    readonly double[] _sqrtOneMinusAlphasCumprod;

    /// <summary>Builds the schedule.</summary>
    /// <param name="kind">Linear (Ho et al. 2020) or cosine (Nichol &amp; Dhariwal 2021).</param>
    /// <param name="timesteps">T, the number of diffusion steps; 1 to 100000.</param>
    /// <param name="betaStart">β_0 of the linear schedule, in (0, 1); ignored by the cosine schedule.</param>
    /// <param name="betaEnd">β_{T-1} of the linear schedule, in [betaStart, 1); ignored by the cosine schedule.</param>
    /// <exception cref="GenSharpException">A setting is out of range.</exception>
    public NoiseSchedule(BetaSchedule kind, int timesteps, double betaStart = 1e-4, double betaEnd = 0.02)
    {
        if (timesteps is < 1 or > 100_000)
            throw new GenSharpException($"timesteps must be in [1, 100000], got {timesteps}");
        Kind = kind;
        Timesteps = timesteps;
        _betas = kind switch
        {
            BetaSchedule.Linear => LinearBetas(timesteps, betaStart, betaEnd),
            BetaSchedule.Cosine => CosineBetas(timesteps),
            BetaSchedule.ScaledLinear => LinearBetas(timesteps, Math.Sqrt(betaStart), Math.Sqrt(betaEnd)).Select(b => b * b).ToArray(),
            _ => throw new GenSharpException($"unknown beta schedule {kind}; use Linear, Cosine or ScaledLinear"),
        };
        _alphas = new double[timesteps];
        _alphasCumprod = new double[timesteps];
        double product = 1.0;
        for (int t = 0; t < timesteps; t++)
        {
            _alphas[t] = 1.0 - _betas[t];
            product *= _alphas[t];
            _alphasCumprod[t] = product;
        }
        _sqrtAlphasCumprod = _alphasCumprod.Select(Math.Sqrt).ToArray();
        _sqrtOneMinusAlphasCumprod = _alphasCumprod.Select(ab => Math.Sqrt(1.0 - ab)).ToArray();
    }

    /// <summary>The shape of β_t over time.</summary>
    public BetaSchedule Kind { get; }

    /// <summary>T, the number of diffusion steps; valid timesteps are 0..T-1.</summary>
    public int Timesteps { get; }

    /// <summary>β_t for t = 0..T-1 (a copy).</summary>
    public double[] Betas => (double[])_betas.Clone();

    /// <summary>α_t = 1 − β_t for t = 0..T-1 (a copy).</summary>
    public double[] Alphas => (double[])_alphas.Clone();

    /// <summary>ᾱ_t = Π_{s=0..t} α_s for t = 0..T-1 (a copy).</summary>
    public double[] AlphasCumprod => (double[])_alphasCumprod.Clone();

    /// <summary>β_t without copying the array.</summary>
    internal double BetaAt(long t) => _betas[CheckT(t)];

    /// <summary>ᾱ_t, or 1 for t = −1 (the clean data "before" the first step).</summary>
    internal double AlphaCumprodAt(long t) => t == -1 ? 1.0 : _alphasCumprod[CheckT(t)];

    /// <summary>
    /// Samples q(x_t | x0) = N(sqrt(ᾱ_t)·x0, (1 − ᾱ_t)·I) by reparameterisation (Ho et al. 2020, eq. 4):
    /// x_t = sqrt(ᾱ_t)·x0 + sqrt(1 − ᾱ_t)·ε.
    /// </summary>
    /// <param name="x0">Clean samples (B, ...).</param>
    /// <param name="noise">ε ~ N(0, I), shaped like <paramref name="x0"/>.</param>
    /// <param name="t">Timesteps, int64 (B) or a single value, each in 0..T-1; any device.</param>
    public Tensor AddNoise(Tensor x0, Tensor noise, Tensor t)
    {
        CheckPair(x0, noise, "x0", "noise");
        using var scope = torch.NewDisposeScope();
        var (a, b) = Coefficients(t, x0);
        return (a * x0 + b * noise).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Samples q(x_t | x_s) for s &lt; t, the forward process run on from a sample already at timestep s:
    /// x_t = sqrt(ᾱ_t/ᾱ_s)·x_s + sqrt(1 − ᾱ_t/ᾱ_s)·ε (the product of the one-step kernels q(x_k | x_{k−1}) from
    /// k = s+1 to t). s = −1 means clean data (ᾱ = 1), where this equals <see cref="AddNoise"/>. RePaint's
    /// resampling uses it to jump back up the chain.
    /// </summary>
    /// <param name="xs">Samples at timestep <paramref name="s"/> (B, ...).</param>
    /// <param name="noise">ε ~ N(0, I), shaped like <paramref name="xs"/>.</param>
    /// <param name="s">The samples' timestep, −1..T-2.</param>
    /// <param name="t">The target timestep, s+1..T-1.</param>
    public Tensor Renoise(Tensor xs, Tensor noise, long s, long t)
    {
        CheckPair(xs, noise, "xs", "noise");
        if (s < -1 || t >= Timesteps || s >= t)
            throw new GenSharpException($"renoising goes from s to a later t with −1 ≤ s < t ≤ {Timesteps - 1}; got s = {s}, t = {t}");
        double ratio = AlphaCumprodAt(t) / AlphaCumprodAt(s);
        using var scope = torch.NewDisposeScope();
        return (Math.Sqrt(ratio) * xs + Math.Sqrt(1.0 - ratio) * noise).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The v-prediction target v = sqrt(ᾱ_t)·ε − sqrt(1 − ᾱ_t)·x0 (Salimans &amp; Ho 2022, §4).
    /// </summary>
    /// <param name="x0">Clean samples (B, ...).</param>
    /// <param name="noise">The ε used to noise <paramref name="x0"/>, same shape.</param>
    /// <param name="t">Timesteps, int64 (B) or a single value, each in 0..T-1; any device.</param>
    public Tensor VelocityTarget(Tensor x0, Tensor noise, Tensor t)
    {
        CheckPair(x0, noise, "x0", "noise");
        using var scope = torch.NewDisposeScope();
        var (a, b) = Coefficients(t, x0);
        return (a * noise - b * x0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The clean sample implied by a network output at x_t: for ε-prediction x0 = (x_t − sqrt(1 − ᾱ_t)·ε) / sqrt(ᾱ_t)
    /// (Ho et al. 2020, eq. 4 solved for x0); for v-prediction x0 = sqrt(ᾱ_t)·x_t − sqrt(1 − ᾱ_t)·v
    /// (Salimans &amp; Ho 2022, §4).
    /// </summary>
    /// <param name="modelOutput">The network output, shaped like <paramref name="sample"/>.</param>
    /// <param name="sample">x_t (B, ...).</param>
    /// <param name="t">Timesteps, int64 (B) or a single value, each in 0..T-1; any device.</param>
    /// <param name="type">What the network predicts.</param>
    public Tensor PredictX0(Tensor modelOutput, Tensor sample, Tensor t, PredictionType type)
    {
        CheckPair(sample, modelOutput, "sample", "modelOutput");
        using var scope = torch.NewDisposeScope();
        var (a, b) = Coefficients(t, sample);
        var x0 = type switch
        {
            PredictionType.Epsilon => (sample - b * modelOutput) / a,
            PredictionType.V => a * sample - b * modelOutput,
            _ => throw new GenSharpException($"unknown prediction type {type}; use Epsilon or V"),
        };
        return x0.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The noise implied by a network output at x_t: ε itself for ε-prediction; ε = sqrt(ᾱ_t)·v + sqrt(1 − ᾱ_t)·x_t
    /// for v-prediction.
    /// </summary>
    /// <param name="modelOutput">The network output, shaped like <paramref name="sample"/>.</param>
    /// <param name="sample">x_t (B, ...).</param>
    /// <param name="t">Timesteps, int64 (B) or a single value, each in 0..T-1; any device.</param>
    /// <param name="type">What the network predicts.</param>
    public Tensor PredictEpsilon(Tensor modelOutput, Tensor sample, Tensor t, PredictionType type)
    {
        CheckPair(sample, modelOutput, "sample", "modelOutput");
        using var scope = torch.NewDisposeScope();
        var (a, b) = Coefficients(t, sample);
        var eps = type switch
        {
            // A new tensor even here, so callers may dispose the result without touching modelOutput.
            PredictionType.Epsilon => modelOutput.clone(),
            PredictionType.V => a * modelOutput + b * sample,
            _ => throw new GenSharpException($"unknown prediction type {type}; use Epsilon or V"),
        };
        return eps.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// sqrt(ᾱ_t) and sqrt(1 − ᾱ_t) gathered at <paramref name="t"/>, shaped (B, 1, ..., 1) to broadcast over
    /// <paramref name="like"/>, in its dtype and on its device. The tensors belong to the current dispose scope.
    /// </summary>
    (Tensor SqrtAlphaBar, Tensor SqrtOneMinusAlphaBar) Coefficients(Tensor t, Tensor like)
    {
        if (t is null) throw new GenSharpException("t is null; pass an int64 tensor of timesteps");
        if (!torch.is_floating_point(like))
            throw new GenSharpException($"samples have dtype {like.dtype}; pass floating point tensors (e.g. float32)");
        if (torch.is_floating_point(t) || t.dtype == ScalarType.Bool)
            throw new GenSharpException($"t has dtype {t.dtype}; pass integer timesteps (int64)");
        if (t.dim() > 1)
            throw new GenSharpException($"t has shape [{string.Join(", ", t.shape)}]; pass one timestep per sample, shape (B)");
        long batch = like.dim() == 0 ? 1 : like.shape[0];
        if (t.numel() != 1 && (like.dim() == 0 || t.numel() != batch))
            throw new GenSharpException(
                $"t has {t.numel()} timesteps but the samples have batch size {batch}; pass one timestep per sample or a single one");
        var index = t.reshape(-1).to(ScalarType.Int64);
        // One host round trip so that a wrong timestep is a clear error rather than a native index failure.
        var range = torch.stack(new[] { index.min(), index.max() }).cpu().data<long>();
        long min = range[0], max = range[1];
        if (min < 0 || max >= Timesteps)
            throw new GenSharpException($"timestep {(min < 0 ? min : max)} is out of range; use 0 to {Timesteps - 1} (T = {Timesteps})");

        var shape = new long[Math.Max(like.dim(), 1)];
        Array.Fill(shape, 1L);
        shape[0] = -1;
        // Square roots in float64, one rounding to the sample's dtype when the table is made.
        index = index.to(like.device);
        var sqrtA = Table(_sqrtAlphasCumprod, like).index_select(0, index);
        var sqrtB = Table(_sqrtOneMinusAlphasCumprod, like).index_select(0, index);
        if (like.dim() == 0) return (sqrtA.reshape(new long[0]), sqrtB.reshape(new long[0]));
        return (sqrtA.reshape(shape), sqrtB.reshape(shape));
    }

    static Tensor Table(double[] values, Tensor like) =>
        torch.tensor(values, dtype: ScalarType.Float64).to(like.dtype).to(like.device);

    static void CheckPair(Tensor? x, Tensor? y, string xName, string yName)
    {
        if (x is null) throw new GenSharpException($"{xName} is null; pass a tensor");
        if (y is null) throw new GenSharpException($"{yName} is null; pass a tensor");
        if (!x.shape.SequenceEqual(y.shape))
            throw new GenSharpException(
                $"{yName} has shape [{string.Join(", ", y.shape)}] but {xName} has [{string.Join(", ", x.shape)}]; pass tensors of the same shape");
    }

    long CheckT(long t)
    {
        if (t < 0 || t >= Timesteps)
            throw new GenSharpException($"timestep {t} is out of range; use 0 to {Timesteps - 1} (T = {Timesteps})");
        return t;
    }

    static double[] LinearBetas(int timesteps, double betaStart, double betaEnd)
    {
        if (!(betaStart > 0 && betaStart < 1))
            throw new GenSharpException($"beta_start must be in (0, 1), got {betaStart}");
        if (!(betaEnd >= betaStart && betaEnd < 1))
            throw new GenSharpException($"beta_end must be in [beta_start = {betaStart}, 1), got {betaEnd}");
        var betas = new double[timesteps];
        // Evenly spaced from β_0 = start to β_{T-1} = end, like numpy.linspace (T = 1 gives just the start).
        for (int t = 0; t < timesteps; t++)
            betas[t] = timesteps == 1 ? betaStart : betaStart + (betaEnd - betaStart) * t / (timesteps - 1);
        return betas;
    }

    static double[] CosineBetas(int timesteps)
    {
        // Nichol & Dhariwal 2021, eq. 17: ᾱ(t) = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s) · π/2);
        // β_t = 1 − ᾱ(t+1)/ᾱ(t), clipped at 0.999 because ᾱ(T) = 0.
        static double F(double u) => Math.Pow(Math.Cos((u + CosineOffset) / (1 + CosineOffset) * Math.PI / 2), 2);
        var betas = new double[timesteps];
        for (int t = 0; t < timesteps; t++)
        {
            double beta = 1.0 - F((t + 1.0) / timesteps) / F((double)t / timesteps);
            betas[t] = Math.Min(beta, CosineMaxBeta);
        }
        return betas;
    }
}
