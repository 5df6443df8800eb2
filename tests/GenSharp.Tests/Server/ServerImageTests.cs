using System.Buffers.Binary;
using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Media;
using GenSharp.Models;
using GenSharp.Pipelines;
using GenSharp.Server;
using OpenAI;
using OpenAI.Images;
using SkiaSharp;
using TorchSharp;
using Xunit;

namespace GenSharp.Tests;

/// <summary><c>POST /v1/images/generations</c> through the official OpenAI SDK and by hand, and the PNG tEXt chunk it writes.</summary>
[Collection("Server")]
public class ServerImageTests(ServerFixture f)
{
    ImageClient Images() => new OpenAIClient(new ApiKeyCredential("x"), new OpenAIClientOptions { Endpoint = new Uri(f.BaseUrl + "/v1") }).GetImageClient("gan");

    static (int Width, int Height) Size(byte[] png)
    {
        using var bitmap = SKBitmap.Decode(png);
        Assert.NotNull(bitmap);
        return (bitmap.Width, bitmap.Height);
    }

    [Fact]
    public void SdkGeneratesPngsOfTheModelsSizeWithTheirSettings()
    {
        var result = Images().GenerateImages("a pair of trousers", 3, new ImageGenerationOptions
        {
            ResponseFormat = GeneratedImageFormat.Bytes, Size = new GeneratedImageSize(28, 28),
        }).Value;
        Assert.Equal(3, result.Count);
        foreach (var image in result)
        {
            var png = image.ImageBytes.ToArray();
            Assert.Equal((28, 28), Size(png));
            Assert.Equal("Trouser", image.RevisedPrompt);
            var parameters = PngText.Read(png)["parameters"];
            Assert.StartsWith("a pair of trousers\n", parameters);
            Assert.Contains("Class: 1 (Trouser)", parameters);
            Assert.Contains("Model: gan", parameters);
            Assert.Contains("Size: 28x28", parameters);
        }
        Assert.Contains("Batch index: 2", PngText.Read(result[2].ImageBytes.ToArray())["parameters"]);
    }

    /// <summary>Generates through the SDK's protocol method, which passes fields the typed options lack (seed).</summary>
    string[] Generate(JsonObject body)
    {
        var response = Images().GenerateImages(BinaryContent.Create(BinaryData.FromString(body.ToJsonString())));
        var json = JsonNode.Parse(response.GetRawResponse().Content.ToString())!;
        Assert.True((long)json["created"]! > 0);
        return json["data"]!.AsArray().Select(d => (string)d!["b64_json"]!).ToArray();
    }

    [Fact]
    public void TheSameSeedGivesTheSameBytesAndTheLibrarysImages()
    {
        var body = new JsonObject { ["model"] = "gan", ["prompt"] = "Sneakers", ["n"] = 2, ["seed"] = 11 };
        var a = Generate(body);
        var b = Generate(body);
        Assert.Equal(a, b);
        body["seed"] = 12;
        Assert.NotEqual(a[0], Generate(body)[0]);

        // The same draw on the library directly: ImageSampling with class 7 (Sneaker), seed 11, then the pixel watermark
        // of the server's key (the default key in the test run's config folder; a GAN carries no Tree-Ring mark).
        using var loaded = Checkpoint.LoadModel(f.GanDir, torch.CPU);
        using var samples = ImageSampling.Run((IImageSampler)loaded.Model, new ImageSamplingOptions { Count = 2, Seed = 11, Class = 7 });
        var watermark = new GenSharp.Watermarking.PixelWatermark(GenSharp.Watermarking.WatermarkKey.LoadOrCreate());
        for (int i = 0; i < 2; i++)
        {
            using var one = samples.Images.narrow(0, i, 1);
            using var pixels = ImageGrid.ToUint8(one);
            using var marked = watermark.Embed(pixels);
            Assert.True(GenSharp.Watermarking.ImageAttacks.Psnr(pixels, marked).item<double>() > 30);   // invisible: a few grey levels
            Assert.True(watermark.Detect(marked)[0].Watermarked);
            var direct = ImageGrid.EncodePng(marked, columns: 1, padding: 0, scale: 1);
            using var fromServer = SKBitmap.Decode(Convert.FromBase64String(a[i]));
            using var expected = SKBitmap.Decode(direct);
            Assert.Equal(expected.Bytes, fromServer.Bytes);
        }
    }

    [Fact]
    public void TheTextChunkHasAValidCrcAndSitsBeforeIend()
    {
        var png = Convert.FromBase64String(Generate(new JsonObject { ["model"] = "gan", ["prompt"] = "bag", ["seed"] = 1 })[0]);
        var chunks = new List<(string Type, byte[] Data, uint Crc)>();
        for (int at = 8; at < png.Length;)
        {
            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at));
            chunks.Add((Encoding.ASCII.GetString(png, at + 4, 4), png[(at + 4)..(at + 8 + length)], BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length))));
            at += 12 + length;
        }
        Assert.Equal("IEND", chunks[^1].Type);
        Assert.Equal("tEXt", chunks[^2].Type);
        // Every chunk's CRC, Skia's own included, against a bit-by-bit CRC-32 written here.
        Assert.All(chunks, c => Assert.Equal(BitwiseCrc32(c.Data), c.Crc));
        var text = Encoding.Latin1.GetString(chunks[^2].Data, 4, chunks[^2].Data.Length - 4);
        Assert.StartsWith("parameters\0bag\n", text);
        // The standard check value of CRC-32/ISO-HDLC.
        Assert.Equal(0xCBF43926u, PngText.Crc32("123456789"u8));
    }

    /// <summary>CRC-32 one bit at a time, without a table (the PNG spec's sample code works a byte at a time with one).</summary>
    static uint BitwiseCrc32(byte[] bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in bytes)
            for (int bit = 0; bit < 8; bit++)
            {
                bool mix = ((crc ^ (uint)(b >> bit)) & 1) != 0;
                crc >>= 1;
                if (mix) crc ^= 0xEDB88320;
            }
        return ~crc;
    }

    [Theory]
    [InlineData("a pair of trousers", 1)]
    [InlineData("T-shirt with stripes", 0)]
    [InlineData("a red SHIRT", 6)]
    [InlineData("ankle boots in the rain", 9)]
    [InlineData("a jumper", 2)]
    [InlineData("two Sneakers", 7)]
    [InlineData("class 5 please", 5)]
    public void PromptsPickClassesByNameOrSynonym(string prompt, int expected) =>
        Assert.Equal(expected, ImagePrompt.PickClass(10, prompt).Class);

    [Fact]
    public void UnconditionalModelsIgnoreThePrompt() => Assert.Null(ImagePrompt.PickClass(0, "trousers").Class);

    [Theory]
    [InlineData("{\"model\":\"gan\",\"prompt\":\"a sunset\"}", "prompt", "Trouser")]
    [InlineData("{\"model\":\"gan\",\"prompt\":\"a shirt and a bag\"}", "prompt", "several classes")]
    [InlineData("{\"model\":\"gan\",\"prompt\":\"bag\",\"response_format\":\"url\"}", "response_format", "not supported")]
    [InlineData("{\"model\":\"gan\",\"prompt\":\"bag\",\"size\":\"1024x1024\"}", "size", "28x28")]
    [InlineData("{\"model\":\"gan\",\"prompt\":\"bag\",\"n\":17}", "n", "[1, 16]")]
    [InlineData("{\"model\":\"gan\",\"prompt\":\"bag\",\"guidance_scale\":3}", "guidance_scale", "dcgan")]
    [InlineData("{\"model\":\"gan\",\"prompt\":\"bag\",\"steps\":\"ten\"}", "steps", "an integer")]
    [InlineData("{\"model\":\"chat\",\"prompt\":\"bag\"}", "model", "text model")]
    [InlineData("{\"model\":\"gan\"}", "prompt", "required")]
    public async Task BadImageRequestsAre400sNamingTheField(string body, string param, string message)
    {
        var (status, text) = await f.Post("/v1/images/generations", body);
        Assert.Equal(400, status);
        var error = JsonNode.Parse(text)!["error"]!;
        Assert.Equal(param, (string?)error["param"]);
        Assert.Contains(message, (string)error["message"]!);
        Assert.Equal("invalid_request_error", (string?)error["type"]);
    }

    [Fact]
    public async Task ChatOnAnImageModelIsA400AndModelsListsBothKinds()
    {
        var (status, body) = await f.Post("/v1/chat/completions", "{\"model\":\"gan\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        Assert.Equal(400, status);
        Assert.Contains("image model", body);
        var models = JsonNode.Parse(await f.Http.GetStringAsync("/v1/models"))!["data"]!.AsArray().ToDictionary(m => (string)m!["id"]!, m => (string?)m!["kind"]);
        Assert.Equal("image", models["gan"]);
        Assert.Equal("text", models["chat"]);
        Assert.Equal("text", models["qwen2"]);
        Assert.Equal("image", (string?)JsonNode.Parse(await f.Http.GetStringAsync("/v1/models/gan"))!["kind"]);
    }

    [Fact]
    public async Task DiffusionTakesStepsAndSchedulerAndIgnoresThePromptWhenUnconditional()
    {
        var models = TestData.TempDir();
        var train = CliTests.Run("train", "ddpm", "--out", Path.Combine(models, "ddpm"), "--data", "embedded", "--steps", "2", "--batch-size", "8",
            "--sample-every", "0", "--set", "base_channels=8", "--set", "channel_mult=[1,2]", "--set", "attention_resolutions=[14]",
            "--set", "norm_groups=4", "--set", "attention_heads=2", "--set", "timesteps=20", "--set", "sampler_steps=4");
        Assert.True(train.Code == 0, train.Err);
        await using var server = await GenSharpServer.StartAsync(new ServerOptions { ModelsDir = models, Port = 0 });
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        async Task<(int Status, JsonNode Body)> Post(JsonObject body)
        {
            using var r = await http.PostAsync("/v1/images/generations", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
            return ((int)r.StatusCode, JsonNode.Parse(await r.Content.ReadAsStringAsync())!);
        }
        var request = new JsonObject { ["model"] = "ddpm", ["prompt"] = "anything at all", ["seed"] = 5, ["steps"] = 2, ["scheduler"] = "ddim" };
        var (status, a) = await Post(request);
        Assert.Equal(200, status);
        var item = a["data"]![0]!;
        Assert.Null(item["revised_prompt"]);                                   // unconditional: no class was read from the prompt
        var png = Convert.FromBase64String((string)item["b64_json"]!);
        Assert.Equal((28, 28), Size(png));
        var parameters = PngText.Read(png)["parameters"];
        Assert.Contains("Scheduler: ddim", parameters);
        Assert.Contains("steps: 2", parameters, StringComparison.OrdinalIgnoreCase);   // under the family's recorded name
        Assert.DoesNotContain("Class:", parameters);
        static byte[] Pixels(JsonNode body)
        {
            using var bitmap = SKBitmap.Decode(Convert.FromBase64String((string)body["data"]![0]!["b64_json"]!));
            return bitmap.Bytes;
        }
        request["prompt"] = "something else";
        Assert.Equal(Pixels(a), Pixels((await Post(request)).Body));          // the prompt changes the text chunk only
        request["steps"] = 3;
        Assert.NotEqual(Pixels(a), Pixels((await Post(request)).Body));
        request["scheduler"] = "dpm++2m";                                       // the schedulers beside DDPM/DDIM (issue 18)
        var (ok, solved) = await Post(request);
        Assert.Equal(200, ok);
        Assert.Contains("Scheduler: dpm++2m", PngText.Read(Convert.FromBase64String((string)solved["data"]![0]!["b64_json"]!))["parameters"]);
        request["scheduler"] = "heun";
        var (bad, error) = await Post(request);
        Assert.Equal(400, bad);
        Assert.Equal("scheduler", (string?)error["error"]!["param"]);
    }
}
