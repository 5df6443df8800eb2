namespace GenSharp.LoadGen;

/// <summary>Prompts of about P words drawn from a fixed list, different for every request but reproducible from the seed.</summary>
static class Prompts
{
    static readonly string[] Words =
    {
        "river", "stone", "garden", "window", "morning", "paper", "silver", "forest", "engine", "quiet", "yellow", "market",
        "winter", "bridge", "letter", "candle", "harbor", "planet", "ladder", "meadow", "copper", "signal", "orange", "pencil",
        "thunder", "valley", "kettle", "violin", "anchor", "basket", "circle", "desert", "feather", "glass", "honey", "island",
        "jacket", "kitchen", "lantern", "mirror", "needle", "ocean", "pepper", "rabbit", "saddle", "tunnel", "umbrella", "wagon",
        "the", "a", "of", "and", "to", "in", "on", "with", "under", "over", "slowly", "brightly", "after", "before",
    };

    /// <summary>The prompt of request <paramref name="index"/> of client <paramref name="client"/>.</summary>
    public static string Make(int words, long seed, int client, int index)
    {
        // HashCode.Combine is salted per process; this mix is the same in every run.
        var random = new Random(unchecked((int)(seed * 1_000_003 + client * 10_007L + index)));
        return string.Join(' ', Enumerable.Range(0, words).Select(_ => Words[random.Next(Words.Length)]));
    }
}
