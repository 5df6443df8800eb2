using Xunit;

namespace GenSharp.Tests;

public class ElfPatchTests
{
    static string? PristineShim()
    {
        var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                   ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var p = Path.Combine(root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        return File.Exists(p) ? p : null;
    }

    [Fact]
    public void MarksTheRequirementWeakOnceAndOnlyThatOne()
    {
        var src = PristineShim();
        Assert.True(src is not null, "TorchSharp's package must be in the NuGet cache after restore");
        var copy = Path.Combine(TestData.TempDir(), "libLibTorchSharp.so");
        File.Copy(src!, copy);
        var first = ElfVersionPatch.MarkWeak(copy, "GLIBCXX_3.4.32");
        Assert.True(first is ElfVersionPatch.Outcome.Patched or ElfVersionPatch.Outcome.AlreadyWeak);
        var bytes = File.ReadAllBytes(copy);
        Assert.Equal(ElfVersionPatch.Outcome.AlreadyWeak, ElfVersionPatch.MarkWeak(copy, "GLIBCXX_3.4.32")); // idempotent
        Assert.Equal(bytes, File.ReadAllBytes(copy));
        Assert.Equal(ElfVersionPatch.Outcome.NotReferenced, ElfVersionPatch.MarkWeak(copy, "GLIBCXX_9.9.9"));
        // Exactly 1 flag bit differs from the pristine file (or none if the package was pre-patched).
        var diff = File.ReadAllBytes(src!).Zip(bytes).Count(p => p.First != p.Second);
        Assert.InRange(diff, 0, 1);
    }

    [Fact]
    public void NonElfIsLeftAlone()
    {
        var f = Path.Combine(TestData.TempDir(), "x.so");
        File.WriteAllText(f, "not an elf file at all, just text........................................");
        Assert.Equal(ElfVersionPatch.Outcome.NotElf64, ElfVersionPatch.MarkWeak(f, "GLIBCXX_3.4.32"));
    }
}
