using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Models.Music;
using GenSharp.Runtime;
using GenSharp.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests.Music;

public sealed class MusicModelTests
{
    static readonly MusicConfig Tiny = new() { NLayer = 1, NHead = 2, NEmbd = 16, BlockSize = 16, Dropout = 0, EvalInterval = 1000 };

    public MusicModelTests() => TorchRuntime.EnsureReady();

    static int[][] Piece(int steps, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, steps).Select(_ => new[] { 60 + rng.Next(12), 55 + rng.Next(8), rng.Next(4) == 0 ? -1 : 50 + rng.Next(6), 40 + rng.Next(10) }).ToArray();
    }

    [Fact]
    public void TokensRoundTripInBothForms()
    {
        var satb = new[] { new[] { 72, 67, -1, 48 }, new[] { 74, 67, 62, 47 } };
        var t = MusicTokens.Encode(satb, MusicEncoding.Satb16);
        Assert.Equal(new long[] { 130, 130, 130, 130, 72, 67, 128, 48, 74, 67, 62, 47 }, t);
        Assert.Equal(satb, MusicTokens.Decode(t, MusicEncoding.Satb16));
        var roll = new[] { new[] { 60, 64, 67 }, Array.Empty<int>(), new[] { 62 } };
        var r = MusicTokens.Encode(roll, MusicEncoding.Roll);
        Assert.Equal(new long[] { 130, 60, 64, 67, 129, 129, 62, 129 }, r);
        Assert.Equal(roll, MusicTokens.Decode(r, MusicEncoding.Roll));
    }

    [Fact]
    public void ConfigIsValidated()
    {
        var e = Assert.Throws<GenSharpException>(() => FamilyRegistry.Get("music").Build(Tiny with { BlockSize = 18 }, CPU));
        Assert.Contains("block_size", e.Message);
        Assert.Contains("music", FamilyRegistry.All.Select(f => f.Name));
    }

    /// <summary>
    /// Score against a brute force: every target token j after the starts, scored by one forward pass over its own
    /// context: the inputs from the first window start s (multiples of half a block, aligned) with s + block ≥ j, up to j.
    /// </summary>
    [Theory]
    [InlineData(MusicEncoding.Satb16, 16)]
    [InlineData(MusicEncoding.Satb16, 128)]
    [InlineData(MusicEncoding.Roll, 12)]
    public void ScoreIsTheSumOfEveryTokensNll(MusicEncoding encoding, int block)
    {
        TorchRuntime.Seed(3);
        using var model = (MusicModel)FamilyRegistry.Get("music").Build(Tiny with { Encoding = encoding, BlockSize = block }, CPU);
        var pieces = new[] { Piece(9, 1), Piece(3, 2) };
        if (encoding == MusicEncoding.Roll) pieces = pieces.Select(p => p.Select(s => s.Where(x => x >= 0).Distinct().Order().ToArray()).ToArray()).ToArray();
        var score = model.Score(pieces);
        double expected = 0;
        long tokens = 0;
        int prefix = MusicTokens.Prefix(encoding), align = encoding == MusicEncoding.Satb16 ? 4 : 1, stride = Math.Max(align, block / 2 / align * align);
        using (torch.no_grad())
            foreach (var p in pieces)
            {
                var t = MusicTokens.Encode(p, encoding);
                for (int j = prefix; j < t.Length; j++)
                {
                    int s = 0;
                    while (s + block < j) s += stride;
                    using var x = torch.tensor(t[s..j]).unsqueeze(0);
                    using var logits = model.Network.Forward(x);
                    using var logp = logits[0, -1].log_softmax(0);
                    expected -= logp[t[j]].item<float>();
                    tokens++;
                }
            }
        Assert.Equal(tokens, score.Tokens);
        Assert.Equal(12, score.Steps);
        Assert.Equal(expected, score.Nats, 2);
        Assert.Equal(score.Nats / tokens, score.PerToken, 9);
    }

    [Fact]
    public void GenerationHarmonisesContinuesAndRepeats()
    {
        TorchRuntime.Seed(4);
        using var model = (MusicModel)FamilyRegistry.Get("music").Build(Tiny, CPU);
        var soprano = new[] { 72, 72, -1, 74, 76, 76, 74, 72, 71, 72 };
        var h = model.Generate(new MusicGenerationOptions { Steps = 10, Seed = 1, Soprano = soprano });
        Assert.Equal(10, h.Count);
        Assert.Equal(soprano, h.Select(s => s[0]));
        Assert.All(h.SelectMany(s => s), p => Assert.InRange(p, -1, 127));
        var prime = Piece(5, 9);
        var c = model.Generate(new MusicGenerationOptions { Steps = 7, Seed = 2, Prime = prime });
        Assert.Equal(12, c.Count);
        Assert.Equal(prime, c.Take(5));
        var again = model.Generate(new MusicGenerationOptions { Steps = 7, Seed = 2, Prime = prime });
        Assert.Equal(c, again);
        var other = model.Generate(new MusicGenerationOptions { Steps = 7, Seed = 3, Prime = prime });
        Assert.NotEqual(c, other);
        using var roll = (MusicModel)FamilyRegistry.Get("music").Build(Tiny with { Encoding = MusicEncoding.Roll }, CPU);
        var r = roll.Generate(new MusicGenerationOptions { Steps = 6, Seed = 1 });
        Assert.Equal(6, r.Count);
        Assert.All(r, s => Assert.True(s.Length <= 6));
        Assert.Throws<ParameterException>(() => roll.Generate(new MusicGenerationOptions { Steps = 3, Soprano = soprano }));
    }

    [Fact]
    public void TrainingLowersTheValidNllAndResumes()
    {
        var dir = TestData.TempDir();
        try
        {
            var sets = new[] { "n_layer=1", "n_embd=32", "n_head=2", "block_size=64", "eval_interval=30", "learning_rate=0.003", "warmup_steps=5" };
            var r = TrainingRun.Run(new TrainRequest { Family = "music", OutDir = dir, Data = "jsb", Steps = 30, BatchSize = 8, Seed = 1, Sets = sets }, TrainingProgress.Silent);
            var lines = File.ReadAllLines(Path.Combine(dir, "metrics.jsonl"));
            var val = lines.Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!).Where(n => n["val_loss"] is not null).Select(n => n["val_loss"]!.GetValue<double>()).ToList();
            Assert.NotEmpty(val);
            Assert.True(val[^1] < Math.Log(MusicTokens.VocabSize) - 1.0, $"valid NLL {val[^1]} nats per token after 30 steps, uniform is {Math.Log(MusicTokens.VocabSize)}");
            var r2 = TrainingRun.Run(new TrainRequest { Family = "music", OutDir = dir, Steps = 32, Resume = true }, TrainingProgress.Silent);
            Assert.Equal(32, r2.Step);
        }
        finally { Directory.Delete(dir, true); }
    }
}
