using GenSharp.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.Gan;

// Two convolutions whose kernel spans the whole map, written as the matrix products they are. DCGAN's generator opens
// with a transposed convolution of a 1×1 input ("project and reshape") and its discriminator closes with a k×k
// convolution of a k×k map (as does the EBM's energy). libtorch 2.10's oneDNN (3.7.1) runs the first as an AVX2 direct
// deconvolution: 5.8 ms per forward pass at batch 64, 100 → 256 × 7 × 7, against 0.64 ms for PyTorch 2.14's oneDNN, which
// treats it as an inner product, plus ~2.7 ms of weight-gradient reorders (docs/benchmarks.md, "Convolutions that cover
// the whole map"). Both layers keep the parameters, shapes and names of the convolution they replace, so checkpoints do
// not change.
//
// Layout: ConvolutionLayout.Prepare makes their weights channels-last as it does a convolution's, and the products then
// read and write channels-last activations through views (no copies), as the convolutions around them do. That
// matters beyond the products: an elementwise backward whose gradient and saved activation disagree in layout takes
// libtorch's strided loop, 17× slower (LeakyReLU's backward over 64×64×14×14: 2.4 ms against 0.14 ms).

/// <summary>
/// A transposed convolution of a 1×1 map with a k×k kernel, stride 1, no padding and no bias: each output pixel is a
/// weighted sum of the input vector, so (B, in, 1, 1) → (B, out, k, k) is one product (B, in) · (in, out·k·k).
/// The weight is shaped (in, out, k, k), as ConvTranspose2d's.
/// </summary>
public sealed class MapProjection : Module<Tensor, Tensor>, IConvolutionWeights
{
    private readonly Parameter weight;

    public MapProjection(long input, long output, long kernel) : base(nameof(MapProjection))
    {
        weight = new Parameter(torch.empty(input, output, kernel, kernel));
        init.kaiming_uniform_(weight, Math.Sqrt(5));          // ConvTranspose2d's default
        RegisterComponents();
    }

    IEnumerable<Tensor> IConvolutionWeights.ConvolutionWeights => new Tensor[] { weight };

    /// <summary>(B, in, 1, 1) → (B, out, k, k), channels-last when the weight is.</summary>
    public override Tensor forward(Tensor x)
    {
        long input = weight.shape[0], output = weight.shape[1], k = weight.shape[2];
        if (x.dim() != 4 || x.shape[1] != input || x.shape[2] != 1 || x.shape[3] != 1)
            throw new GenSharpException($"MapProjection expects (B, {input}, 1, 1), got ({string.Join(", ", x.shape)})");
        long b = x.shape[0];
        using var flat = x.reshape(b, input);                                  // (B, in)
        if (!ConvolutionLayout.IsChannelsLast(weight))
        {
            using var product = flat.mm(weight.view(input, output * k * k));   // (B, out·k·k)
            return product.view(b, output, k, k);                              // (B, out, k, k)
        }
        using var byPixel = weight.permute(0, 2, 3, 1);                        // (in, k, k, out), contiguous
        using var pixels = flat.mm(byPixel.view(input, k * k * output));       // (B, k·k·out)
        using var map = pixels.view(b, k, k, output);
        return map.permute(0, 3, 1, 2);                                        // (B, out, k, k), channels-last
    }
}

/// <summary>
/// A convolution whose k×k kernel covers its k×k input map (stride 1, no padding): one value per image and output
/// channel, (B, in, k, k) → (B, out, 1, 1), that is a linear layer over the flattened map. The weight is shaped
/// (out, in, k, k) and the bias (out), as Conv2d's.
/// </summary>
public sealed class MapReadout : Module<Tensor, Tensor>, IConvolutionWeights
{
    private readonly Parameter weight;
    private readonly Parameter bias;

    public MapReadout(long input, long output, long kernel) : base(nameof(MapReadout))
    {
        weight = new Parameter(torch.empty(output, input, kernel, kernel));
        bias = new Parameter(torch.empty(output));
        init.kaiming_uniform_(weight, Math.Sqrt(5));          // Conv2d's defaults
        double bound = 1 / Math.Sqrt(input * kernel * kernel);
        init.uniform_(bias, -bound, bound);
        RegisterComponents();
    }

    IEnumerable<Tensor> IConvolutionWeights.ConvolutionWeights => new Tensor[] { weight };

    /// <summary>(B, in, k, k) → (B, out, 1, 1).</summary>
    public override Tensor forward(Tensor x)
    {
        long input = weight.shape[1], k = weight.shape[2];
        if (!WholeMap.Covers(x, weight, padding: 0))
            throw new GenSharpException($"MapReadout expects (B, {input}, {k}, {k}), got ({string.Join(", ", x.shape)})");
        return WholeMap.Readout(x, weight, bias);
    }
}

/// <summary>A 2-d convolution whose kernel covers its whole input map, as a linear layer (see <see cref="MapReadout"/>).</summary>
public static class WholeMap
{
    /// <summary>
    /// Whether convolving <paramref name="x"/> (B, in, H, W) with <paramref name="weight"/> (out, in, kh, kw) at this
    /// padding reads the whole map once: no padding and a kernel the size of the map (any stride gives one output pixel).
    /// </summary>
    public static bool Covers(Tensor x, Tensor weight, long padding) =>
        padding == 0 && x.dim() == 4 && weight.dim() == 4 && x.shape[1] == weight.shape[1]
        && x.shape[2] == weight.shape[2] && x.shape[3] == weight.shape[3];

    /// <summary>
    /// The convolution of <paramref name="x"/> with a kernel that <see cref="Covers"/> it: (B, in, k, k) → (B, out, 1, 1).
    /// The map is read in its own layout through a view, the weight flattened in the same order (a view too when the
    /// two layouts agree), so the input's gradient comes back in the input's layout.
    /// </summary>
    public static Tensor Readout(Tensor x, Tensor weight, Tensor? bias)
    {
        long output = weight.shape[0], size = weight.shape[1] * weight.shape[2] * weight.shape[3], b = x.shape[0];
        bool last = ConvolutionLayout.IsChannelsLast(x);
        using var xs = last ? x.permute(0, 2, 3, 1) : x.alias();              // (B, k, k, in) or (B, in, k, k)
        using var ws = last ? weight.permute(0, 2, 3, 1) : weight.alias();    // the weight in the same order
        using var flat = xs.reshape(b, size);
        using var flatWeight = ws.reshape(output, size);
        using var y = functional.linear(flat, flatWeight, bias);            // (B, out)
        return y.view(b, output, 1, 1);
    }
}
