using System.Text;
using System.Text.Json.Nodes;
using GenSharp.Media;
using GenSharp.Server;
using SkiaSharp;
using Xunit;

namespace GenSharp.Tests;

/// <summary>train vae + clip + txt2img, then sample --prompt/--negative-prompt/--init and POST /v1/images/generations with a prompt.</summary>
[Collection("Console")]
public class TextToImageCliTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    [Fact]
    public async Task PromptsReachTheSamplerFromTheCliAndTheServer()
    {
        var dir = TestData.TempDir();
        string vae = Path.Combine(dir, "vae"), clip = Path.Combine(dir, "clip"), models = Path.Combine(dir, "models"), t2i = Path.Combine(models, "t2i");
        var common = new[] { "--data", "embedded", "--steps", "2", "--batch-size", "8", "--sample-every", "0" };
        Assert.Equal(0, Run(new[] { "train", "vae", "--out", vae, "--set", "latent_dim=4", "--set", "channels=4", "--set", "hidden=16" }.Concat(common).ToArray()).Code);
        Assert.Equal(0, Run(new[] { "train", "clip", "--out", clip, "--set", "embed_dim=8", "--set", "text_width=16", "--set", "text_layers=1",
            "--set", "text_heads=2", "--set", "image_width=8", "--set", "norm_groups=4" }.Concat(common).ToArray()).Code);
        var train = Run(new[] { "train", "txt2img", "--out", t2i, "--set", $"latent_from={vae}", "--set", $"text_from={clip}", "--set", "hidden=16",
            "--set", "blocks=1", "--set", "attention_width=8", "--set", "attention_heads=2", "--set", "timesteps=50", "--set", "sampler_steps=3" }.Concat(common).ToArray());
        Assert.True(train.Code == 0, train.Err);
        // Prompt alignment: 110 prompts, one image each, judged by the clip run.
        var aligned = Run("eval", t2i, "--clip", clip, "--per-prompt", "1", "--steps", "2", "--scheduler", "ddim", "--data", "embedded");
        Assert.True(aligned.Code == 0, aligned.Err);
        Assert.Contains("prompt alignment: 1 images for each of 10 plain and 100 attribute prompts", aligned.Out);
        var alignedJson = JsonNode.Parse(aligned.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last())!;
        Assert.Equal(210, (double)alignedJson["prompt_images"]!);
        Assert.InRange((double)alignedJson["neg_attr_brightness_paired"]!, 0, 1);
        var stray = Run("eval", t2i, "--per-prompt", "3");
        Assert.Equal(1, stray.Code);
        Assert.Contains("--per-prompt goes with --clip", stray.Err);
        var wrongFamily = Run("eval", clip, "--clip", clip);
        Assert.Equal(1, wrongFamily.Code);
        Assert.Contains("--clip scores prompts; clip checkpoints take none", wrongFamily.Err);
        var notClip = Run("eval", t2i, "--clip", vae);
        Assert.Equal(1, notClip.Code);
        Assert.Contains("pass one trained with 'gensharp train clip'", notClip.Err);
        // The checkpoint is self-contained: the vae and clip folders may go.
        Directory.Delete(vae, true);
        Directory.Delete(clip, true);

        string png = Path.Combine(dir, "s.png");
        var sample = Run("sample", t2i, "--out", png, "--prompt", "a dark patterned shirt", "--negative-prompt", "a bag", "--n", "4",
            "--scheduler", "euler-a", "--steps", "3", "--guidance-scale", "2");
        Assert.True(sample.Code == 0, sample.Err);
        Assert.Contains("prompt a dark patterned shirt", sample.Out);
        var (w, h, _) = Png.Decode(png);
        Assert.True(w > 28 && h > 28);
        string edited = Path.Combine(dir, "edit.png");
        var img2img = Run("sample", t2i, "--out", edited, "--init", "test:2", "--data", "embedded", "--strength", "0.5", "--prompt", "a light bag", "--n", "3");
        Assert.True(img2img.Code == 0, img2img.Err);
        Assert.Contains("2 init images × 3 variations", img2img.Out);
        // Prompt-guided inpainting of --init images under --mask (white = known), and a prompt interpolation strip.
        string filled = Path.Combine(dir, "fill.png");
        var inpaint = Run("sample", t2i, "--out", filled, "--init", "test:2", "--data", "embedded", "--mask", "left", "--prompt", "a dark shirt", "--n", "2",
            "--guidance-scale", "2");
        Assert.True(inpaint.Code == 0, inpaint.Err);
        Assert.Contains("2 images × 2 inpaintings", inpaint.Out);
        string strip = Path.Combine(dir, "strip.png");
        var walk = Run("sample", t2i, "--out", strip, "--prompt", "a dark shirt", "--prompt-to", "a bright sandal", "--n", "5", "--scheduler", "ddim");
        Assert.True(walk.Code == 0, walk.Err);
        Assert.Contains("5 images from \"a dark shirt\" to \"a bright sandal\"", walk.Out);
        var (sw, sh, _) = Png.Decode(strip);
        Assert.True(sw > 4 * sh, $"a strip is one row: {sw}×{sh}");
        Assert.Equal(1, Run("sample", t2i, "--out", strip, "--prompt-to", "a bag").Code);
        Assert.Equal(1, Run("sample", t2i, "--out", strip, "--prompt", "a", "--init", "test:1", "--data", "embedded", "--mask", "left", "--strength", "0.3").Code);
        var strayStrength = Run("sample", t2i, "--out", png, "--strength", "0.5");
        Assert.Equal(1, strayStrength.Code);
        Assert.Contains("--strength goes with --init", strayStrength.Err);
        var notPrompted = Run("sample", Path.Combine(t2i), "--out", png, "--prompt", "x", "--strength", "2", "--init", "test:1", "--data", "embedded");
        Assert.NotEqual(0, notPrompted.Code);

        await using var server = await GenSharpServer.StartAsync(new ServerOptions { ModelsDir = models, Port = 0 });
        using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        async Task<(int Status, JsonNode Body)> Post(JsonObject body)
        {
            using var r = await http.PostAsync("/v1/images/generations", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
            return ((int)r.StatusCode, JsonNode.Parse(await r.Content.ReadAsStringAsync())!);
        }
        static byte[] Pixels(JsonNode body)
        {
            using var bitmap = SKBitmap.Decode(Convert.FromBase64String((string)body["data"]![0]!["b64_json"]!));
            return bitmap.Bytes;
        }
        var request = new JsonObject { ["model"] = "t2i", ["prompt"] = "a sunset over the sea", ["negative_prompt"] = "a dark coat", ["seed"] = 3, ["n"] = 2 };
        var (status, a) = await Post(request);
        Assert.True(status == 200, a.ToJsonString());
        var parameters = PngText.Read(Convert.FromBase64String((string)a["data"]![0]!["b64_json"]!))["parameters"];
        Assert.StartsWith("a sunset over the sea\n", parameters);                 // no class is read from a prompt for a prompted model
        Assert.Contains("Negative prompt: a dark coat", parameters);
        Assert.Contains("Family: txt2img", parameters);
        var (again, b) = await Post(request);
        Assert.Equal(200, again);
        Assert.Equal(Pixels(a), Pixels(b));                                        // same seed, same prompt: same image
        Assert.Contains("Prompt: a sunset over the sea", parameters);             // the sampler options got the prompt
        var gan = await Post(new JsonObject { ["model"] = "t2i", ["prompt"] = "a bag", ["negative_prompt"] = 3 });
        Assert.Equal(400, gan.Status);
    }
}
