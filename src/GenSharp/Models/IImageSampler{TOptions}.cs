namespace GenSharp.Models;

/// <summary>An <see cref="IImageSampler"/> whose options are a <typeparamref name="TOptions"/> record; others are refused.</summary>
public interface IImageSampler<TOptions> : IImageSampler where TOptions : SamplerOptions
{
    /// <summary>As <see cref="IImageSampler.Sample"/>, with the family's own options.</summary>
    Tensor Sample(int n, Tensor? labels, TOptions options, Generator? generator, Action<int, Tensor>? onStep);

    Tensor IImageSampler.Sample(int n, Tensor? labels, SamplerOptions options, Generator? generator, Action<int, Tensor>? onStep) =>
        Sample(n, labels, options as TOptions
            ?? throw new ArgumentException($"{Family} samples with {typeof(TOptions).Name}, got {options.GetType().Name}", nameof(options)), generator, onStep);
}
