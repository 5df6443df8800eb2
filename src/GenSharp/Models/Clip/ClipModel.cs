using GenSharp.Data;
using GenSharp.TextToImage;
using GenSharp.Training;

namespace GenSharp.Models.Clip;

/// <summary>
/// A CLIP trained by the shared trainer. Each step captions its batch with <see cref="FashionCaptioner"/> (phrasing
/// and words drawn from caption_seed and the step), and minimises the symmetric cross-entropy of
/// logits = exp(t)·cos(image_i, text_j) against the diagonal (Radford et al. 2021, Figure 3). As an
/// <see cref="IImageClassifier"/> it classifies zero-shot: the class logits are the scaled cosines to the mean
/// embedding of the class noun in each plain phrasing ("a sandal", "a photo of a sandal", …).
/// </summary>
public sealed class ClipModel : FamilyModel<ClipConfig, ClipNetwork>, IImageClassifier
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "clip";

    readonly FashionCaptioner _captioner;

    public ClipModel(ClipConfig config, Device device) : base(FamilyName, config, new ClipNetwork(config), device)
    {
        _captioner = new FashionCaptioner(mentionProbability: config.MentionProbability);
    }

    /// <summary>AdamW over both towers and the logit scale.</summary>
    public override IReadOnlyList<OptimizerSpec> OptimizerSpecs => new[]
    {
        OptimizerSpec.Single("clip", OptimizerAlgorithm.AdamW, _net.parameters(), _config.LearningRate) with { WeightDecay = _config.WeightDecay },
    };

    /// <summary>The captioner whose captions the model trains on.</summary>
    public FashionCaptioner Captioner => _captioner;

    /// <summary>Width of the text token states.</summary>
    public int TextWidth => _config.TextWidth;

    /// <summary>Tokens per prompt.</summary>
    public int ContextLength => _config.ContextLength;

    /// <summary>The captions of a batch of uint8 images at training step <paramref name="step"/>.</summary>
    public string[] TrainingCaptions(Tensor images, Tensor labels, long step)
    {
        var measured = ImageAttributes.Measure(images.cpu());
        var y = labels.cpu().to(ScalarType.Int64).data<long>().ToArray();
        var rng = FashionCaptioner.RngFor(_config.CaptionSeed, step);
        return Enumerable.Range(0, y.Length).Select(i => _captioner.Caption((int)y[i], measured, i, rng)).ToArray();
    }

    /// <summary>The symmetric contrastive loss of images (B, C, H, W) in [0,1] and token ids (B, L).</summary>
    public Tensor Loss(Tensor images01, Tensor tokens, out Tensor logits)
    {
        var img = nn.functional.normalize(_net.EncodeImage(images01), dim: 1);           // (B, E)
        var txt = nn.functional.normalize(_net.EncodeText(tokens).Embedding, dim: 1);    // (B, E)
        logits = _net.Scale * img.matmul(txt.t());                                        // (B, B) image i vs text j
        var target = torch.arange(logits.shape[0], device: logits.device);
        return (nn.functional.cross_entropy(logits, target) + nn.functional.cross_entropy(logits.t(), target)) / 2;
    }

    public override IEnumerable<LossTerm> TrainStep(Tensor images, Tensor labels, StepContext ctx)
    {
        _net.train();
        var captions = TrainingCaptions(images, labels, ctx.Step);
        var tokens = ClipTokenizer.Encode(captions, _config.ContextLength).to(Device);
        var loss = Loss(ImageTransforms.ToFloat(images, PixelScale.ZeroOne), tokens, out var logits);
        ctx.Log("loss", loss);
        var target = torch.arange(logits.shape[0], device: logits.device);
        ctx.Log("image_to_text_accuracy", logits.detach().argmax(1).eq(target).to(ScalarType.Float32).mean());
        ctx.Log("logit_scale", _net.Scale.detach());
        yield return new LossTerm(0, loss);
    }

    /// <summary>Normalised text embeddings (N, E) of prompts, float32 on the model's device.</summary>
    public Tensor TextEmbeddings(IReadOnlyList<string> prompts)
    {
        using var _ = torch.no_grad();
        _net.eval();
        using var tokens = ClipTokenizer.Encode(prompts, _config.ContextLength).to(Device);
        return nn.functional.normalize(_net.EncodeText(tokens).Embedding, dim: 1);
    }

    /// <summary>
    /// The text encoder's token states (N, L, W) and which positions hold tokens (N, L, true up to and including the
    /// end token), for cross-attention.
    /// </summary>
    public (Tensor States, Tensor Mask) TokenStates(IReadOnlyList<string> prompts)
    {
        using var _ = torch.no_grad();
        _net.eval();
        using var tokens = ClipTokenizer.Encode(prompts, _config.ContextLength).to(Device);
        var states = _net.EncodeText(tokens).States;
        // Positions up to the end token: the pads after it are masked.
        var end = tokens.eq(ClipTokenizer.End).to(ScalarType.Int64).argmax(1, keepdim: true);     // (N, 1)
        var mask = torch.arange(tokens.shape[1], device: Device).unsqueeze(0) <= end;            // (N, L)
        return (states, mask);
    }

    /// <summary>Normalised image embeddings (B, E) of float images in [0,1] (B, C, H, W).</summary>
    public Tensor ImageEmbeddings(Tensor images01)
    {
        CheckImages(images01);
        using var _ = torch.no_grad();
        _net.eval();
        return nn.functional.normalize(_net.EncodeImage(images01.to(ScalarType.Float32).to(Device)), dim: 1);
    }

    /// <summary>
    /// CLIP score of each image with its prompt: 100·max(cos(image, text), 0) (Hessel et al. 2021 with w = 100, as
    /// torchmetrics' CLIPScore), (B) on the CPU.
    /// </summary>
    public Tensor Score(Tensor images01, IReadOnlyList<string> prompts)
    {
        if (prompts.Count != images01.shape[0]) throw new GenSharpException($"{images01.shape[0]} images but {prompts.Count} prompts");
        using var scope = torch.NewDisposeScope();
        var cos = (ImageEmbeddings(images01) * TextEmbeddings(prompts)).sum(1);
        return (100 * cos.clamp_min(0)).cpu().MoveToOuterDisposeScope();
    }

    /// <summary>The plain phrasings of one class noun, whose mean embedding is the class's zero-shot prototype.</summary>
    public static string[] ClassPrompts(int label) =>
        Enumerable.Range(0, FashionCaptioner.Phrasings).Select(p => FashionCaptioner.Phrase(FashionCaptioner.Nouns[label], Array.Empty<string>(), p)).Distinct().ToArray();

    /// <summary>Normalised zero-shot class prototypes (classes, E).</summary>
    public Tensor ClassEmbeddings()
    {
        using var scope = torch.NewDisposeScope();
        var rows = Enumerable.Range(0, NumClasses).Select(k => TextEmbeddings(ClassPrompts(k)).mean(new long[] { 0 })).ToArray();
        return nn.functional.normalize(torch.stack(rows), dim: 1).MoveToOuterDisposeScope();
    }

    public int NumClasses => _config.NumClasses;
    public int ImageChannels => _config.ImageChannels;
    public int ImageSize => _config.ImageSize;
    public int FeatureDim => _config.EmbedDim;

    public Tensor Features(Tensor images01) => ImageEmbeddings(images01);

    public Tensor Logits(Tensor images01) => LogitsAndFeatures(images01).Logits;

    public (Tensor Logits, Tensor Features) LogitsAndFeatures(Tensor images01)
    {
        using var scope = torch.NewDisposeScope();
        var features = ImageEmbeddings(images01);
        using var _ = torch.no_grad();
        var logits = _net.Scale * features.matmul(ClassEmbeddings().t());
        return (logits.MoveToOuterDisposeScope(), features.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Zero-shot accuracy, loss and per-class accuracy on labelled data, plus attribute agreement: for every image and
    /// every attribute with a word (see <see cref="FashionCaptioner.Applicable"/>), whether "a LOW NOUN" or
    /// "a HIGH NOUN" (with the image's true noun) is nearer to the image — <c>attribute_agreement_K</c> per attribute
    /// and <c>attribute_agreement</c> over all; and <c>caption_clip_score</c>, the mean CLIP score of each image with
    /// its own caption (seed 0).
    /// </summary>
    public Dictionary<string, double> Evaluate(ImageDataset data, int batchSize = 500, Action<int, int>? progress = null)
    {
        if (data.NumClasses != NumClasses)
            throw new GenSharpException($"clip names {NumClasses} Fashion-MNIST classes but {data.Source} has {data.NumClasses}");
        using var protos = ClassEmbeddings();
        // "a LOW NOUN" / "a HIGH NOUN" for every class and attribute: (classes, kinds, 2, E).
        var kinds = Enum.GetValues<AttributeKind>();
        var pairPrompts = new List<string>();
        for (int k = 0; k < NumClasses; k++)
            foreach (var kind in kinds)
                foreach (var high in new[] { false, true })
                    pairPrompts.Add(FashionCaptioner.Phrase(FashionCaptioner.Nouns[k], new[] { FashionCaptioner.Word(kind, high) }, 0));
        using var pairEmb = TextEmbeddings(pairPrompts).reshape(NumClasses, kinds.Length, 2, -1);
        var captions = _captioner.Captions(data, seed: 0);
        long correct = 0; double lossSum = 0, scoreSum = 0;
        var correctK = new long[NumClasses]; var totalK = new long[NumClasses];
        var agree = new long[kinds.Length]; var asked = new long[kinds.Length];
        int done = 0;
        foreach (var batch in BatchLoader.InOrder(data, batchSize))
        {
            using var scope = torch.NewDisposeScope();
            using var images = batch.Images;
            using var labels = batch.Labels;
            var x = ImageTransforms.ToFloat(images, PixelScale.ZeroOne);
            var feats = ImageEmbeddings(x);                                               // (B, E)
            var y = labels.to(ScalarType.Int64).to(Device);
            using var _ = torch.no_grad();
            var logits = _net.Scale * feats.matmul(protos.t());
            lossSum += nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.Sum).item<float>();
            var yh = y.cpu().data<long>().ToArray();
            var pred = logits.argmax(1).cpu().data<long>().ToArray();
            long n = yh.Length;
            for (int i = 0; i < n; i++) { totalK[yh[i]]++; if (pred[i] == yh[i]) { correct++; correctK[yh[i]]++; } }

            // Attribute agreement with the true noun.
            var sims = torch.einsum("be,bkse->bks", feats, pairEmb.index_select(0, y)).cpu();             // (B, kinds, 2)
            var s = sims.data<float>().ToArray();
            var measured = ImageAttributes.Measure(images);
            for (int i = 0; i < n; i++)
                foreach (var (kind, high) in _captioner.Applicable(measured, i))
                {
                    int k = (int)kind, at = (i * kinds.Length + k) * 2;
                    asked[k]++;
                    if ((s[at + 1] > s[at]) == high) agree[k]++;
                }
            scoreSum += Score(x, captions.Skip(done).Take((int)n).ToArray()).sum().item<float>();
            done += (int)n;
            progress?.Invoke(done, data.Count);
        }
        if (done == 0) throw new GenSharpException($"{data.Source} holds no images to evaluate on");
        var r = new Dictionary<string, double>
        {
            ["accuracy"] = (double)correct / done,
            ["loss"] = lossSum / done,
            ["items"] = done,
            ["attribute_agreement"] = (double)agree.Sum() / Math.Max(1, asked.Sum()),
            ["caption_clip_score"] = scoreSum / done,
        };
        foreach (var kind in kinds)
            if (asked[(int)kind] > 0) r[$"attribute_agreement_{kind.ToString().ToLowerInvariant()}"] = (double)agree[(int)kind] / asked[(int)kind];
        for (int k = 0; k < NumClasses; k++)
            if (totalK[k] > 0) r[$"accuracy_class_{k}"] = (double)correctK[k] / totalK[k];
        return r;
    }

    void CheckImages(Tensor images01)
    {
        if (images01.dim() != 4 || images01.shape[1] != _config.ImageChannels || images01.shape[2] != _config.ImageSize || images01.shape[3] != _config.ImageSize)
            throw new GenSharpException($"clip takes {_config.ImageChannels}×{_config.ImageSize}×{_config.ImageSize} images, got ({string.Join("×", images01.shape)})");
        if (!images01.is_floating_point())
            throw new GenSharpException($"clip takes float images in [0, 1], got {images01.dtype}");
    }
}
