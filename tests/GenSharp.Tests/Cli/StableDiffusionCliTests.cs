using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using GenSharp.Media;
using GenSharp.Models.StableDiffusion;
using GenSharp.Server;
using TorchSharp;
using Xunit;

namespace GenSharp.Tests;

/// <summary>
/// A Stable Diffusion folder (the tiny random fixture) through <c>gensharp sample DIR</c> and <c>POST /v1/images/generations</c>:
/// the files written equal the library's draw for the same options, known pixels survive inpainting, provenance hashes every
/// component, and bad input is one line.
/// </summary>
[Collection("Console")]
public class StableDiffusionCliTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    static string Fixture => Path.Combine(AppContext.BaseDirectory, "Fixtures", "StableDiffusion", "tiny-sd");

    /// <summary>A copy of the tiny folder under <paramref name="parent"/>/<paramref name="name"/>.</summary>
    static string CopyFixture(string parent, string name)
    {
        var dest = Path.Combine(parent, name);
        foreach (var file in Directory.GetFiles(Fixture, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(dest, Path.GetRelativePath(Fixture, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return dest;
    }

    /// <summary>The PNG's pixels as (3, H, W) uint8.</summary>
    static torch.Tensor Pixels(string png)
    {
        var (w, h, rgba) = Png.Decode(png);
        return torch.tensor(rgba, new long[] { h, w, 4 }, torch.ScalarType.Byte).narrow(2, 0, 3).permute(2, 0, 1).contiguous();
    }

    static bool Same(torch.Tensor a, torch.Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void TextToImageWritesTheLibrarysDraw()
    {
        var dir = TestData.TempDir();
        var sdDir = CopyFixture(dir, "tiny-sd");
        string png = Path.Combine(dir, "a.png");
        var r = Run("sample", sdDir, "--prompt", "a photo of a cat", "--negative-prompt", "a dog", "--steps", "3", "--scheduler", "euler",
            "--guidance-scale", "5", "--seed", "7", "--width", "32", "--height", "16", "--out", png, "--no-watermark", "--no-provenance");
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("1 × 32×16, text-to-image, euler 3 steps, guidance 5", r.Out);
        using var written = Pixels(png);
        Assert.Equal(new long[] { 3, 16, 32 }, written.shape);

        using var sd = StableDiffusionPipeline.Load(sdDir);
        using var expected = sd.Generate(new StableDiffusionOptions
        {
            Prompt = "a photo of a cat", NegativePrompt = "a dog", Steps = 3, Scheduler = "euler", GuidanceScale = 5, Seed = 7, Width = 32, Height = 16,
        });
        using var expected8 = ImageGrid.ToUint8(expected).squeeze(0);
        Assert.True(Same(written, expected8), "the CLI's PNG differs from the pipeline's draw for the same options");
    }

    [Fact]
    public void WatermarkAndProvenanceCoverEveryComponent()
    {
        var dir = TestData.TempDir();
        var sdDir = CopyFixture(dir, "my-sd");
        string png = Path.Combine(dir, "b.png");
        var r = Run("sample", sdDir, "--prompt", "a boat", "--steps", "2", "-n", "2", "--width", "32", "--height", "32", "--out", png);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("watermark: pixel + Tree-Ring", r.Out);
        var verify = Run("provenance", "verify", png);
        Assert.True(verify.Code == 0, verify.Out + verify.Err);
        Assert.Contains("stable-diffusion model 'my-sd'", verify.Out);
        var manifest = JsonNode.Parse(File.ReadAllText(png + ".provenance.json"))!;
        var weights = manifest["model"]!["weights_sha256"]!.AsObject();
        Assert.Equal(new[] { "text_encoder/model.safetensors", "unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors" },
            weights.Select(kv => kv.Key).ToArray());
        var unet = Path.Combine(sdDir, "unet", "diffusion_pytorch_model.safetensors");
        Assert.Equal(Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(unet))).ToLowerInvariant(), (string)weights["unet/diffusion_pytorch_model.safetensors"]!);
        Assert.Equal("a boat", (string)manifest["settings"]!["prompt"]!);
        Assert.Contains("tree-ring", manifest["watermark"]!["methods"]!.AsArray().Select(m => (string)m!));
        var detect = Run("watermark", "detect", png);
        Assert.True(detect.Code == 0, detect.Out + detect.Err);
        // With the folder, each image of the grid (cut at the size the sidecar records) is inverted and scored. This random
        // folder's VAE does not reconstruct, so only the plumbing is checked here; the latent-level detection is in
        // StableDiffusionPipelineTests.
        var inverted = Run("watermark", "detect", png, "--model", sdDir);
        Assert.True(inverted.Code is 0 or 4, inverted.Err);
        Assert.Contains($"{png} cell 1: ", inverted.Out);
        Assert.Contains("tree-ring, z = ", inverted.Out);
        var ddpmOnly = Run("watermark", "eval", "--model", sdDir, "--tree-ring-n", "2");
        Assert.Equal(1, ddpmOnly.Code);
        Assert.Contains("a Stable Diffusion folder is detected with 'watermark detect IMAGE --model DIR'", ddpmOnly.Err);
    }

    [Fact]
    public void ImageToImageAndInpaintingKeepWhatTheyShould()
    {
        var dir = TestData.TempDir();
        var sdDir = CopyFixture(dir, "sd");
        // An init image: a smooth colour ramp, 32×32.
        using var ramp = (torch.linspace(0, 1, 32).view(1, 1, 1, 32) * torch.linspace(1, 0.2, 32).view(1, 1, 32, 1)).expand(1, 3, 32, 32).contiguous();
        string init = Path.Combine(dir, "init.png");
        ImageGrid.SavePng(ramp, init, columns: 1, padding: 0);
        using var init8 = Pixels(init);

        string same = Path.Combine(dir, "same.png");
        var zero = Run("sample", sdDir, "--prompt", "a cat", "--init", init, "--strength", "0", "--out", same, "--no-watermark", "--no-provenance");
        Assert.True(zero.Code == 0, zero.Err);
        using (var back = Pixels(same)) Assert.True(Same(back, init8), "strength 0 must return the init image");

        string inpainted = Path.Combine(dir, "inpaint.png");
        var fill = Run("sample", sdDir, "--prompt", "a cat", "--init", init, "--mask", "left", "--steps", "3", "--out", inpainted, "--no-watermark", "--no-provenance");
        Assert.True(fill.Code == 0, fill.Err);
        Assert.Contains("inpainted", fill.Out);
        using var result = Pixels(inpainted);
        Assert.True(Same(result.narrow(2, 0, 16), init8.narrow(2, 0, 16)), "the known (left) half changed");
        Assert.False(Same(result.narrow(2, 16, 16), init8.narrow(2, 16, 16)), "the unknown (right) half was not redrawn");

        // A mask image: white = known. Keep only the top 8 rows.
        using var maskPixels = torch.zeros(1, 1, 32, 32);
        maskPixels.narrow(2, 0, 8).fill_(1);
        string mask = Path.Combine(dir, "mask.png");
        ImageGrid.SavePng(maskPixels, mask, columns: 1, padding: 0);
        var byFile = Run("sample", sdDir, "--prompt", "a cat", "--init", init, "--mask", mask, "--steps", "2", "--out", inpainted, "--no-watermark", "--no-provenance");
        Assert.True(byFile.Code == 0, byFile.Err);
        using var result2 = Pixels(inpainted);
        Assert.True(Same(result2.narrow(1, 0, 8), init8.narrow(1, 0, 8)));
    }

    [Fact]
    public void BadInputIsOneLine()
    {
        var dir = TestData.TempDir();
        var sdDir = CopyFixture(dir, "sd");
        string png = Path.Combine(dir, "x.png");
        CliTests.AssertOneLineError(Run("sample", sdDir, "--out", png), 2, "--prompt");
        CliTests.AssertOneLineError(Run("sample", sdDir, "--prompt", "x", "--class", "3", "--out", png), 1, "--class does not apply to a Stable Diffusion folder");
        CliTests.AssertOneLineError(Run("sample", sdDir, "--prompt", "x", "--width", "18", "--out", png), 1, "multiples of 4");
        CliTests.AssertOneLineError(Run("sample", sdDir, "--prompt", "x", "--mask", "left", "--out", png), 1, "--mask goes with --init");
        CliTests.AssertOneLineError(Run("sample", sdDir, "--prompt", "x", "--scheduler", "pndm", "--out", png), 1, "unknown scheduler 'pndm'");
        var small = Path.Combine(dir, "small.png");
        using (var img = torch.zeros(1, 3, 16, 16)) ImageGrid.SavePng(img, small, columns: 1, padding: 0);
        CliTests.AssertOneLineError(Run("sample", sdDir, "--prompt", "x", "--init", small, "--width", "32", "--out", png), 1, "give an image of the output size");
        CliTests.AssertOneLineError(Run("sample", sdDir, "--prompt", "x", "--init", small, "--mask", Path.Combine(dir, "none.png"), "--out", png), 1, "not a file");
        Directory.Delete(Path.Combine(sdDir, "unet"), true);
        CliTests.AssertOneLineError(Run("sample", sdDir, "--prompt", "x", "--out", png), 1, "unet/config.json not found");
        CliTests.AssertOneLineError(Run("sample", Fixture, "--prompt", "x", "--vae-tile", "-1", "--out", png), 1, "--vae-tile must be ≥ 0");
    }

    [Fact]
    public async Task TheServerDrawsFromAStableDiffusionFolder()
    {
        var dir = TestData.TempDir();
        var models = Path.Combine(dir, "models");
        CopyFixture(models, "tiny-sd");
        var broken = CopyFixture(models, "broken-sd");
        Directory.Delete(Path.Combine(broken, "unet"), true);
        await using var server = await GenSharpServer.StartAsync(new ServerOptions { ModelsDir = models, Port = 0 });
        using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        async Task<(int Status, JsonNode Body)> Post(JsonObject body)
        {
            using var r = await http.PostAsync("/v1/images/generations", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
            return ((int)r.StatusCode, JsonNode.Parse(await r.Content.ReadAsStringAsync())!);
        }

        var list = JsonNode.Parse(await http.GetStringAsync("/v1/models"))!["data"]!.AsArray();
        Assert.Contains(list, m => (string)m!["id"]! == "tiny-sd" && (string)m["kind"]! == "image");

        var request = new JsonObject
        {
            ["model"] = "tiny-sd", ["prompt"] = "a red boat", ["negative_prompt"] = "a cat", ["n"] = 2, ["seed"] = 5, ["size"] = "32x16",
            ["steps"] = 3, ["scheduler"] = "ddim", ["guidance_scale"] = 4.0,
        };
        var (status, a) = await Post(request);
        Assert.True(status == 200, a.ToJsonString());
        Assert.Equal(2, a["data"]!.AsArray().Count);
        var png = Convert.FromBase64String((string)a["data"]![1]!["b64_json"]!);
        var parameters = PngText.Read(png)["parameters"];
        Assert.StartsWith("a red boat\nNegative prompt: a cat\n", parameters);
        Assert.Contains("Steps: 3, Sampler: ddim, CFG scale: 4, Seed: 5, Batch index: 1, Size: 32x16, Model: tiny-sd, Family: stable-diffusion", parameters);
        Assert.Contains("Watermark: pixel + tree-ring (key ", parameters);
        var (again, b) = await Post(request);
        Assert.Equal(200, again);
        Assert.Equal((string)a["data"]![0]!["b64_json"]!, (string)b["data"]![0]!["b64_json"]!);

        // The pixels are the library's draw for the same options with the pixel watermark of the server's key (the default
        // key in the test run's config folder).
        string file = Path.Combine(dir, "one.png");
        File.WriteAllBytes(file, png);
        using var served = Pixels(file);
        Assert.Equal(new long[] { 3, 16, 32 }, served.shape);
        using (var sd = StableDiffusionPipeline.Load(Path.Combine(models, "tiny-sd")))
        {
            // ddim is deterministic, so the draw carries the Tree-Ring mark of the server's key in its initial noise.
            var (options, treeRing) = GenSharp.Watermarking.StableDiffusionTreeRing.Apply(sd, new StableDiffusionOptions
            {
                Prompt = "a red boat", NegativePrompt = "a cat", Count = 2, Seed = 5, Width = 32, Height = 16, Steps = 3, Scheduler = "ddim", GuidanceScale = 4,
            }, GenSharp.Watermarking.WatermarkKey.LoadOrCreate());
            Assert.True(treeRing);
            using var drawn = sd.Generate(options);
            using var second = ImageGrid.ToUint8(drawn.narrow(0, 1, 1));
            using var marked = new GenSharp.Watermarking.PixelWatermark(GenSharp.Watermarking.WatermarkKey.LoadOrCreate()).Embed(second);
            Assert.True(Same(served, marked.squeeze(0)), "the served image is not the pipeline's draw with the pixel watermark");
        }

        Assert.Equal(400, (await Post(new JsonObject { ["model"] = "tiny-sd", ["prompt"] = "x", ["size"] = "30x30" })).Status);
        Assert.Equal(400, (await Post(new JsonObject { ["model"] = "tiny-sd", ["prompt"] = "x", ["scheduler"] = "pndm" })).Status);
        var (bad, why) = await Post(new JsonObject { ["model"] = "broken-sd", ["prompt"] = "x" });
        Assert.Equal(400, bad);
        Assert.Contains("unet/config.json not found", (string)why["error"]!["message"]!);
    }
}
