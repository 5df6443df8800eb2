using GenSharp.Data;
using Xunit;

namespace GenSharp.Tests.Music;

public sealed class JsbChoralesTests
{
    [Fact]
    public void EmbeddedCopyHasTheStandardSplit()
    {
        var jsb = JsbChorales.Load("jsb");
        // Boulanger-Lewandowski et al. 2012: 229 / 76 / 77 pieces.
        Assert.Equal(new[] { 229, 76, 77 }, JsbChorales.Splits.Select(s => jsb.Satb[s].Count));
        Assert.Equal(new[] { 229, 76, 77 }, JsbChorales.Splits.Select(s => jsb.Roll[s].Count));
        Assert.Equal(new[] { 55228, 18408, 18900 }, JsbChorales.Splits.Select(s => jsb.Satb[s].Sum(p => p.Length)));
        Assert.Equal(new[] { 13807, 4602, 4725 }, JsbChorales.Splits.Select(s => jsb.Roll[s].Sum(p => p.Length)));
        Assert.Equal(new[] { 65, 60, 57, 53 }, jsb.Satb["test"][0][0]);   // the first test chord, soprano first
        Assert.Equal(new[] { 72, 76, 79, 84 }, jsb.Roll["test"][0][0]);
        Assert.All(jsb.Satb["train"].SelectMany(p => p), s => Assert.True(s[0] == -1 || s[3] == -1 || s[0] >= s[3]));
    }

    [Fact]
    public void FolderAndErrors()
    {
        var e = Assert.Throws<ParameterException>(() => JsbChorales.Load("/nonexistent/jsb"));
        Assert.Contains("no such folder", e.Message);
        var dir = TestData.TempDir();
        try
        {
            File.WriteAllText(Path.Combine(dir, "Jsb16thSeparated.json"), """{"train": [[[72, 67, 64, 48]]], "valid": [], "test": []}""");
            e = Assert.Throws<ParameterException>(() => JsbChorales.Load(dir));
            Assert.Contains("jsb-chorales-quarter.json", e.Message);
            File.WriteAllText(Path.Combine(dir, "jsb-chorales-quarter.json"), """{"train": [[[67, 60]]], "valid": [], "test": []}""");
            var jsb = JsbChorales.Load(dir);
            Assert.Equal(new[] { 72, 67, 64, 48 }, jsb.Satb["train"][0][0]);
            Assert.Equal(new[] { 60, 67 }, jsb.Roll["train"][0][0]);          // sorted ascending
            File.WriteAllText(Path.Combine(dir, "Jsb16thSeparated.json"), """{"train": [[[72, 67, 64]]], "valid": [], "test": []}""");
            e = Assert.Throws<ParameterException>(() => JsbChorales.Load(dir));
            Assert.Contains("3 voices", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
