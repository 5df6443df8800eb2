using GenSharp.Training;

namespace GenSharp.Models.Encoders;

/// <summary>
/// A BERT encoder ready to train by masked language modelling and to encode text. A training batch is a set of token
/// windows (B, T); each becomes [CLS] window [SEP], 15% of its text tokens are corrupted (<see cref="MlmMasking"/>) and
/// the loss is the cross-entropy of the originals at the chosen positions. AdamW with weight decay on matrices and
/// embeddings only, linear warm-up then cosine decay, gradient-norm clipping.
/// </summary>
public sealed class BertModel : FamilyModel<BertConfig, BertNetwork>, IMaskedLanguageModel
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "bert";

    /// <summary>Seed of the fixed masks that validation and evaluation use, so losses of different steps compare.</summary>
    public const long EvaluationMaskSeed = 1234;

    public BertModel(BertConfig config, Device device) : base(FamilyName, config, new BertNetwork(config), device) { }

    public override IReadOnlyList<OptimizerSpec> OptimizerSpecs => new[]
    {
        OptimizerSpec.TransformerAdamW("bert", _net.parameters(), _config.WeightDecay, _config.LearningRate, _config.Beta1, _config.Beta2,
            LrSchedule.WarmupCosine(_config.WarmupSteps, _config.LrDecaySteps, _config.MinLearningRate), _config.GradClip),
    };

    public override IReadOnlyCollection<string> LossMetrics => new[] { "loss", "mlm_accuracy" };

    /// <summary>Text tokens per training window (the positions less [CLS] and [SEP]).</summary>
    public int WindowLength => _config.MaxPositionEmbeddings - 2;

    /// <summary>Parameters.</summary>
    public long ParameterCount => _net.parameters().Sum(p => p.numel());

    /// <summary>
    /// Random replacement tokens come from [0, this): the text vocabulary when the special tokens are its last four
    /// ids (a model trained here), else the whole vocabulary.
    /// </summary>
    public long RandomTokenLimit
    {
        get
        {
            var c = _config;
            int[] special = { c.PadTokenId, c.ClsTokenId, c.SepTokenId, c.MaskTokenId };
            return special.All(id => id >= c.VocabSize - 4) ? c.VocabSize - 4 : c.VocabSize;
        }
    }

    /// <summary>[CLS] window [SEP] for each row of <paramref name="windows"/> (B, T) → (B, T + 2).</summary>
    public Tensor Frame(Tensor windows)
    {
        if (_config.ClsTokenId < 0 || _config.SepTokenId < 0) throw new GenSharpException("the config has no cls_token_id/sep_token_id");
        long b = windows.shape[0];
        var cls = torch.full(b, 1, _config.ClsTokenId, dtype: ScalarType.Int64, device: windows.device);
        var sep = torch.full(b, 1, _config.SepTokenId, dtype: ScalarType.Int64, device: windows.device);
        return torch.cat(new[] { cls, windows, sep }, 1);
    }

    /// <summary>Corrupts framed sequences (B, T) for MLM: only the text positions 1 … T−2 may be chosen.</summary>
    public (Tensor Inputs, Tensor Targets) Mask(Tensor framed, torch.Generator? generator = null)
    {
        if (_config.MaskTokenId < 0) throw new GenSharpException("the config has no mask_token_id");
        using var scope = torch.NewDisposeScope();
        var maskable = torch.ones_like(framed, dtype: ScalarType.Bool);
        maskable[.., 0] = false;
        maskable[.., -1] = false;
        var (x, y) = MlmMasking.Apply(framed, maskable, _config.MaskProbability, _config.MaskTokenId, RandomTokenLimit, generator);
        return (x.MoveToOuterDisposeScope(), y.MoveToOuterDisposeScope());
    }

    public override IEnumerable<LossTerm> TrainStep(Tensor inputs, Tensor targets, StepContext ctx)
    {
        _net.train();
        var (x, y) = Mask(Frame(inputs.to(Device)));                                // (B, T + 2) each
        var logits = _net.MlmLogits(_net.Encoder.Forward(x));                       // (B, T + 2, V)
        var (loss, correct, count) = Score(logits, y);
        ctx.Log("loss", loss);
        ctx.Log("mlm_accuracy", correct / count);
        yield return new LossTerm(0, loss);
    }

    /// <summary>Mean cross-entropy at the chosen positions, number predicted right, number chosen (≥ 1 to avoid 0/0).</summary>
    static (Tensor Loss, Tensor Correct, Tensor Count) Score(Tensor logits, Tensor targets)
    {
        var flat = logits.view(-1, logits.shape[^1]);
        var t = targets.view(-1);
        var chosen = t.ne(MlmMasking.Ignore);
        var count = chosen.sum().to(ScalarType.Float32).clamp_min(1);
        var sum = nn.functional.cross_entropy(flat, t, ignore_index: MlmMasking.Ignore, reduction: nn.Reduction.Sum);
        var correct = flat.argmax(1).eq(t).logical_and(chosen).sum().to(ScalarType.Float32);
        return (sum / count, correct, count);
    }

    /// <summary>
    /// MLM loss on windows (B, T) masked with a generator seeded by <see cref="EvaluationMaskSeed"/> (the same corruption
    /// every call), in eval mode. <paramref name="targets"/> (the windows' next tokens) are not used.
    /// </summary>
    public double Loss(Tensor inputs, Tensor targets)
    {
        var (loss, _, count) = Evaluate(inputs);
        return loss / count;
    }

    /// <inheritdoc/>
    public (double Loss, double Correct, double Count) Evaluate(Tensor windows, torch.Generator? generator = null)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        _net.eval();
        using var own = generator is null ? new torch.Generator((ulong)EvaluationMaskSeed) : null;
        var (x, y) = Mask(Frame(windows.to(Device)), generator ?? own);
        var (loss, correct, count) = Score(_net.MlmLogits(_net.Encoder.Forward(x)), y);
        return (loss.item<float>() * (double)count.item<float>(), correct.item<float>(), count.item<float>());
    }
}
