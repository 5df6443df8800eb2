using GenSharp.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.StableDiffusion;

/// <summary>
/// The latent-diffusion UNet of Stable Diffusion (Rombach et al. 2022) with the key names of diffusers'
/// <c>UNet2DConditionModel</c>: conv_in; a sinusoidal timestep embedding through time_embedding.linear_1/2; down blocks
/// of ResNet (+ cross-attention Transformer2D) layers and a stride-2 conv; a mid block ResNet → Transformer2D → ResNet;
/// up blocks that concatenate the saved skips, with nearest-2× upsampling; GroupNorm → SiLU → conv_out. It predicts ε
/// (or v) for a latent at timestep t given the text encoder's hidden states.
/// </summary>
public sealed class UNet2DCondition : Module
{
    private readonly Conv2d conv_in;
    private readonly TimeEmbedding time_embedding;
    private readonly ModuleList<Block> down_blocks = new();
    private readonly MidBlock mid_block;
    private readonly ModuleList<Block> up_blocks = new();
    private readonly GroupNorm conv_norm_out;
    private readonly Conv2d conv_out;

    /// <summary>Builds the network with untrained weights.</summary>
    public UNet2DCondition(UNetConfig config) : base(nameof(UNet2DCondition))
    {
        config.Check("unet config");
        Config = config;
        var ch = config.BlockOutChannels;
        int n = ch.Length, temb = 4 * ch[0], g = config.NormGroups, ctx = config.CrossAttentionDim;
        double eps = config.NormEps;
        conv_in = Conv2d(config.InChannels, ch[0], 3, padding: 1);
        time_embedding = new TimeEmbedding(ch[0], temb);
        int output = ch[0];
        for (int i = 0; i < n; i++)
        {
            int input = output; output = ch[i];
            bool attn = config.DownBlockTypes[i] == "CrossAttnDownBlock2D";
            var block = new Block(nameof(down_blocks), i < n - 1 ? new SdDownsample(output, false) : null, null);
            for (int j = 0; j < config.LayersPerBlock; j++)
            {
                block.Add(new SdResnet(j == 0 ? input : output, output, temb, g, eps),
                    attn ? new SdTransformer2D(output, ctx, config.Heads[i], g, config.LinearProjection) : null);
            }
            down_blocks.Add(block.Done());
        }
        mid_block = new MidBlock(ch[n - 1], temb, g, eps, ctx, config.Heads[n - 1], config.LinearProjection);
        var rch = ch.Reverse().ToArray();
        var rheads = config.Heads.Reverse().ToArray();
        int prev = rch[0];
        for (int i = 0; i < n; i++)
        {
            output = rch[i];
            int skipIn = rch[Math.Min(i + 1, n - 1)];
            bool attn = config.UpBlockTypes[i] == "CrossAttnUpBlock2D";
            var block = new Block(nameof(up_blocks), null, i < n - 1 ? new SdUpsample(output) : null);
            for (int j = 0; j <= config.LayersPerBlock; j++)
            {
                // The skip popped for the last layer comes from the block below (skipIn channels), the others from this level.
                int skip = j == config.LayersPerBlock ? skipIn : output;
                block.Add(new SdResnet((j == 0 ? prev : output) + skip, output, temb, g, eps),
                    attn ? new SdTransformer2D(output, ctx, rheads[i], g, config.LinearProjection) : null);
            }
            up_blocks.Add(block.Done());
            prev = output;
        }
        conv_norm_out = SdLayers.Norm(g, ch[0], eps);
        conv_out = Conv2d(ch[0], config.OutChannels, 3, padding: 1);
        RegisterComponents();
        ConvolutionLayout.Prepare(this);   // oneDNN runs its convolutions channels-last (see ConvolutionLayout)
    }

    /// <summary>The config it was built from.</summary>
    public UNetConfig Config { get; }

    /// <summary>x (B, 4, h, w) latents, t (B) timesteps, context (B, 77, D) text states → (B, 4, h, w) prediction.</summary>
    public Tensor Forward(Tensor x, Tensor t, Tensor context)
    {
        if (x.shape[2] % Config.Downscale != 0 || x.shape[3] % Config.Downscale != 0)
            throw new GenSharpException($"the latent is {x.shape[2]}×{x.shape[3]}; this UNet needs multiples of {Config.Downscale} (image sides multiples of {8 * Config.Downscale})");
        var temb = time_embedding.Forward(TimestepFeatures(t, Config.BlockOutChannels[0]));         // (B, 4·C0)
        var h = conv_in.forward(x);
        var skips = new Stack<Tensor>();
        skips.Push(h);
        foreach (var b in down_blocks) h = b.Down(h, temb, context, skips);
        h = mid_block.Forward(h, temb, context);
        foreach (var b in up_blocks) h = b.Up(h, temb, context, skips);
        return conv_out.forward(functional.silu(conv_norm_out.forward(h)));
    }

    /// <summary>Sinusoidal features of t (Vaswani et al. 2017, §3.5), frequencies exp(−ln(10⁴)·i/(half − shift)); cos first when flip_sin_to_cos.</summary>
    Tensor TimestepFeatures(Tensor t, int dim)
    {
        int half = dim / 2;
        var freqs = torch.exp(torch.arange(half, dtype: ScalarType.Float32, device: t.device) * (-Math.Log(10000) / (half - Config.FreqShift)));
        var a = t.to(ScalarType.Float32).unsqueeze(1) * freqs.unsqueeze(0);                            // (B, half)
        var f = Config.FlipSinToCos ? torch.cat(new[] { a.cos(), a.sin() }, 1) : torch.cat(new[] { a.sin(), a.cos() }, 1);
        return dim % 2 == 1 ? functional.pad(f, new long[] { 0, 1 }) : f;
    }

    private sealed class TimeEmbedding : Module
    {
        private readonly Linear linear_1, linear_2;
        public TimeEmbedding(int cin, int cout) : base(nameof(TimeEmbedding)) { linear_1 = Linear(cin, cout); linear_2 = Linear(cout, cout); RegisterComponents(); }
        public Tensor Forward(Tensor x) => linear_2.forward(functional.silu(linear_1.forward(x)));
    }

    /// <summary>One down or up block: resnets.{j} (+ attentions.{j}), then downsamplers.0 or upsamplers.0.</summary>
    private sealed class Block : Module
    {
        private readonly ModuleList<SdResnet> resnets = new();
        private readonly ModuleList<SdTransformer2D> attentions = new();
        private readonly ModuleList<SdDownsample> downsamplers = new();
        private readonly ModuleList<SdUpsample> upsamplers = new();

        public Block(string name, SdDownsample? down, SdUpsample? up) : base(name)
        {
            if (down is not null) downsamplers.Add(down);
            if (up is not null) upsamplers.Add(up);
        }

        public void Add(SdResnet r, SdTransformer2D? a) { resnets.Add(r); if (a is not null) attentions.Add(a); }

        public Block Done()
        {
            register_module(nameof(resnets), resnets);
            if (attentions.Count > 0) register_module(nameof(attentions), attentions);
            if (downsamplers.Count > 0) register_module(nameof(downsamplers), downsamplers);
            if (upsamplers.Count > 0) register_module(nameof(upsamplers), upsamplers);
            return this;
        }

        public Tensor Down(Tensor h, Tensor temb, Tensor context, Stack<Tensor> skips)
        {
            for (int j = 0; j < resnets.Count; j++)
            {
                h = resnets[j].Forward(h, temb);
                if (attentions.Count > 0) h = attentions[j].Forward(h, context);
                skips.Push(h);
            }
            if (downsamplers.Count > 0) { h = downsamplers[0].Forward(h); skips.Push(h); }
            return h;
        }

        public Tensor Up(Tensor h, Tensor temb, Tensor context, Stack<Tensor> skips)
        {
            for (int j = 0; j < resnets.Count; j++)
            {
                h = torch.cat(new[] { h, skips.Pop() }, 1);                                        // (B, C + Cskip, H, W)
                h = resnets[j].Forward(h, temb);
                if (attentions.Count > 0) h = attentions[j].Forward(h, context);
            }
            return upsamplers.Count > 0 ? upsamplers[0].Forward(h) : h;
        }
    }

    private sealed class MidBlock : Module
    {
        private readonly ModuleList<SdResnet> resnets = new();
        private readonly ModuleList<SdTransformer2D> attentions = new();

        public MidBlock(int c, int temb, int g, double eps, int ctx, int heads, bool linear) : base(nameof(MidBlock))
        {
            resnets.Add(new SdResnet(c, c, temb, g, eps)); resnets.Add(new SdResnet(c, c, temb, g, eps));
            attentions.Add(new SdTransformer2D(c, ctx, heads, g, linear));
            RegisterComponents();
        }

        public Tensor Forward(Tensor h, Tensor temb, Tensor context) =>
            resnets[1].Forward(attentions[0].Forward(resnets[0].Forward(h, temb), context), temb);
    }
}
