using GenSharp.Training;
using TorchSharp.Modules;

namespace GenSharp.Models.Gpt;

/// <summary>
/// A GPT ready to train and decode. Training: next-token cross-entropy, AdamW with weight decay on
/// parameters of ≥ 2 dimensions only (matrices and embeddings; not biases or LayerNorm gains),
/// linear warm-up then cosine decay of the learning rate, global gradient-norm clipping.
/// </summary>
public sealed class GptModel : FamilyModel<GptConfig, GptNetwork>, ILanguageModel
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "gpt";

    public GptModel(GptConfig config, Device device) : base(FamilyName, config, new GptNetwork(config), device) { }

    /// <summary>
    /// AdamW with weight decay on parameters of ≥ 2 dimensions only (first group) and none on the rest (second group),
    /// the warm-up + cosine schedule of <see cref="LearningRateAt"/>, global gradient-norm clipping at grad_clip.
    /// </summary>
    public override IReadOnlyList<OptimizerSpec> OptimizerSpecs => new[]
    {
        OptimizerSpec.TransformerAdamW("gpt", _net.parameters(), _config.WeightDecay, _config.LearningRate, _config.Beta1, _config.Beta2,
            Schedule(_config), _config.GradClip),
    };
    /// <summary>The step counter checkpoints kept before the trainer owned it.</summary>
    public override IReadOnlyCollection<string> ObsoleteTensorNames => new[] { "steps_done" };
    public int ContextLength => _config.BlockSize;
    public int VocabSize => _config.VocabSize;

    /// <summary>Parameters counted once (the tied head adds none).</summary>
    public long ParameterCount => _net.parameters().Sum(p => p.numel());

    /// <summary>
    /// Learning rate for optimiser step <paramref name="step"/> (0-based): linear warm-up to
    /// learning_rate over warmup_steps, cosine decay to min_learning_rate at lr_decay_steps
    /// (Loshchilov &amp; Hutter 2017), min_learning_rate after.
    /// </summary>
    public static double LearningRateAt(GptConfig c, long step) => Schedule(c).At(c.LearningRate, step);

    static LrSchedule Schedule(GptConfig c) => LrSchedule.WarmupCosine(c.WarmupSteps, c.LrDecaySteps, c.MinLearningRate);

    public override IEnumerable<LossTerm> TrainStep(Tensor inputs, Tensor targets, StepContext ctx)
    {
        _net.train();
        var logits = _net.Forward(inputs);                                    // (B, T, V)
        var loss = nn.functional.cross_entropy(logits.view(-1, logits.shape[2]), targets.view(-1));
        ctx.Log("loss", loss);
        yield return new LossTerm(0, loss);
    }

    public KvCache CreateCache() => _net.CreateCache();
    public SlotKvCache CreateSlotCache(int slots) => _net.CreateSlotCache(slots);

    public Tensor Logits(Tensor tokens, IKvCache? cache = null, bool lastOnly = false) => _net.Logits(tokens.to(Device), cache, lastOnly);

    public double Loss(Tensor inputs, Tensor targets) => _net.Loss(inputs.to(Device), targets.to(Device));

}
