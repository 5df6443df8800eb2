using GenSharp.Media.Audio;

namespace GenSharp.Models;

/// <summary>
/// A family trained on speech recordings (the Allison corpus) instead of images or text: its batches are audio crops
/// with their log-mel frames (<see cref="Data.AudioBatches"/>), and its models are <see cref="IAudioModel"/>s.
/// </summary>
public interface IAudioFamily : IFamily
{
    /// <summary>The spectrogram the data source computes for the model.</summary>
    MelSettings Mel(FamilyConfig config);

    /// <summary>Samples per training crop.</summary>
    int CropSamples(FamilyConfig config);

    /// <summary>Training estimates the held-out loss every this many steps (and at the end).</summary>
    int ValidationEvery(FamilyConfig config);

    /// <summary>Batches of fixed held-out crops in each estimate.</summary>
    int ValidationBatches(FamilyConfig config);
}
