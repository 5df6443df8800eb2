using GenSharp.Text;
using GenSharp.Text.Chat;
using Xunit;

namespace GenSharp.Tests;

/// <summary>What chat tells the user: which template a GenSharp checkpoint gets, how much history fits, where a bad character is.</summary>
public class ChatNoticeTests
{
    [Fact]
    public void AGenSharpCheckpointGetsPlainWithOneLineThatSaysWhy()
    {
        foreach (var tokenizer in new ITokenizer[] { CharTokenizer.Train("User: hi"), BpeTokenizer.Train("User: hi User: ho", 260) })
        {
            var dir = TestData.TempDir();
            Tokenizers.Save(tokenizer, Path.Combine(dir, Tokenizers.FileName));
            var s = ChatTemplates.Select(null, dir);
            Assert.Same(ChatTemplates.Plain, s.Template);
            Assert.NotNull(s.Notice);
            Assert.DoesNotContain("\n", s.Notice);
            Assert.DoesNotContain("Jinja", s.Notice);                                 // the Hugging Face advice does not apply
            Assert.Contains("'plain'", s.Notice);
            Assert.Contains("GenSharp checkpoint has no chat template", s.Notice);
            Assert.True(s.Notice!.Length <= 120, s.Notice);
            Assert.Same(ChatTemplates.ChatML, ChatTemplates.Select("chatml", dir).Template);   // --template still wins
        }
        // A Hugging Face tokenizer.json (no "kind") keeps the Hugging Face path and its advice.
        var hf = TestData.TempDir();
        File.WriteAllText(Path.Combine(hf, "tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}");
        Assert.Contains("does not run Jinja", ChatTemplates.FromFolder(hf).Notice);
    }

    [Theory]
    [InlineData(64, 200, 32, true)]       // the reply's share is capped at half the context
    [InlineData(64, 10, 54, false)]
    [InlineData(2048, 200, 1848, false)]
    public void TheBudgetLineSaysHowMuchHistoryFits(int context, int maxTokens, int history, bool capped)
    {
        var line = ChatPrompt.DescribeBudget(context, maxTokens);
        Assert.Equal(history, ChatPrompt.Budget(context, maxTokens));
        Assert.Contains($"context is {context} tokens: {context - history} reserved for the reply", line);
        Assert.Contains($"keeps at most {history} tokens", line);
        Assert.Equal(capped, line.Contains($"(of {maxTokens} asked; at most half the context)"));
        Assert.DoesNotContain("\n", line);
    }

    // The plain template renders "System: …\nUser: …\nAssistant: …\n…Assistant:"; a char tokenizer trained on ASCII lacks "é".
    static readonly CharTokenizer Ascii = CharTokenizer.Train("System: User: Assistant: abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ.!?\n");

    [Fact]
    public void AnUnknownCharacterIsPlacedInTheUsersOwnMessage()
    {
        var messages = new[] { ChatMessage.System("Be brief."), ChatMessage.User("hi"), ChatMessage.Assistant("hello"), ChatMessage.User("a héllo") };
        // The rendered prompt puts "é" far from position 3: the old message counted from the prompt's start.
        int inPrompt = ChatTemplates.Plain.Render(messages).IndexOf('é');
        Assert.True(inPrompt > 30);
        var e = Assert.Throws<GenSharpException>(() => ChatPrompt.Fit(ChatTemplates.Plain, Ascii, messages, 1000));
        Assert.StartsWith("in your message: character 'é' (U+00E9) at position 3 ", e.Message);
        Assert.DoesNotContain($"position {inPrompt}", e.Message);

        var system = Assert.Throws<GenSharpException>(() => ChatPrompt.Fit(ChatTemplates.Plain, Ascii,
            new[] { ChatMessage.System("Sé brief."), ChatMessage.User("hi") }, 1000));
        Assert.StartsWith("in the system prompt: character 'é' (U+00E9) at position 1 ", system.Message);

        var old = Assert.Throws<GenSharpException>(() => ChatPrompt.Fit(ChatTemplates.Plain, Ascii,
            new[] { ChatMessage.User("ok"), ChatMessage.Assistant("ça va"), ChatMessage.User("hi") }, 1000));
        Assert.StartsWith("in assistant message 1 of the conversation: character 'ç' (U+00E7) at position 0 ", old.Message);

        // Every message is fine but the template's own text is not ("U", ":" unknown).
        var bare = CharTokenizer.Train("hi \nAsstn");
        var template = Assert.Throws<GenSharpException>(() => ChatPrompt.Fit(ChatTemplates.Plain, bare, new[] { ChatMessage.User("hi") }, 1000));
        Assert.StartsWith("in the chat template's own text: character 'U' (U+0055) at position 0 ", template.Message);
    }

    [Fact]
    public void PositionsCountCharactersAsAPersonDoes()
    {
        // "🙂" is two UTF-16 units but one character: the unknown "z" after it is at position 1, not 2.
        var e = Assert.Throws<GenSharpException>(() => CharTokenizer.Train("🙂a").Encode("🙂z"));
        Assert.Contains("'z' (U+007A) at position 1 ", e.Message);
    }
}
