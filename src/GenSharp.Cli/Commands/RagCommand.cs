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
    [Description("ingest (DIR into --index) or ask (INDEX QUESTION with --model)")]
    public string Action { get; init; } = "";

    [CommandArgument(1, "<TARGET>")]
    [Description("ingest: the folder of documents; ask: the index name")]
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
    [Description("ask: the language model that answers (a gpt checkpoint or a Hugging Face folder)")]
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
            _ => throw new UsageException($"unknown rag action '{s.Action}': use 'rag ingest DIR --index NAME' or 'rag ask NAME \"question\" --model LM'"),
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
        var r = RagIngest.Run(s.Target, store, encoder, chunker);
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
        var rag = new RagAnswer(new HybridRetriever(store, encoder)) { TopK = s.TopK, Threshold = s.Threshold };
        var r = rag.Ask(question, lm.Model, lm.Tokenizer, new Sampling.GenerationOptions { MaxNewTokens = s.MaxTokens, Temperature = 0, StopSequences = new[] { "\nQuestion:" } });
        Console.Write(r.Render());
        var sources = new JsonArray(r.Sources.Select((c, i) => (JsonNode)new JsonObject { ["n"] = i + 1, ["path"] = c.Source, ["start"] = c.StartLine, ["end"] = c.EndLine, ["unit"] = c.Unit == SpanUnit.Page ? "page" : "line", ["span"] = c.Span }).ToArray());
        Console.WriteLine(new JsonObject { ["found"] = r.Found, ["best_cosine"] = Math.Round(r.BestCosine, 4), ["answer"] = r.Answer.Trim(), ["sources"] = sources, ["index_embedder"] = built }.ToJsonString());
        return 0;
    }
}
