using System.Text;
using GenSharp.Models;
using GenSharp.Sampling;
using GenSharp.Text;
using GenSharp.Text.Chat;

namespace GenSharp.Rag;

/// <summary>
/// Retrieval-augmented answers with citations: the question's best chunks (hybrid retrieval) are numbered [1] … [k] in
/// a grounded prompt that asks the language model to answer from them only and cite them; the answer comes back with
/// the numbered list of chunks (path and line span). When even the best chunk is far from the question (its cosine is
/// below <see cref="Threshold"/>), no model is asked and the answer is <see cref="NotFound"/>.
/// </summary>
public sealed class RagAnswer(HybridRetriever retriever)
{
    /// <summary>What is answered when retrieval finds nothing relevant.</summary>
    public const string NotFound = "not found in the sources";

    /// <summary>Chunks given to the model.</summary>
    public int TopK { get; init; } = 4;

    /// <summary>Lowest cosine of the best chunk for the sources to count as relevant.</summary>
    public double Threshold { get; init; } = 0.3;

    /// <summary>An answer: its text, the cited chunks in citation order, and the best cosine retrieval found.</summary>
    public sealed record Result(string Answer, IReadOnlyList<Chunk> Sources, double BestCosine, bool Found)
    {
        /// <summary>The answer followed by "Sources:" and one "[n] path:span" line per chunk.</summary>
        public string Render()
        {
            var sb = new StringBuilder(Answer.Trim()).Append('\n');
            if (Sources.Count > 0)
            {
                sb.Append("\nSources:\n");
                for (int i = 0; i < Sources.Count; i++)
                    sb.Append($"[{i + 1}] {Sources[i].Span}{(Sources[i].Heading.Length > 0 ? $" ({Sources[i].Heading})" : "")}\n");
            }
            return sb.ToString();
        }
    }

    /// <summary>What the model is told to do with the sources.</summary>
    public const string Instructions = "Answer the question using only the numbered sources below, and cite the sources you use as [1], [2]. " +
                                       $"If they do not contain the answer, say \"{NotFound}\".";

    /// <summary>The grounded prompt for <paramref name="question"/> over <paramref name="sources"/>, for a model that continues text.</summary>
    public static string Prompt(string question, IReadOnlyList<Chunk> sources) =>
        new StringBuilder(Instructions).Append("\n\n").Append(SourcesAndQuestion(question, sources)).Append("\nAnswer:").ToString();

    /// <summary>The numbered sources and the question (the user's turn of a chat prompt).</summary>
    public static string SourcesAndQuestion(string question, IReadOnlyList<Chunk> sources)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < sources.Count; i++) sb.Append($"[{i + 1}] ({sources[i].Span}) {sources[i].Text}\n\n");
        return sb.Append($"Question: {question}").ToString();
    }

    /// <summary>
    /// The grounded prompt as a chat: the instructions as the system message, the sources and the question as the user's
    /// turn, rendered by <paramref name="template"/> with the opening of the assistant's turn (for instruction-tuned models).
    /// </summary>
    public static string ChatPrompt(string question, IReadOnlyList<Chunk> sources, IChatTemplate template, ITokenizer tokenizer) =>
        template.Render(new[] { ChatMessage.System(Instructions), ChatMessage.User(SourcesAndQuestion(question, sources)) },
            addGenerationPrompt: true, beginOfText: !Text.Chat.ChatPrompt.TokenizerAddsBeginOfText(tokenizer));

    /// <summary>Retrieves, then answers with <paramref name="model"/> (greedy unless <paramref name="options"/> say otherwise).</summary>
    public Result Ask(string question, ILanguageModel model, ITokenizer tokenizer, GenerationOptions? options = null, IChatTemplate? chat = null)
    {
        if (string.IsNullOrWhiteSpace(question)) throw new ParameterException("question", "must not be empty");
        var (chunks, best) = retriever.Retrieve(question, TopK);
        if (chunks.Count == 0 || best < Threshold) return new Result(NotFound, Array.Empty<Chunk>(), best, false);
        var sources = chunks.Select(c => c.Chunk).ToList();
        return new Result(Generate(question, sources, model, tokenizer, options, chat), sources, best, true);
    }

    /// <summary>
    /// The model's answer to <paramref name="question"/> from the grounded prompt over <paramref name="sources"/> (greedy by
    /// default): through <paramref name="chat"/> (its stop sequences added) when given, else as a text continuation.
    /// </summary>
    public static string Generate(string question, IReadOnlyList<Chunk> sources, ILanguageModel model, ITokenizer tokenizer, GenerationOptions? options = null,
                                  IChatTemplate? chat = null)
    {
        var o = options ?? new GenerationOptions { MaxNewTokens = 200, Temperature = 0, StopSequences = new[] { "\nQuestion:" } };
        if (chat is not null) o = o with { StopSequences = o.StopSequences.Concat(chat.StopSequences).Distinct().ToArray() };
        var prompt = chat is null ? Prompt(question, sources) : ChatPrompt(question, sources, chat, tokenizer);
        return new TextGenerator(model, tokenizer).Generate(new[] { prompt }, o)[0].Text.Trim();
    }

    /// <summary>
    /// An extractive answer, with no language model: the one sentence of <paramref name="sources"/> whose embedding is
    /// closest to the question's, cited with its chunk's number ("sentence [n]"). A baseline for citations and
    /// "not found"; its words are the source's own, so it is grounded by construction.
    /// </summary>
    public static string Extract(string question, IReadOnlyList<Chunk> sources, Models.Encoders.SentenceEncoder encoder)
    {
        var candidates = new List<(int Source, string Sentence)>();
        for (int i = 0; i < sources.Count; i++)
            foreach (var s in AnswerSupport.Sentences(sources[i].Text))
                if (s.Length >= 20) candidates.Add((i + 1, s.Length > 400 ? s[..400] : s));
        if (candidates.Count == 0) return NotFound;
        var vectors = encoder.Embed(candidates.Select(c => c.Sentence).Prepend(question).ToList());
        int best = 0;
        double bestScore = double.NegativeInfinity;
        for (int i = 0; i < candidates.Count; i++)
        {
            double score = SqliteRagStore.Dot(vectors[0], vectors[i + 1]);
            if (score > bestScore) (best, bestScore) = (i, score);
        }
        return $"{candidates[best].Sentence} [{candidates[best].Source}]";
    }
}
