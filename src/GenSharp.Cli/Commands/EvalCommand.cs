using System.ComponentModel;
using System.Globalization;
using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Models.Pretrained;
using GenSharp.Pipelines;
using Spectre.Console.Cli;
using static TorchSharp.torch;

namespace GenSharp.Cli.Commands;

public sealed class EvalCommandSettings : SamplerSettings
{
    [CommandArgument(0, "[CKPT]")]
    [Description("a run folder, its checkpoint/ folder, or a Hugging Face model folder (text); none with --samples")]
    public string? Checkpoint { get; init; }

    [CommandOption("--data <PATH>")]
    [Description("images: a Fashion-MNIST folder or 'embedded'; text: the UTF-8 file whose last 10% is scored")]
    public string? Data { get; init; }

    [CommandOption("--limit <N>")]
    [Description("evaluate on the first N test images only")]
    public int? Limit { get; init; }

    [CommandOption("-k <K>")]
    [Description("importance samples of the IWAE bound (vae) or the DBN's bound")]
    [DefaultValue(100)]
    public int? K { get; init; }

    [CommandOption("--seed <N>")]
    [Description("seeds the test-set binarization, the samples and the subsets")]
    [DefaultValue(0L)]
    public long? Seed { get; init; }

    [CommandOption("--adapter <DIR>")]
    [Description("text models: a LoRA adapter in PEFT's format merged into the model's weights at load")]
    public string? Adapter { get; init; }

    [CommandOption("--classifier <CLS_CKPT>")]
    [Description("a 'gensharp train classifier' checkpoint: adds sample-quality metrics in its feature space")]
    public string? Classifier { get; init; }

    [CommandOption("-n <N>")]
    [Description("samples (and test images) the sample-quality metrics compare (default 1000); test images to inpaint with --inpaint-mask")]
    public int? N { get; init; }

    [CommandOption("--batch-size <N>")]
    [Description("batch of the sample-quality metrics (250), of inpainting (64), of text windows (32; 8 for Hugging Face models)")]
    public int? BatchSize { get; init; }

    [CommandOption("--context <N>")]
    [Description("text: tokens per scored window (default: the model's context, at most 1024 for Hugging Face models)")]
    public int? Context { get; init; }

    [CommandOption("--samples <FILE>")]
    [Description("score pre-generated N×C×H×W uint8 samples instead of sampling a checkpoint")]
    public string? Samples { get; init; }

    [CommandOption("--inpaint-mask <MASK>")]
    [Description("ddpm, ebm: inpaint --n test images (top, bottom, left, right, center, random or a mask image) and score them against the originals")]
    public string? InpaintMask { get; init; }

    [CommandOption("--ais-chains <N>")]
    [Description("rbm, dbn: annealed-importance-sampling chains per run for log Z (default 100)")]
    public int? AisChains { get; init; }

    [CommandOption("--ais-betas <N>")]
    [Description("rbm, dbn: intermediate distributions of AIS (default 14,500)")]
    public int? AisBetas { get; init; }

    [CommandOption("--ais-runs <N>")]
    [Description("rbm, dbn: independent AIS runs, for the spread of log Z (default 3)")]
    public int? AisRuns { get; init; }

    [CommandOption("--no-memorisation")]
    [Description("skip the distance of each sample to the nearest training image")]
    public bool NoMemorisation { get; init; }

    [CommandOption("--video-classifier <VCLS_CKPT>")]
    [Description("videodiffusion: a 'gensharp train videoclassifier' checkpoint: adds the FVD-style distance, class and motion accuracy")]
    public string? VideoClassifier { get; init; }

    [CommandOption("--known-frames <K>")]
    [Description("videodiffusion: frames given to the prediction metrics, the model predicts the rest (default: half the clip)")]
    public int? KnownFrames { get; init; }

    [CommandOption("--carry-known-frames")]
    [Description("videodiffusion, an ablation: sample the prediction clips as the sampler did before the known-frame fix (the scheduler carries the known frames' x_t instead of redrawing them from q(x_t | known) each step)")]
    public bool CarryKnownFrames { get; init; }

    [CommandOption("--json <FILE>")]
    [Description("video checkpoints: also write the metrics to this JSON file")]
    public string? Json { get; init; }

    [CommandOption("--gif-dir <DIR>")]
    [Description("videodiffusion: write generated.gif (one clip per class) and prediction.gif (truth | model | copy-last) here")]
    public string? GifDir { get; init; }

    [CommandOption("--clip <CLIP_CKPT>")]
    [Description("txt2img: a 'gensharp train clip' checkpoint: adds prompt alignment (CLIP score, class and per-attribute agreement over 110 prompts; the class judge is --classifier when given)")]
    public string? Clip { get; init; }

    [CommandOption("--per-prompt <N>")]
    [Description("with --clip: images drawn for each prompt (default 10)")]
    public int? PerPrompt { get; init; }

    [CommandOption("--quality-only")]
    [Description("with --classifier: skip the family's own metrics")]
    public bool QualityOnly { get; init; }
}

/// <summary><c>gensharp eval CKPT</c>: the family's own test metrics and, with --classifier, sample and inpainting quality.</summary>
public sealed class EvalCommand : Command<EvalCommandSettings>
{
    /// <summary>Music: exact NLL of the valid and test splits of the chorales, per token and per time step.</summary>
    static int EvalMusic(EvalCommandSettings s, string path)
    {
        if (s.Limit is not null || s.Samples is not null || s.N is not null || s.Classifier is not null)
            throw new GenSharpException("music checkpoints are scored on the whole JSB valid and test splits; drop --limit/--samples/-n/--classifier");
        using var m = CliInputs.Load(path, s);
        var music = (IMusicModel)m.Model;
        var jsb = Data.JsbChorales.Load(s.Data);
        bool satb = music.Encoding == Models.Music.MusicEncoding.Satb16;
        var json = new JsonObject { ["encoding"] = satb ? "satb16" : "roll" };
        foreach (var split in new[] { "valid", "test" })
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var score = music.Score(satb ? jsb.Satb[split] : jsb.Roll[split]);
            Console.WriteLine($"{split}: {score.PerToken:F4} nats per {(satb ? "note (token: one voice of one 16th step, rests included)" : "token")}, " +
                $"{score.PerStep:F3} nats per {(satb ? "16th" : "quarter")} step ({score.Steps:N0} steps, {score.Tokens:N0} tokens, {clock.Elapsed.TotalSeconds:F1} s)");
            json[split] = new JsonObject { ["nats_per_token"] = score.PerToken, ["nats_per_step"] = score.PerStep, ["steps"] = score.Steps, ["tokens"] = score.Tokens };
        }
        Console.WriteLine(json.ToJsonString());
        return 0;
    }

    public override int Execute(CommandContext context, EvalCommandSettings s, CancellationToken cancel)
    {
        GenSharpCli.Prepare(s);
        // Video and audio checkpoints have metrics of their own, whatever else was asked.
        var ownFamily = s.Checkpoint is { } ckpt && s.Adapter is null && !HfModelFolder.IsHfFolder(ckpt) && !Models.Lora.PeftAdapter.IsAdapterFolder(ckpt)
            ? Checkpoint.Open(ckpt).Family : null;
        if (ownFamily is IVideoFamily) return VideoEvalCommand.Run(s, s.Checkpoint!);
        if (ownFamily is IAudioFamily) return AudioEvalCommand.Run(s, s.Checkpoint!);
        foreach (var (flag, used) in new[] { ("video-classifier", s.VideoClassifier is not null), ("known-frames", s.KnownFrames is not null),
                                             ("carry-known-frames", s.CarryKnownFrames), ("json", s.Json is not null), ("gif-dir", s.GifDir is not null) })
            if (used) throw new GenSharpException($"--{flag} applies to video checkpoints (videodiffusion, videoclassifier)");
        if (s.Clip is not null && s.Samples is not null) throw new GenSharpException("--clip scores prompts a txt2img checkpoint draws; drop --samples");
        if (s.PerPrompt is not null && s.Clip is null) throw new GenSharpException("--per-prompt goes with --clip CLIP_CKPT");
        if (s.Classifier is null && s.Clip is null && s.Samples is null && s.Checkpoint is { } path)
        {
            if (HfModelFolder.IsHfFolder(path) || s.Adapter is not null || Models.Lora.PeftAdapter.IsAdapterFolder(path)) return EvalText(s, path);
            var checkpoint = Checkpoint.Open(path);
            if (checkpoint.Family is IEncoderFamily) return EvalMaskedLm(s, checkpoint);
            if (checkpoint.Family is ITextFamily) return EvalText(s, checkpoint.Path);
            if (checkpoint.Family is IMusicFamily) return EvalMusic(s, checkpoint.Path);
        }
        if (s.Classifier is null)
            foreach (var (flag, given) in new[] { ("samples", s.Samples is not null), ("n", s.N is not null), ("batch-size", s.BatchSize is not null) })
                if (given) throw new GenSharpException($"--{flag} belongs to the sample-quality metrics; add --classifier CLS_CKPT");
        if (s.Checkpoint is null && s.Samples is null) throw new UsageException("'eval' needs a checkpoint folder; see 'gensharp eval --help'");
        using var m = s.Checkpoint is null ? null : CliInputs.Load(s.Checkpoint, s);
        var json = new JsonObject();
        if (s.InpaintMask is { } maskSpec) return InpaintMetrics(s, m, maskSpec, json);
        foreach (var (flag, given) in new[] { ("resample", s.Resample is not null), ("jump", s.Jump is not null) })
            if (given) throw new GenSharpException($"--{flag} goes with --inpaint-mask");
        if (m is not null)
        {
            json["family"] = m.Family.Name;
            json["checkpoint"] = m.Path;
            json["step"] = m.Step;
            if (s.Clip is not null && m.Model is not Models.TextDiffusion.TextDiffusionModel)
                throw new GenSharpException($"--clip scores prompts; {m.Family.Name} checkpoints take none (give a txt2img checkpoint)");
            if (s.QualityOnly && s.Classifier is null && s.Clip is null) throw new GenSharpException("--quality-only needs --classifier CLS_CKPT or --clip CLIP_CKPT");
            if (s.QualityOnly) Console.WriteLine("--quality-only: skipping the family's own test metrics");
            else if (m.Model is ILikelihoodModel || m.Model is IImageClassifier || (s.Classifier is null && s.Clip is null)) OwnMetrics(s, m, json);
            else Console.WriteLine($"{m.Family.Name} gives no likelihood; reporting sample-quality metrics only");
            if (s.Classifier is null && m.Model is not IImageClassifier)
                Console.WriteLine("sample-quality metrics (FD-cls, KID, precision/recall, memorisation) need --classifier CLS_CKPT (train one with 'gensharp train classifier')");
        }
        if (s.Classifier is { } cls) SampleQualityMetrics(s, m, cls, json);
        if (s.Clip is { } clip) PromptAlignmentMetrics(s, m, clip, json);
        Console.WriteLine(json.ToJsonString());
        return 0;
    }

    /// <summary>An encoder: masked-language-model loss and accuracy on the held-out last 10% of --data.</summary>
    static int EvalMaskedLm(EvalCommandSettings s, Checkpoint checkpoint)
    {
        var data = s.Data ?? throw new UsageException("'eval' of a bert checkpoint needs --data FILE.txt; see 'gensharp eval --help'");
        using var m = checkpoint.Load(s.TorchDevice);
        var bert = (IMaskedLanguageModel)m.Model;
        var r = MaskedLmEvaluation.Run(bert, checkpoint.ReadTokenizer(), data, s.BatchSize ?? 32);
        Console.WriteLine($"validation: the last 10% of {data} ({r["windows"]} windows of {bert.WindowLength} tokens, {r["masked_tokens"]} masked tokens, fixed masking seed)");
        Console.WriteLine($"MLM loss {r["mlm_loss"]:F4} nats/token · accuracy {r["mlm_accuracy"]:P2} · perplexity {r["mlm_perplexity"]:F3}");
        var json = new JsonObject { ["family"] = checkpoint.Family.Name, ["checkpoint"] = checkpoint.Path, ["step"] = checkpoint.Step, ["data"] = data };
        foreach (var (k, v) in r) json[k] = v;
        Console.WriteLine(json.ToJsonString());
        return 0;
    }

    /// <summary>Text: loss, perplexity and bits/char on the held-out last 10% of --data.</summary>
    static int EvalText(EvalCommandSettings s, string dir)
    {
        foreach (var (flag, given) in new[] { ("limit", s.Limit is not null), ("n", s.N is not null), ("scheduler", s.Scheduler is not null),
                                              ("steps", s.Steps is not null), ("eta", s.Eta is not null), ("guidance-scale", s.GuidanceScale is not null) })
            if (given) throw new GenSharpException($"--{flag} does not apply to text checkpoints");
        using var m = CliInputs.LoadText(dir, s, s.Adapter);
        var (lm, tokenizer) = (m.Model, m.Tokenizer);
        var data = s.Data ?? throw new UsageException("'eval' of a text model needs --data FILE.txt; see 'gensharp eval --help'");
        // Pretrained contexts run to 32k+ tokens: score 1024-token windows unless --context says otherwise.
        int ctx = s.Context ?? (m.Pretrained ? Math.Min(lm.ContextLength, 1024) : lm.ContextLength);
        var r = TextEvaluation.Run(lm, tokenizer, data, s.BatchSize ?? (m.Pretrained ? 8 : 32), ctx);
        Console.WriteLine($"validation: the last 10% of {data} ({r["val_tokens"]} predicted tokens, {tokenizer.Kind.ToString().ToLowerInvariant()} tokenizer, " +
            $"context {ctx}, disjoint windows); loss in nats/token, perplexity = e^loss, bits/char = total bits / characters");
        Console.WriteLine($"val loss {r["val_loss"]:F4} nats/token · perplexity {r["val_perplexity"]:F3} · {r["val_bits_per_char"]:F4} bits/char · {r["tokens_per_s"]:F0} tokens/s");
        var json = new JsonObject { ["family"] = m.Name, ["checkpoint"] = m.Path, ["step"] = m.Step, ["data"] = data, ["context"] = ctx };
        foreach (var (k, v) in r) json[k] = Round6(v);
        Console.WriteLine(json.ToJsonString());
        return 0;
    }

    /// <summary>The family's own test metrics: likelihood (nats, bits/dim) or a classifier's accuracy.</summary>
    static void OwnMetrics(EvalCommandSettings s, LoadedModel m, JsonObject json)
    {
        using var data = CliInputs.TestData(s.Data, s.Limit);
        var used = (m.Model as ILikelihoodModel)?.EvalParameters ?? Array.Empty<string>();
        foreach (var (name, given) in new[] { ("ais_chains", s.AisChains is not null), ("ais_betas", s.AisBetas is not null), ("ais_runs", s.AisRuns is not null) })
            if (given && !used.Contains(name))
                throw new GenSharpException($"--{name.Replace('_', '-')} applies to energy models (rbm, dbn); this is a {m.Family.Name} checkpoint");
        var defaults = new GenSharp.Models.EvalSettings();
        var settings = new GenSharp.Models.EvalSettings(s.K ?? 100, s.Seed ?? 0,
            s.AisChains ?? defaults.AisChains, s.AisBetas ?? defaults.AisBetas, s.AisRuns ?? defaults.AisRuns);
        if (settings.AisChains < 1 || settings.AisBetas < 1 || settings.AisRuns < 1)
            throw new GenSharpException($"--ais-chains, --ais-betas and --ais-runs must be ≥ 1, got {settings.AisChains}, {settings.AisBetas}, {settings.AisRuns}");
        var r = Pipelines.Evaluation.Run(m.Model, data, settings,
            (done, total) => { if (!Console.IsErrorRedirected) Console.Error.Write($"\reval {done}/{total}"); });
        if (!Console.IsErrorRedirected) Console.Error.WriteLine();
        if (m.Model is ILikelihoodModel lm) Console.WriteLine($"likelihood: {lm.LikelihoodDescription}");
        if (r.TryGetValue("log_z", out var logZ))
            Console.WriteLine($"AIS: log Z {logZ:F3}" + (r.TryGetValue("log_z_std", out var sd) ? $" ± {sd:F3} (std over {r["ais_runs"]} runs)" : "") +
                $", ±3σ bounds [{(r.TryGetValue("log_z_minus_3sigma", out var lo) ? lo.ToString("F3", CultureInfo.InvariantCulture) : "−∞")}, {r["log_z_plus_3sigma"]:F3}]" +
                $" from {r["ais_runs"]} × {r["ais_chains"]} chains, {r["ais_betas"]} intermediate distributions; " +
                (r.TryGetValue("nll", out var nll) ? $"test log-likelihood {-nll:F2} nats" : $"test lower bound {-r["bound_nll"]:F2} nats") + $" on {r["items"]} images");
        if (r.TryGetValue("energy_test", out var eTest) && r.TryGetValue("energy_test_sq", out var eSq))
        {
            double sdTest = Math.Sqrt(Math.Max(0, eSq - eTest * eTest));
            r["energy_test_std"] = sdTest;
            r.Remove("energy_test_sq");
            Console.WriteLine($"energy E(x) (lower = more likely): test {eTest:G4} ± {sdTest:G3} on {r["items"]} images · " +
                $"{r["eval_samples"]} Langevin samples ({r["sample_steps"]} steps from noise) {r["energy_samples"]:G4} ± {r["energy_samples_std"]:G3} · " +
                $"replay buffer {r["energy_buffer"]:G4} ± {r["energy_buffer_std"]:G3} · uniform noise {r["energy_noise"]:G4} ± {r["energy_noise_std"]:G3}");
        }
        if (m.Model is IImageClassifier)
            Console.WriteLine($"classifier: test accuracy {r["accuracy"] * 100:F2}% (top-1), loss = mean cross-entropy {r["loss"]:F4} nats, on {r["items"]} images of {data.Source}");
        json["data"] = data.Source;
        foreach (var (k, v) in r) json[k] = Math.Round(v, 5);
    }

    /// <summary>The --classifier checkpoint as a classifier, or the one-line error when it holds another family.</summary>
    static IImageClassifier AsClassifier(LoadedModel c, string path) => c.Model as IImageClassifier
        ?? throw new GenSharpException($"--classifier {path} holds a {c.Family.Name} checkpoint; pass one trained with 'gensharp train classifier'");

    /// <summary>The sampler eval scores, with its options from the flags, recorded in the JSON.</summary>
    static Func<int, Tensor?, Tensor> SamplerFor(EvalCommandSettings s, LoadedModel m, JsonObject json)
    {
        var sampler = m.Model as IImageSampler
            ?? throw new GenSharpException("a classifier cannot sample; give a generative checkpoint or --samples FILE.npy");
        var options = sampler.DefaultSamplerOptions.With(s.SamplerValues(inpainting: false), m.Family.Name);
        Record(json, sampler.RecordSampler(options));
        // The global generator, which the sample-quality workflow seeds, drives the sampler's noise.
        return (n, labels) => sampler.Sample(n, labels, options, null);
    }

    static void SampleQualityMetrics(EvalCommandSettings s, LoadedModel? m, string classifierPath, JsonObject json)
    {
        using var c = CliInputs.Load(classifierPath, s);
        var classifier = AsClassifier(c, classifierPath);
        using var test = FashionMnist.Load(s.Data, train: false);
        using var train = FashionMnist.Load(s.Data, train: true);
        var options = new SampleQualityOptions { Seed = s.Seed ?? 0, BatchSize = s.BatchSize ?? 250, Memorisation = !s.NoMemorisation };
        Action<string>? log = Console.IsErrorRedirected ? null : line => Console.Error.WriteLine($"eval: {line}");
        Dictionary<string, double> r;
        string what;
        if (s.Samples is { } samplesPath)
        {
            using var samples = GenSharp.Media.Npy.Load(samplesPath);
            if (samples.dim() != 4) throw new GenSharpException($"--samples {samplesPath}: expected an N×C×H×W uint8 array, got {samples.dim()} dimensions");
            options = options with { N = s.N ?? (int)Math.Min(1000, samples.shape[0]) };
            r = SampleQuality.EvaluateSamples(samples, null, classifier, test, train, options, log);
            what = $"{options.N} samples from {samplesPath}";
            json["samples"] = samplesPath;
        }
        else
        {
            options = options with { N = s.N ?? 1000 };
            var sampler = SamplerFor(s, m!, json);
            int classes = ((IImageSampler)m!.Model).ConditionalClasses;
            r = SampleQuality.Evaluate(sampler, classes, classifier, test, train, options, log);
            what = $"{options.N} samples of {m.Family.Name}" + (classes > 0 ? $" ({classes} classes asked equally)" : "");
        }
        Console.WriteLine($"sample quality: {what} vs {options.N} random test images of {test.Source}; FD-cls, KID (unbiased MMD², cubic kernel), " +
            $"precision/recall (k = {options.PrecisionRecallK}) on the {classifier.FeatureDim}-d penultimate features of {c.Path}" +
            (options.Memorisation ? $"; memorisation = pixel L2 (pixels in [0,1]) to the nearest of {train.Count} training images" : ""));
        Console.WriteLine($"FD-cls {r["fd_cls"]:G4} (train vs test at this N: {r["fd_cls_train_vs_test"]:G4}) · KID {r["kid"]:G4} ± {r["kid_stderr"]:G2} · " +
            $"precision {r["precision"]:F3} · recall {r["recall"]:F3} · class entropy {r["class_entropy_normalized"]:F3} of max" +
            (r.TryGetValue("class_agreement", out var agree) ? $" · class agreement {agree:F3}" : "") +
            (r.TryGetValue("mem_flagged", out var flagged) ? $" · {flagged} samples closer to training than any test image" : "") +
            (r.TryGetValue("sample_images_per_s", out var ips) ? $" · {ips:G4} images/s" : ""));
        json["classifier"] = c.Path;
        foreach (var (k, v) in r) json[k] = Round6(v);
    }

    /// <summary>eval --clip: how well a txt2img checkpoint draws what 110 prompts ask (<see cref="TextToImage.PromptAlignment"/>).</summary>
    static void PromptAlignmentMetrics(EvalCommandSettings s, LoadedModel? m, string clipPath, JsonObject json)
    {
        if (m?.Model is not Models.TextDiffusion.TextDiffusionModel t2i) throw new GenSharpException("--clip needs a txt2img checkpoint");
        if (s.Prompt is not null || s.NegativePrompt is not null || s.Init is not null || s.PromptTo is not null)
            throw new GenSharpException("--clip draws its own prompt set; drop --prompt/--negative-prompt/--prompt-to/--init");
        using var c = CliInputs.Load(clipPath, s);
        var judge = c.Model as Models.Clip.ClipModel
            ?? throw new GenSharpException($"--clip {clipPath} holds a {c.Family.Name} checkpoint; pass one trained with 'gensharp train clip'");
        using var cls = s.Classifier is null ? null : CliInputs.Load(s.Classifier, s);
        var classifier = cls is null ? null : AsClassifier(cls, s.Classifier!);
        var options = (Models.TextDiffusion.TextDiffusionSamplerOptions)t2i.DefaultSamplerOptions.With(s.SamplerValues(inpainting: false), m.Family.Name);
        var o = new TextToImage.PromptAlignmentOptions(s.PerPrompt ?? 10, s.Seed ?? 0);
        if (o.PerPrompt < 1) throw new GenSharpException($"--per-prompt must be ≥ 1, got {o.PerPrompt}");
        Record(json, t2i.RecordSampler(options));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var r = ConsoleProgress.Create().Run("prompt alignment", 0, TextToImage.PromptAlignment.ImageCount(o),
            p => TextToImage.PromptAlignment.Evaluate(t2i, options, judge, classifier, o, (i, n) => p.Report(i, $"prompt alignment: {i}/{n} images")));
        Console.WriteLine($"prompt alignment: {o.PerPrompt} images for each of 10 plain and 100 attribute prompts (\"a dark shirt\"), the same noise " +
            $"for every prompt, {((IImageSampler)t2i).DescribeSampler(options)}; CLIP score by {c.Path}, classes by {(cls is null ? "its zero-shot prompts" : cls.Path)}, " +
            $"attributes measured on the pixels ({r["prompt_images"]} images, {clock.Elapsed.TotalSeconds:F0} s)");
        Console.WriteLine($"CLIP score {r["clip_score"]:F2} (plain prompts {r["clip_score_plain"]:F2}) · class agreement {r["prompt_class_agreement"]:F3} · " +
            $"attribute hit {r["attribute_hit"]:F3} (unasked {r["attribute_base"]:F3}) · paired {r["attribute_paired"]:F3}" +
            (r.TryGetValue("neg_attribute_hit", out var nh) ? $" · with the opposite word as negative prompt: hit {nh:F3}, paired {r["neg_attribute_paired"]:F3}, CLIP score {r["neg_clip_score"]:F2}" : ""));
        string Ceiling(string key) => r.TryGetValue(key, out var c) ? c.ToString("F3", CultureInfo.InvariantCulture) : "–";
        using (var test = FashionMnist.Load(s.Data, train: false))
            foreach (var (k, v) in TextToImage.PromptAlignment.ReconstructionCeiling(t2i, test)) r[k] = v;
        Console.WriteLine($"attribute ceiling (test images the captioner gives a word whose VAE reconstruction keeps it, first {r["ceiling_images"]} test images): {r["attribute_ceiling"]:F3}");
        foreach (var kind in Enum.GetValues<TextToImage.AttributeKind>())
        {
            string k = kind.ToString().ToLowerInvariant();
            Console.WriteLine($"  {k,-10} {TextToImage.FashionCaptioner.Word(kind, false)}: hit {r[$"attr_{k}_low_hit"]:F3} (unasked {r[$"attr_{k}_low_base"]:F3}, ceiling {Ceiling($"attr_{k}_low_ceiling")}) · " +
                $"{TextToImage.FashionCaptioner.Word(kind, true)}: hit {r[$"attr_{k}_high_hit"]:F3} (unasked {r[$"attr_{k}_high_base"]:F3}, ceiling {Ceiling($"attr_{k}_high_ceiling")}) · paired {r[$"attr_{k}_paired"]:F3}" +
                (r.TryGetValue($"neg_attr_{k}_paired", out var np) ? $" · with negatives: hits {r[$"neg_attr_{k}_low_hit"]:F3}/{r[$"neg_attr_{k}_high_hit"]:F3}, paired {np:F3}" : ""));
        }
        json["clip"] = c.Path;
        if (cls is not null) json["classifier"] = cls.Path;
        json["per_prompt"] = o.PerPrompt;
        foreach (var (k, v) in r) json[k] = Round6(v);
    }

    /// <summary>eval --inpaint-mask: any inpainting family's inpaintings of N test images, scored by the classifier.</summary>
    static int InpaintMetrics(EvalCommandSettings s, LoadedModel? m, string maskSpec, JsonObject json)
    {
        if (m?.Model is not IImageInpainter inpainter)
            throw new GenSharpException("--inpaint-mask needs a checkpoint of a family that inpaints (ddpm, ebm)");
        if (s.Classifier is null) throw new GenSharpException("--inpaint-mask needs --classifier CLS_CKPT to score the inpaintings");
        if (s.Samples is not null) throw new GenSharpException("--samples does not apply to --inpaint-mask");
        if (s.GuidanceScale is not null) throw new GenSharpException("--guidance-scale does not apply to --inpaint-mask (inpainting uses no class and no guidance)");
        if (s.Init is not null) throw new GenSharpException("--init does not apply to --inpaint-mask (inpainting starts the unknown pixels from noise)");
        using var c = CliInputs.Load(s.Classifier, s);
        var classifier = AsClassifier(c, s.Classifier);
        using var test = FashionMnist.Load(s.Data, train: false);
        var size = ImageFamilyConfig.Of(inpainter).ImageSize;
        long seed = s.Seed ?? 0;
        int n = s.N ?? 1000;
        var mask = InpaintMasks.FromSpec(maskSpec, size, seed);
        var options = inpainter.DefaultSamplerOptions.With(s.SamplerValues(inpainting: true), m.Family.Name);
        json["family"] = m.Family.Name;
        json["checkpoint"] = m.Path;
        json["step"] = m.Step;
        json["classifier"] = c.Path;
        json["mask"] = maskSpec;
        Record(json, inpainter.RecordSampler(options), "guidance_scale", "init");   // inpainting takes no class and starts from noise
        Action<string>? log = Console.IsErrorRedirected ? null : line => Console.Error.WriteLine($"eval: {line}");
        var r = SampleQuality.EvaluateInpainting(m.Model, (images, known, gen) => inpainter.Inpaint(images, known, null, options, gen),
            classifier, test, mask, n, s.BatchSize ?? 64, seed, log);
        Console.WriteLine($"inpainting: {n} random test images of {test.Source}, mask {maskSpec} ({r["known_fraction"] * 100:F0}% known), no class given, " +
            inpainter.DescribeSampler(options));
        Console.WriteLine($"FD-cls(inpainted, originals) {r["inpaint_fd_cls"]:G4} · classifier accuracy on inpaintings {r["inpaint_accuracy"] * 100:F1}% " +
            $"(originals {r["original_accuracy"] * 100:F1}%, grey-masked inputs {r["masked_accuracy"] * 100:F1}%) · RMSE on unknown pixels {r["inpaint_rmse"]:F3} · " +
            $"{r["inpaint_images_per_s"]:G3} images/s");
        foreach (var (k, v) in r) json[k] = Round6(v);
        Console.WriteLine(json.ToJsonString());
        return 0;
    }

    /// <summary>Copies the sampler options a metric record keeps into <paramref name="json"/>, leaving out <paramref name="skip"/>.</summary>
    static void Record(JsonObject json, IReadOnlyDictionary<string, object?> values, params string[] skip)
    {
        foreach (var (k, v) in values)
            if (!skip.Contains(k)) json[k] = v is null ? null : JsonValue.Create(v);
    }

    static double Round6(double v) => double.Parse(v.ToString("G6", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
