// TEMPORARY: a minimal stand-in for the scheduler API that branch `sched` provides
// (GenSharp.Sampling). Deleted when `sched` is merged; nothing here is part of the ddpm family.
using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Sampling;

public enum BetaSchedule { Linear, Cosine }
public enum PredictionType { Epsilon, V }

public sealed class NoiseSchedule
{
    public NoiseSchedule(BetaSchedule kind, int timesteps)
    {
        Timesteps = timesteps;
        AlphasCumprod = new double[timesteps];
        double prod = 1;
        for (int i = 0; i < timesteps; i++)
        {
            double beta;
            if (kind == BetaSchedule.Linear) beta = 1e-4 * 1000 / timesteps + (0.02 - 1e-4) * 1000 / timesteps * i / Math.Max(1, timesteps - 1);
            else
            {
                static double F(double u) => Math.Pow(Math.Cos((u + 0.008) / 1.008 * Math.PI / 2), 2);
                beta = Math.Min(0.999, 1 - F((i + 1.0) / timesteps) / F((double)i / timesteps));
            }
            prod *= 1 - beta;
            AlphasCumprod[i] = prod;
        }
    }
    public int Timesteps { get; }
    public double[] AlphasCumprod { get; }
    (Tensor A, Tensor S) Coefs(Tensor t, Tensor like)
    {
        var ab = torch.tensor(AlphasCumprod, dtype: like.dtype, device: like.device)[t.to(like.device)];
        var shape = new long[like.dim()]; Array.Fill(shape, 1L); shape[0] = -1;
        return (ab.sqrt().reshape(shape), (1 - ab).sqrt().reshape(shape));
    }
    public Tensor AddNoise(Tensor x0, Tensor noise, Tensor t) { var (a, s) = Coefs(t, x0); return a * x0 + s * noise; }
    public Tensor VelocityTarget(Tensor x0, Tensor noise, Tensor t) { var (a, s) = Coefs(t, x0); return a * noise - s * x0; }
    public Tensor PredictX0(Tensor output, Tensor sample, long t, PredictionType p)
    {
        double a = Math.Sqrt(AlphasCumprod[t]), s = Math.Sqrt(1 - AlphasCumprod[t]);
        return p == PredictionType.Epsilon ? (sample - s * output) / a : a * sample - s * output;
    }
    public Tensor PredictEpsilon(Tensor output, Tensor sample, long t, PredictionType p)
    {
        double a = Math.Sqrt(AlphasCumprod[t]), s = Math.Sqrt(1 - AlphasCumprod[t]);
        return p == PredictionType.Epsilon ? output : s * sample + a * output;
    }
}

public sealed record SchedulerStep(Tensor PrevSample, Tensor PredictedX0);

public abstract class DiffusionScheduler
{
    protected DiffusionScheduler(NoiseSchedule s, PredictionType p) { Schedule = s; Prediction = p; SetTimesteps(s.Timesteps); }
    public NoiseSchedule Schedule { get; }
    public PredictionType Prediction { get; }
    public long[] Timesteps { get; private set; } = Array.Empty<long>();
    protected abstract double EtaValue { get; }
    public void SetTimesteps(int n)
    {
        int T = Schedule.Timesteps;
        Timesteps = Enumerable.Range(0, n).Select(i => (long)(i * T / n)).Reverse().ToArray();
    }
    public SchedulerStep Step(Tensor output, long t, Tensor sample, Generator? gen)
    {
        int idx = Array.IndexOf(Timesteps, t);
        long prev = idx + 1 < Timesteps.Length ? Timesteps[idx + 1] : -1;
        double ab = Schedule.AlphasCumprod[t], abPrev = prev >= 0 ? Schedule.AlphasCumprod[prev] : 1.0;
        var x0 = Schedule.PredictX0(output, sample, t, Prediction);
        var eps = Schedule.PredictEpsilon(output, sample, t, Prediction);
        double sigma = EtaValue * Math.Sqrt((1 - abPrev) / (1 - ab)) * Math.Sqrt(1 - ab / abPrev);
        var mean = Math.Sqrt(abPrev) * x0 + Math.Sqrt(Math.Max(0, 1 - abPrev - sigma * sigma)) * eps;
        if (sigma > 0)
        {
            var z = gen is null ? torch.randn_like(sample) : torch.randn(sample.shape, generator: gen).to(sample.device);
            mean = mean + sigma * z;
        }
        return new SchedulerStep(mean, x0);
    }
    public Tensor AddNoise(Tensor x0, Tensor noise, long t) =>
        Math.Sqrt(Schedule.AlphasCumprod[t]) * x0 + Math.Sqrt(1 - Schedule.AlphasCumprod[t]) * noise;
}

public sealed class DdpmScheduler : DiffusionScheduler
{
    public DdpmScheduler(NoiseSchedule s, PredictionType p) : base(s, p) { }
    protected override double EtaValue => 1;
}

public sealed class DdimScheduler : DiffusionScheduler
{
    public DdimScheduler(NoiseSchedule s, PredictionType p, double eta) : base(s, p) { Eta = eta; }
    public double Eta { get; }
    protected override double EtaValue => Eta;
}

public static class Schedulers
{
    public static DiffusionScheduler Create(string name, NoiseSchedule s, PredictionType p, double eta) => name switch
    {
        "ddpm" => new DdpmScheduler(s, p),
        "ddim" => new DdimScheduler(s, p, eta),
        _ => throw new GenSharpException($"unknown scheduler '{name}'; use ddpm or ddim"),
    };
}
