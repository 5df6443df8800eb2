namespace GenSharp.Runtime;

/// <summary>
/// A module whose convolution weights are parameters of its own rather than a TorchSharp convolution layer's
/// (spectral normalisation keeps <c>weight_orig</c>), so <see cref="ConvolutionLayout.Prepare{T}"/> can find them.
/// </summary>
public interface IConvolutionWeights
{
    /// <summary>The weights this module convolves with, shaped (out, in, k…) as libtorch's convolutions take them.</summary>
    IEnumerable<Tensor> ConvolutionWeights { get; }
}

/// <summary>
/// The memory layout GenSharp gives convolution weights. When oneDNN runs the convolutions, every weight is kept
/// channels-last (strides of (out, k…, in), the values unchanged): libtorch then runs the whole convolution — input,
/// output and both gradients — in oneDNN's channels-last (<c>acdb</c>) form instead of reordering each activation
/// into 16-channel blocks and back. That saves two reorders per pass, and it is also the path
/// <see cref="OneDnnCheck"/> found correct on a machine where the blocked one was not: on it, activations reordered
/// into blocks whose channel count is not a multiple of the block carried garbage in the padding, and any convolution
/// reading that padding (the forward pass when the input channels are padded, backward-data when the output channels
/// are) came out wrong. With native convolutions the layout stays libtorch's default, where it is fastest.
/// </summary>
public static class ConvolutionLayout
{
    /// <summary>Whether convolution weights are made channels-last in this process.</summary>
    public static bool ChannelsLast => TorchRuntime.OneDnnConvolutions && TorchRuntime.OneDnnChannelsLast;

    /// <summary>
    /// Makes every convolution weight in <paramref name="module"/> channels-last in place (same values, same
    /// parameters, so optimizers and checkpoints see no difference) when <see cref="ChannelsLast"/>; otherwise leaves
    /// the module alone. Call it after the module is on its device and before an optimizer takes its parameters.
    /// With <paramref name="blockedOnBlock"/>, the convolutions <see cref="OnBlock"/> keep libtorch's default layout, so
    /// oneDNN runs them in its blocked form (exact for such channel counts, see the class summary), and only the others
    /// become channels-last. For a network whose normalisation layers are slow on channels-last activations (libtorch
    /// 2.10's channels-last GroupNorm reads 4 channels at a time when a group has 4 and the map has fewer than 1,024
    /// pixels: 18 ms against 1.9 ms forward + backward for 64×32×28×28 in 8 groups): such a network returns its
    /// activations to the default layout after each off-block convolution (<see cref="DefaultLayout"/>), since a
    /// channels-last input takes every later convolution down the channels-last path too.
    /// </summary>
    public static T Prepare<T>(T module, bool blockedOnBlock = false) where T : nn.Module
    {
        if (!ChannelsLast) return module;
        using var noGrad = torch.no_grad();
        foreach (var (_, m) in module.named_modules())
        {
            if (m is TorchSharp.Modules.Convolution conv && conv.weight is { } w)
            {
                if (blockedOnBlock && OnBlock(conv)) continue;
                Relayout(w);
                if (!conv.transposed && conv.in_channels == 1 && conv.groups == 1 && conv.padding is { } padding
                    && conv.padding_mode == PaddingModes.Zeros && !HookedLayers.TryGetValue(conv, out var _))
                {
                    HookedLayers.Add(conv, conv);
                    conv.register_forward_hook((_, input, output) => NeedsTwoChannels(input, conv.weight!)
                        ? OneChannel(input, conv.weight!, (x2, w2) => Convolve(x2, w2, conv.bias, conv.stride, padding, conv.dilation))
                        : output);
                }
            }
            if (m is IConvolutionWeights own) foreach (var t in own.ConvolutionWeights) Relayout(t);
        }
        return module;
    }

    /// <summary>
    /// Whether oneDNN's blocked path is exact for <paramref name="conv"/>: an ungrouped, untransposed convolution whose
    /// input and output channel counts are both multiples of its 16-channel block, so no reorder pads a block (the
    /// failures of the class summary all read padding; <see cref="OneDnnCheck"/> probes this path as well).
    /// </summary>
    public static bool OnBlock(TorchSharp.Modules.Convolution conv) =>
        !conv.transposed && conv.groups == 1 && conv.in_channels % Block == 0 && conv.out_channels % Block == 0;

    /// <summary>oneDNN's channel block for float32 (16; 8-channel blocks under an AVX2 cap divide it).</summary>
    public const int Block = 16;

    /// <summary>
    /// <paramref name="activation"/> in libtorch's default (contiguous) layout, taking ownership: the tensor itself when
    /// it already is, else a contiguous copy (differentiable) and the channels-last original disposed. For networks
    /// prepared with <c>blockedOnBlock</c>, after an off-block convolution.
    /// </summary>
    public static Tensor DefaultLayout(Tensor activation)
    {
        if (activation.is_contiguous()) return activation;
        using (activation) return activation.contiguous();
    }

    /// <summary>
    /// <paramref name="activation"/> in the layout <paramref name="conv"/> reads, taking ownership: a channels-last copy
    /// (differentiable) when the convolution's weight is channels-last and the activation is not, else the tensor
    /// itself. In a network prepared with <c>blockedOnBlock</c>, convert before the elementwise operations that feed an
    /// off-block convolution, so they run in its layout. libtorch would convert the input itself, but the input's
    /// gradient then comes back channels-last to operations that saved default-layout tensors, and an elementwise
    /// backward over mixed layouts runs a scalar loop: GroupNorm → SiLU → the DDPM's 32 → 1 output convolution over
    /// 64×32×28×28 took 14.0 ms forward + backward, and 8.9 ms with the SiLU moved after the conversion (medians).
    /// </summary>
    public static Tensor InputLayoutOf(TorchSharp.Modules.Convolution conv, Tensor activation)
    {
        ArgumentNullException.ThrowIfNull(conv);
        ArgumentNullException.ThrowIfNull(activation);
        if (conv.weight is not { } weight || !IsChannelsLast(weight) || IsChannelsLast(activation)) return activation;
        using (activation) return ToChannelsLast(activation);
    }

    /// <summary>
    /// Whether <see cref="Pointwise(Tensor, Tensor, Tensor?)"/> may use the matrix product (default true); false keeps every
    /// 1×1 convolution on libtorch's convolution, for comparisons.
    /// </summary>
    public static bool PointwiseProducts { get; set; } = true;

    /// <summary>
    /// A 1×1 convolution (stride 1, no padding, one group) of <paramref name="x"/> (N, C_in, H, W), written as the matrix
    /// product it is when the network runs channels-last (the input is, or the weight is, or the weight is a plain
    /// (C_out, C_in) matrix and <see cref="ChannelsLast"/>): the input's (N·H·W, C_in) rows times the weight's transpose,
    /// read and written through views, so the output is channels-last as the convolution's would be. In libtorch 2.10
    /// the product (MKL) beats oneDNN 3.7.1's channels-last 1×1 convolution, forward and both gradients: 64 → 64 at
    /// 64×14×14 took 1.26 against 1.47 ms, 8 → 8 at 64×7×7 0.11 against 0.19 ms (medians, 2 threads).
    /// <paramref name="weight"/> is (C_out, C_in, 1, 1) or (C_out, C_in); <paramref name="bias"/> (C_out) or null. In the
    /// default layout, or when the input is not 4-d, this is <c>conv2d</c>.
    /// </summary>
    public static Tensor Pointwise(Tensor x, Tensor weight, Tensor? bias)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        long cout = weight.shape[0], cin = weight.shape[1];
        if (x.dim() == 4 && x.shape[1] != cin)
            throw new GenSharpException($"a 1×1 convolution of {cin} input channels got {x.shape[1]} (input shape {string.Join("×", x.shape)})");
        bool productPath = PointwiseProducts && x.dim() == 4 && (IsChannelsLast(x) || (ChannelsLast && (weight.dim() == 2 || IsChannelsLast(weight))));
        if (!productPath)
        {
            using var w4 = weight.dim() == 4 ? weight.alias() : weight.view(cout, cin, 1, 1);
            return nn.functional.conv2d(x, w4, bias);
        }
        long n = x.shape[0], h = x.shape[2], w = x.shape[3];
        using var matrix = weight.dim() == 2 ? weight.alias() : weight.reshape(cout, cin);
        using var pixels = x.permute(0, 2, 3, 1);                              // (N, H, W, C_in): a view when x is channels-last
        using var rows = pixels.reshape(n * h * w, cin);
        using var product = nn.functional.linear(rows, matrix, bias);          // (N·H·W, C_out)
        using var map = product.view(n, h, w, cout);
        return map.permute(0, 3, 1, 2);                                        // (N, C_out, H, W), channels-last
    }

    /// <summary>
    /// <paramref name="conv"/> applied to <paramref name="x"/>: through <see cref="Pointwise(Tensor, Tensor, Tensor?)"/> when it is a
    /// plain 1×1 convolution (stride 1, no padding, no dilation, one group, zero padding mode), else its own forward.
    /// </summary>
    public static Tensor Pointwise(TorchSharp.Modules.Conv2d conv, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(conv);
        if (conv.weight is not { } weight || weight.dim() != 4 || weight.shape[2] != 1 || weight.shape[3] != 1 || conv.groups != 1
            || conv.transposed || conv.stride.Any(s => s != 1) || conv.padding is not { } padding || padding.Any(p => p != 0)
            || conv.dilation.Any(d => d != 1) || conv.padding_mode != PaddingModes.Zeros)
            return conv.forward(x);
        return Pointwise(x, weight, conv.bias);
    }

    // Layers given the one-channel hook, so preparing a module twice does not hook a layer twice.
    static readonly System.Runtime.CompilerServices.ConditionalWeakTable<TorchSharp.Modules.Convolution, object> HookedLayers = new();

    /// <summary>
    /// A convolution of one input channel, as <paramref name="convolve"/> computes it, made safe for an input gradient:
    /// oneDNN 3.7.1's channels-last backward-data pass for one input channel and an output-channel count off the
    /// 16-channel block was wrong on the machine described at <see cref="TorchRuntime"/> (every call at one thread),
    /// while two input channels are exact. So when the input needs a gradient, the input gets a second, all-zero
    /// channel and the weight a matching all-zero slice: the output and both gradients are unchanged. Otherwise (the
    /// usual case: images do not need gradients) it convolves as given.
    /// </summary>
    public static Tensor OneChannel(Tensor x, Tensor weight, Func<Tensor, Tensor, Tensor> convolve)
    {
        if (!NeedsTwoChannels(x, weight)) return convolve(x, weight);
        var x2 = torch.cat(new[] { x, torch.zeros_like(x) }, 1);
        var w2 = torch.cat(new[] { weight, torch.zeros_like(weight) }, 1);
        return convolve(x2, Weight(w2));
    }

    static bool NeedsTwoChannels(Tensor x, Tensor weight) =>
        ChannelsLast && weight.dim() >= 3 && weight.shape[1] == 1 && x.requires_grad && torch.is_grad_enabled();

    static Tensor Convolve(Tensor x, Tensor w, Tensor? bias, long[] stride, long[] padding, long[] dilation) => w.dim() switch
    {
        3 => nn.functional.conv1d(x, w, bias, stride[0], padding[0], dilation[0]),
        4 => nn.functional.conv2d(x, w, bias, stride, padding, dilation),
        _ => nn.functional.conv3d(x, w, bias, stride, padding, dilation),
    };

    /// <summary>
    /// <paramref name="weight"/> as a convolution should receive it: a channels-last copy when <see cref="ChannelsLast"/>
    /// (for weights made in the forward pass, such as <see cref="OneChannel"/>'s widened one), else the tensor itself.
    /// </summary>
    public static Tensor Weight(Tensor weight) => ChannelsLast && !IsChannelsLast(weight) ? ToChannelsLast(weight) : weight;

    /// <summary>
    /// A channels-last copy of a (N, C, …) tensor, differentiable: C becomes the innermost dimension, the shape is unchanged. Written
    /// into explicitly strided memory, because a permute-and-copy keeps a one-channel tensor's (O, 1, k, k) strides
    /// (it is contiguous either way) and libtorch then takes the convolution down its blocked path.
    /// </summary>
    public static Tensor ToChannelsLast(Tensor t)
    {
        int d = (int)t.dim();
        if (d < 3) return t;
        var result = torch.empty_strided(t.shape, ChannelsLastStrides(t.shape), dtype: t.dtype, device: t.device);
        return result.copy_(t);                        // recorded by autograd: gradients reach t

    }

    static long[] ChannelsLastStrides(long[] shape)
    {
        int d = shape.Length;
        var strides = new long[d];
        long step = 1;
        strides[1] = step;
        step *= Math.Max(1, shape[1]);
        for (int i = d - 1; i >= 2; i--) { strides[i] = step; step *= Math.Max(1, shape[i]); }
        strides[0] = step;
        return strides;
    }

    /// <summary>Whether <paramref name="t"/> has exactly the strides <see cref="ToChannelsLast"/> gives.</summary>
    public static bool IsChannelsLast(Tensor t) => t.dim() >= 3 && t.stride().SequenceEqual(ChannelsLastStrides(t.shape));

    static void Relayout(Tensor w)
    {
        if (w.dim() < 3 || IsChannelsLast(w)) return;
        using var last = ToChannelsLast(w);
        w.set_(last);
    }
}
