using System.Text.Json;
using System.Text.Json.Nodes;

namespace GenSharp.Text.Chat;

/// <summary>
/// The built-in chat templates and their selection. Hugging Face models ship their template as a Jinja
/// program (<c>chat_template</c> in <c>tokenizer_config.json</c>, or <c>chat_template.jinja</c>);
/// GenSharp does not run Jinja. It recognises the two common formats by their markers and renders them
/// with its own built-in (the simple case: system/user/assistant messages, no tools, no default system
/// prompt that the Jinja program may add); anything else falls back to a named built-in with a notice.
/// </summary>
public static class ChatTemplates
{
    /// <summary>Names accepted by <see cref="ByName"/>.</summary>
    public static readonly IReadOnlyList<string> Names = new[] { "chatml", "llama3", "plain" };

    static string Lower(ChatRole r) => r switch
    {
        ChatRole.System => "system",
        ChatRole.User => "user",
        _ => "assistant",
    };

    /// <summary>
    /// ChatML (Qwen, SmolLM2, …): <c>&lt;|im_start|&gt;role\n…&lt;|im_end|&gt;\n</c> per message,
    /// reply opened by <c>&lt;|im_start|&gt;assistant\n</c>.
    /// </summary>
    public static IChatTemplate ChatML { get; } = new ChatTemplate("chatml", "", r => $"<|im_start|>{Lower(r)}\n", "<|im_end|>\n",
        "<|im_start|>assistant\n", new[] { "<|im_end|>", "<|im_start|>", "<|endoftext|>" }, trimContent: false);

    /// <summary>
    /// Llama-3: <c>&lt;|begin_of_text|&gt;</c>, then <c>&lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\n…&lt;|eot_id|&gt;</c>
    /// per message (contents trimmed), reply opened by the assistant header.
    /// </summary>
    public static IChatTemplate Llama3 { get; } = new ChatTemplate("llama3", "<|begin_of_text|>",
        r => $"<|start_header_id|>{Lower(r)}<|end_header_id|>\n\n", "<|eot_id|>",
        "<|start_header_id|>assistant<|end_header_id|>\n\n", new[] { "<|eot_id|>", "<|start_header_id|>", "<|end_of_text|>" }, trimContent: true);

    /// <summary>
    /// For models without special tokens (GenSharp-trained gpt checkpoints): one line per message,
    /// <c>System: …</c>, <c>User: …</c>, <c>Assistant: …</c>; the reply is opened by <c>Assistant:</c>
    /// and ends where the model starts a new <c>User:</c> line. Train on text in this shape to chat.
    /// </summary>
    public static IChatTemplate Plain { get; } = new ChatTemplate("plain", "",
        r => r switch { ChatRole.System => "System: ", ChatRole.User => "User: ", _ => "Assistant: " }, "\n",
        "Assistant:", new[] { "\nUser:", "\nSystem:" }, trimContent: true);

    /// <summary>The built-in called <paramref name="name"/> (case-insensitive).</summary>
    public static IChatTemplate ByName(string name) => name.Trim().ToLowerInvariant() switch
    {
        "chatml" => ChatML,
        "llama3" or "llama-3" => Llama3,
        "plain" => Plain,
        _ => throw new ParameterException("template", $"{name}: expected one of {string.Join(", ", Names)}"),
    };

    /// <summary>
    /// The built-in a Jinja chat template is an instance of, recognised by its markers, or null.
    /// Only the markers are looked at; the Jinja program itself is not run.
    /// </summary>
    public static IChatTemplate? Recognise(string jinja)
    {
        if (jinja.Contains("<|im_start|>", StringComparison.Ordinal) && jinja.Contains("<|im_end|>", StringComparison.Ordinal)) return ChatML;
        if (jinja.Contains("<|start_header_id|>", StringComparison.Ordinal) && jinja.Contains("<|eot_id|>", StringComparison.Ordinal)) return Llama3;
        return null;
    }

    /// <summary>
    /// The template for a model folder: <paramref name="name"/> when given (the caller's choice), else
    /// the folder's recognised <c>chat_template</c>, else a fallback with a notice: <c>plain</c> for a GenSharp
    /// checkpoint (one line: it has no template), <c>chatml</c> or <c>llama3</c> when the tokenizer config names
    /// their special tokens, otherwise <c>plain</c>.
    /// </summary>
    public static ChatTemplateSelection Select(string? name, string folder)
    {
        if (!string.IsNullOrWhiteSpace(name)) return new ChatTemplateSelection(ByName(name), "template", null);
        return FromFolder(folder);
    }

    /// <summary>Auto-detection from a model folder (see <see cref="Select"/>).</summary>
    public static ChatTemplateSelection FromFolder(string folder)
    {
        // A GenSharp checkpoint's tokenizer has no special tokens, so no template but the plain one can apply:
        // say that in one line instead of the Jinja advice meant for Hugging Face folders.
        if (IsGenSharpCheckpoint(folder))
            return new ChatTemplateSelection(Plain, "fallback",
                "template 'plain' (System:/User:/Assistant: lines): a GenSharp checkpoint has no chat template and no special tokens");
        var configPath = Path.Combine(folder, "tokenizer_config.json");
        var jinjaPath = Path.Combine(folder, "chat_template.jinja");
        string? configText = File.Exists(configPath) ? File.ReadAllText(configPath) : null;
        string? jinja = null, where = null;
        if (configText is not null)
        {
            jinja = ReadChatTemplate(configText, configPath);
            where = "tokenizer_config.json chat_template";
        }
        if (jinja is null && File.Exists(jinjaPath))
        {
            jinja = File.ReadAllText(jinjaPath);
            where = "chat_template.jinja";
        }
        const string Hint = "GenSharp does not run Jinja, it recognises ChatML and Llama-3 templates by their markers; choose the template chatml, llama3 or plain by name";
        if (jinja is not null)
        {
            if (Recognise(jinja) is { } known) return new ChatTemplateSelection(known, where!, null);
            var fallback = Fallback(configText);
            return new ChatTemplateSelection(fallback, "fallback",
                $"the {where} in {folder} is not one GenSharp recognises ({Hint}); using the built-in '{fallback.Name}' template");
        }
        var f = Fallback(configText);
        return new ChatTemplateSelection(f, "fallback",
            $"{folder} has no chat template ({Hint}); using the built-in '{f.Name}' template");
    }

    /// <summary>True when the folder's <c>tokenizer.json</c> is GenSharp's own (char or bpe), not a Hugging Face one.</summary>
    static bool IsGenSharpCheckpoint(string folder)
    {
        var file = Path.Combine(folder, Tokenizers.FileName);
        if (!File.Exists(file)) return false;
        try
        {
            using var stream = File.OpenRead(file);
            using var doc = JsonDocument.Parse(stream);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("kind", out var kind) && kind.ValueKind == JsonValueKind.String
                && !doc.RootElement.TryGetProperty("model", out _);
        }
        catch (JsonException) { return false; }                             // the tokenizer loader reports a broken file
    }

    /// <summary>ChatML or Llama-3 when their special tokens appear anywhere in the tokenizer config (e.g. its added tokens or eos_token), else plain.</summary>
    static IChatTemplate Fallback(string? configText)
    {
        if (configText is null) return Plain;
        // Search the decoded strings: JSON writers may escape '<' and '>' (\u003C).
        try { configText = string.Join("\n", Strings(JsonNode.Parse(configText))); }
        catch (JsonException) { }
        if (configText.Contains("<|im_start|>", StringComparison.Ordinal) || configText.Contains("<|im_end|>", StringComparison.Ordinal)) return ChatML;
        if (configText.Contains("<|start_header_id|>", StringComparison.Ordinal) || configText.Contains("<|eot_id|>", StringComparison.Ordinal)) return Llama3;
        return Plain;
    }

    static IEnumerable<string> Strings(JsonNode? node) => node switch
    {
        JsonObject o => o.SelectMany(kv => Strings(kv.Value).Prepend(kv.Key)),
        JsonArray a => a.SelectMany(Strings),
        JsonValue v when v.TryGetValue<string>(out var s) => new[] { s },
        _ => Array.Empty<string>(),
    };

    /// <summary>
    /// The <c>chat_template</c> of a tokenizer config: a string, or a list of <c>{name, template}</c>
    /// objects of which the one named "default" (else the first) is taken.
    /// </summary>
    static string? ReadChatTemplate(string configText, string path)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(configText)?["chat_template"]; }
        catch (JsonException e) { throw new GenSharpException($"{path} is not valid JSON ({e.Message.Split('\n')[0]})"); }
        catch (InvalidOperationException) { throw new GenSharpException($"{path} is not a JSON object"); }
        return node switch
        {
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            JsonArray a => (a.OfType<JsonObject>().FirstOrDefault(o => o["name"]?.GetValue<string>() == "default")
                            ?? a.OfType<JsonObject>().FirstOrDefault())?["template"]?.GetValue<string>(),
            _ => null,
        };
    }
}
