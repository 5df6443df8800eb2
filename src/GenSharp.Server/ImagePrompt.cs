using System.Globalization;
using System.Text.RegularExpressions;
using GenSharp.Data;

namespace GenSharp.Server;

/// <summary>How an image request's prompt picks the class of a class-conditional model.</summary>
public static class ImagePrompt
{
    /// <summary>The words besides its own name that pick each Fashion-MNIST class.</summary>
    static readonly string[][] FashionSynonyms =
    {
        new[] { "t-shirt", "tshirt", "t shirt", "tee", "top" },
        new[] { "trouser", "trousers", "pants", "jeans" },
        new[] { "pullover", "sweater", "jumper" },
        new[] { "dress" },
        new[] { "coat", "jacket" },
        new[] { "sandal" },
        new[] { "shirt" },
        new[] { "sneaker", "trainer" },
        new[] { "bag", "handbag", "purse" },
        new[] { "ankle boot", "boot" },
    };

    /// <summary>The names of a conditional model's classes: Fashion-MNIST's for 10 classes, else "class 0" ….</summary>
    public static IReadOnlyList<string> ClassNames(int classes) =>
        classes == FashionMnist.ClassNames.Count ? FashionMnist.ClassNames : Enumerable.Range(0, classes).Select(k => $"class {k}").ToArray();

    /// <summary>
    /// The class a prompt names (a class name or a synonym, whole words, case-insensitive, plurals too; or "class K"), and
    /// its name; (null, null) for an unconditional model. A prompt naming no class, or several, is a 400 listing them.
    /// </summary>
    public static (int? Class, string? Name) PickClass(int classes, string prompt)
    {
        if (classes == 0) return (null, null);
        var names = ClassNames(classes);
        var text = prompt.ToLowerInvariant();
        var found = new SortedSet<int>();
        var numbered = Regex.Match(text, @"\bclass\s+(\d{1,4})\b");
        if (numbered.Success && int.Parse(numbered.Groups[1].Value, CultureInfo.InvariantCulture) is var k && k < classes) found.Add(k);
        if (classes == FashionMnist.ClassNames.Count)
        {
            // Longer phrases first, so "t-shirt" is not also read as "shirt"; a matched phrase is blanked out.
            var phrases = FashionSynonyms.SelectMany((words, c) => words.Select(w => (Word: w, Class: c))).OrderByDescending(p => p.Word.Length);
            foreach (var (word, c) in phrases)
            {
                var pattern = $@"(?<![\w-]){Regex.Escape(word)}(e?s)?(?![\w-])";
                if (!Regex.IsMatch(text, pattern)) continue;
                found.Add(c);
                text = Regex.Replace(text, pattern, " ");
            }
        }
        var list = string.Join(", ", names.Select((s, i) => $"{i} {s}"));
        if (found.Count == 0)
            throw ApiException.Invalid("prompt", $"the prompt names no class of this class-conditional model; name one of: {list}", "invalid_value");
        if (found.Count > 1)
            throw ApiException.Invalid("prompt", $"the prompt names several classes ({string.Join(", ", found.Select(c => names[c]))}); name one of: {list}", "invalid_value");
        return (found.Min, names[found.Min]);
    }
}
