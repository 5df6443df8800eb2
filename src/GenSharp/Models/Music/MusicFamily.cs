namespace GenSharp.Models.Music;

/// <summary>Registry entry for <c>music</c>.</summary>
public sealed class MusicFamily() : Family<MusicConfig>(MusicModel.FamilyName, (config, device) => new MusicModel(config, device),
    "music transformer on the JSB Chorales: a GPT over the four voices per 16th note (or the quarter-note piano roll); exact test NLL per note and per step, new chorales, continuation, harmonisation; MIDI + FluidSynth WAV",
    new("0.1 s", "400 MB", 2000), defaultBatchSize: 16), IMusicFamily
{
    public FamilyConfig ForTraining(FamilyConfig config, long totalSteps)
    {
        var c = (MusicConfig)config;
        return c.LrDecaySteps > 0 ? c : c with { LrDecaySteps = totalSteps };
    }
}
