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
    readonly List<string> _scriptErrors = new();

    async Task<IPage> Open(string hash, IBrowserContext? context = null)
    {
        context ??= await browser.Browser.NewContextAsync();
        context.SetDefaultTimeout(Timeout);
        var page = await context.NewPageAsync();
        page.PageError += (_, e) => _scriptErrors.Add(e);
        await page.GotoAsync(f.BaseUrl + "/" + hash);
        return page;
    }

    /// <summary>Closes the page's browser context; the page's scripts threw nothing uncaught meanwhile.</summary>
    async Task Close(IPage page)
    {
        await page.Context.CloseAsync();
        Assert.Empty(_scriptErrors);
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
        await Close(page);
    }

    [Fact]
    public async Task StopEndsAStreamThatNeverEndsAndKeepsThePartialReply()
    {
        // The tiny model finishes within its 64-token context faster than a click: stand in a stream that sends one
        // chunk and then waits forever (until the page aborts it), so only a working Stop button can end it.
        var context = await browser.Browser.NewContextAsync();
        await context.AddInitScriptAsync(@"{
            const real = window.fetch;
            window.fetch = (url, init) => {
                if (!String(url).includes('/v1/chat/completions')) return real(url, init);
                const body = new ReadableStream({ start(c) {
                    c.enqueue(new TextEncoder().encode('data: {""choices"":[{""index"":0,""delta"":{""content"":""partial""}}]}\n\n'));
                    init.signal.addEventListener('abort', () => c.error(new DOMException('stopped', 'AbortError')));
                } });
                return Promise.resolve(new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } }));
            };
        }");
        var page = await Open("#chat", context);
        await page.Locator("#chat-model option[value='chat']").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await page.Locator("#chat-input").FillAsync("hi");
        await page.Locator("#chat-send").ClickAsync();
        await page.WaitForFunctionAsync("() => document.querySelector('.msg.assistant .text')?.textContent === 'partial'");
        Assert.True(await page.Locator("#chat-send").IsDisabledAsync());       // still streaming
        await page.Locator("#chat-stop").ClickAsync();
        await WaitIdle(page);
        Assert.Equal(new[] { "hi", "partial" }, await Texts(page, "#chat-messages .text"));
        Assert.True(await page.Locator("#chat-error").IsHiddenAsync());   // stopping is not an error
        await Close(page);
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
        await Close(page);
    }

    [Fact]
    public async Task ImagesPageSendsTheSettingsAndShowsAGridOfResults()
    {
        // The image endpoint answered by the test (routed in the browser): the page's request and its grid, not the model.
        var page = await Open("#images");
        var png = Convert.ToBase64String(File.ReadAllBytes(Path.Combine(f.VaeRunDir, "samples", "step-0000100.png")));
        JsonObject? sent = null;
        await page.RouteAsync("**/v1/images/generations", async route =>
        {
            sent = JsonNode.Parse(route.Request.PostData!)!.AsObject();
            var data = new JsonArray(Enumerable.Range(0, (int)sent["n"]!).Select(_ => (JsonNode)new JsonObject { ["b64_json"] = png }).ToArray());
            await route.FulfillAsync(new() { Status = 200, ContentType = "application/json", Body = new JsonObject { ["created"] = 1, ["data"] = data }.ToJsonString() });
        });
        await page.Locator("#images-model option[value='chat']").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await page.Locator("#images-model").SelectOptionAsync("chat");
        await page.Locator("#images-class").SelectOptionAsync("Trouser");
        await page.Locator("#images-n").FillAsync("3");
        await page.Locator("#images-steps").FillAsync("7");
        await page.Locator("#images-guidance").FillAsync("2.5");
        await page.Locator("#images-seed").FillAsync("42");
        await page.Locator("#images-generate").ClickAsync();
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('#images-grid img')].filter(i => i.complete && i.naturalWidth > 0).length === 3");
        Assert.NotNull(sent);
        Assert.Equal("chat", (string?)sent!["model"]);
        Assert.Equal("Trouser", (string?)sent["prompt"]);
        Assert.Equal("b64_json", (string?)sent["response_format"]);
        Assert.Equal((3, 7, 2.5, 42), ((int)sent["n"]!, (int)sent["steps"]!, (double)sent["guidance_scale"]!, (int)sent["seed"]!));
        var captions = await Texts(page, "#images-grid figcaption");
        Assert.Equal(3, captions.Length);
        Assert.All(captions, c => Assert.Contains("class Trouser · steps 7 · guidance 2.5 · seed 42", c));
        await Close(page);
    }

    [Fact]
    public async Task ImagesPageGeneratesAGridFromTheRealConditionalGan()
    {
        // No stub: the page calls the real /v1/images/generations on the fixture's class-conditional DCGAN with the page's
        // own defaults for everything but model, class, n and seed.
        var page = await Open("#images");
        JsonObject? sent = null;
        page.Request += (_, r) => { if (r.Url.EndsWith("/v1/images/generations")) sent = JsonNode.Parse(r.PostData!)!.AsObject(); };
        await page.Locator("#images-model option[value='gan']").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await page.Locator("#images-model").SelectOptionAsync("gan");
        await page.Locator("#images-class").SelectOptionAsync("Sneaker");
        await page.Locator("#images-n").FillAsync("4");
        await page.Locator("#images-seed").FillAsync("7");
        await page.Locator("#images-generate").ClickAsync();
        await page.WaitForFunctionAsync(@"() => document.querySelectorAll('#images-grid img').length > 0 || !document.getElementById('images-error').hidden");
        Assert.True(await page.Locator("#images-error").IsHiddenAsync(), await page.Locator("#images-error").InnerTextAsync());
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('#images-grid img')].filter(i => i.complete && i.naturalWidth > 0).length === 4");
        // The model's own 28×28 images, as the server drew them for these settings.
        var sizes = await page.EvaluateAsync<int[]>("() => [...document.querySelectorAll('#images-grid img')].flatMap(i => [i.naturalWidth, i.naturalHeight])");
        Assert.Equal(Enumerable.Repeat(28, 8), sizes);
        Assert.NotNull(sent);
        Assert.Equal(("gan", "Sneaker", 4, 7), ((string)sent!["model"]!, (string)sent["prompt"]!, (int)sent["n"]!, (int)sent["seed"]!));
        var (status, direct) = await f.PostJson("/v1/images/generations", sent);
        Assert.Equal(200, status);
        var shown = await page.EvaluateAsync<string[]>("() => [...document.querySelectorAll('#images-grid img')].map(i => i.src)");
        Assert.Equal(direct["data"]!.AsArray().Select(d => "data:image/png;base64," + (string)d!["b64_json"]!), shown);
        var captions = await Texts(page, "#images-grid figcaption");
        Assert.Equal(4, captions.Length);
        for (int i = 0; i < 4; i++) Assert.Equal($"#{i + 1} of 4 · model gan · class Sneaker · seed 7", captions[i]);
        await Close(page);
    }

    [Fact]
    public async Task WithApiKeysThePageLoadsAndItsRequestsAndSampleImagesSendTheKey()
    {
        var keys = Path.Combine(TestData.TempDir(), "keys.txt");
        File.WriteAllLines(keys, new[] { "sk-play" });
        await using var server = await GenSharp.Server.GenSharpServer.StartAsync(new GenSharp.Server.ServerOptions
        {
            ModelsDir = f.ModelsDir, Port = 0, ApiKeyFile = keys,
        });
        var context = await browser.Browser.NewContextAsync();
        context.SetDefaultTimeout(Timeout);
        var page = await context.NewPageAsync();
        page.PageError += (_, e) => _scriptErrors.Add(e);
        await page.GotoAsync(server.BaseAddress.ToString().TrimEnd('/') + "/#training");
        // Without the key the run list is refused; with it (kept in localStorage, the page reloads) runs and sample grids load.
        await page.Locator("#api-key").FillAsync("sk-play");
        await page.Locator("#api-key").DispatchEventAsync("change");
        await page.Locator("#training-run option[value='vae-run']").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await page.Locator("#training-run").SelectOptionAsync("vae-run");
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('#training-samples img')].filter(i => i.complete && i.naturalWidth > 0).length === 2");
        await Close(page);
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
        await Close(page);
    }

    [Fact]
    public async Task TrainingPageFollowsARunAsItWrites()
    {
        var dir = Path.Combine(f.ModelsDir, "live-run");
        Directory.CreateDirectory(dir);
        var metrics = Path.Combine(dir, "metrics.jsonl");
        File.WriteAllText(metrics, "{\"step\":1,\"loss\":4.0}\n");
        try
        {
            var page = await Open("#training");
            await page.Locator("#training-run option[value='live-run']").WaitForAsync(new() { State = WaitForSelectorState.Attached });
            await page.Locator("#training-run").SelectOptionAsync("live-run");
            await page.WaitForFunctionAsync("() => document.getElementById('training-status').textContent.startsWith('step 1 ')");
            Assert.Equal(0, await page.Locator("#training-samples img").CountAsync());
            // The trainer appends a row and writes a sample grid: the page picks both up on its next poll.
            File.AppendAllText(metrics, "{\"step\":2,\"loss\":3.0}\n");
            Directory.CreateDirectory(Path.Combine(dir, "samples"));
            File.Copy(Path.Combine(f.VaeRunDir, "samples", "step-0000050.png"), Path.Combine(dir, "samples", "step-0000002.png"));
            await page.WaitForFunctionAsync("() => document.getElementById('training-status').textContent.startsWith('step 2 ')");
            await page.Locator("#training-samples img[alt='step-0000002.png']").WaitForAsync();
            await Close(page);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task AskPageShowsTheAnswerWithLinkedCitationsAndReadableErrors()
    {
        const string Question = "Which range of user ids does Debian reserve?";
        var page = await Open("#rag");
        await page.Locator("#rag-index option[value='docs']").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await page.Locator("#rag-model option[value='chat']").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await page.Locator("#rag-question").FillAsync(Question);
        await page.Locator("#rag-ask").ClickAsync();
        await page.Locator("#rag-sources li").First.WaitForAsync();
        // The page shows what the API answers: the extractive answer (no model chosen), its four sources in order.
        var (status, body) = await f.PostJson("/v1/rag/docs/ask", new JsonObject { ["question"] = Question });
        Assert.Equal(200, status);
        var answer = (string)body["answer"]!;
        Assert.Equal(answer, await page.Locator("#rag-answer").InnerTextAsync());
        var spans = body["sources"]!.AsArray().Select(s => $"[{s!["n"]}] {s["span"]}").ToArray();
        Assert.Equal(spans, (await Texts(page, "#rag-sources .span")).Select(t => t.Split(" — ")[0]).ToArray());
        // The [n] marker is a link that picks out source n.
        int n = GenSharp.Rag.AnswerSupport.Citations(answer)[0];
        Assert.Equal(1, await page.Locator("#rag-answer a.cite").CountAsync());
        await page.Locator("#rag-answer a.cite").ClickAsync();
        await page.Locator($"#rag-source-{n}.active").WaitForAsync();
        Assert.Equal(1, await page.Locator("#rag-sources li.active").CountAsync());
        // A server error reads as its message: the chat model's 64-token context cannot take the grounded prompt.
        await page.Locator("#rag-model").SelectOptionAsync("chat");
        await page.Locator("#rag-ask").ClickAsync();
        await page.Locator("#rag-error:not([hidden])").WaitForAsync();
        var error = await page.Locator("#rag-error").InnerTextAsync();
        Assert.Contains("grounded prompt", error);
        Assert.Contains("(HTTP 400)", error);
        await Close(page);
    }
}
