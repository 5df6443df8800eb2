using GenSharp.Models;
using GenSharp.Models.Clip;
using GenSharp.Models.TextDiffusion;

namespace GenSharp.TextToImage;

/// <summary>What <see cref="PromptAlignment.Evaluate"/> draws and how.</summary>
/// <param name="PerPrompt">Images drawn for each prompt.</param>
/// <param name="Seed">Seeds the starting noise; prompt p's image j starts from the same x_T for every p.</param>
/// <param name="OppositeNegatives">Also draw every attribute prompt against the opposite word as its negative prompt.</param>
public sealed record PromptAlignmentOptions(int PerPrompt = 10, long Seed = 0, bool OppositeNegatives = true);

/// <summary>
/// Does a text-to-image model draw what its prompt says? The prompt set is every class noun plain ("a photo of a
/// shirt") and with each attribute word at each end ("a dark shirt", "a light shirt", …: 10 nouns × 5 attributes × 2
/// ends), <see cref="PromptAlignmentOptions.PerPrompt"/> images each, image j of every prompt starting from the same
/// noise. The images are judged three ways:
/// <list type="bullet">
/// <item><b>CLIP score</b> of each image with its own prompt (a CLIP trained here, <see cref="ClipModel.Score"/>);</item>
/// <item><b>class agreement</b>: a classifier's top class equals the prompt's noun;</item>
/// <item><b>attribute agreement</b>, measured on the pixels with the captioner's own definitions
/// (<see cref="ImageAttributes"/>, <see cref="CaptionThresholds"/>): <c>hit</c> = the share of images asked for a low
/// (high) word whose value falls below the low (above the high) threshold — the captioner would have said that word;
/// <c>base</c> = the same share among the plain prompt's images of the same noun (what one gets without asking);
/// <c>paired</c> = the share of noise seeds j for which the image asked for the high word measures higher than the
/// image asked for the low word (ties count ½; 0.5 = the word changes nothing).</item>
/// </list>
/// With <see cref="PromptAlignmentOptions.OppositeNegatives"/> the attribute prompts are drawn again with the
/// opposite word as the negative prompt ("a dark shirt" against "a light shirt"), reported under <c>neg_</c> keys.
/// </summary>
public static class PromptAlignment
{
    /// <summary>The plain prompt of noun k, as class-conditional sampling draws it.</summary>
    public static string PlainPrompt(int label) => TextDiffusionModel.ClassPrompt(label);

    /// <summary>Images <see cref="Evaluate"/> draws with these options: the plain and attribute prompts, the latter twice with opposite negatives.</summary>
    public static int ImageCount(PromptAlignmentOptions o)
    {
        int nouns = FashionCaptioner.Nouns.Count, attributes = nouns * Enum.GetValues<AttributeKind>().Length * 2;
        return (nouns + attributes * (o.OppositeNegatives ? 2 : 1)) * o.PerPrompt;
    }

    /// <summary>"a WORD NOUN".</summary>
    public static string AttributePrompt(int label, AttributeKind kind, bool high) =>
        FashionCaptioner.Phrase(FashionCaptioner.Nouns[label], new[] { FashionCaptioner.Word(kind, high) }, 0);

    /// <summary>
    /// Draws the prompt set with <paramref name="model"/> (its scheduler, steps and guidance from
    /// <paramref name="options"/>) and scores it. Keys: <c>clip_score</c>, <c>clip_score_plain</c>,
    /// <c>prompt_class_agreement</c>, <c>attribute_hit</c>, <c>attribute_base</c>, <c>attribute_paired</c>, per attribute
    /// <c>attr_K_low_hit</c>, <c>attr_K_high_hit</c>, <c>attr_K_low_base</c>, <c>attr_K_high_base</c>,
    /// <c>attr_K_paired</c>, the same with a <c>neg_</c> prefix for the opposite-negative draws, <c>prompt_images</c>.
    /// </summary>
    public static Dictionary<string, double> Evaluate(TextDiffusionModel model, TextDiffusionSamplerOptions options, ClipModel judge,
        IImageClassifier? classifier, PromptAlignmentOptions o, Action<int, int>? progress = null)
    {
        if (o.PerPrompt < 1) throw new GenSharpException($"images per prompt must be ≥ 1, got {o.PerPrompt}");
        int nouns = FashionCaptioner.Nouns.Count;
        if (classifier is not null && classifier.NumClasses != nouns)
            throw new GenSharpException($"the classifier has {classifier.NumClasses} classes; the prompts name {nouns} Fashion-MNIST classes");
        var kinds = Enum.GetValues<AttributeKind>();
        var thresholds = CaptionThresholds.Default;

        // One row per (noun, kind, end); plain prompts first.
        var plain = Enumerable.Range(0, nouns).Select(PlainPrompt).ToArray();
        var asked = new List<(int Noun, AttributeKind Kind, bool High)>();
        for (int k = 0; k < nouns; k++)
            foreach (var kind in kinds)
                foreach (var high in new[] { false, true })
                    asked.Add((k, kind, high));
        int total = ImageCount(o), done = 0;

        using var noise = NoiseFor(model, o);
        Drawn Draw(IReadOnlyList<string> prompts, IReadOnlyList<string> negatives, IReadOnlyList<int> nounOf)
        {
            var images = new List<Tensor>();
            var scores = new List<double>();
            var classes = new List<long>();
            for (int p = 0; p < prompts.Count; p++)
            {
                using var scope = torch.NewDisposeScope();
                var scheduler = model.CreateScheduler(options);
                Tensor x;
                try
                {
                    using var gen = new Generator((ulong)o.Seed + 1);
                    x = model.GenerateFrom(Enumerable.Repeat(prompts[p], o.PerPrompt).ToArray(),
                        Enumerable.Repeat(negatives[p], o.PerPrompt).ToArray(), scheduler, options.GuidanceScale, noise, gen);
                }
                finally { (scheduler as IDisposable)?.Dispose(); }
                scores.AddRange(judge.Score(x, Enumerable.Repeat(prompts[p], o.PerPrompt).ToArray()).data<float>().Select(v => (double)v));
                var logits = classifier is not null ? classifier.Logits(x) : judge.Logits(x);
                classes.AddRange(logits.argmax(1).cpu().data<long>().ToArray());
                images.Add(x.MoveToOuterDisposeScope());
                progress?.Invoke(done += o.PerPrompt, total);
            }
            using var all = torch.cat(images.ToArray());
            foreach (var t in images) t.Dispose();
            int n = prompts.Count * o.PerPrompt;
            double agree = 0;
            for (int i = 0; i < n; i++) if (classes[i] == nounOf[i / o.PerPrompt]) agree++;
            return new Drawn(ImageAttributes.Measure(all), scores.ToArray(), agree / n);
        }

        var r = new Dictionary<string, double>();
        var plainDrawn = Draw(plain, Enumerable.Repeat("", plain.Length).ToArray(), Enumerable.Range(0, nouns).ToArray());
        var nounOfAsked = asked.Select(a => a.Noun).ToArray();
        var promptsAsked = asked.Select(a => AttributePrompt(a.Noun, a.Kind, a.High)).ToArray();
        var askedDrawn = Draw(promptsAsked, Enumerable.Repeat("", asked.Count).ToArray(), nounOfAsked);
        r["clip_score_plain"] = plainDrawn.Scores.Average();
        r["clip_score"] = askedDrawn.Scores.Concat(plainDrawn.Scores).Average();
        r["prompt_class_agreement"] = (askedDrawn.ClassAgreement * asked.Count + plainDrawn.ClassAgreement * plain.Length) / (asked.Count + plain.Length);
        r["prompt_class_agreement_plain"] = plainDrawn.ClassAgreement;
        Score(r, "", asked, askedDrawn, plainDrawn, thresholds, o.PerPrompt);
        if (o.OppositeNegatives)
        {
            var negatives = asked.Select(a => AttributePrompt(a.Noun, a.Kind, !a.High)).ToArray();
            var negDrawn = Draw(promptsAsked, negatives, nounOfAsked);
            r["neg_clip_score"] = negDrawn.Scores.Average();
            r["neg_class_agreement"] = negDrawn.ClassAgreement;
            Score(r, "neg_", asked, negDrawn, plainDrawn, thresholds, o.PerPrompt);
        }
        r["prompt_images"] = total;
        return r;
    }

    /// <summary>
    /// What the model's own VAE lets an attribute word reach: among <paramref name="test"/> images the captioner would
    /// give a word (value beyond its threshold), the share whose VAE reconstruction still measures beyond it. Keys
    /// <c>attr_K_low_ceiling</c>, <c>attr_K_high_ceiling</c> (absent when no test image has the word), <c>attribute_ceiling</c> (over all words) and
    /// <c>ceiling_images</c>. Diffusion in the latent space cannot draw what the decoder cannot show, so a hit rate far
    /// below its ceiling is the diffusion model's shortfall, and a low ceiling the autoencoder's.
    /// </summary>
    public static Dictionary<string, double> ReconstructionCeiling(TextDiffusionModel model, Data.ImageDataset test, int limit = 2000, int batch = 500)
    {
        int n = Math.Min(limit, test.Count);
        var thresholds = CaptionThresholds.Default;
        var originals = new List<ImageAttributes>();
        var rebuilt = new List<ImageAttributes>();
        for (int i = 0; i < n; i += batch)
        {
            using var scope = torch.NewDisposeScope();
            var x = test.Images.narrow(0, i, Math.Min(batch, n - i)).to(ScalarType.Float32) / 255;
            originals.Add(ImageAttributes.Measure(x));
            rebuilt.Add(ImageAttributes.Measure(model.Reconstruct(x)));
        }
        var r = new Dictionary<string, double>();
        double kept = 0, had = 0;
        foreach (var kind in Enum.GetValues<AttributeKind>())
        {
            var before = originals.SelectMany(a => a.Of(kind)).ToArray();
            var after = rebuilt.SelectMany(a => a.Of(kind)).ToArray();
            foreach (var high in new[] { false, true })
            {
                double t = high ? thresholds.HighOf(kind) : thresholds.LowOf(kind);
                bool Beyond(double v) => high ? v > t : v < t;
                int has = 0, keeps = 0;
                for (int j = 0; j < before.Length; j++)
                    if (Beyond(before[j])) { has++; if (Beyond(after[j])) keeps++; }
                if (has > 0) r[$"attr_{kind.ToString().ToLowerInvariant()}_{(high ? "high" : "low")}_ceiling"] = (double)keeps / has;
                kept += keeps; had += has;
            }
        }
        r["attribute_ceiling"] = kept / Math.Max(1, had);
        r["ceiling_images"] = n;
        return r;
    }

    sealed record Drawn(ImageAttributes Measured, double[] Scores, double ClassAgreement);

    /// <summary>x_T for one prompt's images: (PerPrompt, latent) from the seed, shared by every prompt.</summary>
    static Tensor NoiseFor(TextDiffusionModel model, PromptAlignmentOptions o)
    {
        using var gen = new Generator((ulong)o.Seed);
        return torch.randn(new long[] { o.PerPrompt, model.LatentDim }, generator: gen);
    }

    /// <summary>Hit, base and paired rates per attribute and overall, from the attribute draws and the plain draws.</summary>
    static void Score(Dictionary<string, double> r, string prefix, List<(int Noun, AttributeKind Kind, bool High)> asked,
        Drawn drawn, Drawn plain, CaptionThresholds thresholds, int per)
    {
        bool Hit(double v, AttributeKind kind, bool high) => high ? v > thresholds.HighOf(kind) : v < thresholds.LowOf(kind);
        double hits = 0, bases = 0, pairs = 0;
        int hitN = 0, pairN = 0;
        foreach (var kind in Enum.GetValues<AttributeKind>())
        {
            string name = kind.ToString().ToLowerInvariant();
            var values = drawn.Measured.Of(kind);
            var plainValues = plain.Measured.Of(kind);
            double kindPairs = 0;
            int kindPairN = 0;
            foreach (var high in new[] { false, true })
            {
                double h = 0, b = 0;
                int n = 0;
                for (int a = 0; a < asked.Count; a++)
                {
                    if (asked[a].Kind != kind || asked[a].High != high) continue;
                    for (int j = 0; j < per; j++, n++)
                    {
                        if (Hit(values[a * per + j], kind, high)) h++;
                        if (Hit(plainValues[asked[a].Noun * per + j], kind, high)) b++;
                    }
                }
                r[$"{prefix}attr_{name}_{(high ? "high" : "low")}_hit"] = h / n;
                r[$"{prefix}attr_{name}_{(high ? "high" : "low")}_base"] = b / n;
                hits += h; bases += b; hitN += n;
            }
            for (int a = 0; a < asked.Count; a++)
            {
                if (asked[a].Kind != kind || asked[a].High) continue;
                int hi = asked.FindIndex(x => x.Noun == asked[a].Noun && x.Kind == kind && x.High);
                for (int j = 0; j < per; j++, kindPairN++)
                {
                    double lo = values[a * per + j], up = values[hi * per + j];
                    kindPairs += up > lo ? 1 : up == lo ? 0.5 : 0;
                }
            }
            r[$"{prefix}attr_{name}_paired"] = kindPairs / kindPairN;
            pairs += kindPairs; pairN += kindPairN;
        }
        r[$"{prefix}attribute_hit"] = hits / hitN;
        r[$"{prefix}attribute_base"] = bases / hitN;
        r[$"{prefix}attribute_paired"] = pairs / pairN;
    }
}
