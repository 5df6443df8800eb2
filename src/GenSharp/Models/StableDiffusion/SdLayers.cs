using GenSharp.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.StableDiffusion;

// The building blocks shared by the UNet and the VAE, with diffusers' key names (Rombach et al. 2022, "High-Resolution
// Image Synthesis with Latent Diffusion Models", appendix and the published configs).

/// <summary>GroupNorm → SiLU → 3×3 conv (+ time projection) → GroupNorm → SiLU → 3×3 conv, residual (1×1 conv_shortcut when widths differ).</summary>
internal sealed class SdResnet : Module
{
    private readonly GroupNorm norm1, norm2;
    private readonly Conv2d conv1, conv2;
    private readonly Linear? time_emb_proj;
    private readonly Conv2d? conv_shortcut;

    public SdResnet(int cin, int cout, int temb, int groups, double eps) : base(nameof(SdResnet))
    {
        norm1 = SdLayers.Norm(groups, cin, eps);
        conv1 = Conv2d(cin, cout, 3, padding: 1);
        if (temb > 0) time_emb_proj = Linear(temb, cout);
        norm2 = SdLayers.Norm(groups, cout, eps);
        conv2 = Conv2d(cout, cout, 3, padding: 1);
        if (cin != cout) conv_shortcut = Conv2d(cin, cout, 1);
        RegisterComponents();
    }

    /// <summary>x (B, Cin, H, W), temb (B, E) or null → (B, Cout, H, W).</summary>
    public Tensor Forward(Tensor x, Tensor? temb)
    {
        var h = conv1.forward(functional.silu(norm1.forward(x)));
        if (time_emb_proj is not null && temb is not null) h = h + time_emb_proj.forward(functional.silu(temb)).unsqueeze(-1).unsqueeze(-1);
        h = conv2.forward(functional.silu(norm2.forward(h)));
        return (conv_shortcut is null ? x : ConvolutionLayout.Pointwise(conv_shortcut, x)) + h;
    }
}

/// <summary>Multi-head attention with diffusers' names: to_q, to_k, to_v (biases in the VAE only), to_out.0.</summary>
internal sealed class SdAttention : Module
{
    private readonly Linear to_q, to_k, to_v;
    private readonly ModuleList<Linear> to_out = new();
    private readonly GroupNorm? group_norm;
    private readonly int _heads;

    public SdAttention(int dim, int contextDim, int heads, bool qkvBias, int groups = 0) : base(nameof(SdAttention))
    {
        _heads = heads;
        if (groups > 0) group_norm = SdLayers.Norm(groups, dim, 1e-6);
        to_q = Linear(dim, dim, hasBias: qkvBias);
        to_k = Linear(contextDim, dim, hasBias: qkvBias);
        to_v = Linear(contextDim, dim, hasBias: qkvBias);
        to_out.Add(Linear(dim, dim));
        RegisterComponents();
    }

    /// <summary>x (B, N, C) attends to context (B, M, Cctx) (to itself when null) → (B, N, C).</summary>
    public Tensor Forward(Tensor x, Tensor? context)
    {
        context ??= x;
        long b = x.shape[0], n = x.shape[1], c = x.shape[2], d = c / _heads;
        Tensor Split(Tensor y) => y.view(b, y.shape[1], _heads, d).transpose(1, 2);                 // (B, heads, N|M, d)
        var y = functional.scaled_dot_product_attention(Split(to_q.forward(x)), Split(to_k.forward(context)), Split(to_v.forward(context)), null, 0.0, false);
        return to_out[0].forward(y.transpose(1, 2).reshape(b, n, c));
    }

    /// <summary>The VAE's mid-block attention over a feature map: x + attn(GroupNorm(x)) on (B, C, H, W).</summary>
    public Tensor ForwardMap(Tensor x)
    {
        long b = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        var s = group_norm!.forward(x).view(b, c, h * w).transpose(1, 2);                               // (B, HW, C)
        return x + Forward(s, null).transpose(1, 2).reshape(b, c, h, w);
    }
}

/// <summary>Feed-forward with a GEGLU (Shazeer 2020): net.0.proj → (a, g) → a·GELU(g) → net.2.</summary>
internal sealed class SdFeedForward : Module
{
    private readonly ModuleList<Module> net = new();

    public SdFeedForward(int dim) : base(nameof(SdFeedForward))
    {
        net.Add(new Geglu(dim, 4 * dim)); net.Add(Dropout(0.0)); net.Add(Linear(4 * dim, dim));   // keys net.0.proj.*, net.2.*
        RegisterComponents();
    }

    public Tensor Forward(Tensor x) => ((Linear)net[2]).forward(((Geglu)net[0]).Forward(x));

    private sealed class Geglu : Module
    {
        private readonly Linear proj;
        public Geglu(int dim, int inner) : base(nameof(Geglu)) { proj = Linear(dim, 2 * inner); RegisterComponents(); }
        public Tensor Forward(Tensor x)
        {
            var ag = proj.forward(x).chunk(2, -1);
            return ag[0] * functional.gelu(ag[1]);
        }
    }
}

/// <summary>norm1 → self-attention, norm2 → cross-attention to the text, norm3 → GEGLU feed-forward; each residual.</summary>
internal sealed class SdTransformerBlock : Module
{
    private readonly LayerNorm norm1, norm2, norm3;
    private readonly SdAttention attn1, attn2;
    private readonly SdFeedForward ff;

    public SdTransformerBlock(int dim, int contextDim, int heads) : base(nameof(SdTransformerBlock))
    {
        norm1 = LayerNorm(dim); attn1 = new SdAttention(dim, dim, heads, false);
        norm2 = LayerNorm(dim); attn2 = new SdAttention(dim, contextDim, heads, false);
        norm3 = LayerNorm(dim); ff = new SdFeedForward(dim);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Tensor context)
    {
        x = x + attn1.Forward(norm1.forward(x), null);
        x = x + attn2.Forward(norm2.forward(x), context);
        return x + ff.Forward(norm3.forward(x));
    }
}

/// <summary>diffusers' Transformer2DModel with one block: GroupNorm, proj_in (1×1 conv, or linear in SD 2.x), the block over H·W tokens, proj_out, residual.</summary>
internal sealed class SdTransformer2D : Module
{
    private readonly GroupNorm norm;
    private readonly Module<Tensor, Tensor> proj_in, proj_out;
    private readonly ModuleList<SdTransformerBlock> transformer_blocks = new();
    private readonly bool _linear;

    public SdTransformer2D(int dim, int contextDim, int heads, int groups, bool linearProjection) : base(nameof(SdTransformer2D))
    {
        _linear = linearProjection;
        norm = SdLayers.Norm(groups, dim, 1e-6);
        proj_in = linearProjection ? Linear(dim, dim) : Conv2d(dim, dim, 1);
        transformer_blocks.Add(new SdTransformerBlock(dim, contextDim, heads));
        proj_out = linearProjection ? Linear(dim, dim) : Conv2d(dim, dim, 1);
        RegisterComponents();
    }

    /// <summary>x (B, C, H, W), context (B, M, Cctx) → (B, C, H, W).</summary>
    public Tensor Forward(Tensor x, Tensor context)
    {
        long b = x.shape[0], c = x.shape[1], hh = x.shape[2], ww = x.shape[3];
        var h = norm.forward(x);
        // As 1×1 convolutions, the projections go through ConvolutionLayout.Pointwise (a product on channels-last maps).
        h = _linear ? proj_in.forward(h.permute(0, 2, 3, 1).reshape(b, hh * ww, c))
                    : ConvolutionLayout.Pointwise((Conv2d)proj_in, h).permute(0, 2, 3, 1).reshape(b, hh * ww, c);  // (B, HW, C)
        h = transformer_blocks[0].Forward(h, context);
        h = _linear ? proj_out.forward(h).reshape(b, hh, ww, c).permute(0, 3, 1, 2)
                    : ConvolutionLayout.Pointwise((Conv2d)proj_out, h.reshape(b, hh, ww, c).permute(0, 3, 1, 2));  // (B, C, H, W)
        return h + x;
    }
}

/// <summary>3×3 conv with stride 2: padding 1 in the UNet, a (0, 1, 0, 1) pad then no padding in the VAE encoder.</summary>
internal sealed class SdDownsample : Module
{
    private readonly Conv2d conv;
    private readonly bool _asymmetric;

    public SdDownsample(int channels, bool asymmetricPad) : base(nameof(SdDownsample))
    {
        _asymmetric = asymmetricPad;
        conv = Conv2d(channels, channels, 3, stride: 2, padding: asymmetricPad ? 0 : 1);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x) => conv.forward(_asymmetric ? functional.pad(x, new long[] { 0, 1, 0, 1 }) : x);
}

/// <summary>Nearest-neighbour 2× then a 3×3 conv.</summary>
internal sealed class SdUpsample : Module
{
    private readonly Conv2d conv;

    public SdUpsample(int channels) : base(nameof(SdUpsample))
    {
        conv = Conv2d(channels, channels, 3, padding: 1);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x) => conv.forward(functional.interpolate(x, scale_factor: new[] { 2.0, 2.0 }, mode: InterpolationMode.Nearest));
}

internal static class SdLayers
{
    /// <summary>A GroupNorm with weight 1 and bias 0 (TorchSharp leaves them uninitialised).</summary>
    public static GroupNorm Norm(int groups, int channels, double eps)
    {
        if (channels % groups != 0) throw new GenSharpException($"norm_num_groups {groups} does not divide the channel count {channels}");
        var n = GroupNorm(groups, channels, eps);
        using (torch.no_grad()) { n.weight!.fill_(1.0); n.bias!.zero_(); }
        return n;
    }
}
