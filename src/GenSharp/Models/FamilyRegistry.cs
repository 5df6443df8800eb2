using GenSharp.Models.Autoregressive;
using GenSharp.Models.Classifier;
using GenSharp.Models.Diffusion;
using GenSharp.Models.Energy;
using GenSharp.Models.Flows;
using GenSharp.Models.Gan;
using GenSharp.Models.Gpt;
using GenSharp.Models.Vae;

namespace GenSharp.Models;

/// <summary>Maps family names to families, so front ends treat every family alike.</summary>
public static class FamilyRegistry
{
    static readonly Dictionary<string, IFamily> Families = new(StringComparer.Ordinal);

    static FamilyRegistry()
    {
        Register(new VaeFamily());
        Register(new ClassifierFamily());
        Register(new DcganFamily());
        Register(new PixelCnnFamily());
        Register(new GlowFamily());
        Register(new RealNvpFamily());
        Register(new DdpmFamily());
        Register(new GptFamily());
        Register(new RbmFamily());
        Register(new DbnFamily());
        Register(new EbmFamily());
    }

    /// <summary>Adds a family (name must be new).</summary>
    public static void Register(IFamily family)
    {
        if (!Families.TryAdd(family.Name, family))
            throw new InvalidOperationException($"family '{family.Name}' is registered twice");
    }

    /// <summary>Every registered family, by name.</summary>
    public static IReadOnlyList<IFamily> All => Families.Values.OrderBy(f => f.Name, StringComparer.Ordinal).ToList();

    /// <summary>The family called <paramref name="name"/>, or a one-line error listing the known ones.</summary>
    public static IFamily Get(string name) =>
        Families.TryGetValue(name, out var f) ? f
        : throw new GenSharpException($"unknown family '{name}'; known families: {string.Join(", ", Families.Keys.Order())}");
}
