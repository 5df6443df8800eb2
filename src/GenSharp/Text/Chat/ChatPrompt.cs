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
            int tokens = tokenizer.Encode(text).Length;
            last = new ChatPrompt(text, tokens, kept, s - pinned, tokens > budget);
            if (tokens <= budget) return last;
        }
        return last!;
    }

    /// <summary>
    /// Whether text generation puts the tokenizer's start-of-sequence token before every prompt. GenSharp's
    /// own char and BPE tokenizers have none; tokenizers of pretrained models may (Llama-3's adds
    /// <c>&lt;|begin_of_text|&gt;</c>), and then the template must not render it again.
    /// </summary>
    internal static bool TokenizerAddsBeginOfText(ITokenizer tokenizer) => tokenizer.AddBosToken && tokenizer.BosTokenId is not null;
}
