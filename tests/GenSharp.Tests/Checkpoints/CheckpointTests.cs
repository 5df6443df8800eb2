using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Models;
using TorchSharp;
using Xunit;

namespace GenSharp.Tests;

/// <summary>The one checkpoint type: what it writes, what it reads back, and how it reads older runs.</summary>
public class CheckpointTests
{
    static JsonObject VaeManifest(long step, JsonObject? data = null)
    {
        var family = FamilyRegistry.Get("vae");
        var manifest = Checkpoint.NewManifest(family, family.DefaultConfig, data ?? new JsonObject { ["source"] = "test" });
        manifest["step"] = step;
        return manifest;
    }

    [Fact]
    public void SavedCheckpointOpensFromItsRunFolderWithStepDataStateAndEitherWeights()
    {
        var run = TestData.TempDir();
        using var raw = torch.zeros(3);
        using var ema = torch.ones(3);
        var state = new TrainerState(5, 11, 8, 20, 0.9, 1, 2, new byte[] { 1, 2, 3 });
        Checkpoint.Save(Path.Combine(run, CheckpointFolder.RunSubfolder), VaeManifest(5), new Dictionary<string, torch.Tensor> { ["w"] = raw },
            new Dictionary<string, torch.Tensor> { ["w"] = ema }, state, w => w.Write(42), new Dictionary<string, string> { ["note.txt"] = "hi" });

        var c = Checkpoint.Open(run);                                   // the run folder resolves to its checkpoint/
        Assert.Equal(Path.Combine(run, CheckpointFolder.RunSubfolder), c.Path);
        Assert.Equal("vae", c.Family.Name);
        Assert.Equal(FamilyRegistry.Get("vae").DefaultConfig, c.Config);
        Assert.Equal(5, c.Step);
        Assert.Equal("test", c.Data.Source);
        Assert.True(c.HasEma);
        var read = c.ReadTrainerState()!;
        Assert.Equal(state with { RngState = read.RngState }, read);
        Assert.Equal(new byte[] { 1, 2, 3 }, read.RngState);
        using (var r = new BinaryReader(c.OpenOptimizerState())) Assert.Equal(42, r.ReadInt32());
        Assert.Equal("hi", File.ReadAllText(Path.Combine(c.Path, "note.txt")));

        var preferred = c.ReadWeights();
        var trained = c.ReadWeights(preferEma: false);
        Assert.Equal(new float[] { 1, 1, 1 }, preferred["w"].data<float>().ToArray());
        Assert.Equal(new float[] { 0, 0, 0 }, trained["w"].data<float>().ToArray());
        foreach (var t in preferred.Values.Concat(trained.Values)) t.Dispose();
    }

    [Fact]
    public void CheckpointWithoutTrainerStateOrEmaSaysSo()
    {
        var dir = TestData.TempDir();
        using var w = torch.zeros(2);
        Checkpoint.Save(dir, VaeManifest(1), new Dictionary<string, torch.Tensor> { ["w"] = w });
        var c = Checkpoint.Open(dir);
        Assert.Null(c.ReadTrainerState());
        Assert.False(c.HasEma);
        var e = Assert.Throws<ParameterException>(() => c.OpenEmaWeights("ema_decay"));
        Assert.Equal("ema_decay", e.Parameter);
    }

    [Fact]
    public void TrainerStateOfAnotherFormatIsRefusedNamingTheFile()
    {
        var path = Path.Combine(TestData.TempDir(), "trainer_state.json");
        File.WriteAllText(path, "{\"format_version\": 2, \"step\": 1}");
        var e = Assert.Throws<GenSharpException>(() => TrainerState.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("format 2", e.Message);
        File.WriteAllText(path, "{ not json");
        Assert.Contains(path, Assert.Throws<GenSharpException>(() => TrainerState.Read(path)).Message);
    }

    [Fact]
    public void HuggingFaceFolderIsNotOpenedAsAnImageCheckpoint()
    {
        var dir = TestData.TempDir();
        File.WriteAllText(Path.Combine(dir, CheckpointFolder.ConfigFile), "{\"model_type\": \"gpt2\"}");
        File.WriteAllBytes(Path.Combine(dir, CheckpointFolder.ModelFile), Array.Empty<byte>());
        var e = Assert.Throws<GenSharpException>(() => Checkpoint.Open(dir));
        Assert.Contains("Hugging Face model folder", e.Message);
    }

    [Theory]
    [InlineData("{\"source\": \"x\", \"location\": \"/data/fm\"}", "/data/fm")]                              // recorded
    [InlineData("{\"source\": \"Fashion-MNIST train from /data/fm, first 64\"}", "/data/fm")]               // before locations were recorded
    [InlineData("{\"source\": \"Fashion-MNIST train from /data/fm\"}", "/data/fm")]
    [InlineData("{\"source\": \"Fashion-MNIST train (embedded subset), first 64\"}", "embedded")]
    [InlineData("{\"source\": \"something else\"}", null)]
    [InlineData("{}", null)]
    public void ImageLocationOfRecordedData(string json, string? expected) =>
        Assert.Equal(expected, new RecordedData(JsonNode.Parse(json)!.AsObject()).ImageLocation);

    [Fact]
    public void SameTextByAbsolutePathOrForOlderRunsByNameAndLength()
    {
        var file = Path.Combine(TestData.TempDir(), "corpus.txt");
        var other = Path.Combine(TestData.TempDir(), "corpus.txt");
        var absolute = new RecordedData(new JsonObject { ["source"] = file, ["characters"] = 10L });
        Assert.True(absolute.IsSameText(file, 10));
        Assert.False(absolute.IsSameText(other, 10));                      // same name elsewhere
        var typed = new RecordedData(new JsonObject { ["source"] = "corpus.txt", ["characters"] = 10L });
        Assert.True(typed.IsSameText(other, 10));
        Assert.False(typed.IsSameText(other, 11));                         // another length
        Assert.False(typed.IsSameText(Path.Combine(Path.GetDirectoryName(other)!, "b.txt"), 10));
        Assert.True(new RecordedData(null).IsSameText(file, 3));           // nothing recorded: nothing to refuse
    }
}
