using GenSharp.Extensions.AI;
using Microsoft.Extensions.AI;
using Xunit;

namespace GenSharp.Tests;

/// <summary>Chat over a tiny Hugging Face folder: template detection, special tokens, end-of-sequence stops.</summary>
[Collection("Console")]
public class ChatHfTests
{
    static string Qwen()
    {
        var config = HfModelTests.LlamaConfig("qwen2", heads: 4, kvHeads: 2, tied: true);
        using var m = HfModelTests.RandomModel(config);
        return HfModelTests.Save(m, config);
    }

    [Fact]
    public void ReplRunsOnAnHfFolder()
    {
        var dir = Qwen();
        var saved = Console.In;
        Console.SetIn(new StringReader("the café\nthe end\n"));
        (int Code, string Out, string Err) r;
        try { r = CliTests.Run("chat", dir, "--max-tokens", "6", "--stats", "--seed", "2"); }
        finally { Console.SetIn(saved); }
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("'chatml'", r.Err);                                          // no chat_template, but <|im_end|> is its eos_token
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(r.Err, "prompt tokens").Count);
    }

    [Fact]
    public async Task ChatClientOverAnHfFolder()
    {
        using IChatClient client = GenSharpChatClient.Open(Qwen(), template: "chatml");
        var r = await client.GetResponseAsync(new[] { new ChatMessage(ChatRole.User, "the café") }, new ChatOptions { MaxOutputTokens = 5, Seed = 1 });
        // "<|im_start|>user\nthe café<|im_end|>\n<|im_start|>assistant\n" with the special tokens as single ids.
        var tokenizer = client.GetService<GenSharp.Text.ITokenizer>()!;
        Assert.Equal(tokenizer.Encode("<|im_start|>user\nthe café<|im_end|>\n<|im_start|>assistant\n").Length, r.Usage!.InputTokenCount);
        Assert.InRange(r.Usage.OutputTokenCount!.Value, 1, 5);
        Assert.Equal(r.Usage.OutputTokenCount == 5 && r.FinishReason == ChatFinishReason.Length, r.FinishReason == ChatFinishReason.Length);
    }
}
