using GenSharp.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.StableDiffusion;

/// <summary>
/// Stable Diffusion's KL-regularised autoencoder (Rombach et al. 2022, §3) with diffusers' <c>AutoencoderKL</c> key
/// names: the encoder maps (B, 3, H, W) pixels in [−1, 1] to a diagonal Gaussian over (B, 4, H/8, W/8) latents
/// (quant_conv → mean, log-variance), the decoder maps latents back (post_quant_conv first). Latents are multiplied
/// by scaling_factor for the UNet and divided by it before decoding.
/// </summary>
public sealed class AutoencoderKl : Module
{
    private readonly Coder encoder;
    private readonly Coder decoder;
    private readonly Conv2d quant_conv;
    private readonly Conv2d post_quant_conv;

    /// <summary>Builds the network with untrained weights.</summary>
    public AutoencoderKl(VaeConfig config) : base(nameof(AutoencoderKl))
    {
        Config = config;
        int z = config.LatentChannels;
        encoder = new Coder(config, encode: true);
        decoder = new Coder(config, encode: false);
        quant_conv = Conv2d(2 * z, 2 * z, 1);
        post_quant_conv = Conv2d(z, z, 1);
        RegisterComponents();
        ConvolutionLayout.Prepare(this);   // oneDNN runs its convolutions channels-last (see ConvolutionLayout)
    }

    /// <summary>The config it was built from.</summary>
    public VaeConfig Config { get; }

    /// <summary>Pixels (B, 3, H, W) in [−1, 1] → the posterior's mean and log-variance (clamped to [−30, 20]), each (B, 4, H/8, W/8), unscaled.</summary>
    public (Tensor Mean, Tensor LogVar) Encode(Tensor x)
    {
        if (x.shape[2] % Config.Downscale != 0 || x.shape[3] % Config.Downscale != 0)
            throw new GenSharpException($"the image is {x.shape[3]}×{x.shape[2]}; the VAE needs sides that are multiples of {Config.Downscale}");
        var m = quant_conv.forward(encoder.Forward(x)).chunk(2, 1);
        return (m[0], m[1].clamp(-30.0, 20.0));
    }

    /// <summary>Unscaled latents (B, 4, h, w) → pixels (B, 3, 8h, 8w), nominally in [−1, 1].</summary>
    public Tensor Decode(Tensor z) => decoder.Forward(post_quant_conv.forward(z));

    /// <summary>Encoder or decoder: conv_in, blocks (down: resnets + downsampler; up: resnets + upsampler), mid block, GroupNorm → SiLU → conv_out.</summary>
    private sealed class Coder : Module
    {
        private readonly Conv2d conv_in;
        private readonly ModuleList<CoderBlock>? down_blocks;
        private readonly ModuleList<CoderBlock>? up_blocks;
        private readonly VaeMid mid_block;
        private readonly GroupNorm conv_norm_out;
        private readonly Conv2d conv_out;
        private readonly bool _encode;

        public Coder(VaeConfig c, bool encode) : base(encode ? "Encoder" : "Decoder")
        {
            _encode = encode;
            var ch = c.BlockOutChannels;
            int n = ch.Length, g = c.NormGroups;
            if (encode)
            {
                conv_in = Conv2d(c.InChannels, ch[0], 3, padding: 1);
                down_blocks = new ModuleList<CoderBlock>();
                int output = ch[0];
                for (int i = 0; i < n; i++)
                {
                    int input = output; output = ch[i];
                    down_blocks.Add(new CoderBlock(input, output, c.LayersPerBlock, g, i < n - 1 ? new SdDownsample(output, true) : null, null));
                }
                mid_block = new VaeMid(ch[n - 1], g);
                conv_norm_out = SdLayers.Norm(g, ch[n - 1], 1e-6);
                conv_out = Conv2d(ch[n - 1], 2 * c.LatentChannels, 3, padding: 1);
            }
            else
            {
                var rch = ch.Reverse().ToArray();
                conv_in = Conv2d(c.LatentChannels, rch[0], 3, padding: 1);
                mid_block = new VaeMid(rch[0], g);
                up_blocks = new ModuleList<CoderBlock>();
                int prev = rch[0];
                for (int i = 0; i < n; i++)
                {
                    up_blocks.Add(new CoderBlock(prev, rch[i], c.LayersPerBlock + 1, g, null, i < n - 1 ? new SdUpsample(rch[i]) : null));
                    prev = rch[i];
                }
                conv_norm_out = SdLayers.Norm(g, ch[0], 1e-6);
                conv_out = Conv2d(ch[0], c.OutChannels, 3, padding: 1);
            }
            RegisterComponents();
        }

        public Tensor Forward(Tensor x)
        {
            var h = conv_in.forward(x);
            if (_encode) { foreach (var b in down_blocks!) h = b.Forward(h); h = mid_block.Forward(h); }
            else { h = mid_block.Forward(h); foreach (var b in up_blocks!) h = b.Forward(h); }
            return conv_out.forward(functional.silu(conv_norm_out.forward(h)));
        }
    }

    private sealed class CoderBlock : Module
    {
        private readonly ModuleList<SdResnet> resnets = new();
        private readonly ModuleList<SdDownsample> downsamplers = new();
        private readonly ModuleList<SdUpsample> upsamplers = new();

        public CoderBlock(int cin, int cout, int layers, int g, SdDownsample? down, SdUpsample? up) : base(nameof(CoderBlock))
        {
            for (int j = 0; j < layers; j++) resnets.Add(new SdResnet(j == 0 ? cin : cout, cout, 0, g, 1e-6));
            register_module(nameof(resnets), resnets);
            if (down is not null) { downsamplers.Add(down); register_module(nameof(downsamplers), downsamplers); }
            if (up is not null) { upsamplers.Add(up); register_module(nameof(upsamplers), upsamplers); }
        }

        public Tensor Forward(Tensor h)
        {
            foreach (var r in resnets) h = r.Forward(h, null);
            if (downsamplers.Count > 0) h = downsamplers[0].Forward(h);
            if (upsamplers.Count > 0) h = upsamplers[0].Forward(h);
            return h;
        }
    }

    private sealed class VaeMid : Module
    {
        private readonly ModuleList<SdResnet> resnets = new();
        private readonly ModuleList<SdAttention> attentions = new();

        public VaeMid(int c, int g) : base(nameof(VaeMid))
        {
            resnets.Add(new SdResnet(c, c, 0, g, 1e-6)); resnets.Add(new SdResnet(c, c, 0, g, 1e-6));
            attentions.Add(new SdAttention(c, c, 1, true, g));
            RegisterComponents();
        }

        public Tensor Forward(Tensor h) => resnets[1].Forward(attentions[0].ForwardMap(resnets[0].Forward(h, null)), null);
    }
}
