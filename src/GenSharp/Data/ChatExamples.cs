using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Text;
using GenSharp.Text.Chat;

namespace GenSharp.Data;

/// <summary>
/// Conversations for supervised fine-tuning, one JSON object per line (<c>{"messages":[{"role":"user","content":…},
/// {"role":"assistant","content":…}]}</c>, the format of Hugging Face's chat datasets), rendered through a chat template
/// and tokenized with labels on the assistant turns only: every other token's label is <see cref="Ignore"/>, so the
/// loss is the model's likelihood of the replies given the conversation before them.
/// </summary>
public static class ChatExamples
{
    /// <summary>The label of a token the loss skips (cross-entropy's default ignore_index, as PyTorch and Hugging Face use it).</summary>
    public const int Ignore = -100;

    /// <summary>Reads the conversations of a JSONL file; one-line errors name the line.</summary>
    public static List<IReadOnlyList<ChatMessage>> Read(string path)
    {
        if (!File.Exists(path)) throw new GenSharpException($"{path}: file not found");
        var result = new List<IReadOnlyList<ChatMessage>>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            string Where() => $"{path} line {lineNo}";
            JsonObject o;
            try { o = JsonNode.Parse(line)?.AsObject() ?? throw new JsonException("empty"); }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            { throw new GenSharpException($"{Where()} is not a JSON object ({e.Message.Split('\n')[0]}); expected {{\"messages\":[{{\"role\":\"user\",\"content\":\"…\"}}, …]}}"); }
            if (o["messages"] is not JsonArray list || list.Count == 0) throw new GenSharpException($"{Where()} has no \"messages\" list");
            var messages = new List<ChatMessage>();
            foreach (var m in list)
            {
                var role = m?["role"]?.GetValue<string>() switch
                {
                    "system" => ChatRole.System,
                    "user" => ChatRole.User,
                    "assistant" => ChatRole.Assistant,
                    var other => throw new GenSharpException($"{Where()}: role {other ?? "(missing)"}; expected system, user or assistant"),
                };
                messages.Add(new ChatMessage(role, m!["content"]?.GetValue<string>() ?? throw new GenSharpException($"{Where()}: a message without \"content\"")));
            }
            if (messages.All(m => m.Role != ChatRole.Assistant)) throw new GenSharpException($"{Where()} has no assistant message to learn");
            result.Add(messages);
        }
        if (result.Count == 0) throw new GenSharpException($"{path} holds no conversations");
        return result;
    }

    /// <summary>
    /// Token ids of a conversation and their labels: the id on the tokens of each assistant reply (its text after the
    /// template's opening of the reply, through the template's end-of-turn marker, so the model learns where to stop),
    /// <see cref="Ignore"/> on the rest. The text is rendered as the model sees it when chatting: prompt, opening of the
    /// reply, then the reply, each piece tokenized on its own. A tokenizer that starts sequences with BOS gets it first.
    /// </summary>
    public static (int[] Ids, int[] Labels) Tokenize(IReadOnlyList<ChatMessage> messages, IChatTemplate template, ITokenizer tokenizer)
    {
        bool bos = tokenizer.AddBosToken && tokenizer.BosTokenId is not null;
        var ids = new List<int>();
        var labels = new List<int>();
        if (bos) { ids.Add(tokenizer.BosTokenId!.Value); labels.Add(Ignore); }
        void Add(string text, bool trained)
        {
            if (text.Length == 0) return;
            foreach (var id in tokenizer.Encode(text)) { ids.Add(id); labels.Add(trained ? id : Ignore); }
        }
        int done = 0;
        for (int k = 0; k < messages.Count; k++)
        {
            if (messages[k].Role != ChatRole.Assistant) continue;
            var history = messages.Take(k).ToList();
            var prompt = template.Render(history, addGenerationPrompt: true, beginOfText: !bos);
            var withReply = template.Render(messages.Take(k + 1).ToList(), addGenerationPrompt: false, beginOfText: !bos);
            if (!withReply.StartsWith(prompt, StringComparison.Ordinal) || prompt.Length < done)
                throw new GenSharpException($"chat template {template.Name} does not render an assistant turn as the reply prompt followed by the reply; it cannot be used to fine-tune");
            Add(prompt[done..], trained: false);
            Add(withReply[prompt.Length..], trained: true);
            done = withReply.Length;
        }
        return (ids.ToArray(), labels.ToArray());
    }
}
