using GenSharp.Models;
using GenSharp.Sampling;

namespace GenSharp.Text.Chat;

/// <summary>
/// A conversation with a language model: keeps the history, re-renders the whole conversation with the
/// template every turn, drops the oldest turns when the prompt would not leave room for the reply in
/// the model's context, and streams the reply. Works with any <see cref="ILanguageModel"/> and
/// <see cref="ITokenizer"/> (GenSharp gpt checkpoints, Hugging Face model folders). Not thread-safe.
/// </summary>
public sealed class ChatSession
{
    readonly ILanguageModel _model;
    readonly ITokenizer _tokenizer;
    readonly TextGenerator _generator;
    readonly List<ChatMessage> _history = new();

    /// <param name="model">The model.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="template">How the conversation is rendered.</param>
    /// <param name="systemPrompt">Optional system prompt, kept at the start of every prompt.</param>
    public ChatSession(ILanguageModel model, ITokenizer tokenizer, IChatTemplate template, string? systemPrompt = null)
    {
        _model = model;
        _tokenizer = tokenizer;
        _generator = new TextGenerator(model, tokenizer);
        Template = template;
        SystemPrompt = string.IsNullOrWhiteSpace(systemPrompt) ? null : systemPrompt;
    }

    /// <summary>The template.</summary>
    public IChatTemplate Template { get; }

    /// <summary>The system prompt, or null.</summary>
    public string? SystemPrompt { get; }

    /// <summary>User and assistant messages so far (without the system prompt).</summary>
    public IReadOnlyList<ChatMessage> History => _history;

    /// <summary>The last finished reply, or null.</summary>
    public ChatReply? LastReply { get; private set; }

    /// <summary>Forgets the conversation (the system prompt stays).</summary>
    public void Reset()
    {
        _history.Clear();
        LastReply = null;
    }

    /// <summary>The messages the model is shown next: the system prompt, then the history.</summary>
    public IReadOnlyList<ChatMessage> Conversation(string? nextUserMessage = null)
    {
        var all = new List<ChatMessage>();
        if (SystemPrompt is not null) all.Add(ChatMessage.System(SystemPrompt));
        all.AddRange(_history);
        if (nextUserMessage is not null) all.Add(ChatMessage.User(nextUserMessage));
        return all;
    }

    /// <summary>
    /// One line for the start of a chat: how many tokens of the model's context the conversation may use after
    /// reserving room for replies of <paramref name="options"/>' length, so a short context's trimming is no surprise.
    /// </summary>
    public string DescribeContext(GenerationOptions options) => ChatPrompt.DescribeBudget(_model.ContextLength, options.MaxNewTokens);

    /// <summary>
    /// Sends <paramref name="userMessage"/> and streams the reply as it is decoded (leading white space
    /// skipped). The template's stop sequences are added to those of <paramref name="options"/>. When the
    /// enumeration completes, the message and the reply join the history and <see cref="LastReply"/> is
    /// set; a cancelled or failed turn leaves the history as it was. <paramref name="notice"/> receives
    /// one-line notices (oldest turns dropped, prompt longer than the context).
    /// </summary>
    public IEnumerable<string> Reply(string userMessage, GenerationOptions options, Action<string>? notice = null,
        CancellationToken cancel = default)
    {
        if (string.IsNullOrWhiteSpace(userMessage)) throw new GenSharpException("the message is empty; type some text");
        options = options with { StopSequences = options.StopSequences.Concat(Template.StopSequences).Distinct().ToArray() };
        options.Validate();
        var prompt = ChatPrompt.Fit(Template, _tokenizer, Conversation(userMessage), ChatPrompt.Budget(_model.ContextLength, options.MaxNewTokens));
        if (prompt.Dropped > 0)
        {
            int budget = ChatPrompt.Budget(_model.ContextLength, options.MaxNewTokens);
            notice?.Invoke($"dropped the {prompt.Dropped} oldest message(s) to fit the model's context of {_model.ContextLength} tokens " +
                           $"({_model.ContextLength - budget} reserved for the reply leave {budget} for the conversation; it keeps {prompt.Tokens} now)");
        }
        if (prompt.OverBudget)
            notice?.Invoke($"the prompt ({prompt.Tokens} tokens) is longer than the {_model.ContextLength}-token context allows with room for the reply; the model sees only its end");
        var results = new GenerationResult[1];
        bool started = false;
        foreach (var piece in _generator.Run(new[] { prompt.Text }, options, results, cancel))
        {
            var text = piece.Text;
            if (!started)
            {
                text = text.TrimStart();
                if (text.Length == 0) continue;
                started = true;
            }
            yield return text;
        }
        var r = results[0];
        // The dropped turns leave the history for good, so the notice comes once per trimming.
        _history.RemoveRange(0, prompt.Dropped);
        _history.Add(ChatMessage.User(userMessage));
        _history.Add(ChatMessage.Assistant(r.Text.Trim()));
        LastReply = new ChatReply(r.Text.Trim(), r.PromptTokens, r.GeneratedTokens, r.FinishReason, prompt.Dropped);
    }
}
