using GenSharp.Models.Encoders;
using GenSharp.Rag;
using GenSharp.Runtime;
using TorchSharp;
using Xunit;

namespace GenSharp.Tests;

/// <summary>The RAG evaluation: QA-set parsing, the lexical faithfulness check, the aggregate figures and a run over real documents.</summary>
public class RagEvaluationTests
{
    static readonly string Docs = Path.Combine(AppContext.BaseDirectory, "Fixtures", "RagDocs");

    static Chunk Source(string path, int start, int end, string text) => new(path, start, end, "", text);

    [Fact]
    public void TheGroundedPromptAsAChatPutsTheInstructionsInTheSystemTurn()
    {
        var sources = new[] { new Chunk("a.md", 3, 5, "A", "Foxes are brown."), new Chunk("b.md", 1, 1, "B", "Elephants migrate.") };
        var config = HfModelTests.LlamaConfig("qwen2", heads: 4, kvHeads: 2, tied: true);
        using var m = HfModelTests.RandomModel(config);
        using var loaded = GenSharp.Checkpoints.Checkpoint.LoadTextModel(HfModelTests.Save(m, config), TorchSharp.torch.CPU);
        var tokenizer = loaded.Tokenizer;
        var text = RagAnswer.ChatPrompt("What colour are foxes?", sources, GenSharp.Text.Chat.ChatTemplates.ChatML, tokenizer);
        Assert.Equal("<|im_start|>system\n" + RagAnswer.Instructions + "<|im_end|>\n<|im_start|>user\n[1] (a.md:3-5) Foxes are brown.\n\n" +
                     "[2] (b.md:1) Elephants migrate.\n\nQuestion: What colour are foxes?<|im_end|>\n<|im_start|>assistant\n", text);
        Assert.Equal(RagAnswer.Instructions + "\n\n[1] (a.md:3-5) Foxes are brown.\n\n[2] (b.md:1) Elephants migrate.\n\nQuestion: What colour are foxes?\nAnswer:",
                     RagAnswer.Prompt("What colour are foxes?", sources));
    }

    [Fact]
    public void FaithfulnessCountsSentencesWhoseContentWordsTheirCitedChunksHold()
    {
        var sources = new[]
        {
            Source("a.txt", 1, 3, "The quick brown fox jumps over the lazy dog near the river bank."),
            Source("b.txt", 1, 2, "Elephants migrate south every winter across the savanna."),
        };
        // Sentence 1: brown, fox, jumps, river all in [1] → supported. Sentence 2 cites [1], whose words do not include
        // elephants/migrate/winter → not supported (it would be by [2]).
        Assert.Equal(0.5, AnswerSupport.Faithfulness("A brown fox jumps by the river [1]. Elephants migrate every winter [1].", sources));
        Assert.Equal(1.0, AnswerSupport.Faithfulness("A brown fox jumps by the river [1]. Elephants migrate every winter [2].", sources));
        // A sentence with no marker of its own is judged against every chunk the answer cites.
        Assert.Equal(1.0, AnswerSupport.Faithfulness("Elephants migrate in winter. [2]", sources));
        // "See" is a content word of its own sentence, and no source holds it.
        Assert.Equal(0.5, AnswerSupport.Faithfulness("Elephants migrate in winter. See [2].", sources));
        // Uncited, or citing a source that was not given: nothing is supported.
        Assert.Equal(0.0, AnswerSupport.Faithfulness("A brown fox jumps by the river.", sources));
        Assert.Equal(0.0, AnswerSupport.Faithfulness("A brown fox jumps by the river [7].", sources));
        // Exactly half the content words present is enough (brown, fox | zebra, gallops): 2 of 4.
        Assert.Equal(1.0, AnswerSupport.Faithfulness("Brown fox zebra gallops [1].", sources));
        Assert.Equal(0.0, AnswerSupport.Faithfulness("Brown zebra gallops wildly [1].", sources));
        Assert.Null(AnswerSupport.Faithfulness("[1]", sources));
        Assert.Equal(new[] { 2, 1, 2 }, AnswerSupport.Citations("x [2] y [1][2]"));
    }

    [Fact]
    public void ReportFiguresMatchAHandCount()
    {
        var results = new[]
        {
            new RagQuestionResult("a", true, 1, 0.8, true, "x [1]", 1.0, 2, 1),
            new RagQuestionResult("b", true, 3, 0.5, true, "y [2]", 0.5, 1, 1),
            new RagQuestionResult("c", true, 0, 0.25, false, RagAnswer.NotFound, null, 0, 0),
            new RagQuestionResult("d", false, 0, 0.2, false, RagAnswer.NotFound, null, 0, 0),
            new RagQuestionResult("e", false, 0, 0.45, true, "z [1]", 0.0, 0, 0),
        };
        var r = new RagEvaluationReport(results, 4, 10, 0.3);
        Assert.Equal(1.0 / 3, r.RecallAt(1), 12);
        Assert.Equal(2.0 / 3, r.RecallAt(4), 12);
        Assert.Equal((1 + 1.0 / 3 + 0) / 3, r.Mrr, 12);
        Assert.Equal(0.5, r.NotFoundAccuracy, 12);
        Assert.Equal(1.0 / 3, r.FalseNotFound, 12);
        Assert.Equal(0.5, r.Faithfulness, 12);
        Assert.Equal(2.0 / 3, r.CitationPrecision, 12);
        var sweep = r.Sweep(new[] { 0.3, 0.5 });
        Assert.Equal((0.3, 0.5, 1.0 / 3), sweep[0]);
        Assert.Equal((0.5, 1.0, 1.0 / 3), sweep[1]);   // a cosine equal to the threshold is kept
    }

    [Fact]
    public void QaFilesWithMistakesFailWithTheirLineNumber()
    {
        var dir = TestData.TempDir();
        string Write(params string[] lines) { var p = Path.Combine(dir, Guid.NewGuid() + ".jsonl"); File.WriteAllLines(p, lines); return p; }
        var ok = RagQuestion.Load(Write("""{"id":"1","question":"q?","gold":[{"path":"a.md","start":3,"end":5,"sha256":"AB"}]}""", "",
                                        """{"id":"2","question":"r?","answerable":false}"""));
        Assert.Equal(2, ok.Count);
        Assert.Equal(new GoldSpan("a.md", 3, 5, "AB"), ok[0].Gold[0]);
        Assert.False(ok[1].Answerable);
        Assert.Contains(":2: an answerable question needs at least one gold span", Assert.Throws<GenSharpException>(() => RagQuestion.Load(Write("""{"id":"1","question":"q?","gold":[{"path":"a","start":1,"end":1}]}""", """{"id":"2","question":"q?"}"""))).Message);
        Assert.Contains(":1: not a JSON object", Assert.Throws<GenSharpException>(() => RagQuestion.Load(Write("{oops"))).Message);
        Assert.Contains(":1: a gold span must have 1 ≤ start ≤ end, got 5-3", Assert.Throws<GenSharpException>(() => RagQuestion.Load(Write("""{"question":"q?","gold":[{"path":"a","start":5,"end":3}]}"""))).Message);
        Assert.Contains("'1' is used more than once", Assert.Throws<GenSharpException>(() => RagQuestion.Load(Write("""{"id":"1","question":"q?","answerable":false}""", """{"id":"1","question":"r?","answerable":false}"""))).Message);
        Assert.Contains("QA file not found", Assert.Throws<GenSharpException>(() => RagQuestion.Load(Path.Combine(dir, "none.jsonl"))).Message);
    }

    [Fact]
    public void EvaluationOverRealDocumentsFindsTheGoldLinesAndDeclinesTheUnanswerable()
    {
        TorchRuntime.EnsureReady();
        var index = Path.Combine(TestData.TempDir(), "docs.rag.sqlite");
        using var encoder = SentenceEncoders.MiniLm(torch.CPU);
        using var store = SqliteRagStore.Open(index, encoder.Name, encoder.Dimensions);
        RagIngest.Run(Docs, store, encoder, new TextChunker(encoder.Tokenizer.CountTokens, maxTokens: 64, overlapTokens: 8));
        // Gold spans: the lines that state each answer, found here by their words.
        GoldSpan Line(string file, string words)
        {
            var lines = File.ReadAllLines(Path.Combine(Docs, file));
            int n = Array.FindIndex(lines, l => l.Contains(words)) + 1;
            Assert.True(n > 0, words);
            return new GoldSpan(file, n, n);
        }
        var questions = new List<RagQuestion>
        {
            new("uids", "Which range of user ids does Debian reserve for its own accounts?", true, new[] { Line("base-passwd-README.txt", "0-99 range") }),
            new("ntp", "Which NTP servers does systemd-timesyncd use by default?", true, new[] { Line("systemd-DISTRO_PORTING.md", "Google Public NTP") }),
            new("sodium", "Is libsodium a fork of NaCl?", true, new[] { Line("libsodium-README.markdown", "fork of [NaCl]") }),
            new("swallow", "What is the airspeed velocity of an unladen swallow?", false, Array.Empty<GoldSpan>()),
        };
        var retriever = new HybridRetriever(store, encoder);
        var report = new RagEvaluation(retriever) { TopK = 4, Threshold = 0.3, Responder = (q, src) => RagAnswer.Extract(q, src, encoder) }.Run(questions);
        // The ranks agree with a direct look at what the retriever returns.
        foreach (var (q, res) in questions.Zip(report.Results).Where(p => p.First.Answerable))
        {
            var chunks = retriever.Retrieve(q.Question, 10).Chunks;
            int expected = chunks.FindIndex(c => c.Chunk.Source == q.Gold[0].Path && c.Chunk.StartLine <= q.Gold[0].Start && c.Chunk.EndLine >= q.Gold[0].End) + 1;
            Assert.Equal(expected, res.FirstHit);
        }
        Assert.Equal(1.0, report.RecallAt(4));
        Assert.Equal(1.0, report.NotFoundAccuracy);
        Assert.Equal(0.0, report.FalseNotFound);
        Assert.Equal(RagAnswer.NotFound, report.Results[3].Answer);
        // An extractive answer is a sentence of the source it cites: faithful by construction, citing a retrieved chunk.
        Assert.Equal(1.0, report.Faithfulness);
        Assert.All(report.Results.Take(3), r => Assert.Matches(@"\[[1-4]\]$", r.Answer!));
        Assert.InRange(report.CitationPrecision, 0.3, 1.0);
        // Keyword-only retrieval ranks by BM25 alone; vector-only by cosine: both still run and find the rare word's file.
        var keyword = new RagEvaluation(new HybridRetriever(store, encoder) { Mode = RetrievalMode.Keyword }).Run(questions.Take(3).ToList());
        Assert.True(keyword.Results[2].FirstHit >= 1);
    }

    [Fact]
    public void RerankerOrdersChunksByTheirBestSentenceAsComputedSentenceBySentence()
    {
        TorchRuntime.EnsureReady();
        using var encoder = SentenceEncoders.MiniLm(torch.CPU);
        const string Query = "How do I delete a directory together with everything inside it?";
        var chunks = new[]
        {
            Source("a.html", 1, 9, "Files can be opened in text or binary mode. Paths may be relative to the working directory. Directories hold files and other directories."),
            Source("b.html", 10, 20, "The archive module writes zip files. To remove a whole directory tree with all its contents, call rmtree on its path. Errors can be ignored."),
            Source("c.html", 21, 30, "Sorting is stable. Keys can be given as functions."),
        };
        var candidates = chunks.Select((c, i) => new ScoredChunk(i + 1, c, 1.0 - i * 0.1)).ToList();
        var ranked = new SentenceReranker(encoder).Rerank(Query, candidates);
        // Independently: the best cosine over each chunk's sentences, each sentence embedded on its own.
        double Best(Chunk c) => AnswerSupport.Sentences(c.Text).Max(s => SqliteRagStore.Dot(encoder.Embed(new[] { Query })[0], encoder.Embed(new[] { s })[0]));
        var expected = chunks.OrderByDescending(Best).Select(c => c.Source).ToArray();
        Assert.Equal(expected, ranked.Select(r => r.Chunk.Source).ToArray());
        Assert.Equal("b.html", ranked[0].Chunk.Source);          // the chunk holding the one sentence that answers comes first
        Assert.All(ranked, r => Assert.Equal(Best(r.Chunk), r.Score, 4));
        Assert.Empty(new SentenceReranker(encoder).Rerank(Query, Array.Empty<ScoredChunk>()));
    }
}
