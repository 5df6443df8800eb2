using GenSharp.Models.StableDiffusion;
using TorchSharp;
using Xunit;

namespace GenSharp.Tests;

/// <summary>
/// The networks built at the released shapes (on the meta device: no storage) against the released checkpoints' key names,
/// shapes and parameter counts: runwayml/stable-diffusion-v1-5 unet (686 tensors, 859,520,964 parameters), vae
/// (83,653,863) and text_encoder = CLIP ViT-L/14's text tower (123,060,480).
/// </summary>
public class StableDiffusionShapeTests
{
    static Dictionary<string, long[]> Shapes(Func<torch.nn.Module> build)
    {
        var old = torch.get_default_device();
        torch.set_default_device(torch.META);
        try
        {
            using var m = build();
            return m.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        }
        finally { torch.set_default_device(old); }
    }

    // (key, shape) pairs of the released SD 1.5 diffusers files, one or more per kind of layer.
    public static TheoryData<string, long[]> UNetKeys => new()
    {
        { "conv_in.weight", new long[] { 320, 4, 3, 3 } },
        { "time_embedding.linear_1.weight", new long[] { 1280, 320 } },
        { "time_embedding.linear_2.weight", new long[] { 1280, 1280 } },
        { "down_blocks.0.resnets.0.time_emb_proj.weight", new long[] { 320, 1280 } },
        { "down_blocks.0.attentions.0.proj_in.weight", new long[] { 320, 320, 1, 1 } },
        { "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight", new long[] { 320, 320 } },
        { "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight", new long[] { 320, 768 } },
        { "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_out.0.bias", new long[] { 320 } },
        { "down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj.weight", new long[] { 2560, 320 } },
        { "down_blocks.0.attentions.0.transformer_blocks.0.ff.net.2.weight", new long[] { 320, 1280 } },
        { "down_blocks.0.downsamplers.0.conv.weight", new long[] { 320, 320, 3, 3 } },
        { "down_blocks.1.resnets.0.conv_shortcut.weight", new long[] { 640, 320, 1, 1 } },
        { "down_blocks.2.attentions.1.transformer_blocks.0.norm3.weight", new long[] { 1280 } },
        { "down_blocks.3.resnets.1.conv2.weight", new long[] { 1280, 1280, 3, 3 } },
        { "mid_block.attentions.0.transformer_blocks.0.attn2.to_v.weight", new long[] { 1280, 768 } },
        { "mid_block.resnets.1.norm1.weight", new long[] { 1280 } },
        { "up_blocks.0.resnets.0.conv1.weight", new long[] { 1280, 2560, 3, 3 } },
        { "up_blocks.0.resnets.0.conv_shortcut.weight", new long[] { 1280, 2560, 1, 1 } },
        { "up_blocks.0.upsamplers.0.conv.weight", new long[] { 1280, 1280, 3, 3 } },
        { "up_blocks.1.resnets.2.conv_shortcut.weight", new long[] { 1280, 1920, 1, 1 } },
        { "up_blocks.2.resnets.0.conv_shortcut.weight", new long[] { 640, 1920, 1, 1 } },
        { "up_blocks.3.resnets.2.conv_shortcut.weight", new long[] { 320, 640, 1, 1 } },
        { "up_blocks.3.attentions.2.proj_out.weight", new long[] { 320, 320, 1, 1 } },
        { "conv_norm_out.weight", new long[] { 320 } },
        { "conv_out.weight", new long[] { 4, 320, 3, 3 } },
    };

    [Theory, MemberData(nameof(UNetKeys))]
    public void Sd15UNetHasTheReleasedKey(string key, long[] shape)
    {
        var s = Shapes(() => new UNet2DCondition(UNetConfig.Sd15));
        Assert.True(s.ContainsKey(key), $"missing {key}");
        Assert.Equal(shape, s[key]);
    }

    [Fact]
    public void Sd15ComponentsHaveTheReleasedSizes()
    {
        var unet = Shapes(() => new UNet2DCondition(UNetConfig.Sd15));
        Assert.Equal(686, unet.Count);
        Assert.Equal(859_520_964L, unet.Values.Sum(s => s.Aggregate(1L, (a, b) => a * b)));
        var vae = Shapes(() => new AutoencoderKl(VaeConfig.Sd));
        Assert.Equal(83_653_863L, vae.Values.Sum(s => s.Aggregate(1L, (a, b) => a * b)));
        Assert.Equal(new long[] { 512, 512 }, vae["encoder.mid_block.attentions.0.to_q.weight"]);
        Assert.Equal(new long[] { 8, 512, 3, 3 }, vae["encoder.conv_out.weight"]);
        Assert.Equal(new long[] { 8, 8, 1, 1 }, vae["quant_conv.weight"]);
        Assert.Equal(new long[] { 128, 256, 1, 1 }, vae["decoder.up_blocks.3.resnets.0.conv_shortcut.weight"]);
        var text = Shapes(() => new SdTextEncoder(SdTextEncoderConfig.ClipVitL14));
        Assert.Equal(123_060_480L, text.Values.Sum(s => s.Aggregate(1L, (a, b) => a * b)));
        Assert.Equal(new long[] { 49408, 768 }, text["text_model.embeddings.token_embedding.weight"]);
        Assert.Equal(new long[] { 3072, 768 }, text["text_model.encoder.layers.11.mlp.fc1.weight"]);
    }
}
