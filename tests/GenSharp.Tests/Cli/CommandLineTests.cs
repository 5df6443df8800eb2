using System.ComponentModel;
using System.Reflection;
using System.Text.RegularExpressions;
using GenSharp.Cli;
using Spectre.Console.Cli;
using Xunit;
using static GenSharp.Tests.CliTests;

namespace GenSharp.Tests;

/// <summary>The command line as a new user meets it: help, suggestions, exit codes, one-line errors that say what to change.</summary>
[Collection("Console")]
public class CommandLineTests
{
    [Fact]
    public void EveryOptionHasADescription()
    {
        foreach (var entry in GenSharpCli.Commands)
            foreach (var p in entry.Settings.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (p.GetCustomAttribute<CommandOptionAttribute>() is null && p.GetCustomAttribute<CommandArgumentAttribute>() is null) continue;
                var d = p.GetCustomAttribute<DescriptionAttribute>()?.Description;
                Assert.False(string.IsNullOrWhiteSpace(d), $"{entry.Name}: {p.Name} has no description");
            }
    }

    [Fact]
    public void HelpShowsDescriptionsAndDefaults()
    {
        var h = Run("help", "sample");
        Assert.Equal(0, h.Code);
        Assert.Contains("--guidance-scale", h.Out);
        Assert.Contains("classifier-free guidance", h.Out);
        Assert.Matches(new Regex(@"--seed <N>\s+0\s"), h.Out);          // a default shown beside its option
        Assert.Equal(h.Out, Run("sample", "--help").Out);                 // 'help CMD' is 'CMD --help'
        var root = Run("--help");
        foreach (var c in GenSharpCli.Commands) Assert.Contains(c.Name, root.Out);
        Assert.Equal(2, Run().Code);                                      // no command at all is a usage error
    }

    [Fact]
    public void TrainFamilyHelpListsTheFamilysFields()
    {
        var h = Run("train", "vae", "--help");
        Assert.Equal(0, h.Code);
        Assert.Contains("--resume", h.Out);
        Assert.Contains("vae config fields", h.Out);
        Assert.Matches(new Regex(@"latent_dim\s+16\s+Dimensionality of the Gaussian latent z"), h.Out);
        Assert.Contains("first run: --steps", h.Out);
        Assert.Equal(h.Out, Run("help", "train", "vae").Out);
    }

    [Fact]
    public void ListOneFamilyDescribesItsFieldsAndCost()
    {
        var l = Run("list", "pixelcnn");
        Assert.Equal(0, l.Code);
        Assert.Contains("3.7 GB", l.Out);                                 // the memory warning a new user needs
        Assert.Matches(new Regex(@"grad_clip\s+1\s+\S"), l.Out);
        AssertOneLineError(Run("list", "pixelcnnn"), 1, "unknown family 'pixelcnnn'");
    }

    [Fact]
    public void MistypedCommandsAndOptionsGetSuggestions()
    {
        AssertOneLineError(Run("trian", "vae"), 2, "did you mean 'train'?");
        AssertOneLineError(Run("train", "vae", "--out", "x", "--stpes", "3"), 2, "did you mean --steps?");
        AssertOneLineError(Run("sample", "x", "--guidance", "3"), 2, "did you mean --guidance-scale?");
        AssertOneLineError(Run("help", "smaple"), 2, "did you mean 'sample'?");
        Assert.Equal(1, Suggest.Distance("stpes", "steps"));   // one swap of neighbours
        Assert.Equal(2, Suggest.Distance("stps", "steeps"));
        Assert.Null(Suggest.Closest("frobnicate", new[] { "train", "sample" }));
    }

    [Fact]
    public void UsageErrorsExitTwo()
    {
        AssertOneLineError(Run("train", "vae", "--out"), 2, "--out needs a value");
        AssertOneLineError(Run("sample", "--out", "x.png"), 2, "CKPT");
        AssertOneLineError(Run("train", "vae", "--out", "x", "--resume=yes"), 2, "--resume takes no value");
        AssertOneLineError(Run("eval", "x", "--k", "many"), 2, "--k many: expected a whole number");
    }

    [Fact]
    public void BadValuesSayWhatToChange()
    {
        var dir = TestData.TempDir();
        var r = Run("train", "vae", "--out", Path.Combine(dir, "a"), "--data", "embedded", "--set", "latent_dim=abc");
        AssertOneLineError(r, 1, "--set latent_dim=abc: latent_dim must be a whole number");
        Assert.DoesNotContain("input string", r.Err);
        var file = Path.Combine(dir, "images.txt");
        File.WriteAllText(file, "x");
        AssertOneLineError(Run("train", "vae", "--out", Path.Combine(dir, "b"), "--data", file), 1, "--data " + file + " is a file");
    }

    [Fact]
    public void FamilyCapabilitiesDecideWhatAppliesWithoutNamingOneFamily()
    {
        var dir = TestData.TempDir();
        var run = Path.Combine(dir, "vae");
        var t = Run("train", "vae", "--out", run, "--data", "embedded", "--steps", "2", "--batch-size", "8", "--limit", "64",
                    "--set", "latent_dim=2", "--set", "channels=2", "--set", "hidden=8", "--sample-every", "0");
        Assert.True(t.Code == 0, t.Err);
        Assert.Contains("data: Fashion-MNIST train (embedded subset), first 64 (64 images", t.Out);   // says which data it trains on
        AssertOneLineError(Run("sample", run, "--out", Path.Combine(dir, "i.png"), "--inpaint", "test:1", "--mask", "top", "--data", "embedded"),
            1, "needs a family that inpaints (ddpm, ebm, txt2img)");
        AssertOneLineError(Run("sample", run, "--out", Path.Combine(dir, "s.png"), "--steps", "5"), 1, "--steps does not apply to vae checkpoints");
        AssertOneLineError(Run("denoise", run, "--data", "embedded", "--noise", "blur:2", "--out", Path.Combine(dir, "d.png")), 1, "unknown noise 'blur'");

        // A classifier cannot sample: no samples folder, and no pointer to one.
        var cls = Run("train", "classifier", "--out", Path.Combine(dir, "cls"), "--data", "embedded", "--steps", "2", "--batch-size", "8", "--limit", "64",
                      "--set", "channels=2", "--set", "feature_dim=4", "--set", "convs_per_stage=1");
        Assert.True(cls.Code == 0, cls.Err);
        Assert.False(Directory.Exists(Path.Combine(dir, "cls", "samples")));
        Assert.DoesNotContain("samples:", cls.Out);
    }

    [Fact]
    public void ResumeRefusesOtherData()
    {
        var dir = TestData.TempDir();
        var run = Path.Combine(dir, "vae");
        string[] common = ["--out", run, "--batch-size", "8", "--limit", "64", "--set", "latent_dim=2", "--set", "channels=2", "--set", "hidden=8", "--sample-every", "0"];
        var t = Run(["train", "vae", "--data", "embedded", "--steps", "2", .. common]);
        Assert.True(t.Code == 0, t.Err);
        var fake = Path.Combine(dir, "other");
        Directory.CreateDirectory(fake);
        foreach (var f in new[] { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz" })   // the same images, in a folder
            File.Copy(Path.Combine(RepoRoot(), "src", "GenSharp", "Data", "Embedded", f), Path.Combine(fake, f));
        var other = Run("train", "vae", "--out", run, "--data", fake, "--steps", "3", "--resume", "--batch-size", "8", "--limit", "64");
        AssertOneLineError(other, 1, "was trained on Fashion-MNIST train (embedded subset), first 64");
        var same = Run("train", "vae", "--out", run, "--steps", "3", "--resume", "--batch-size", "8", "--limit", "64");   // no --data: the recorded data
        Assert.True(same.Code == 0, same.Err);
        Assert.Contains("(embedded subset)", same.Out);
    }

    [Fact]
    public void QuickstartRunsEndToEnd()
    {
        var dir = TestData.TempDir();
        var r = Run("quickstart", "--out", dir, "--steps", "3");
        Assert.True(r.Code == 0, r.Err);
        foreach (var f in new[] { "vae_samples.png", "dcgan_samples.png", "vae/reconstructions.png", "vae/interpolation.png", "vae/loss.png", "dcgan/loss.png" })
            Assert.True(File.Exists(Path.Combine(dir, f)), f);
        var json = System.Text.Json.Nodes.JsonNode.Parse(r.Out.Trim().Split('\n')[^1])!;
        Assert.InRange(json["vae_iwae_nll"]!.GetValue<double>(), 50, 1000);   // nats of a 28×28 binarized image after 3 steps
        AssertOneLineError(Run("quickstart", "--out", dir, "--steps", "3"), 1, "already holds a run");
    }

    static string RepoRoot()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "GenSharp.sln")))
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("GenSharp.sln not found above the test binaries");
        return root;
    }

    /// <summary>No code outside a model's own folder tests for a concrete model or config type: capabilities decide.</summary>
    [Fact]
    public void NoConcreteModelTypeTestsOutsideTheirFolder()
    {
        var root = RepoRoot();
        var families = "Vae|Dcgan|PixelCnn|RealNvp|Glow|Ddpm|Gpt|Rbm|Dbn|Ebm|Classifier|PretrainedLanguage";
        var pattern = new Regex($@"\b(is|as)\s+(\w+\.)*({families})(Model|Config)\b|\(\s*(\w+\.)*({families})(Model|Config)\s*\)\s*\w");
        var offenders = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (rel.Contains("/bin/") || rel.Contains("/obj/")) continue;
            var lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
            {
                var m = pattern.Match(lines[i]);
                if (!m.Success) continue;
                var family = m.Groups[3].Success && m.Groups[3].Value.Length > 0 ? m.Groups[3].Value : m.Groups[6].Value;
                // The model's own folder may name its types (Models/Energy/ holds rbm, dbn and ebm).
                if (rel.StartsWith("src/GenSharp/Models/", StringComparison.Ordinal) && rel.Split('/').Length > 4) continue;
                offenders.Add($"{rel}:{i + 1}: {lines[i].Trim()} ({family})");
            }
        }
        Assert.True(offenders.Count == 0, string.Join("\n", offenders));
    }
}
