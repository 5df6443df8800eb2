using GenSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenSharp.Models.Gpt;

/// <summary>
/// A GPT ready to train and decode. Training: next-token cross-entropy, AdamW with weight decay on
/// parameters of ≥ 2 dimensions only (matrices and embeddings; not biases or LayerNorm gains),
/// linear warm-up then cosine decay of the learning rate, global gradient-norm clipping.
/// </summary>
public sealed class GptModel : IGenerativeModel, ILanguageModel
{
    readonly GptNetwork _net;
    readonly optim.Optimizer _opt;
    readonly GptConfig _config;

    public GptModel(GptConfig config, Device device)
    {
        _config = config;
        Device = device;
        _net = new GptNetwork(config);
        _net.to(device);
        var decay = _net.parameters().Where(p => p.dim() >= 2).ToList();
        var noDecay = _net.parameters().Where(p => p.dim() < 2).ToList();
        _opt = optim.AdamW(new[]
        {
            new AdamW.ParamGroup(decay, config.LearningRate, config.Beta1, config.Beta2, 1e-8, config.WeightDecay, false, false),
            new AdamW.ParamGroup(noDecay, config.LearningRate, config.Beta1, config.Beta2, 1e-8, 0.0, false, false),
        }, config.LearningRate, config.Beta1, config.Beta2);
    }

    public string Family => GptFamily.FamilyName;
    public FamilyConfig Config => _config;
    public Device Device { get; }
    public nn.Module Model => _net;
    /// <summary>The network.</summary>
    public GptNetwork Network => _net;
    public IReadOnlyList<optim.Optimizer> Optimizers => new[] { _opt };
    public int ConditionalClasses => 0;
    public int ContextLength => _config.BlockSize;
    public int VocabSize => _config.VocabSize;
    public int ValidationEvery => _config.EvalInterval;
    public int ValidationBatches => _config.EvalIters;

    /// <summary>Parameters counted once (the tied head adds none).</summary>
    public long ParameterCount => _net.parameters().Sum(p => p.numel());

    /// <summary>
    /// Learning rate for optimiser step <paramref name="step"/> (0-based): linear warm-up to
    /// learning_rate over warmup_steps, cosine decay to min_learning_rate at lr_decay_steps
    /// (Loshchilov &amp; Hutter 2017), min_learning_rate after.
    /// </summary>
    public static double LearningRateAt(GptConfig c, long step)
    {
        if (step < c.WarmupSteps) return c.LearningRate * (step + 1) / (c.WarmupSteps + 1);
        long end = c.LrDecaySteps;
        if (end <= c.WarmupSteps || step >= end) return end <= 0 ? c.LearningRate : c.MinLearningRate;
        double ratio = (double)(step - c.WarmupSteps) / (end - c.WarmupSteps);
        return c.MinLearningRate + 0.5 * (1 + Math.Cos(Math.PI * ratio)) * (c.LearningRate - c.MinLearningRate);
    }

    public IReadOnlyDictionary<string, double> TrainStep(Tensor inputs, Tensor targets)
    {
        _net.train();
        long step = _net.StepsDone.item<long>();
        double lr = LearningRateAt(_config, step);
        foreach (var group in _opt.ParamGroups) group.LearningRate = lr;
        var logits = _net.Forward(inputs);                                    // (B, T, V)
        var loss = nn.functional.cross_entropy(logits.view(-1, logits.shape[2]), targets.view(-1));
        _opt.zero_grad();
        loss.backward();
        double gradNorm = _config.GradClip > 0
            ? nn.utils.clip_grad_norm_(_net.parameters(), _config.GradClip)
            : double.NaN;
        _opt.step();
        using (torch.no_grad()) _net.StepsDone.add_(1);
        var metrics = new Dictionary<string, double> { ["loss"] = loss.detach().item<float>(), ["lr"] = lr };
        if (_config.GradClip > 0) metrics["grad_norm"] = gradNorm;
        return metrics;
    }

    public KvCache CreateCache() => _net.CreateCache();

    public Tensor Logits(Tensor tokens, KvCache? cache = null, bool lastOnly = false) => _net.Logits(tokens.to(Device), cache, lastOnly);

    public double Loss(Tensor inputs, Tensor targets) => _net.Loss(inputs.to(Device), targets.to(Device));

    /// <summary>Text models draw no image grids; text comes from <c>gensharp generate</c>.</summary>
    public Tensor? Sample(int n, Tensor? labels) => null;

    public void Dispose()
    {
        _opt.Dispose();
        _net.Dispose();
    }
}
