using GenSharp.Data;
using GenSharp.Training;

namespace GenSharp.Models.Classifier;

/// <summary>
/// An image classifier trained with cross-entropy by the shared trainer. It gives class logits, the
/// penultimate features used by the sample-quality metrics, and test-set accuracy. It cannot sample:
/// it is no <see cref="IImageSampler"/>, so the trainer writes no sample grids for it.
/// </summary>
public sealed class ClassifierModel : FamilyModel<ClassifierConfig, ClassifierNetwork>, IImageClassifier
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "classifier";

    public ClassifierModel(ClassifierConfig config, Device device) : base(FamilyName, config, new ClassifierNetwork(config), device) { }

    /// <summary>AdamW with weight_decay; cosine decay to 1% of learning_rate over decay_steps (constant when 0).</summary>
    public override IReadOnlyList<OptimizerSpec> OptimizerSpecs => new[]
    {
        OptimizerSpec.Single("classifier", OptimizerAlgorithm.AdamW, _net.parameters(), _config.LearningRate) with
        {
            WeightDecay = _config.WeightDecay,
            Schedule = Schedule,
        },
    };
    /// <summary>The step counter checkpoints kept before the trainer owned it.</summary>
    public override IReadOnlyCollection<string> ObsoleteTensorNames => new[] { "steps_done" };
    LrSchedule Schedule => LrSchedule.CosineToFraction(_config.DecaySteps, 0.01);
    public int ImageChannels => _config.ImageChannels;
    public int ImageSize => _config.ImageSize;
    /// <summary>Width of <see cref="Features"/>.</summary>
    public int FeatureDim => _config.FeatureDim;
    /// <summary>Number of classes of <see cref="Logits"/>.</summary>
    public int NumClasses => _config.NumClasses;

    public override IEnumerable<LossTerm> TrainStep(Tensor images, Tensor labels, StepContext ctx)
    {
        _net.train();
        var x = ImageTransforms.ToFloat(images, PixelScale.ZeroOne);       // (B, C, H, W)
        if (_config.Augment) x = ImageTransforms.RandomHorizontalFlip(x);
        var (logits, _) = _net.Forward(x);                                  // (B, classes)
        var loss = nn.functional.cross_entropy(logits, labels);
        ctx.Log("loss", loss);
        ctx.Log("accuracy", logits.detach().argmax(1).eq(labels).to(ScalarType.Float32).mean());
        yield return new LossTerm(0, loss);
    }

    /// <summary>Learning rate of step <paramref name="step"/> (0-based): cosine from learning_rate to 1% of it over decay_steps.</summary>
    public double LearningRateAt(long step) => Schedule.At(_config.LearningRate, step);


    /// <summary>Penultimate features (B, feature_dim), float32 on the model's device, for float images in [0,1] (B,C,H,W).</summary>
    public Tensor Features(Tensor images01)
    {
        CheckImages(images01);
        using var _ = torch.no_grad();
        _net.eval();
        return _net.Features(images01.to(ScalarType.Float32).to(Device));
    }

    /// <summary>Class logits (B, classes), float32 on the model's device, for float images in [0,1] (B,C,H,W).</summary>
    public Tensor Logits(Tensor images01)
    {
        CheckImages(images01);
        using var _ = torch.no_grad();
        _net.eval();
        return _net.Forward(images01.to(ScalarType.Float32).to(Device)).Logits;
    }

    /// <summary>Logits (B, classes) and features (B, feature_dim) from one forward pass, float32 on the model's device.</summary>
    public (Tensor Logits, Tensor Features) LogitsAndFeatures(Tensor images01)
    {
        CheckImages(images01);
        using var _ = torch.no_grad();
        _net.eval();
        return _net.Forward(images01.to(ScalarType.Float32).to(Device));
    }

    /// <summary>
    /// Accuracy and mean cross-entropy (nats) on a labelled data set, plus the accuracy of each class
    /// (<c>accuracy_class_K</c>) and the item count.
    /// </summary>
    public Dictionary<string, double> Evaluate(ImageDataset data, int batchSize = 500, Action<int, int>? progress = null)
    {
        if (data.NumClasses != NumClasses)
            throw new GenSharpException($"the classifier knows {NumClasses} classes but {data.Source} has {data.NumClasses}; evaluate it on the data it was trained for");
        double lossSum = 0;
        var correct = new long[NumClasses];
        var total = new long[NumClasses];
        int done = 0;
        foreach (var batch in BatchLoader.InOrder(data, batchSize))
        {
            using var scope = torch.NewDisposeScope();
            using var images = batch.Images;   // the batch is ours to dispose
            using var labels = batch.Labels;
            var logits = Logits(ImageTransforms.ToFloat(images, PixelScale.ZeroOne));
            var y = labels.to(Device);
            lossSum += nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.Sum).item<float>();
            var hit = logits.argmax(1).eq(y).to(ScalarType.Int64);
            var perClassHits = torch.bincount(y, hit, NumClasses).cpu().to(ScalarType.Int64).data<long>().ToArray();
            var perClass = torch.bincount(y, minlength: NumClasses).cpu().data<long>().ToArray();
            for (int k = 0; k < NumClasses; k++) { correct[k] += perClassHits[k]; total[k] += perClass[k]; }
            done += (int)images.shape[0];
            progress?.Invoke(done, data.Count);
        }
        if (done == 0) throw new GenSharpException($"{data.Source} holds no images to evaluate on");
        var r = new Dictionary<string, double>
        {
            ["accuracy"] = (double)correct.Sum() / done,
            ["loss"] = lossSum / done,
            ["items"] = done,
        };
        for (int k = 0; k < NumClasses; k++)
            if (total[k] > 0) r[$"accuracy_class_{k}"] = (double)correct[k] / total[k];
        return r;
    }

    void CheckImages(Tensor images01)
    {
        if (images01.dim() != 4 || images01.shape[1] != _config.ImageChannels || images01.shape[2] != _config.ImageSize || images01.shape[3] != _config.ImageSize)
            throw new GenSharpException($"the classifier takes {_config.ImageChannels}×{_config.ImageSize}×{_config.ImageSize} images, got ({string.Join("×", images01.shape)})");
        if (!images01.is_floating_point())
            throw new GenSharpException($"the classifier takes float images in [0, 1], got {images01.dtype}");
    }
}
