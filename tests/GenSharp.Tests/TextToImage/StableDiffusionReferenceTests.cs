using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Models.StableDiffusion;
using GenSharp.Sampling;
using TorchSharp;
using Xunit;

namespace GenSharp.Tests;

/// <summary>
/// A tiny random Stable Diffusion folder (bench/pytorch/sd_reference.py, F16 weights) against references computed in the
/// sid chroot: token ids from transformers' CLIPTokenizer and hidden states from transformers' CLIPTextModel; UNet and
/// VAE outputs from that script's own plain-PyTorch forward passes written from the published architecture.
/// </summary>
public class StableDiffusionReferenceTests
{
    static string Dir => Path.Combine(AppContext.BaseDirectory, "Fixtures", "StableDiffusion");
    static string Folder => Path.Combine(Dir, "tiny-sd");

    static void AssertClose(torch.Tensor expected, torch.Tensor actual, double tol, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        double err = (expected - actual).abs().max().item<float>();
        double scale = expected.abs().max().item<float>();
        Assert.True(err <= tol * Math.Max(1, scale), $"{what}: max |Δ| {err:G3} (scale {scale:G3})");
    }

    [Fact]
    public void TokenizerMatchesTransformers()
    {
        var prompts = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "prompts.json")))!.AsArray().Select(n => n!.GetValue<string>()).ToArray();
        using var st = Safetensors.Load(Path.Combine(Dir, "expected.safetensors"));
        var ids = st.Tensors["token_ids"];
        var tok = ClipBpeTokenizer.Load(Path.Combine(Folder, "tokenizer"));
        Assert.Equal(77, tok.MaxLength);
        for (int i = 0; i < prompts.Length; i++)
            Assert.Equal(ids[i].data<int>().ToArray(), tok.Encode(prompts[i]));
    }

    [Fact]
    public void TextEncoderMatchesTransformersClipTextModel()
    {
        using var st = Safetensors.Load(Path.Combine(Dir, "expected.safetensors"));
        using var te = new SdTextEncoder(SdTextEncoderConfig.Read(Path.Combine(Folder, "text_encoder", "config.json")));
        DiffusersWeights.Load(te, DiffusersWeights.Files(Path.Combine(Folder, "text_encoder"), "model"), "text_encoder");
        using var _ = torch.no_grad();
        using var ids = st.Tensors["token_ids"].to(torch.ScalarType.Int64);
        var (h, pooled) = te.Forward(ids);
        AssertClose(st.Tensors["text_hidden"], h, 1e-4, "last_hidden_state");
        AssertClose(st.Tensors["text_pooled"], pooled, 1e-4, "pooler_output");
    }

    [Fact]
    public void UNetMatchesPyTorchReference()
    {
        using var st = Safetensors.Load(Path.Combine(Dir, "expected.safetensors"));
        using var unet = new UNet2DCondition(UNetConfig.Read(Path.Combine(Folder, "unet", "config.json")));
        DiffusersWeights.Load(unet, DiffusersWeights.Files(Path.Combine(Folder, "unet"), "diffusion_pytorch_model"), "unet");
        using var _ = torch.no_grad();
        using var y = unet.Forward(st.Tensors["unet_x"], st.Tensors["unet_t"].to(torch.ScalarType.Int64), st.Tensors["text_hidden"].narrow(0, 0, 2));
        AssertClose(st.Tensors["unet_out"], y, 1e-4, "unet output");
    }

    [Fact]
    public void VaeMatchesPyTorchReference()
    {
        using var st = Safetensors.Load(Path.Combine(Dir, "expected.safetensors"));
        using var vae = new AutoencoderKl(VaeConfig.Read(Path.Combine(Folder, "vae", "config.json")));
        DiffusersWeights.Load(vae, DiffusersWeights.Files(Path.Combine(Folder, "vae"), "diffusion_pytorch_model"), "vae");
        using var _ = torch.no_grad();
        var (mean, logvar) = vae.Encode(st.Tensors["vae_x"]);
        AssertClose(st.Tensors["vae_mean"], mean, 1e-4, "posterior mean");
        AssertClose(st.Tensors["vae_logvar"], logvar, 1e-4, "posterior log-variance");
        using var y = vae.Decode(st.Tensors["vae_z"]);
        AssertClose(st.Tensors["vae_out"], y, 1e-4, "decoder output");
    }

    [Fact]
    public void ScaledLinearScheduleIsSquaredLinspaceOfRoots()
    {
        var (s, p) = StableDiffusionPipeline.ReadScheduler(Path.Combine(Folder, "scheduler", "scheduler_config.json"));
        Assert.Equal(PredictionType.Epsilon, p);
        var b = s.Betas;
        Assert.Equal(1000, b.Length);
        Assert.Equal(0.00085, b[0], 12);
        Assert.Equal(0.012, b[999], 12);
        double r = Math.Sqrt(0.00085) + (Math.Sqrt(0.012) - Math.Sqrt(0.00085)) * 500 / 999;
        Assert.Equal(r * r, b[500], 12);
        // SD 1.x's published final ᾱ_T ≈ 0.0047 (signal-to-noise at T−1).
        Assert.InRange(s.AlphasCumprod[999], 0.0046, 0.0048);
    }
}
