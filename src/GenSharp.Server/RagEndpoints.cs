using System.Text.Json.Nodes;
using GenSharp.Rag;
using GenSharp.Sampling;
using Microsoft.AspNetCore.Http;

namespace GenSharp.Server;

/// <summary>
/// Retrieval-augmented answers over the RAG indexes in the models folder (<c>NAME.rag.sqlite</c>, made by
/// <c>gensharp rag ingest DIR --index MODELS/NAME</c>) or, with <see cref="ServerOptions.RagStore"/>, in a PostgreSQL +
/// pgvector database: <c>GET /v1/rag</c> lists them; <c>POST /v1/rag/{index}/ask</c>
/// takes <c>question</c>, optional <c>model</c> (a served language model; without one the answer is the closest source
/// sentence, no model), <c>top_k</c> (1–20, default 4), <c>threshold</c> (best cosine under which the answer is "not found
/// in the sources", default 0.3), <c>mode</c> (hybrid, vector, keyword), <c>rerank</c> (re-order the 10 best chunks by
/// their best sentence, <see cref="SentenceReranker"/>) and <c>max_tokens</c>, and answers with the text,
/// whether the sources held it, and the numbered sources the [n] markers cite. The language model decodes greedily in
/// the model's running batch, like any completion. An index is opened on first use and kept; one query runs on it at a time.
/// </summary>
sealed class RagEndpoints(ServerOptions options, EmbeddingEndpoints embeddings, TextEndpoints text) : IDisposable
{
    public const string Suffix = ".rag.sqlite";

    readonly Dictionary<string, (IRagStore Store, string Embedder, SemaphoreSlim Gate)> _open = new(StringComparer.Ordinal);
    readonly RagStoreLocation _location = options.RagStore is { Length: > 0 } where ? RagStoreLocation.Parse(where) : RagStoreLocation.Sqlite(options.ModelsDir);
    readonly object _sync = new();

    public async Task List(HttpContext http)
    {
        var data = new JsonArray();
        var names = await Task.Run(() => _location.Indexes().Select(n => (n, _location.EmbedderOf(n))).ToList(), http.RequestAborted);
        foreach (var (name, embedder) in names)
            data.Add(new JsonObject { ["id"] = name, ["object"] = "rag.index", ["embedder"] = embedder });
        await Results.Text(new JsonObject { ["object"] = "list", ["data"] = data }.ToJsonString(), "application/json").ExecuteAsync(http);
    }

    public async Task Ask(HttpContext http, string index)
    {
        var body = await RequestBody.ReadAsync(http, options.MaxRequestBodyBytes);
        var question = body.RequiredString("question");
        if (string.IsNullOrWhiteSpace(question)) throw ApiException.Invalid("question", "question must not be empty", "invalid_value");
        var model = body.String("model");
        int topK = (int)(body.Integer("top_k", 1, 20) ?? 4);
        double threshold = body.Number("threshold") ?? 0.3;
        if (threshold is < -1 or > 1) throw ApiException.Invalid("threshold", $"threshold is a cosine, in [-1, 1]; got {threshold}", "invalid_value");
        var mode = (body.String("mode") ?? "hybrid") switch
        {
            "hybrid" => RetrievalMode.Hybrid,
            "vector" => RetrievalMode.Vector,
            "keyword" => RetrievalMode.Keyword,
            var m => throw ApiException.Invalid("mode", $"mode '{m}' is not one of hybrid, vector, keyword", "invalid_value"),
        };
        int maxTokens = (int)(body.Integer("max_tokens", 1, options.MaxTokensCap) ?? 200);
        bool rerank = body.Bool("rerank") ?? false;
        var globs = body.Strings("source") ?? Array.Empty<string>();
        var heading = body.String("heading");
        SourceFilter? filter;
        try { filter = globs.Count > 0 || heading is not null ? new SourceFilter(globs, heading) : null; }
        catch (GenSharpException e) { throw ApiException.Invalid("source", e.Message, "invalid_value"); }
        var (store, embedder, storeGate) = Open(index);
        var (encoder, encoderGate) = embeddings.Get(embedder);

        List<Chunk> sources;
        double best;
        string? extracted = null;
        await storeGate.WaitAsync(http.RequestAborted);
        try
        {
            await encoderGate.WaitAsync(http.RequestAborted);
            try
            {
                (sources, best) = await Task.Run(() =>
                {
                    var (chunks, b) = new HybridRetriever(store, encoder) { Mode = mode, Reranker = rerank ? new SentenceReranker(encoder) : null, Filter = filter }.Retrieve(question, topK);
                    return (chunks.Select(c => c.Chunk).ToList(), b);
                }, http.RequestAborted);
                if (model is null && sources.Count > 0 && best >= threshold)
                    extracted = await Task.Run(() => RagAnswer.Extract(question, sources, encoder), http.RequestAborted);
            }
            finally { encoderGate.Release(); }
        }
        finally { storeGate.Release(); }

        bool found = sources.Count > 0 && best >= threshold;
        string answer;
        if (!found) { answer = RagAnswer.NotFound; sources.Clear(); }
        else if (model is null) answer = extracted!;
        else
        {
            var o = new GenerationOptions { MaxNewTokens = maxTokens, Temperature = 0, StopSequences = new[] { "\nQuestion:" } };
            // A model with its own chat template (an instruction-tuned folder) gets the grounded prompt as a chat; others continue text.
            answer = (await text.CompleteAsync(model, m => m.Chat.IsFallback
                    ? (RagAnswer.Prompt(question, sources), Array.Empty<string>())
                    : (RagAnswer.ChatPrompt(question, sources, m.Chat.Template, m.Loaded.Tokenizer), m.Chat.Template.StopSequences),
                o, "grounded prompt (question and top_k sources)", "top_k", http.RequestAborted)).Trim();
        }
        var response = new JsonObject
        {
            ["object"] = "rag.answer", ["index"] = index, ["model"] = model ?? "extractive", ["question"] = question, ["answer"] = answer,
            ["found"] = found, ["best_cosine"] = Math.Round(best, 4),
            ["sources"] = new JsonArray(sources.Select((c, i) => (JsonNode)new JsonObject
            {
                ["n"] = i + 1, ["path"] = c.Source, ["start"] = c.StartLine, ["end"] = c.EndLine, ["unit"] = c.Unit == SpanUnit.Page ? "page" : "line",
                ["span"] = c.Span, ["heading"] = c.Heading, ["text"] = c.Text,
            }).ToArray()),
        };
        await Results.Text(response.ToJsonString(), "application/json").ExecuteAsync(http);
    }

    (IRagStore, string, SemaphoreSlim) Open(string index)
    {
        bool valid = _location.IsPostgres
            ? System.Text.RegularExpressions.Regex.IsMatch(index, "^[a-z0-9_]{1,48}$")
            : index.Length > 0 && !index.Contains('/') && !index.Contains('\\') && !index.StartsWith('.');
        if (!valid)
            throw ApiException.Invalid("index", _location.IsPostgres ? $"'{index}' is not an index name (1-48 characters of a-z, 0-9, _)"
                                                                      : $"'{index}' is not an index name (a file NAME{Suffix} in the models folder)", "invalid_value");
        lock (_sync)
        {
            if (_open.TryGetValue(index, out var found)) return found;
            var build = _location.IsPostgres ? $"gensharp rag ingest DIR --index {index} --store ..." : $"gensharp rag ingest DIR --index {Path.Combine(options.ModelsDir, index)}";
            var embedder = _location.EmbedderOf(index) ?? throw new ApiException(404, $"no RAG index '{index}': build one with '{build}'", "index", "index_not_found");
            var (encoder, _) = embeddings.Get(embedder);
            IRagStore store;
            try { store = _location.Open(index, encoder.Name, encoder.Dimensions); }
            catch (GenSharpException e) { throw ApiException.Invalid("index", $"index '{index}' cannot be opened: {e.Message}", "invalid_value"); }
            var entry = (store, embedder, new SemaphoreSlim(1, 1));
            _open[index] = entry;
            return entry;
        }
    }

    public void Dispose()
    {
        lock (_sync)
        {
            foreach (var (s, _, g) in _open.Values) { s.Dispose(); g.Dispose(); }
            _open.Clear();
        }
    }
}
