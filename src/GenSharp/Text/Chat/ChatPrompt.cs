namespace GenSharp.Text.Chat;

/// <summary>
/// A conversation rendered for the model, after dropping the oldest turns that do not fit the token
/// budget. Leading system messages are always kept; turns are dropped whole, from the oldest user
/// message up to (not including) the next one.
/// </summary>
/// <param name="Text">The rendered prompt (with the generation prompt).</param>
/// <param name="Tokens">Its length in tokens.</param>
/// <param name="Messages">The messages it renders (system messages and the kept turns).</param>
/// <param name="Dropped">How many messages were dropped from the start of the conversation (after its system messages).</param>
/// <param name="OverBudget">True when even the last turn alone exceeds the budget (the model then sees only the end of the prompt).</param>
public sealed record ChatPrompt(string Text, int Tokens, IReadOnlyList<ChatMessage> Messages, int Dropped, bool OverBudget)
{
    /// <summary>
    /// Prompt tokens allowed for a model of <paramref name="contextLength"/> tokens: the context less
    /// room for the reply (<paramref name="maxNewTokens"/>, at most half the context).
    /// </summary>
    public static int Budget(int contextLength, int maxNewTokens) =>
        Math.Max(1, contextLength - Math.Min(Math.Max(0, maxNewTokens), contextLength / 2));

    /// <summary>
    /// Renders <paramref name="messages"/>, dropping the fewest oldest turns that make the prompt fit
    /// <paramref name="budget"/> tokens. The template's begin-of-text prefix is left out when the tokenizer's
    /// caller puts the start-of-sequence token first anyway (see <see cref="TokenizerAddsBeginOfText"/>).
    /// </summary>
    public static ChatPrompt Fit(IChatTemplate template, ITokenizer tokenizer, IReadOnlyList<ChatMessage> messages, int budget)
    {
        bool beginOfText = !TokenizerAddsBeginOfText(tokenizer);
        if (budget < 1) throw new GenSharpException($"the prompt budget must be ≥ 1 token, got {budget}");
        int pinned = 0;
        while (pinned < messages.Count && messages[pinned].Role == ChatRole.System) pinned++;
        // Candidate starts of the kept part: the first message after the system ones, then every later user message.
        var starts = new List<int> { pinned };
        for (int i = pinned + 1; i < messages.Count; i++)
            if (messages[i].Role == ChatRole.User) starts.Add(i);
        ChatPrompt? last = null;
        foreach (int s in starts)
        {
            var kept = messages.Take(pinned).Concat(messages.Skip(s)).ToArray();
            var text = template.Render(kept, addGenerationPrompt: true, beginOfText);
            int tokens = Count(tokenizer, text, kept);
            last = new ChatPrompt(text, tokens, kept, s - pinned, tokens > budget);
            if (tokens <= budget) return last;
        }
        return last!;
    }

    /// <summary>
    /// One line on how the context is shared, for the start of a chat: the tokens kept for the reply and the
    /// tokens left for the conversation (system prompt, kept turns and the template's own text).
    /// </summary>
    public static string DescribeBudget(int contextLength, int maxNewTokens)
    {
        int budget = Budget(contextLength, maxNewTokens);
        int reserved = contextLength - budget;
        string capped = reserved < maxNewTokens ? $" (of {maxNewTokens} asked; at most half the context)" : "";
        return $"the model's context is {contextLength} tokens: {reserved} reserved for the reply{capped}, so the conversation " +
               $"(system prompt, turns and template text) keeps at most {budget} tokens; older turns are dropped beyond that";
    }

    /// <summary>
    /// Token count of a rendered prompt. A tokenizer error (a character a char tokenizer never saw) counts positions
    /// in the rendered prompt, which the user never typed: it is re-reported against the message that holds the character.
    /// </summary>
    static int Count(ITokenizer tokenizer, string text, IReadOnlyList<ChatMessage> messages)
    {
        try { return tokenizer.Encode(text).Length; }
        catch (GenSharpException e) { throw Locate(tokenizer, messages, e); }
    }

    static GenSharpException Locate(ITokenizer tokenizer, IReadOnlyList<ChatMessage> messages, GenSharpException error)
    {
        int lastUser = -1;
        for (int i = 0; i < messages.Count; i++) if (messages[i].Role == ChatRole.User) lastUser = i;
        var seen = new Dictionary<ChatRole, int>();
        for (int i = 0; i < messages.Count; i++)
        {
            var role = messages[i].Role;
            seen[role] = seen.GetValueOrDefault(role) + 1;
            try { tokenizer.Encode(messages[i].Content); }
            catch (GenSharpException inner)
            {
                string which = i == lastUser ? "your message"
                    : role == ChatRole.System ? (messages.Count(m => m.Role == ChatRole.System) == 1 ? "the system prompt" : $"system message {seen[role]}")
                    : $"{role.ToString().ToLowerInvariant()} message {seen[role]} of the conversation";
                return new GenSharpException($"in {which}: {inner.Message}", inner);
            }
        }
        // Every message encodes alone: the template's own text (e.g. "User: ") holds what the tokenizer lacks.
        return new GenSharpException($"in the chat template's own text: {error.Message}", error);
    }

    /// <summary>
    /// Whether text generation puts the tokenizer's start-of-sequence token before every prompt. GenSharp's
    /// own char and BPE tokenizers have none; tokenizers of pretrained models may (Llama-3's adds
    /// <c>&lt;|begin_of_text|&gt;</c>), and then the template must not render it again.
    /// </summary>
    internal static bool TokenizerAddsBeginOfText(ITokenizer tokenizer) => tokenizer.AddBosToken && tokenizer.BosTokenId is not null;
}
