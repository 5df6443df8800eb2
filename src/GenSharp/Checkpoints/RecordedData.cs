using System.Text.Json.Nodes;
using GenSharp.Data;

namespace GenSharp.Checkpoints;

/// <summary>
/// The data a run was trained on, as its manifest records it (<c>config.json</c>'s <c>data</c> object), so that a
/// resumed run continues on the same data and refuses other data.
/// </summary>
public sealed class RecordedData
{
    readonly JsonObject _json;

    /// <param name="json">The manifest's <c>data</c> object (null for a checkpoint that recorded none).</param>
    public RecordedData(JsonObject? json) => _json = json ?? new JsonObject();

    /// <summary>How the data described itself (an image dataset's source line, or a text file's path).</summary>
    public string? Source => _json["source"]?.GetValue<string>();

    /// <summary>Characters of the text a text family was trained on; null for image data and older text runs.</summary>
    public long? Characters => _json["characters"]?.GetValue<long>();

    /// <summary>
    /// Where the image data came from: the recorded <c>location</c>, or for runs written before it was recorded, the folder
    /// named in the source ("Fashion-MNIST train from DIR[, ...]") or the embedded subset; null when unknown.
    /// </summary>
    public string? ImageLocation
    {
        get
        {
            if (_json["location"]?.GetValue<string>() is { } location) return location;
            return LocationIn(Source);
        }
    }

    /// <summary>
    /// Whether <paramref name="path"/> (<paramref name="characters"/> long) is the text the run was trained on: the same
    /// absolute path; runs written before paths were recorded absolute kept the path as typed, so for those the file
    /// name and the character count must match. True when the run recorded no text.
    /// </summary>
    public bool IsSameText(string path, long characters)
    {
        if (Source is not { } recorded) return true;
        return System.IO.Path.IsPathRooted(recorded)
            ? System.IO.Path.GetFullPath(recorded) == System.IO.Path.GetFullPath(path)
            : System.IO.Path.GetFileName(recorded) == System.IO.Path.GetFileName(path) && (Characters is null || Characters == characters);
    }

    /// <summary>The <c>data</c> object of an image run.</summary>
    /// <param name="data">The training images as used (after class exclusion and limits).</param>
    /// <param name="location">The data location asked for (a folder or <see cref="FashionMnist.Embedded"/>); null for the default resolution.</param>
    /// <param name="loadedSource">Source line of the training split as loaded (names the folder the default resolution found).</param>
    /// <param name="excludeClass">The class left out, if any.</param>
    public static JsonObject Images(ImageDataset data, string? location, string loadedSource, int? excludeClass) => new()
    {
        ["source"] = data.Source,
        ["location"] = location is null ? LocationIn(loadedSource)
            : string.Equals(location, FashionMnist.Embedded, StringComparison.OrdinalIgnoreCase) ? FashionMnist.Embedded : System.IO.Path.GetFullPath(location),
        ["images"] = data.Count,
        ["exclude_class"] = excludeClass,
    };

    /// <summary>The <c>data</c> object of a text run: the file's absolute path and the corpus counts.</summary>
    public static JsonObject Text(string path, TextCorpus corpus) => new()
    {
        ["source"] = path,
        ["characters"] = corpus.Characters,
        ["tokens"] = corpus.Tokens.Length,
        ["train_tokens"] = corpus.TrainTokens.Count,
        ["validation_tokens"] = corpus.ValidationTokens.Count,
    };

    static string? LocationIn(string? source)
    {
        if (source is null) return null;
        if (source.Contains("(embedded subset)", StringComparison.Ordinal)) return FashionMnist.Embedded;
        int from = source.IndexOf(" from ", StringComparison.Ordinal);
        if (from < 0) return null;
        var rest = source[(from + 6)..];
        int cut = rest.IndexOfAny(new[] { ',', ' ' });
        return cut < 0 ? rest : rest[..cut];
    }
}
