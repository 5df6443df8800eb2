using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Xunit;

namespace GenSharp.Tests;

/// <summary>The playground in a real browser against the in-process server: chat streaming, regenerate, edit, persistence,
/// readable errors on the image page, and the training page's curve and sample grids.</summary>
[Collection("Server")]
public class PlaygroundBrowserTests(ServerFixture f, PlaygroundBrowser browser) : IClassFixture<PlaygroundBrowser>
{
    const float Timeout = 60_000;

    async Task<IPage> Open(string hash)
    {
        var context = await browser.Browser.NewContextAsync();
        context.SetDefaultTimeout(Timeout);
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        await page.GotoAsync(f.BaseUrl + "/" + hash);
        return page;
    }

    /// <summary>The greedy reply of the server's non-streaming API to the conversation: what the page must assemble from the stream.</summary>
    async Task<string> GreedyReply(params (string Role, string Content)[] messages)
    {
        var (status, body) = await f.PostJson("/v1/chat/completions", new JsonObject
        {
            ["model"] = "chat", ["temperature"] = 0, ["max_tokens"] = 20,
            ["messages"] = new JsonArray(messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content }).ToArray()),
        });
        Assert.Equal(200, status);
        return (string)body["choices"]![0]!["message"]!["content"]!;
    }

    static async Task WaitIdle(IPage page) =>
        await page.WaitForFunctionAsync("() => !document.getElementById('chat-send').disabled && !document.querySelector('.msg.streaming')");

    static async Task<string[]> Texts(IPage page, string selector) => (await page.Locator(selector).AllInnerTextsAsync()).ToArray();

    [Fact]
    public async Task ChatStreamsAReplyRegeneratesEditsAndKeepsTheConversation()
    {
        var page = await Open("#chat");
        await page.Locator("#chat-model option[value='chat']").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await page.Locator("#chat-model").SelectOptionAsync("chat");
        await page.Locator("#chat-temperature").FillAsync("0");
        await page.Locator("#chat-max-tokens").FillAsync("20");
        await page.Locator("#chat-input").FillAsync("hi");
        await page.Locator("#chat-send").ClickAsync();
        // The Stop button is live while the reply streams; the assembled text is the non-streaming greedy reply.
        await WaitIdle(page);
        var expected = await GreedyReply(("user", "hi"));
        Assert.NotEmpty(expected);
        Assert.Equal(new[] { "hi", expected }, await Texts(page, "#chat-messages .text"));
        Assert.True(await page.Locator("#chat-stop").IsDisabledAsync());

        // Regenerate replaces the last reply (greedy: the same text), it does not append one.
        await page.Locator("#chat-regenerate").ClickAsync();
        await WaitIdle(page);
        Assert.Equal(new[] { "hi", expected }, await Texts(page, "#chat-messages .text"));

        // A second turn, then editing the first message drops everything after it and resends.
        await page.Locator("#chat-input").FillAsync("ok");
        await page.Locator("#chat-input").PressAsync("Enter");
        await WaitIdle(page);
        Assert.Equal(4, await page.Locator("#chat-messages .msg").CountAsync());
        await page.Locator("#chat-messages .msg.user .edit").First.ClickAsync();
        await page.Locator("#chat-messages textarea").FillAsync("yo");
        await page.Locator("#chat-messages .save-edit").ClickAsync();
        await WaitIdle(page);
        Assert.Equal(new[] { "yo", await GreedyReply(("user", "yo")) }, await Texts(page, "#chat-messages .text"));

        // The conversation survives a reload (localStorage).
        await page.ReloadAsync();
        await page.Locator("#chat-messages .msg.assistant").WaitForAsync();
        Assert.Equal("yo", (await Texts(page, "#chat-messages .text"))[0]);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task StopEndsTheStreamAndKeepsThePartialReply()
    {
        var page = await Open("#chat");
        await page.Locator("#chat-model option[value='chat']").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await page.Locator("#chat-model").SelectOptionAsync("chat");
        await page.Locator("#chat-max-tokens").FillAsync("4000");
        await page.Locator("#chat-input").FillAsync("hi");
        await page.Locator("#chat-send").ClickAsync();
        await page.Locator("#chat-stop:not([disabled])").WaitForAsync();
        await page.Locator("#chat-stop").ClickAsync();
        await WaitIdle(page);
        Assert.Equal(2, await page.Locator("#chat-messages .msg").CountAsync());
        Assert.True(await page.Locator("#chat-error").IsHiddenAsync());   // stopping is not an error
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task ImageErrorsAreShownAsReadableMessages()
    {
        var page = await Open("#images");
        await page.Locator("#images-model option[value='chat']").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await page.Locator("#images-model").SelectOptionAsync("chat");
        await page.Locator("#images-class").SelectOptionAsync("Trouser");
        await page.Locator("#images-generate").ClickAsync();
        await page.Locator("#images-error:not([hidden])").WaitForAsync();
        var message = await page.Locator("#images-error").InnerTextAsync();
        // The server's message from OpenAI's error shape (a text model cannot make images), not raw JSON.
        Assert.Matches(@"HTTP 4\d\d", message);
        Assert.DoesNotContain("{", message);
        Assert.Equal(0, await page.Locator("#images-grid figure").CountAsync());
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task TrainingPageDrawsTheLossCurveAndShowsTheLatestSamples()
    {
        var page = await Open("#training");
        await page.Locator("#training-run option[value='vae-run']").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await page.Locator("#training-run").SelectOptionAsync("vae-run");
        await page.WaitForFunctionAsync("() => document.getElementById('training-status').textContent.startsWith('step 100')");
        Assert.Equal("loss", await page.Locator("#training-series").InputValueAsync());
        // Both sample grids, newest first, loaded as real images.
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('#training-samples img')].filter(i => i.complete && i.naturalWidth > 0).length === 2");
        Assert.Equal(new[] { "step-0000100.png", "step-0000050.png" }, await Texts(page, "#training-samples figcaption"));
        // The curve is drawn: pixels of the series colour (#2f6fde) on the canvas.
        var drawn = await page.EvaluateAsync<int>(@"() => {
            const c = document.getElementById('training-canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - 47) < 20 && Math.abs(d[i + 1] - 111) < 20 && Math.abs(d[i + 2] - 222) < 20) n++;
            return n;
        }");
        Assert.True(drawn > 50, $"{drawn} curve pixels");
        await page.Context.CloseAsync();
    }
}
