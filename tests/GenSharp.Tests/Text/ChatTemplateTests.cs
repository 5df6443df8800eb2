using GenSharp.Text;
using GenSharp.Text.Chat;
using Xunit;

namespace GenSharp.Tests;

/// <summary>Chat templates: exact renderings, auto-detection from a model folder, history trimming.</summary>
public class ChatTemplateTests
{
    static readonly ChatMessage[] Conversation =
    {
        ChatMessage.System("You are terse."),
        ChatMessage.User("Hi"),
        ChatMessage.Assistant("Hello!"),
        ChatMessage.User("Bye"),
    };

    [Fact]
    public void ChatMLRendersExactly()
    {
        Assert.Equal(
            "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n" +
            "<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n",
            ChatTemplates.ChatML.Render(Conversation));
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n", ChatTemplates.ChatML.Render(new[] { ChatMessage.User("Hi") }, addGenerationPrompt: false));
        Assert.Contains("<|im_end|>", ChatTemplates.ChatML.StopSequences);
    }

    [Fact]
    public void Llama3RendersExactly()
    {
        Assert.Equal(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
            ChatTemplates.Llama3.Render(Conversation));
        // Llama-3's own template trims message contents.
        Assert.Equal("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
            ChatTemplates.Llama3.Render(new[] { ChatMessage.User("  Hi \n") }, addGenerationPrompt: false));
        Assert.Contains("<|eot_id|>", ChatTemplates.Llama3.StopSequences);
        // For tokenizers whose caller puts the start-of-sequence token first, the prefix is left out.
        Assert.Equal("<|begin_of_text|>", ChatTemplates.Llama3.BeginOfText);
        Assert.Equal("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
            ChatTemplates.Llama3.Render(new[] { ChatMessage.User("Hi") }, beginOfText: false));
        Assert.Equal("", ChatTemplates.ChatML.BeginOfText);
    }

    [Fact]
    public void PlainRendersExactly()
    {
        Assert.Equal("System: You are terse.\nUser: Hi\nAssistant: Hello!\nUser: Bye\nAssistant:", ChatTemplates.Plain.Render(Conversation));
        Assert.Equal("User: Hi\n", ChatTemplates.Plain.Render(new[] { ChatMessage.User("Hi") }, addGenerationPrompt: false));
        Assert.Contains("\nUser:", ChatTemplates.Plain.StopSequences);
    }

    [Fact]
    public void NamesSelectBuiltIns()
    {
        Assert.Same(ChatTemplates.ChatML, ChatTemplates.ByName("ChatML"));
        Assert.Same(ChatTemplates.Llama3, ChatTemplates.ByName("llama3"));
        Assert.Same(ChatTemplates.Plain, ChatTemplates.ByName("plain"));
        var e = Assert.Throws<ParameterException>(() => ChatTemplates.ByName("alpaca"));
        Assert.Contains("chatml, llama3, plain", e.Message);
        var s = ChatTemplates.Select("llama3", TestData.TempDir());                 // --template wins, no notice
        Assert.Same(ChatTemplates.Llama3, s.Template);
        Assert.Null(s.Notice);
    }

    // Abridged forms of the Jinja templates Qwen2.5 and Llama-3 ship; only their markers matter.
    const string QwenJinja = "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";
    const string LlamaJinja = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{{ content }}{% endfor %}";

    static string Folder(string tokenizerConfig)
    {
        var dir = TestData.TempDir();
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), tokenizerConfig);
        return dir;
    }

    static string Json(string s) => System.Text.Json.JsonSerializer.Serialize(s);

    [Fact]
    public void DetectsChatMLAndLlama3FromTokenizerConfig()
    {
        var qwen = ChatTemplates.FromFolder(Folder($"{{\"model_max_length\": 32768, \"chat_template\": {Json(QwenJinja)}}}"));
        Assert.Same(ChatTemplates.ChatML, qwen.Template);
        Assert.Null(qwen.Notice);
        Assert.Contains("tokenizer_config.json", qwen.Source);
        var llama = ChatTemplates.FromFolder(Folder($"{{\"chat_template\": {Json(LlamaJinja)}}}"));
        Assert.Same(ChatTemplates.Llama3, llama.Template);
        Assert.Null(llama.Notice);
        // The list form: [{name, template}], "default" taken.
        var list = ChatTemplates.FromFolder(Folder($"{{\"chat_template\": [{{\"name\": \"tool_use\", \"template\": {Json(QwenJinja)}}}, {{\"name\": \"default\", \"template\": {Json(LlamaJinja)}}}]}}"));
        Assert.Same(ChatTemplates.Llama3, list.Template);
        // Newer exports keep it in chat_template.jinja beside a config without one.
        var dir = Folder("{\"model_max_length\": 2048}");
        File.WriteAllText(Path.Combine(dir, "chat_template.jinja"), QwenJinja);
        Assert.Same(ChatTemplates.ChatML, ChatTemplates.FromFolder(dir).Template);
    }

    [Fact]
    public void UnrecognisedTemplatesFallBackWithANotice()
    {
        // Special tokens in the added tokens point to ChatML even when the Jinja program is unknown.
        var odd = ChatTemplates.FromFolder(Folder("{\"added_tokens_decoder\": {\"1\": {\"content\": \"<|im_start|>\"}}, \"chat_template\": \"{% for m in messages %}### {{ m.role }}: {{ m.content }}{% endfor %}\"}"));
        Assert.Same(ChatTemplates.ChatML, odd.Template);
        Assert.NotNull(odd.Notice);
        Assert.Contains("does not run Jinja", odd.Notice);
        Assert.Contains("'chatml'", odd.Notice);
        Assert.DoesNotContain("\n", odd.Notice);
        var eos = ChatTemplates.FromFolder(Folder("{\"eos_token\": {\"content\": \"\\u003C|eot_id|\\u003E\"}}"));   // no template; Llama-3's end of turn, escaped
        Assert.Same(ChatTemplates.Llama3, eos.Template);
        Assert.Contains("has no chat template", eos.Notice);
        var none = ChatTemplates.FromFolder(TestData.TempDir());                    // a GenSharp checkpoint: no tokenizer_config.json
        Assert.Same(ChatTemplates.Plain, none.Template);
        Assert.Contains("'plain'", none.Notice);
        var bad = Assert.Throws<GenSharpException>(() => ChatTemplates.FromFolder(Folder("{not json")));
        Assert.Contains("tokenizer_config.json is not valid JSON", bad.Message);
    }

    // Plain rendering lengths, counted by hand (a character tokenizer gives one token per character):
    //   "System: Be brief.\n" 18, "User: one\n" 10, "Assistant: 1\n" 13, "User: two\n" 10, "Assistant: 2\n" 13,
    //   "User: three\n" 12, "Assistant:" 10 → all 86; without the first turn 63; without the first two 40.
    static readonly ChatMessage[] Long =
    {
        ChatMessage.System("Be brief."),
        ChatMessage.User("one"), ChatMessage.Assistant("1"),
        ChatMessage.User("two"), ChatMessage.Assistant("2"),
        ChatMessage.User("three"),
    };

    [Theory]
    [InlineData(86, 0, 86, false)]
    [InlineData(85, 2, 63, false)]
    [InlineData(63, 2, 63, false)]
    [InlineData(62, 4, 40, false)]
    [InlineData(39, 4, 40, true)]
    public void TrimmingDropsTheOldestWholeTurns(int budget, int dropped, int tokens, bool over)
    {
        var tokenizer = CharTokenizer.Train(ChatTemplates.Plain.Render(Long));
        var p = ChatPrompt.Fit(ChatTemplates.Plain, tokenizer, Long, budget);
        Assert.Equal(dropped, p.Dropped);
        Assert.Equal(tokens, p.Tokens);
        Assert.Equal(over, p.OverBudget);
        Assert.Equal(Long[0], p.Messages[0]);                                      // the system prompt stays
        Assert.Equal(Long.Skip(1 + dropped), p.Messages.Skip(1));
        Assert.Equal(ChatTemplates.Plain.Render(p.Messages), p.Text);
        Assert.Equal(tokens, p.Text.Length);
    }

    [Fact]
    public void BudgetLeavesRoomForTheReply()
    {
        Assert.Equal(1024 - 200, ChatPrompt.Budget(1024, 200));
        Assert.Equal(32, ChatPrompt.Budget(64, 1000));                               // at most half the context for the reply
        Assert.Equal(64, ChatPrompt.Budget(64, 0));
    }
}
