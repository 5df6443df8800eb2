using GenSharp.Extensions.AI;
using GenSharp.Models.Gpt;
using GenSharp.Runtime;
using GenSharp.Sampling;
using GenSharp.Text;
using GenSharp.Text.Chat;
using Microsoft.Extensions.AI;
using TorchSharp;
using Xunit;
using MChatMessage = Microsoft.Extensions.AI.ChatMessage;
using MChatRole = Microsoft.Extensions.AI.ChatRole;

namespace GenSharp.Tests;

/// <summary>The Microsoft.Extensions.AI adapter over a tiny random gpt with a character tokenizer and the plain template.</summary>
public class ChatClientTests
{
    const string Alphabet = "System: User: Assistant: B abcdefghijklmnopqrstuvwxyz.,!?\n";

    static GenSharpChatClient Client(GenerationOptions? defaults = null)
    {
        TorchRuntime.EnsureReady();
        var tokenizer = CharTokenizer.Train(Alphabet);
        torch.manual_seed(11);
        var model = new GptModel(new GptConfig { NLayer = 1, NHead = 2, NEmbd = 16, BlockSize = 64, VocabSize = tokenizer.VocabSize }, torch.CPU);
        return new GenSharpChatClient(model, tokenizer, ChatTemplates.Plain, "tiny-gpt", defaults ?? new GenerationOptions { Temperature = 1.0 });
    }

    static readonly MChatMessage[] Hello = { new(MChatRole.User, "hello there") };

    [Fact]
    public async Task MaxOutputTokensGivesLengthAndCountsTokens()
    {
        using var client = Client();
        var r = await client.GetResponseAsync(Hello, new ChatOptions { MaxOutputTokens = 7, Seed = 1 });
        Assert.Equal(ChatFinishReason.Length, r.FinishReason);
        Assert.Equal(7, r.Usage!.OutputTokenCount);
        // The prompt is the plain rendering, one token per character.
        Assert.Equal("User: hello there\nAssistant:".Length, r.Usage.InputTokenCount);
        Assert.Equal(r.Usage.InputTokenCount + 7, r.Usage.TotalTokenCount);
        Assert.Equal("tiny-gpt", r.ModelId);
        Assert.Equal(MChatRole.Assistant, r.Messages.Single().Role);
        // Instructions become a system message ahead of the conversation.
        var withSystem = await client.GetResponseAsync(Hello, new ChatOptions { MaxOutputTokens = 1, Seed = 1, Instructions = "Be brief." });
        Assert.Equal("System: Be brief.\nUser: hello there\nAssistant:".Length, withSystem.Usage!.InputTokenCount);
    }

    [Fact]
    public async Task StopSequenceGivesStopAndCutsTheText()
    {
        using var client = Client();
        var full = (await client.GetResponseAsync(Hello, new ChatOptions { MaxOutputTokens = 30, Seed = 5 })).Text;
        int k = Enumerable.Range(2, full.Length - 2).First(i => !char.IsWhiteSpace(full[i]));
        var stop = full[k].ToString();
        var r = await client.GetResponseAsync(Hello, new ChatOptions { MaxOutputTokens = 30, Seed = 5, StopSequences = new[] { stop } });
        Assert.Equal(ChatFinishReason.Stop, r.FinishReason);
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)].TrimEnd(), r.Text);
        Assert.True(r.Usage!.OutputTokenCount < 30);
    }

    [Fact]
    public async Task SeedMakesResponsesRepeatable()
    {
        using var client = Client();
        var o = new ChatOptions { MaxOutputTokens = 30, Seed = 7, Temperature = 1f, TopK = 20, TopP = 0.95f };
        var a = await client.GetResponseAsync(Hello, o);
        var b = await client.GetResponseAsync(Hello, o);
        Assert.Equal(a.Text, b.Text);
        var c = await client.GetResponseAsync(Hello, new ChatOptions { MaxOutputTokens = 30, Seed = 8, Temperature = 1f, TopK = 20, TopP = 0.95f });
        Assert.NotEqual(a.Text, c.Text);
        // Temperature 0 is greedy whatever the seed.
        var g1 = await client.GetResponseAsync(Hello, new ChatOptions { MaxOutputTokens = 20, Seed = 1, Temperature = 0f });
        var g2 = await client.GetResponseAsync(Hello, new ChatOptions { MaxOutputTokens = 20, Seed = 2, Temperature = 0f });
        Assert.Equal(g1.Text, g2.Text);
    }

    [Fact]
    public async Task StreamingEqualsNonStreaming()
    {
        using var client = Client();
        var o = new ChatOptions { MaxOutputTokens = 40, Seed = 3 };
        var whole = await client.GetResponseAsync(Hello, o);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync(Hello, o)) updates.Add(u);
        Assert.True(updates.Count > 2);
        Assert.Equal(whole.Text, string.Concat(updates.Select(u => u.Text)));
        var combined = updates.ToChatResponse();
        Assert.Equal(whole.Text, combined.Text);
        Assert.Equal(whole.FinishReason, combined.FinishReason);
        Assert.Equal(whole.Usage!.InputTokenCount, combined.Usage!.InputTokenCount);
        Assert.Equal(whole.Usage.OutputTokenCount, combined.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task CancellationThrowsAndFreesTheClient()
    {
        using var client = Client();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetResponseAsync(Hello, new ChatOptions { Seed = 1 }, cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync(Hello, new ChatOptions { Seed = 1 }, cancelled.Token)) { }
        });
        // Cancelled mid-stream: the generation stops long before its 5,000 tokens.
        using var midway = new CancellationTokenSource();
        int seen = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var u in client.GetStreamingResponseAsync(Hello, new ChatOptions { Seed = 1, MaxOutputTokens = 5000 }, midway.Token))
                if (++seen == 3) midway.Cancel();
        });
        Assert.InRange(seen, 3, 4);
        // The client is free again afterwards.
        var r = await client.GetResponseAsync(Hello, new ChatOptions { Seed = 1, MaxOutputTokens = 3 });
        Assert.Equal(3, r.Usage!.OutputTokenCount);
    }

    [Fact]
    public async Task ConcurrentCallsRunOneAtATime()
    {
        using var client = Client();
        var o = new ChatOptions { MaxOutputTokens = 25, Seed = 9 };
        var alone = (await client.GetResponseAsync(Hello, o)).Text;
        // A stream being read holds the client: a second call waits until the stream ends.
        await using (var stream = client.GetStreamingResponseAsync(Hello, new ChatOptions { MaxOutputTokens = 50, Seed = 1 }).GetAsyncEnumerator())
        {
            Assert.True(await stream.MoveNextAsync());
            var waiting = client.GetResponseAsync(Hello, o);
            await Task.Delay(300);
            Assert.False(waiting.IsCompleted);
            while (await stream.MoveNextAsync()) { }
            Assert.Equal(alone, (await waiting).Text);
        }
        var both = await Task.WhenAll(client.GetResponseAsync(Hello, o), client.GetResponseAsync(Hello, o));
        Assert.All(both, r => Assert.Equal(alone, r.Text));
    }

    [Fact]
    public void MetadataNamesProviderAndModel()
    {
        using var client = Client();
        var meta = client.GetService<ChatClientMetadata>();
        Assert.NotNull(meta);
        Assert.Equal("gensharp", meta!.ProviderName);
        Assert.Equal("tiny-gpt", meta.DefaultModelId);
        Assert.Same(client, client.GetService<GenSharpChatClient>());
        Assert.Same(ChatTemplates.Plain, client.GetService<IChatTemplate>());
        Assert.Null(client.GetService<ChatClientMetadata>("some key"));
    }

    [Fact]
    public async Task ToolRoleIsRejected()
    {
        using var client = Client();
        await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(new[] { new MChatMessage(MChatRole.Tool, "x") }));
    }
}
