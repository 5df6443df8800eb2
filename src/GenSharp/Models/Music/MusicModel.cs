using GenSharp.Models.Gpt;
using GenSharp.Training;
using static TorchSharp.torch.nn.functional;

namespace GenSharp.Models.Music;

/// <summary>
/// A music model ready to train, score and sample: log p(piece) = Σ_i log p(token_i | tokens_&lt;i) over the
/// <see cref="MusicTokens"/> of a chorale, exact. Long pieces are scored with overlapping windows of block_size tokens
/// (each window starts on a step; a token is scored in the first window that gives it at least half a block of
/// context, or all it has). Sampling draws one token at a time over the last window, with the tokens that cannot occur
/// at a position masked out (starts everywhere; step ends in the SATB form; rests in the roll).
/// </summary>
public sealed class MusicModel : FamilyModel<MusicConfig, GptNetwork>, IMusicModel
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "music";
    /// <summary>Windows scored in one forward pass.</summary>
    const int ScoreBatch = 64;
    /// <summary>A drawn roll step ends after this many pitches (the chorales have at most 4).</summary>
    const int MaxRollNotes = 6;

    public MusicModel(MusicConfig config, Device device) : base(FamilyName, config, new GptNetwork(Decoder(config)), device) { }

    static GptConfig Decoder(MusicConfig c) => new()
    {
        NLayer = c.NLayer, NHead = c.NHead, NEmbd = c.NEmbd, BlockSize = c.BlockSize, Dropout = c.Dropout, VocabSize = MusicTokens.VocabSize,
    };

    public MusicEncoding Encoding => _config.Encoding;

    /// <summary>AdamW (decay on matrices only), warm-up then cosine decay, gradient-norm clipping: the gpt family's recipe.</summary>
    public override IReadOnlyList<OptimizerSpec> OptimizerSpecs => new[]
    {
        OptimizerSpec.TransformerAdamW("music", _net.parameters(), _config.WeightDecay, _config.LearningRate, 0.9, 0.99,
            LrSchedule.WarmupCosine(_config.WarmupSteps, _config.LrDecaySteps, _config.MinLearningRate), _config.GradClip),
    };

    /// <summary>Inputs (B, T) and next-token targets (B, T), −100 where a short piece was padded.</summary>
    public override IEnumerable<LossTerm> TrainStep(Tensor inputs, Tensor targets, StepContext ctx)
    {
        _net.train();
        var logits = _net.Forward(inputs.to(Device));                                    // (B, T, V)
        var loss = cross_entropy(logits.view(-1, logits.shape[2]), targets.to(Device).view(-1));
        ctx.Log("loss", loss);
        yield return new LossTerm(0, loss);
    }

    public MusicScore Score(IReadOnlyList<int[][]> pieces)
    {
        using var _ = torch.no_grad();
        _net.eval();
        double nats = 0;
        long tokens = 0, steps = 0;
        int block = _config.BlockSize, align = _config.Alignment, prefix = MusicTokens.Prefix(Encoding);
        int stride = Math.Max(align, block / 2 / align * align);
        foreach (var piece in pieces)
        {
            var t = MusicTokens.Encode(piece, Encoding);
            steps += piece.Length;
            // Window from input position s over at most `block` inputs; it scores targets j in (from, to] (target j = token j).
            var windows = new List<(int Start, int Length, int From, int To)>();
            int done = prefix - 1;                               // targets ≤ done are scored (the starts are not predicted)
            for (int s = 0; done < t.Length - 1; s += stride)
            {
                int length = Math.Min(block, t.Length - 1 - s);
                windows.Add((s, length, done, s + length));
                done = s + length;
            }
            tokens += t.Length - prefix;
            using var all = torch.tensor(t, device: Device);
            foreach (var group in windows.GroupBy(w => w.Length))
                foreach (var chunk in group.Chunk(ScoreBatch))
                {
                    using var scope = torch.NewDisposeScope();
                    var x = torch.stack(chunk.Select(w => all.narrow(0, w.Start, w.Length)));          // (n, L)
                    var y = torch.stack(chunk.Select(w => all.narrow(0, w.Start + 1, w.Length)));      // (n, L)
                    var nll = cross_entropy(_net.Forward(x).permute(0, 2, 1), y, reduction: nn.Reduction.None); // (n, L)
                    // Keep targets j in (From, To]: window positions p = j − 1 − Start from From − Start.
                    var keep = torch.zeros_like(nll, dtype: ScalarType.Bool);
                    for (int i = 0; i < chunk.Length; i++)
                        keep[i].narrow(0, chunk[i].From - chunk[i].Start, chunk[i].To - chunk[i].From).fill_(true);
                    nats += nll.masked_select(keep).to(ScalarType.Float64).sum().item<double>();
                }
        }
        return new MusicScore(nats, tokens, steps);
    }

    public List<int[]> Generate(MusicGenerationOptions o)
    {
        if (o.Steps < 1) throw new ParameterException("steps", $"must be ≥ 1, got {o.Steps}");
        if (o.Temperature <= 0 || !double.IsFinite(o.Temperature)) throw new ParameterException("temperature", $"must be > 0, got {o.Temperature}");
        bool satb = Encoding == MusicEncoding.Satb16;
        if (o.Soprano is not null && !satb) throw new ParameterException("melody", "needs a satb16 model (the roll has no voices)");
        if (o.Soprano is { } sop && sop.Count < o.Steps) throw new ParameterException("melody", $"has {sop.Count} steps, fewer than the {o.Steps} to draw");
        using var _ = torch.no_grad();
        _net.eval();
        using var gen = new Generator((ulong)o.Seed, Device);
        using var temperature = o.Temperature.ToScalar();
        var tokens = MusicTokens.Encode(o.Prime ?? Array.Empty<int[]>(), Encoding).ToList();
        int primeSteps = o.Prime?.Count ?? 0, prefix = MusicTokens.Prefix(Encoding), align = _config.Alignment, block = _config.BlockSize;
        int drawnSteps = 0, notesInStep = 0;
        using var mask = torch.zeros(MusicTokens.VocabSize, ScalarType.Bool);
        mask[MusicTokens.Start] = true;
        mask[satb ? MusicTokens.StepEnd : MusicTokens.RestToken] = true;
        using var maskOnDevice = mask.to(Device);
        while (drawnSteps < o.Steps)
        {
            int voice = (tokens.Count - prefix) % 4;
            long next;
            if (satb && voice == 0 && o.Soprano is { } given)
                next = given[drawnSteps] < 0 ? MusicTokens.RestToken : given[drawnSteps];
            else if (!satb && notesInStep >= MaxRollNotes)
                next = MusicTokens.StepEnd;
            else
            {
                using var scope = torch.NewDisposeScope();
                // The last window of at most `block` tokens, starting on a step.
                int start = Math.Max(0, tokens.Count - block);
                start = (start + align - 1) / align * align;
                var x = torch.tensor(tokens.Skip(start).ToArray(), device: Device).unsqueeze(0);         // (1, T)
                var logits = _net.Forward(x, lastOnly: true).view(-1).to(ScalarType.Float64);               // (V)
                using var minusInf = double.NegativeInfinity.ToScalar();
                var probs = softmax(logits.masked_fill(maskOnDevice, minusInf) / temperature, 0);
                next = torch.multinomial(probs, 1, generator: gen).item<long>();
            }
            tokens.Add(next);
            if (satb) { if (voice == 3) drawnSteps++; }
            else if (next == MusicTokens.StepEnd) { drawnSteps++; notesInStep = 0; }
            else notesInStep++;
        }
        var steps = MusicTokens.Decode(tokens, Encoding);
        if (steps.Count != primeSteps + o.Steps) throw new InvalidOperationException($"drew {steps.Count - primeSteps} steps, expected {o.Steps}");
        return steps;
    }
}
