using GenSharp.Text;

namespace GenSharp.Models;

/// <summary>
/// A family trained on a UTF-8 text file instead of images: it learns a tokenizer on the text and
/// completes its config from it (vocabulary size) before the model is built. Its models are
/// <see cref="ILanguageModel"/>s and its batches are token windows.
/// </summary>
public interface ITextFamily : IFamily
{
    /// <summary>Learns the tokenizer the config asks for on the training text.</summary>
    ITokenizer CreateTokenizer(FamilyConfig config, string text);

    /// <summary>The config with the tokenizer's vocabulary size and the run's length filled in.</summary>
    FamilyConfig ForTraining(FamilyConfig config, ITokenizer tokenizer, long totalSteps);

    /// <summary>Tokens per training window.</summary>
    int ContextLength(FamilyConfig config);

    /// <summary>Training estimates the validation loss every this many steps (and at the end).</summary>
    int ValidationEvery(FamilyConfig config);

    /// <summary>Batches of validation windows in each estimate.</summary>
    int ValidationBatches(FamilyConfig config);
}
