using System.Runtime.CompilerServices;
using System.Text;
using GenSharp.Models;
using GenSharp.Text;

namespace GenSharp.Sampling;

/// <summary>
/// Autoregressive decoding of a <see cref="ILanguageModel"/>: prompts in, text pieces out as they are
/// decoded. A batch of prompts runs in lockstep: all rows are fed their shortest common prompt length
/// at once, then one position per step, where a row whose prompt is longer is fed its next prompt token
/// instead of a sampled one, so no padding or attention mask is needed and every row gets exactly what
/// it would get alone. When the tokenizer asks for it (<see cref="ITokenizer.AddBosToken"/>) each prompt starts
/// with its start-of-sequence token, so an empty prompt is fine; a row that generates one of the tokenizer's
/// <see cref="ITokenizer.EosTokenIds"/> stops with finish reason "stop".
/// </summary>
/// <remarks>
/// With the KV cache each step feeds one token. When the cache is full (the context is used up) it is
/// rebuilt from the last half of the context, so decoding past the context costs one prefill every
/// context/2 tokens; without the cache (<see cref="GenerationOptions.UseCache"/> false) every step
/// recomputes the last context tokens. The two agree token for token while the text fits the context.
/// </remarks>
public sealed class TextGenerator
{
    readonly ILanguageModel _model;
    readonly ITokenizer _tokenizer;

    public TextGenerator(ILanguageModel model, ITokenizer tokenizer)
    {
        if (tokenizer.VocabSize != model.VocabSize)
            throw new GenSharpException($"the tokenizer has {tokenizer.VocabSize} tokens but the model {model.VocabSize}; they come from different checkpoints");
        _model = model;
        _tokenizer = tokenizer;
    }

    /// <summary>Streams the text generated for one prompt, piece by piece.</summary>
    public async IAsyncEnumerable<string> StreamAsync(string prompt, GenerationOptions options,
        [EnumeratorCancellation] CancellationToken cancel = default)
    {
        foreach (var piece in Run(new[] { prompt }, options, null, cancel))
        {
            yield return piece.Text;
            await Task.Yield();
        }
    }

    /// <summary>Generates for every prompt (one batch) and returns the whole texts.</summary>
    public IReadOnlyList<GenerationResult> Generate(IReadOnlyList<string> prompts, GenerationOptions options, CancellationToken cancel = default)
    {
        var results = new GenerationResult[prompts.Count];
        foreach (var _ in Run(prompts, options, results, cancel)) { }
        return results;
    }

    /// <summary>
    /// The decoding loop: yields text pieces as they become final (held back while they could be the
    /// start of a stop sequence) and fills <paramref name="results"/> when given.
    /// </summary>
    public IEnumerable<TextPiece> Run(IReadOnlyList<string> prompts, GenerationOptions options, GenerationResult[]? results = null,
        CancellationToken cancel = default)
    {
        options.Validate();
        if (prompts.Count == 0) throw new GenSharpException("give at least one prompt");
        int context = _model.ContextLength;
        int? bos = _tokenizer.AddBosToken ? _tokenizer.BosTokenId : null;
        var eos = options.IgnoreEos ? new HashSet<int>() : _tokenizer.EosTokenIds.ToHashSet();
        var promptIds = prompts.Select(p =>
        {
            if (string.IsNullOrEmpty(p) && bos is null) throw new ParameterException("prompt", "must not be empty: the model has no start-of-text token to begin from");
            var ids = _tokenizer.Encode(p ?? "");
            if (bos is { } b) ids = ids.Prepend(b).ToArray();                   // the tokenizer asks for a start-of-sequence token
            return ids.Length > context ? ids[^context..] : ids;               // the model cannot see further back
        }).ToArray();
        int rows = promptIds.Length;
        var seqs = promptIds.Select(p => new List<int>(p)).ToArray();
        int common = promptIds.Min(p => p.Length);
        foreach (var s in seqs) s.RemoveRange(common, s.Count - common);        // fed in lockstep from here
        var state = promptIds.Select(_ => new StreamedText(new TokenStreamDecoder(_tokenizer))).ToArray();
        int maxStop = options.StopSequences.Count == 0 ? 0 : options.StopSequences.Max(s => s.Length);

        // Grad mode and dispose scopes are per thread, and an async consumer may resume this iterator on
        // another thread: both are entered and left within each step, never across a yield.
        using var cache = options.UseCache ? _model.CreateCache() : null;
        using var generator = new Generator((ulong)options.Seed);
        Tensor? pending = null;                                                 // (B, V) logits of the next position, on the CPU
        bool lookup = options.UsesPromptLookup(rows);
        var verified = new Queue<Tensor>();                                     // prompt lookup: logits (1, V) of accepted draft positions, in order
        try
        {
            using (torch.no_grad())
            using (var scope = torch.NewDisposeScope())
            {
                pending = Forward(seqs, common, cache, context).MoveToOuterDisposeScope();
            }
            while (state.Any(r => !r.Done) && options.MaxNewTokens > 0)
            {
                cancel.ThrowIfCancellationRequested();
                int length = seqs[0].Count;
                var pieces = new List<TextPiece>();
                using (torch.no_grad())
                using (var scope = torch.NewDisposeScope())
                {
                    Tensor? previous = options.RepetitionPenalty != 1.0 ? History(seqs) : null;
                    Tensor? counts = options.PenalisesGenerated
                        ? TokenSampling.Counts(seqs.Select((s, r) => (IReadOnlyList<int>)s.Skip(promptIds[r].Length).ToArray()).ToArray(), _model.VocabSize)
                        : null;
                    var next = TokenSampling.Next(pending!, previous, options, generator, counts).data<long>().ToArray();
                    for (int r = 0; r < rows; r++)
                    {
                        bool inPrompt = length < promptIds[r].Length;
                        int token = inPrompt ? promptIds[r][length] : (int)next[r];
                        seqs[r].Add(token);
                        if (inPrompt || state[r].Done) continue;
                        var text = eos.Contains(token) ? state[r].EndOfSequence() : state[r].Push(token, options, maxStop);
                        if (text.Length > 0) pieces.Add(new TextPiece(r, text));
                    }
                }
                pending.Dispose();
                pending = null;
                foreach (var p in pieces) yield return p;
                if (state.All(r => r.Done)) break;
                if (verified.Count > 0) { pending = verified.Dequeue(); continue; }   // an accepted draft token: already in the cache
                using (torch.no_grad())
                using (var scope = torch.NewDisposeScope())
                {
                    if (lookup && length + 1 >= promptIds[0].Length
                        && Verify(seqs[0], cache!, context, options.PromptLookup, Stats) is { } rowsOfLogits)
                    {
                        pending = rowsOfLogits[0].MoveToOuterDisposeScope();
                        foreach (var row in rowsOfLogits.Skip(1)) verified.Enqueue(row.MoveToOuterDisposeScope());
                    }
                    else pending = Forward(seqs, 1, cache, context).MoveToOuterDisposeScope();
                }
            }
        }
        finally
        {
            pending?.Dispose();
            while (verified.Count > 0) verified.Dequeue().Dispose();
        }
        for (int r = 0; r < rows; r++)
        {
            var rest = state[r].Finish();
            if (rest.Length > 0) yield return new TextPiece(r, rest);
            if (results is not null)
                results[r] = new GenerationResult(state[r].Text, promptIds[r].Length, state[r].Generated, state[r].FinishReason);
        }
    }

    /// <summary>
    /// Logits (B, V) of the position after the sequences, on the CPU. With a cache, feeds only the last
    /// <paramref name="fresh"/> tokens (rebuilding the cache from the last half context when it is full);
    /// without, recomputes the last context tokens.
    /// </summary>
    Tensor Forward(List<int>[] seqs, int fresh, KvCache? cache, int context)
    {
        int length = seqs[0].Count;
        int feed;
        if (cache is null) feed = Math.Min(length, context);
        else if (cache.Length + fresh > context)
        {
            cache.Reset();
            feed = Math.Min(length, Math.Max(1, context / 2));
        }
        else feed = fresh;
        var ids = new long[seqs.Length * feed];
        for (int r = 0; r < seqs.Length; r++)
            for (int t = 0; t < feed; t++) ids[r * feed + t] = seqs[r][length - feed + t];
        using var tokens = torch.tensor(ids, new long[] { seqs.Length, feed }, device: _model.Device);
        return _model.Logits(tokens, cache, lastOnly: true).squeeze(1).cpu();    // (B, V)
    }

    /// <summary>Counts of prompt-lookup drafts: tokens proposed and accepted, over the generator's life.</summary>
    public PromptLookupStats Stats { get; } = new();

    /// <summary>
    /// Prompt-lookup speculative decoding (Saxena 2023), one greedy sequence: finds the latest earlier occurrence of the
    /// sequence's last n tokens (n = 3, 2, 1) and proposes the up to <paramref name="draft"/> tokens that followed it; feeds
    /// the newest token and the draft in one pass; keeps the draft as far as each token is the argmax of the position
    /// before it. Returns the logits (1, V) of the newest token and of each kept draft token, in order, with the cache
    /// cut back to them; null when nothing is found (the caller feeds the newest token alone).
    /// </summary>
    Tensor[]? Verify(List<int> seq, KvCache cache, int context, int draft, PromptLookupStats stats)
    {
        // Every token but the newest is in the cache (or was dropped from it with the context's first half).
        int room = context - cache.Length - 1;
        var proposal = Lookup(seq, Math.Min(draft, room));
        if (proposal.Count == 0) return null;
        var ids = new long[1 + proposal.Count];
        ids[0] = seq[^1];
        for (int i = 0; i < proposal.Count; i++) ids[i + 1] = proposal[i];
        using var tokens = torch.tensor(ids, new long[] { 1, ids.Length }, device: _model.Device);
        int before = cache.Length;
        using var logits = _model.Logits(tokens, cache).squeeze(0).cpu();      // (1 + k, V)
        var best = logits.argmax(1).data<long>().ToArray();
        int kept = 0;
        while (kept < proposal.Count && best[kept] == proposal[kept]) kept++;
        cache.Truncate(before + 1 + kept);
        stats.Add(proposal.Count, kept);
        // The kept draft tokens join the sequence as the decoding loop samples them again from these rows (same argmax).
        return Enumerable.Range(0, kept + 1).Select(i => logits.narrow(0, i, 1).clone()).ToArray();
    }

    /// <summary>The tokens that followed the latest earlier occurrence of the sequence's last 3, 2 or 1 tokens (at most <paramref name="max"/>).</summary>
    static List<int> Lookup(List<int> seq, int max)
    {
        var found = new List<int>();
        if (max <= 0) return found;
        for (int n = Math.Min(3, seq.Count - 1); n >= 1; n--)
        {
            for (int start = seq.Count - n - 1; start >= 0; start--)
            {
                bool match = true;
                for (int j = 0; j < n && match; j++) match = seq[start + j] == seq[seq.Count - n + j];
                if (!match) continue;
                for (int j = start + n; j < seq.Count - n && found.Count < max; j++) found.Add(seq[j]);
                if (found.Count > 0) return found;
            }
        }
        return found;
    }

    static Tensor History(List<int>[] seqs)
    {
        int length = seqs[0].Count;
        var ids = new long[seqs.Length * length];
        for (int r = 0; r < seqs.Length; r++)
            for (int t = 0; t < length; t++) ids[r * length + t] = seqs[r][t];
        return torch.tensor(ids, new long[] { seqs.Length, length });
    }
}
