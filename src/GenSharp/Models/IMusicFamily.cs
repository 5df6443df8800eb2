namespace GenSharp.Models;

/// <summary>
/// A family trained on symbolic music (the JSB Chorales, <see cref="Data.JsbChorales"/>) instead of images, text or audio:
/// its batches are windows of chorale tokens and its models are <see cref="IMusicModel"/>s.
/// </summary>
public interface IMusicFamily : IFamily
{
    /// <summary>The config with its learning-rate decay set for a run of <paramref name="totalSteps"/> steps when it gives none.</summary>
    FamilyConfig ForTraining(FamilyConfig config, long totalSteps);
}
