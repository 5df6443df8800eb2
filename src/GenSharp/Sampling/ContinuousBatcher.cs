using System.Text;
using System.Threading.Channels;
using GenSharp.Models;
using GenSharp.Text;

namespace GenSharp.Sampling;

/// <summary>
/// Continuous batching (Yu et al. 2022, Orca's iteration-level scheduling): many independent sequences share one
/// decoder. Each step feeds the newest token of every running sequence as one batch; a sequence added meanwhile is
/// prefilled alone and joins the batch at the next step, and one that finishes (stop, length, end of sequence or
/// cancelled) leaves at once, its slot taken by the next waiting one. Every sequence has its own sampling options,
/// its own seeded generator and its own rows of a <see cref="SlotKvCache"/>, so what it generates does not depend on
/// its neighbours (up to float rounding of batched matrix products: a different batch size may change the last bit
/// of a logit).
/// </summary>
/// <remarks>
/// Run it on its own thread with <see cref="Start"/> (as a server does), or drive it with <see cref="Step"/> from one
/// thread. A prompt is at most the context long. A sequence that fills the context goes on as <see cref="TextGenerator"/>
/// does: its row is rebuilt from the last half of the context (one prefill every context/2 tokens). Prompts of the same
/// token ids added together (the n choices of one request) are prefilled once and their cache rows copied.
/// </remarks>
public sealed class ContinuousBatcher : IDisposable
{
    readonly ILanguageModel _model;
    readonly ITokenizer _tokenizer;
    readonly SlotKvCache _cache;
    readonly object _sync = new();
    readonly Queue<BatchedSequence> _waiting = new();
    readonly List<BatchedSequence> _running = new();          // row i lives in cache slot i
    readonly SemaphoreSlim _wake = new(0);
    readonly HashSet<int> _eos;
    Thread? _thread;
    volatile bool _stopping;
    bool _disposed;

    /// <param name="model">The decoder.</param>
    /// <param name="tokenizer">Its tokenizer (only <see cref="ITokenizer.TokenBytes"/> is used, which is safe beside other threads' encoding).</param>
    /// <param name="maxRows">Most sequences decoded at once; further ones wait their turn.</param>
    public ContinuousBatcher(ILanguageModel model, ITokenizer tokenizer, int maxRows = 16)
    {
        if (maxRows < 1) throw new ParameterException("max_rows", $"must be ≥ 1, got {maxRows}");
        if (tokenizer.VocabSize != model.VocabSize)
            throw new GenSharpException($"the tokenizer has {tokenizer.VocabSize} tokens but the model {model.VocabSize}; they come from different checkpoints");
        (_model, _tokenizer) = (model, tokenizer);
        _cache = model.CreateSlotCache(maxRows);
        _eos = tokenizer.EosTokenIds.ToHashSet();
    }

    /// <summary>Most sequences decoded at once.</summary>
    public int MaxRows => _cache.Slots;
    /// <summary>Sequences in the running batch.</summary>
    public int Running { get { lock (_sync) return _running.Count; } }
    /// <summary>Sequences waiting for a free row.</summary>
    public int Waiting { get { lock (_sync) return _waiting.Count; } }
    /// <summary>Raised on the batcher's thread after each decode step with the number of sequences it fed one token.</summary>
    public event Action<int>? Decoded;

    /// <summary>
    /// The prompt's token ids as the model expects them: its start-of-sequence token first when the tokenizer asks for
    /// one. Not thread-safe (tokenizers cache merges): callers sharing a tokenizer serialise this.
    /// </summary>
    public static int[] PromptIds(ITokenizer tokenizer, string prompt)
    {
        int? bos = tokenizer.AddBosToken ? tokenizer.BosTokenId : null;
        if (string.IsNullOrEmpty(prompt) && bos is null) throw new ParameterException("prompt", "must not be empty: the model has no start-of-text token to begin from");
        var ids = tokenizer.Encode(prompt ?? "");
        return bos is { } b ? ids.Prepend(b).ToArray() : ids;
    }

    /// <summary>
    /// Queues a sequence. <paramref name="logprobs"/>: −1 for none, 0 for the log-probability of each generated token,
    /// k &gt; 0 for that and the k most likely alternatives. Cancelling <paramref name="cancel"/> (or
    /// <see cref="BatchedSequence.Cancel"/>) ends it at the next step and frees its row.
    /// </summary>
    /// <exception cref="ParameterException">Bad options, an empty prompt, or one longer than the context.</exception>
    public BatchedSequence Add(IReadOnlyList<int> promptIds, GenerationOptions options, int logprobs = -1, CancellationToken cancel = default)
    {
        options.Validate();
        if (promptIds.Count == 0) throw new ParameterException("prompt", "must hold at least one token");
        if (promptIds.Count > _model.ContextLength)
            throw new ParameterException("prompt", $"is {promptIds.Count} tokens but the model's context is {_model.ContextLength}");
        if (logprobs > 20) throw new ParameterException("top_logprobs", $"must be at most 20, got {logprobs}");
        foreach (var id in promptIds)
            if (id < 0 || id >= _model.VocabSize) throw new ParameterException("prompt", $"token id {id} is outside the vocabulary of {_model.VocabSize}");
        var sequence = new BatchedSequence(promptIds.ToArray(), options, logprobs, new TokenStreamDecoder(_tokenizer)) { OnCancel = () => _wake.Release() };
        if (cancel.CanBeCanceled) sequence.Registration = cancel.Register(sequence.Cancel);
        lock (_sync)
        {
            if (_disposed)
            {
                sequence.Finish(cancelled: true);
                throw new ObjectDisposedException(nameof(ContinuousBatcher));
            }
            _waiting.Enqueue(sequence);
        }
        _wake.Release();
        return sequence;
    }

    /// <summary>Runs the batch on a dedicated background thread until disposed (torch's per-thread state stays on it).</summary>
    public void Start()
    {
        lock (_sync)
        {
            if (_thread is not null) return;
            _thread = new Thread(Loop) { IsBackground = true, Name = "GenSharp continuous batcher" };
            _thread.Start();
        }
    }

    void Loop()
    {
        while (!_stopping)
        {
            bool more;
            try { more = Step(); }
            catch (Exception e)
            {
                // A failed step (out of memory, a bug) ends the sequences it touched, not the batcher.
                FailRunning(e);
                more = false;
            }
            if (!more) _wake.Wait(TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>
    /// One iteration: frees the rows of cancelled sequences, admits waiting sequences into free rows (prefilling each), samples the next token of every
    /// running sequence, retires the finished ones, and feeds the rest one token further. False when nothing is left to do.
    /// Call from one thread only, and not after <see cref="Start"/>.
    /// </summary>
    public bool Step()
    {
        Retire();                                                                                  // rows cancelled since the last step
        Admit();
        if (_running.Count == 0) return Waiting > 0;
        Sample();
        Retire();
        if (_running.Count > 0) Decode();
        return _running.Count > 0 || Waiting > 0;
    }

    void Admit()
    {
        lock (_sync)
            if (_waiting.Any(w => w.Cancelled))
            {
                // Cancelled while waiting: end them now rather than when a row frees up.
                var keep = _waiting.Where(w => !w.Cancelled).ToArray();
                foreach (var w in _waiting.Where(w => w.Cancelled)) w.Finish(cancelled: true);
                _waiting.Clear();
                foreach (var w in keep) _waiting.Enqueue(w);
            }
        while (true)
        {
            BatchedSequence? next;
            lock (_sync)
            {
                if (_running.Count >= MaxRows || !_waiting.TryDequeue(out next)) return;
            }
            if (next.Cancelled) { next.Finish(cancelled: true); continue; }
            int slot = _running.Count;
            var twin = _running.LastOrDefault(s => s.Generated == 0 && s.PromptIds.AsSpan().SequenceEqual(next.PromptIds) && s.Pending is not null);
            if (twin is not null)
            {
                // Another choice of the same prompt: its keys/values and next-token logits are this one's too.
                _cache.Copy(_running.IndexOf(twin), slot);
                next.Pending = twin.Pending!.clone().DetachFromDisposeScope();
            }
            else
            {
                _cache.Clear(slot);
                using var _ = torch.no_grad();
                using var scope = torch.NewDisposeScope();
                try
                {
                    _cache.Select(slot, 1);
                    var ids = torch.tensor(next.PromptIds.Select(x => (long)x).ToArray(), new long[] { 1, next.PromptIds.Length }, device: _model.Device);
                    next.Pending = _model.Logits(ids, _cache, lastOnly: true).squeeze(1).cpu().DetachFromDisposeScope();   // (1, V)
                }
                catch (Exception e)
                {
                    // Its prefill failed (out of memory, say): this sequence ends with the error, the batch goes on.
                    _cache.Clear(slot);
                    next.Fail(e);
                    continue;
                }
            }
            _running.Add(next);
        }
    }

    void Sample()
    {
        using var _ = torch.no_grad();
        foreach (var s in _running)
        {
            if (s.Cancelled) continue;
            try { SampleOne(s); }
            catch (Exception e) { s.Fail(e); }                                                    // this sequence ends with the error; the others go on
        }
    }

    void SampleOne(BatchedSequence s)
    {
        using var scope = torch.NewDisposeScope();
        var logits = s.Pending!.to_type(ScalarType.Float32);                                   // (1, V)
        Tensor? previous = s.Options.RepetitionPenalty != 1.0
            ? torch.tensor(s.PromptIds.Concat(s.Tokens).Select(x => (long)x).ToArray(), new long[] { 1, s.PromptIds.Length + s.Tokens.Count })
            : null;
        Tensor? counts = s.Options.PenalisesGenerated ? TokenSampling.Counts(new[] { s.Tokens }, _model.VocabSize) : null;
        int token = (int)TokenSampling.Next(logits, previous, s.Options, s.Generator, counts).item<long>();
        bool end = !s.Options.IgnoreEos && _eos.Contains(token);
        if (s.LogprobCount >= 0 && !end) s.PendingLogprobs.Add(Logprob(logits, token, s.LogprobCount));
        s.Push(token, end);
    }

    /// <summary>The log-probability of <paramref name="token"/> under the model's distribution (before any sampling filter) and the top <paramref name="top"/> alternatives.</summary>
    TokenLogprob Logprob(Tensor logits, int token, int top)
    {
        var logp = logits.log_softmax(1)[0];                                                       // (V)
        var alternatives = new List<TokenLogprob>();
        if (top > 0)
        {
            var (values, indices) = logp.topk(top);
            var v = values.data<float>().ToArray();
            var ix = indices.data<long>().ToArray();
            for (int i = 0; i < top; i++) alternatives.Add(Entry((int)ix[i], v[i], Array.Empty<TokenLogprob>()));
        }
        return Entry(token, logp[token].item<float>(), alternatives);
    }

    TokenLogprob Entry(int id, double logprob, IReadOnlyList<TokenLogprob> top)
    {
        var bytes = _tokenizer.TokenBytes(id).ToArray();
        return new TokenLogprob(id, Encoding.UTF8.GetString(bytes), bytes, logprob, top);
    }

    /// <summary>Ends finished and cancelled sequences and compacts the batch so running rows stay at the front of the cache.</summary>
    void Retire()
    {
        for (int slot = _running.Count - 1; slot >= 0; slot--)
        {
            var s = _running[slot];
            if (!s.Done && !s.Cancelled && !s.Failed) continue;
            if (!s.Failed) s.Finish(cancelled: s.Cancelled && !s.Done);
            int last = _running.Count - 1;
            if (slot != last)
            {
                _cache.Move(last, slot);
                _running[slot] = _running[last];
            }
            else _cache.Clear(slot);
            _running.RemoveAt(last);
        }
    }

    void Decode()
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        int rows = _running.Count, context = _model.ContextLength;
        for (int r = 0; r < rows; r++)
        {
            if (_cache.Length(r) < context) continue;
            // The row's context is full: rebuild it from its last tokens, so that with the new token it holds the last
            // half of the context (as TextGenerator rebuilds its cache), then the new token is fed with the batch.
            var seq = _running[r].PromptIds.Concat(_running[r].Tokens).ToArray();
            int keep = Math.Max(1, context / 2) - 1;
            _cache.Clear(r);
            if (keep == 0) continue;
            _cache.Select(r, 1);
            var past = seq.AsSpan(seq.Length - 1 - keep, keep).ToArray().Select(x => (long)x).ToArray();
            _model.Logits(torch.tensor(past, new long[] { 1, keep }, device: _model.Device), _cache, lastOnly: true);
        }
        _cache.Select(0, rows);
        var ids = torch.tensor(_running.Select(s => (long)s.Tokens[^1]).ToArray(), new long[] { rows, 1 }, device: _model.Device);
        var logits = _model.Logits(ids, _cache, lastOnly: true).squeeze(1).cpu();                // (B, V)
        Decoded?.Invoke(rows);
        for (int r = 0; r < rows; r++)
        {
            _running[r].Pending?.Dispose();
            _running[r].Pending = logits.narrow(0, r, 1).DetachFromDisposeScope();
        }
    }

    void FailRunning(Exception e)
    {
        foreach (var s in _running) s.Fail(e);
        for (int slot = 0; slot < _running.Count; slot++) _cache.Clear(slot);
        _running.Clear();
    }

    /// <summary>Stops the thread and ends every sequence still waiting or running (cancelled).</summary>
    public void Dispose()
    {
        lock (_sync)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _stopping = true;
        _wake.Release();
        _thread?.Join();
        lock (_sync)
            while (_waiting.TryDequeue(out var w)) w.Finish(cancelled: true);
        foreach (var s in _running) s.Finish(cancelled: true);
        _running.Clear();
        _cache.Dispose();
    }
}

/// <summary>The log-probability of one token (natural log) and, for a generated token, the most likely alternatives at its position.</summary>
/// <param name="Id">Token id.</param>
/// <param name="Token">Its text (UTF-8 decoded; a token that ends inside a character shows U+FFFD, its bytes are exact).</param>
/// <param name="Bytes">The UTF-8 bytes the token stands for.</param>
/// <param name="Logprob">log p(token) under the model's distribution, before temperature and the other sampling filters.</param>
/// <param name="Top">The most likely tokens at this position, most likely first (empty unless asked for).</param>
public sealed record TokenLogprob(int Id, string Token, byte[] Bytes, double Logprob, IReadOnlyList<TokenLogprob> Top);

/// <summary>Text of a sequence that became final, with the log-probabilities of the tokens generated since the last piece (when asked for).</summary>
public sealed record DecodedPiece(string Text, IReadOnlyList<TokenLogprob> Logprobs);

/// <summary>
/// One sequence of a <see cref="ContinuousBatcher"/>: its text arrives in <see cref="Pieces"/> as it becomes final, and
/// <see cref="Completion"/> gives the whole result (or is cancelled).
/// </summary>
public sealed class BatchedSequence
{
    readonly Channel<DecodedPiece> _pieces = Channel.CreateUnbounded<DecodedPiece>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    readonly TaskCompletionSource<GenerationResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly StreamedText _text;
    readonly int _maxStop;
    volatile bool _cancelled;

    internal BatchedSequence(int[] promptIds, GenerationOptions options, int logprobs, TokenStreamDecoder decoder)
    {
        PromptIds = promptIds;
        Options = options;
        LogprobCount = logprobs;
        _text = new StreamedText(decoder);
        _maxStop = options.StopSequences.Count == 0 ? 0 : options.StopSequences.Max(s => s.Length);
        Generator = new Generator((ulong)options.Seed);
    }

    /// <summary>Text as it becomes final; completes when the sequence ends (with an error if its step failed).</summary>
    public ChannelReader<DecodedPiece> Pieces => _pieces.Reader;
    /// <summary>The whole result once the sequence ended; cancelled if it was.</summary>
    public Task<GenerationResult> Completion => _completion.Task;
    /// <summary>Ends the sequence at the next step (its row is freed).</summary>
    public void Cancel()
    {
        _cancelled = true;
        OnCancel?.Invoke();
    }

    internal int[] PromptIds { get; }
    internal GenerationOptions Options { get; }
    internal int LogprobCount { get; }
    internal Generator Generator { get; }
    internal List<int> Tokens { get; } = new();
    internal List<TokenLogprob> PendingLogprobs { get; } = new();
    internal Tensor? Pending { get; set; }                    // (1, V) logits of the next position
    internal bool Cancelled => _cancelled;
    internal bool Failed { get; private set; }
    internal bool Done => _text.Done;
    internal int Generated => Tokens.Count;
    internal CancellationTokenRegistration Registration { get; set; }
    internal Action? OnCancel { get; set; }

    /// <summary>Appends a sampled token (end: it is an end-of-sequence token, which ends the text) and hands out what became final.</summary>
    internal void Push(int token, bool end)
    {
        Tokens.Add(token);
        var text = end ? _text.EndOfSequence() : _text.Push(token, Options, _maxStop);
        if (text.Length > 0) Emit(text);
    }

    void Emit(string text)
    {
        _pieces.Writer.TryWrite(new DecodedPiece(text, PendingLogprobs.ToArray()));
        PendingLogprobs.Clear();
    }

    internal void Finish(bool cancelled)
    {
        Pending?.Dispose();
        Pending = null;
        Registration.Dispose();
        Generator.Dispose();
        if (cancelled)
        {
            _pieces.Writer.TryComplete(new OperationCanceledException("the sequence was cancelled"));
            _completion.TrySetCanceled();
            return;
        }
        var rest = _text.Finish();
        if (rest.Length > 0 || PendingLogprobs.Count > 0) Emit(rest);
        _pieces.Writer.TryComplete();
        _completion.TrySetResult(new GenerationResult(_text.Text, PromptIds.Length, _text.Generated, _text.FinishReason));
    }

    internal void Fail(Exception e)
    {
        Failed = true;
        Pending?.Dispose();
        Pending = null;
        Registration.Dispose();
        Generator.Dispose();
        _pieces.Writer.TryComplete(e);
        _completion.TrySetException(e);
    }
}
