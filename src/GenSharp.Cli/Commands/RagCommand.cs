using System.ComponentModel;
using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Models.Encoders;
using GenSharp.Rag;
using Spectre.Console.Cli;

namespace GenSharp.Cli.Commands;

public sealed class RagSettings : CliSettings
{
    [CommandArgument(0, "<ACTION>")]
    [Description("ingest (DIR into --index), ask (INDEX QUESTION with --model) or eval (INDEX with --qa)")]
    public string Action { get; init; } = "";

    [CommandArgument(1, "<TARGET>")]
    [Description("ingest: the folder of documents; ask, eval: the index name")]
    public string Target { get; init; } = "";

    [CommandArgument(2, "[QUESTION]")]
    [Description("ask: the question")]
    public string? Question { get; init; }

    [CommandOption("--index <NAME>")]
    [Description("ingest: the index (NAME.rag.sqlite, or a path ending in .sqlite; with a PostgreSQL --store, a name of a-z, 0-9, _)")]
    public string? Index { get; init; }

    [CommandOption("--store <WHERE>")]
    [Description("where indexes live: a folder of SQLite files (default: here), or a PostgreSQL + pgvector database as an Npgsql connection string, e.g. \"Host=127.0.0.1;Port=54329;Username=postgres;Database=gensharp\" (the index is then a schema rag_NAME)")]
    public string? Store { get; init; }

    [CommandOption("--embedder <MODEL>")]
    [Description("'minilm' (built in) or a BERT / sentence-transformers folder; an index answers only the embedder that built it")]
    [DefaultValue("minilm")]
    public string Embedder { get; init; } = "minilm";

    [CommandOption("--model <LM>")]
    [Description("ask, eval: the language model that answers (a gpt checkpoint or a Hugging Face folder); eval also takes 'extractive' (the closest source sentence, no model) and, without --model, scores retrieval only")]
    public string? Model { get; init; }

    [CommandOption("--max-tokens <N>")]
    [Description("ask: most tokens of the answer")]
    [DefaultValue(200)]
    public int MaxTokens { get; init; } = 200;

    [CommandOption("--top-k <K>")]
    [Description("ask: chunks given to the model")]
    [DefaultValue(4)]
    public int TopK { get; init; } = 4;

    [CommandOption("--threshold <COS>")]
    [Description("ask: below this cosine of the best chunk the answer is 'not found in the sources'")]
    [DefaultValue(0.3)]
    public double Threshold { get; init; } = 0.3;

    [CommandOption("--qa <FILE>")]
    [Description("eval: the questions, JSON lines {id, question, answerable, gold: [[{path, start, end, sha256}]]}")]
    public string? Qa { get; init; }

    [CommandOption("--mode <MODE>")]
    [Description("ask, eval: hybrid (vector + BM25 by reciprocal rank), vector or keyword; eval also takes 'all'")]
    [DefaultValue("hybrid")]
    public string Mode { get; init; } = "hybrid";

    [CommandOption("--rerank")]
    [Description("ask, eval: re-order the 10 best fused chunks by their best sentence's cosine to the question (SentenceReranker)")]
    public bool Rerank { get; init; }

    [CommandOption("--template <NAME>")]
    [Description("ask, eval: answer through this chat template (chatml, llama3, plain); default: the model folder's own recognised chat template, else the grounded prompt is continued as text")]
    public string? Template { get; init; }

    [CommandOption("--source <GLOB>")]
    [Description("ask: retrieve only from sources whose path (relative to the ingested folder) matches; * within a folder, ** across folders; repeat for more")]
    public string[]? Source { get; init; }

    [CommandOption("--heading <TEXT>")]
    [Description("ask: retrieve only chunks whose heading contains TEXT (case-insensitive)")]
    public string? Heading { get; init; }

    [CommandOption("--out <FILE>")]
    [Description("eval: also write each question's outcome here (JSON lines)")]
    public string? Out { get; init; }

    [CommandOption("--chunk-tokens <N>")]
    [Description("ingest: most WordPiece tokens per chunk")]
    [DefaultValue(200)]
    public int ChunkTokens { get; init; } = 200;

    [CommandOption("--approximate")]
    [Description("ingest: also keep an HNSW index (USearch) beside the SQLite file; vector queries then use it (an index keeps it once made)")]
    public bool Approximate { get; init; }

    [CommandOption("--overlap <N>")]
    [Description("ingest: tokens repeated between consecutive chunks of a section")]
    [DefaultValue(32)]
    public int Overlap { get; init; } = 32;
}

/// <summary><c>gensharp rag ingest DIR --index NAME</c> and <c>gensharp rag ask NAME "question" --model LM</c>.</summary>
public sealed class RagCommand : Command<RagSettings>
{
    public override int Execute(CommandContext context, RagSettings s, CancellationToken cancel)
    {
        GenSharpCli.Prepare(s);
        return s.Action switch
        {
            "ingest" => Ingest(s),
            "ask" => Ask(s),
            "eval" => Eval(s),
            _ => throw new UsageException($"unknown rag action '{s.Action}': use 'rag ingest DIR --index NAME', 'rag ask NAME \"question\" --model LM' or 'rag eval NAME --qa FILE.jsonl'"),
        };
    }

    static int Ingest(RagSettings s)
    {
        var location = RagStoreLocation.Parse(s.Store);
        var name = CliInputs.Required(s.Index, "index", "rag ingest");
        var index = location.Describe(name);
        if (s.Question is not null) throw new UsageException("'rag ingest' takes one folder; see 'gensharp rag --help'");
        if (s.ChunkTokens < 16) throw new GenSharpException($"--chunk-tokens must be ≥ 16, got {s.ChunkTokens}");
        if (s.Overlap < 0 || s.Overlap >= s.ChunkTokens / 2) throw new GenSharpException($"--overlap must be in [0, {s.ChunkTokens / 2}), got {s.Overlap}");
        using var encoder = SentenceEncoders.Load(s.Embedder, s.TorchDevice);
        using var store = location.Open(name, encoder.Name, encoder.Dimensions);
        var chunker = new TextChunker(encoder.Tokenizer.CountTokens, Math.Min(s.ChunkTokens, encoder.MaxLength - 2), s.Overlap);
        if (s.Approximate) store.UseApproximateIndex();
        var r = ConsoleProgress.Create().Run($"ingest {s.Target}", 0, Math.Max(1, RagIngest.CountFiles(s.Target)), p => RagIngest.Run(s.Target, store, encoder, chunker, p));
        foreach (var (path, why) in r.Skipped) Console.WriteLine($"skipped {path}: {why}");
        Console.WriteLine($"{index}: {r.Added.Count} added, {r.Changed.Count} changed, {r.Unchanged.Count} unchanged, {r.Removed.Count} removed, " +
                          $"{r.Skipped.Count} skipped; {r.Chunks} chunks embedded in {r.Seconds:F1}s; {store.Count()} chunks in the index");
        Console.WriteLine(new JsonObject
        {
            ["index"] = index, ["embedder"] = encoder.Name, ["added"] = r.Added.Count, ["changed"] = r.Changed.Count, ["unchanged"] = r.Unchanged.Count,
            ["removed"] = r.Removed.Count, ["skipped"] = r.Skipped.Count, ["chunks_embedded"] = r.Chunks, ["chunks"] = store.Count(),
            ["chunks_per_s"] = Math.Round(r.Chunks / Math.Max(1e-9, r.Seconds), 2), ["approximate"] = store.HasApproximateIndex,
        }.ToJsonString());
        return 0;
    }

    static int Ask(RagSettings s)
    {
        var question = s.Question ?? throw new UsageException("'rag ask' needs a question: gensharp rag ask NAME \"question\" --model LM");
        var model = CliInputs.Required(s.Model, "model", "rag ask");
        var location = RagStoreLocation.Parse(s.Store);
        var index = location.Describe(s.Target);
        var built = location.EmbedderOf(s.Target) ?? throw new GenSharpException($"{index}: no index there; build one with 'gensharp rag ingest DIR --index {s.Target}'{(s.Store is null ? "" : " --store ...")}");
        using var encoder = SentenceEncoders.Load(s.Embedder, s.TorchDevice);
        using var store = location.Open(s.Target, encoder.Name, encoder.Dimensions);
        using var lm = Checkpoint.LoadTextModel(model, s.TorchDevice);
        var filter = s.Source is { Length: > 0 } || s.Heading is not null ? new SourceFilter(s.Source ?? Array.Empty<string>(), s.Heading) : null;
        if (filter is not null && !store.Sources().Any(src => filter.Accepts(new Chunk(src, 0, 0, s.Heading ?? "", ""))))
            throw new GenSharpException($"{index} holds no source matching {filter.Description}; 'gensharp rag ingest' recorded paths relative to the ingested folder");
        var rag = new RagAnswer(new HybridRetriever(store, encoder) { Mode = ParseMode(s.Mode), Reranker = s.Rerank ? new SentenceReranker(encoder) : null, Filter = filter })
            { TopK = s.TopK, Threshold = s.Threshold };
        var chat = ChatFor(s, lm.Path);
        var r = rag.Ask(question, lm.Model, lm.Tokenizer, new Sampling.GenerationOptions { MaxNewTokens = s.MaxTokens, Temperature = 0, StopSequences = new[] { "\nQuestion:" } }, chat);
        Console.Write(r.Render());
        var sources = new JsonArray(r.Sources.Select((c, i) => (JsonNode)new JsonObject { ["n"] = i + 1, ["path"] = c.Source, ["start"] = c.StartLine, ["end"] = c.EndLine, ["unit"] = c.Unit == SpanUnit.Page ? "page" : "line", ["span"] = c.Span }).ToArray());
        Console.WriteLine(new JsonObject { ["found"] = r.Found, ["best_cosine"] = Math.Round(r.BestCosine, 4), ["answer"] = r.Answer.Trim(), ["sources"] = sources, ["index_embedder"] = built,
            ["prompt"] = chat is null ? "text" : $"chat:{chat.Name}" }.ToJsonString());
        return 0;
    }

    /// <summary>The chat template answers go through: --template, else the model folder's own recognised one, else none (text continuation).</summary>
    static Text.Chat.IChatTemplate? ChatFor(RagSettings s, string modelPath)
    {
        if (s.Template is { } name) return Text.Chat.ChatTemplates.ByName(name);
        var selection = Text.Chat.ChatTemplates.FromFolder(modelPath);
        return selection.IsFallback ? null : selection.Template;
    }

    static RetrievalMode ParseMode(string mode) => mode switch
    {
        "hybrid" => RetrievalMode.Hybrid,
        "vector" => RetrievalMode.Vector,
        "keyword" => RetrievalMode.Keyword,
        _ => throw new UsageException($"unknown --mode '{mode}': use hybrid, vector or keyword"),
    };

    static int Eval(RagSettings s)
    {
        var qaPath = CliInputs.Required(s.Qa, "qa", "rag eval");
        if (s.Question is not null) throw new UsageException("'rag eval' takes the index name only; give the questions with --qa FILE.jsonl");
        if (s.Source is { Length: > 0 } || s.Heading is not null) throw new GenSharpException("--source/--heading go with 'rag ask'; 'rag eval' scores the whole index against the QA set's gold spans");
        if (s.TopK < 1 || s.TopK > 10) throw new GenSharpException($"--top-k must be in [1, 10] for eval (recall is counted to 10), got {s.TopK}");
        var modes = s.Mode == "all" ? new[] { RetrievalMode.Keyword, RetrievalMode.Vector, RetrievalMode.Hybrid } : new[] { ParseMode(s.Mode) };
        var questions = RagQuestion.Load(qaPath);
        var location = RagStoreLocation.Parse(s.Store);
        var index = location.Describe(s.Target);
        if (location.EmbedderOf(s.Target) is null) throw new GenSharpException($"{index}: no index there; build one with 'gensharp rag ingest DIR --index {s.Target}'{(s.Store is null ? "" : " --store ...")}");
        using var encoder = SentenceEncoders.Load(s.Embedder, s.TorchDevice);
        using var store = location.Open(s.Target, encoder.Name, encoder.Dimensions);
        // The gold spans are line numbers: they mean something only in the very files they were read from.
        foreach (var g in questions.SelectMany(q => q.Gold).DistinctBy(g => g.Path))
        {
            var held = store.FileHash(g.Path) ?? throw new GenSharpException($"{index} does not hold {g.Path}, which {qaPath} cites; ingest the collection the QA set was made over");
            if (g.Sha256.Length > 0 && !string.Equals(held, g.Sha256, StringComparison.OrdinalIgnoreCase))
                throw new GenSharpException($"{index} holds another version of {g.Path} than {qaPath} was made from (SHA-256 differs): its gold line spans would be wrong");
        }
        LoadedTextModel? lm = null;
        try
        {
            Func<string, IReadOnlyList<Chunk>, string>? responder = s.Model switch
            {
                null => null,
                "extractive" => (q, src) => RagAnswer.Extract(q, src, encoder),
                _ => null,
            };
            if (s.Model is not null && s.Model != "extractive")
            {
                lm = Checkpoint.LoadTextModel(s.Model, s.TorchDevice);
                var (model, tokenizer) = (lm.Model, lm.Tokenizer);
                var options = new Sampling.GenerationOptions { MaxNewTokens = s.MaxTokens, Temperature = 0, StopSequences = new[] { "\nQuestion:" } };
                var chat = ChatFor(s, lm.Path);
                responder = (q, src) => RagAnswer.Generate(q, src, model, tokenizer, options, chat);
            }
            var rows = new JsonArray();
            using var outFile = s.Out is null ? null : new StreamWriter(s.Out);
            Console.WriteLine($"{questions.Count} questions ({questions.Count(q => q.Answerable)} answerable), index {index} ({store.Count()} chunks), top-k {s.TopK}, not-found below cosine {s.Threshold}, answers: {s.Model ?? "none (retrieval only)"}");
            Console.WriteLine($"{"mode",-15} {"R@1",6} {"R@" + s.TopK,6} {"R@10",6} {"MRR",6} {"NF-acc",7} {"NF-false",8} {"faithful",8} {"cite-P",7}");
            RagEvaluationReport? last = null;
            foreach (var mode in modes)
            {
                var eval = new RagEvaluation(new HybridRetriever(store, encoder) { Mode = mode, Reranker = s.Rerank ? new SentenceReranker(encoder) : null })
                {
                    TopK = s.TopK, RecallDepth = 10, Threshold = s.Threshold, Responder = responder,
                    Progress = (i, n) => { if (!Console.IsErrorRedirected) Console.Error.Write($"\r{mode}: {i}/{n}"); },
                };
                var r = eval.Run(questions);
                if (!Console.IsErrorRedirected) Console.Error.Write("\r                         \r");
                last = r;
                string F(double v) => double.IsNaN(v) ? "-" : v.ToString("F3", System.Globalization.CultureInfo.InvariantCulture);
                var name = mode.ToString().ToLowerInvariant() + (s.Rerank ? "+rerank" : "");
                Console.WriteLine($"{name,-15} {F(r.RecallAt(1)),6} {F(r.RecallAt(s.TopK)),6} {F(r.RecallAt(10)),6} {F(r.Mrr),6} {F(r.NotFoundAccuracy),7} {F(r.FalseNotFound),8} {F(r.Faithfulness),8} {F(r.CitationPrecision),7}");
                JsonNode? Num(double v) => double.IsNaN(v) ? null : JsonValue.Create(Math.Round(v, 4));
                rows.Add(new JsonObject
                {
                    ["mode"] = name, ["recall_at_1"] = Num(r.RecallAt(1)), [$"recall_at_{s.TopK}"] = Num(r.RecallAt(s.TopK)), ["recall_at_10"] = Num(r.RecallAt(10)),
                    ["mrr"] = Num(r.Mrr), ["not_found_accuracy"] = Num(r.NotFoundAccuracy), ["false_not_found"] = Num(r.FalseNotFound),
                    ["faithfulness"] = Num(r.Faithfulness), ["citation_precision"] = Num(r.CitationPrecision),
                });
                if (outFile is not null)
                    foreach (var q in r.Results)
                        outFile.WriteLine(new JsonObject
                        {
                            ["mode"] = name, ["id"] = q.Id, ["answerable"] = q.Answerable, ["first_hit"] = q.FirstHit, ["best_cosine"] = Math.Round(q.BestCosine, 4),
                            ["found"] = q.Found, ["answer"] = q.Answer, ["faithfulness"] = q.Faithfulness, ["citations"] = q.Citations, ["correct_citations"] = q.CorrectCitations,
                        }.ToJsonString());
            }
            var sweep = last!.Sweep(new[] { 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5 });
            Console.WriteLine("not found by threshold (accuracy on unanswerable / share of answerable declined): " +
                              string.Join(", ", sweep.Select(x => FormattableString.Invariant($"{x.Threshold:F2}: {x.NotFoundAccuracy:F2}/{x.FalseNotFound:F2}"))));
            Console.WriteLine(new JsonObject
            {
                ["index"] = index, ["questions"] = questions.Count, ["top_k"] = s.TopK, ["rerank"] = s.Rerank, ["threshold"] = s.Threshold, ["answers"] = s.Model, ["modes"] = rows,
                ["sweep"] = new JsonArray(sweep.Select(x => (JsonNode)new JsonObject { ["threshold"] = x.Threshold, ["not_found_accuracy"] = Math.Round(x.NotFoundAccuracy, 4), ["false_not_found"] = Math.Round(x.FalseNotFound, 4) }).ToArray()),
            }.ToJsonString());
            return 0;
        }
        finally { lm?.Dispose(); }
    }
}
