#pragma warning disable OPENAI001 // ChatCompletionOptions.Seed is marked experimental
using System.ClientModel;
using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Sampling;
using GenSharp.Text.Chat;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using TorchSharp;
using Xunit;

namespace GenSharp.Tests;

/// <summary>Real OpenAI clients (the official SDK and Microsoft.Extensions.AI.OpenAI) against the in-process server.</summary>
[Collection("Server")]
public class ServerClientTests(ServerFixture f)
{
    OpenAIClient Client() => new(new ApiKeyCredential("x"), new OpenAIClientOptions { Endpoint = new Uri(f.BaseUrl + "/v1") });

    /// <summary>The plain template's rendering of one user turn, written out by hand (one token per character).</summary>
    const string HiPrompt = "User: hi\nAssistant:";

    /// <summary>The same generation run on the library directly, without the server.</summary>
    static GenerationResult Direct(string dir, string prompt, GenerationOptions options)
    {
        using var m = Checkpoint.LoadTextModel(dir, torch.CPU);
        return new TextGenerator(m.Model, m.Tokenizer).Generate(new[] { prompt }, options)[0];
    }

    [Fact]
    public void SdkChatIsTheLibrarysGenerationWithTheSameSeed()
    {
        var chat = Client().GetChatClient("chat");
        var o = new ChatCompletionOptions { MaxOutputTokenCount = 12, Temperature = 1f, Seed = 3 };
        ChatCompletion a = chat.CompleteChat(new OpenAI.Chat.ChatMessage[] { new UserChatMessage("hi") }, o);
        ChatCompletion b = chat.CompleteChat(new OpenAI.Chat.ChatMessage[] { new UserChatMessage("hi") }, o);
        Assert.Equal(a.Content[0].Text, b.Content[0].Text);
        var direct = Direct(f.ChatModelDir, HiPrompt, new GenerationOptions
        {
            MaxNewTokens = 12, Temperature = 1, Seed = 3, StopSequences = ChatTemplates.Plain.StopSequences,
        });
        Assert.Equal(direct.Text.Trim(), a.Content[0].Text);
        Assert.Equal(HiPrompt.Length, a.Usage.InputTokenCount);
        Assert.Equal(direct.GeneratedTokens, a.Usage.OutputTokenCount);
        Assert.Equal(a.Usage.InputTokenCount + a.Usage.OutputTokenCount, a.Usage.TotalTokenCount);
        Assert.Equal(direct.FinishReason == "length" ? OpenAI.Chat.ChatFinishReason.Length : OpenAI.Chat.ChatFinishReason.Stop, a.FinishReason);
        Assert.Equal("chat", a.Model);
        // Another seed, another reply (12 tokens sampled at temperature 1 from 30-odd characters).
        var c = chat.CompleteChat(new OpenAI.Chat.ChatMessage[] { new UserChatMessage("hi") }, new ChatCompletionOptions { MaxOutputTokenCount = 12, Temperature = 1f, Seed = 4 }).Value;
        Assert.NotEqual(a.Content[0].Text, c.Content[0].Text);
    }

    [Fact]
    public void SdkStreamingGivesTheSameTextAndUsage()
    {
        var chat = Client().GetChatClient("chat");
        var messages = new OpenAI.Chat.ChatMessage[] { new SystemChatMessage("Be brief."), new UserChatMessage("hi") };
        var o = new ChatCompletionOptions { MaxOutputTokenCount = 20, Temperature = 0.8f, Seed = 9 };
        var whole = chat.CompleteChat(messages, o).Value;
        var text = "";
        ChatTokenUsage? usage = null;
        OpenAI.Chat.ChatFinishReason? finish = null;
        foreach (var u in chat.CompleteChatStreaming(messages, o))
        {
            foreach (var part in u.ContentUpdate) text += part.Text;
            usage ??= u.Usage;
            finish ??= u.FinishReason;
        }
        Assert.Equal(whole.Content[0].Text, text);
        Assert.Equal(whole.FinishReason, finish);
        Assert.NotNull(usage);
        Assert.Equal("System: Be brief.\nUser: hi\nAssistant:".Length, usage!.InputTokenCount);
        Assert.Equal(whole.Usage.OutputTokenCount, usage.OutputTokenCount);
    }

    [Fact]
    public void SdkStopSequenceEndsTheReply()
    {
        var chat = Client().GetChatClient("chat");
        var messages = new OpenAI.Chat.ChatMessage[] { new UserChatMessage("hi") };
        var full = chat.CompleteChat(messages, new ChatCompletionOptions { MaxOutputTokenCount = 30, Temperature = 1f, Seed = 5 }).Value.Content[0].Text;
        int k = Enumerable.Range(1, full.Length - 1).First(i => !char.IsWhiteSpace(full[i]));
        var stop = full[k].ToString();
        var o = new ChatCompletionOptions { MaxOutputTokenCount = 30, Temperature = 1f, Seed = 5 };
        o.StopSequences.Add(stop);
        var r = chat.CompleteChat(messages, o).Value;
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Stop, r.FinishReason);
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)].Trim(), r.Content.Count == 0 ? "" : r.Content[0].Text);
    }

    [Fact]
    public async Task MicrosoftExtensionsAiClientAgreesWithTheSdk()
    {
        var client = Client();
        IChatClient ai = client.GetChatClient("chat").AsIChatClient();
        var options = new ChatOptions { MaxOutputTokens = 15, Temperature = 1f, Seed = 21 };
        var r = await ai.GetResponseAsync("hi", options);
        var sdk = client.GetChatClient("chat").CompleteChat(new OpenAI.Chat.ChatMessage[] { new UserChatMessage("hi") },
            new ChatCompletionOptions { MaxOutputTokenCount = 15, Temperature = 1f, Seed = 21 }).Value;
        Assert.Equal(sdk.Content[0].Text, r.Text);
        Assert.Equal(HiPrompt.Length, r.Usage!.InputTokenCount);
        var streamed = "";
        await foreach (var u in ai.GetStreamingResponseAsync("hi", options)) streamed += u.Text;
        Assert.Equal(r.Text, streamed);
    }

    [Fact]
    public async Task SdkListsTheModelsOfTheFolder()
    {
        var models = (await Client().GetOpenAIModelClient().GetModelsAsync()).Value;
        Assert.Equal(new[] { "chat", "gan", "qwen2" }, models.Select(m => m.Id).ToArray());
        Assert.All(models, m => Assert.Equal("gensharp", m.OwnedBy));
    }

    [Fact]
    public async Task CompletionsWithNAreTheLibrarysGenerationsWithSeedPlusChoice()
    {
        var (status, body) = await f.PostJson("/v1/completions", new JsonObject
        {
            ["model"] = "qwen2", ["prompt"] = "hello world", ["max_tokens"] = 6, ["n"] = 2, ["seed"] = 17, ["temperature"] = 1.0,
        });
        Assert.True(status == 200, body.ToJsonString());
        Assert.Equal("text_completion", (string?)body["object"]);
        var choices = body["choices"]!.AsArray();
        Assert.Equal(2, choices.Count);
        // Independent path: the library's generator on the prompt alone, choice c with seed 17 + c.
        using var m = Checkpoint.LoadTextModel(f.QwenDir, torch.CPU);
        var direct = Enumerable.Range(0, 2).Select(c => new TextGenerator(m.Model, m.Tokenizer).Generate(new[] { "hello world" },
            new GenerationOptions { MaxNewTokens = 6, Temperature = 1, Seed = 17 + c })[0]).ToArray();
        Assert.NotEqual(direct[0].Text, direct[1].Text);
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(direct[i].Text, (string?)choices[i]!["text"]);
            Assert.Equal(direct[i].FinishReason, (string?)choices[i]!["finish_reason"]);
            Assert.Equal(i, (int)choices[i]!["index"]!);
        }
        var usage = body["usage"]!;
        Assert.Equal(direct[0].PromptTokens, (int)usage["prompt_tokens"]!);
        Assert.Equal(direct.Sum(r => r.GeneratedTokens), (int)usage["completion_tokens"]!);
        Assert.Equal((int)usage["prompt_tokens"]! + (int)usage["completion_tokens"]!, (int)usage["total_tokens"]!);
    }
}
