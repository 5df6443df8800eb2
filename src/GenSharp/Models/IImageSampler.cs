namespace GenSharp.Models;

/// <summary>A model that draws new images, with sampler options chosen at sampling time.</summary>
public interface IImageSampler
{
    /// <summary>Registry name of the family (for messages).</summary>
    string Family { get; }

    /// <summary>The validated config it was built from (an <see cref="ImageFamilyConfig"/>: the image geometry).</summary>
    FamilyConfig Config { get; }

    /// <summary>Number of classes the sampler takes labels for (0 when unconditional).</summary>
    int ConditionalClasses { get; }

    /// <summary>The options the model's config asks for; set others with <see cref="SamplerOptions.With"/>.</summary>
    SamplerOptions DefaultSamplerOptions { get; }

    /// <summary>
    /// Draws <paramref name="n"/> images as floats in [0,1], (n, C, H, W) on the CPU. <paramref name="labels"/> (n)
    /// picks classes of a conditional model (null: the model's choice). <paramref name="options"/> must be of the
    /// model's own options type (start from <see cref="DefaultSamplerOptions"/>). Randomness comes from
    /// <paramref name="generator"/> where the sampler takes one, else from torch's global generator (seed both for a
    /// repeatable draw). <paramref name="onStep"/>(i, x), for iterative samplers, sees the state after each step i
    /// (0 = the start) as images in [−1, 1] on the model's device (for strips and animations; copy what you keep).
    /// </summary>
    Tensor Sample(int n, Tensor? labels, SamplerOptions options, Generator? generator, Action<int, Tensor>? onStep = null);

    /// <summary>The options as metric records keep them: resolved values under the family's established names.</summary>
    IReadOnlyDictionary<string, object?> RecordSampler(SamplerOptions options) => options.Describe();

    /// <summary>The options in a few words for logs, e.g. "ddim 50 steps".</summary>
    string DescribeSampler(SamplerOptions options) =>
        string.Join(", ", RecordSampler(options).Where(kv => kv.Value is not null).Select(kv => $"{kv.Key.Replace('_', ' ')} {kv.Value}"));

    /// <summary>How many steps after the start <see cref="Sample"/> reports to onStep with <paramref name="options"/>; null when the sampler is not iterative.</summary>
    int? TraceSteps(SamplerOptions options) => null;
}
