using GenSharp.Media.Audio;

namespace GenSharp.Models;

/// <summary>
/// A family trained on transcribed speech (the Allison corpus): its batches are whole utterances as phonemes and
/// spectrogram frames (<see cref="Data.SpeechBatches"/>), and its models are <see cref="ISpeechModel"/>s.
/// </summary>
public interface ISpeechFamily : IFamily
{
    /// <summary>The spectrogram the data source computes.</summary>
    MelSettings Mel(FamilyConfig config);
    /// <summary>Longer training utterances are left out.</summary>
    int MaxFrames(FamilyConfig config);
    /// <summary>The config with its phoneme vocabulary set (when it has none).</summary>
    FamilyConfig WithPhonemes(FamilyConfig config, IReadOnlyList<string> phonemes);
    /// <summary>The phoneme vocabulary of the config.</summary>
    IReadOnlyList<string> Phonemes(FamilyConfig config);
    /// <summary>Training estimates the held-out losses every this many steps (and at the end).</summary>
    int ValidationEvery(FamilyConfig config);
    /// <summary>Held-out utterances in each estimate.</summary>
    int ValidationUtterances(FamilyConfig config);
}
