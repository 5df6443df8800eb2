namespace GenSharp.Models;

/// <summary>A prompted sampler that can walk between two prompts with fixed noise (an interpolation strip).</summary>
public interface IPromptInterpolation
{
    /// <summary>
    /// <paramref name="count"/> images (count, C, H, W) in [0,1] on the CPU, all from one initial noise, conditioned on text
    /// embeddings that move linearly from <paramref name="from"/>'s to <paramref name="to"/>'s; <paramref name="options"/>
    /// are the model's own sampler options (their prompt is ignored).
    /// </summary>
    Tensor InterpolatePrompts(string from, string to, int count, SamplerOptions options, Generator? generator);
}
