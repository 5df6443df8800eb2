using GenSharp.Media.Audio;

namespace GenSharp.Models.Speech;

/// <summary>Registry entry for <c>tts</c>.</summary>
public sealed class TtsFamily() : Family<TtsConfig>(TtsModel.FamilyName, (config, device) => new TtsModel(config, device),
    "text-to-speech on the Allison corpus: espeak-ng phonemes → conv + attention encoder → durations learnt by monotonic alignment search → conv decoder → log-mel → post-net → Griffin-Lim; 'gensharp speak'",
    new("0.5 s", "1.4 GB", 3000, "3,000 steps take ~27 min and give buzzy speech whose held-out loss stops falling after ~1,200 steps"), defaultBatchSize: 16), ISpeechFamily
{
    public MelSettings Mel(FamilyConfig config) => ((TtsConfig)config).Mel;
    public int MaxFrames(FamilyConfig config) => ((TtsConfig)config).MaxFrames;
    public FamilyConfig WithPhonemes(FamilyConfig config, IReadOnlyList<string> phonemes)
    {
        var c = (TtsConfig)config;
        if (c.PhonemeList.Count > 0) return c;
        var withPhonemes = c with { Phonemes = string.Join(' ', phonemes) };
        withPhonemes.Validate();
        return withPhonemes;
    }
    public IReadOnlyList<string> Phonemes(FamilyConfig config) => ((TtsConfig)config).PhonemeList;
    public int ValidationEvery(FamilyConfig config) => ((TtsConfig)config).EvalInterval;
    public int ValidationUtterances(FamilyConfig config) => ((TtsConfig)config).EvalUtterances;
}
