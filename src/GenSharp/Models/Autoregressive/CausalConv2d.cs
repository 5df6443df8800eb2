using TorchSharp.Modules;
using static TorchSharp.torch.nn;
using static TorchSharp.torch.nn.functional;

namespace GenSharp.Models.Autoregressive;

/// <summary>
/// A masked convolution built from a smaller kernel and asymmetric zero padding instead of a
/// weight mask (the "shifted convolution" form of van den Oord et al. 2016, §2.2): the kernel only
/// covers the allowed half of the n×n window, so no masked weight exists, no FLOPs are spent on
/// zeros and nothing can leak by a mask bug.
/// <list type="bullet">
/// <item>Vertical: kernel (n/2+1) × n over rows r−n/2 … r and columns c−n/2 … c+n/2.
/// It includes the current row; the vertical→horizontal link shifts it down one row.</item>
/// <item>Horizontal type A: kernel 1 × n/2 over columns c−n/2 … c−1 (excludes the current pixel).</item>
/// <item>Horizontal type B: kernel 1 × (n/2+1) over columns c−n/2 … c (includes it).</item>
/// </list>
/// Output has the input's height and width. Because nothing flows up or (in the horizontal case)
/// leftward, cropping the input to rows [0, r] (and columns [0, c]) leaves the outputs there unchanged.
/// </summary>
public sealed class CausalConv2d : Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    readonly long[] _pad;        // (left, right, top, bottom) for F.pad
    readonly bool _dropLastColumn;

    CausalConv2d(long inChannels, long outChannels, (long, long) kernel, long[] pad, bool dropLastColumn) : base(nameof(CausalConv2d))
    {
        conv = Conv2d(inChannels, outChannels, kernel);
        _pad = pad;
        _dropLastColumn = dropLastColumn;
        RegisterComponents();
    }

    /// <summary>Vertical-stack convolution: every pixel sees the rows above and its own row (n×n window, upper half).</summary>
    public static CausalConv2d Vertical(long inChannels, long outChannels, int n) =>
        new(inChannels, outChannels, (n / 2 + 1, n), new long[] { n / 2, n / 2, n / 2, 0 }, false);

    /// <summary>Horizontal-stack convolution within the current row; type A excludes the current pixel, type B includes it.</summary>
    public static CausalConv2d Horizontal(long inChannels, long outChannels, int n, bool typeA) =>
        typeA
            ? new(inChannels, outChannels, (1, n / 2), new long[] { n / 2, 0, 0, 0 }, true)   // width W+1, keep the first W
            : new(inChannels, outChannels, (1, n / 2 + 1), new long[] { n / 2, 0, 0, 0 }, false);

    /// <summary>Zero columns padded on the left.</summary>
    public int LeftPad => (int)_pad[0];

    /// <summary>Kernel width: the columns one output column reads.</summary>
    public int KernelWidth => (int)conv.weight!.shape[3];

    /// <summary>
    /// One output column (B, Cout, 1, 1) from exactly the input window it reads: (B, Cin, 1, KernelWidth),
    /// i.e. columns c … c+KernelWidth−1 of the row padded with <see cref="LeftPad"/> zeros (horizontal convs only).
    /// </summary>
    public Tensor ForwardWindow(Tensor window) => conv.forward(window);

    /// <summary>(B, Cin, H, W) → (B, Cout, H, W).</summary>
    public override Tensor forward(Tensor x)
    {
        using var padded = pad(x, _pad);
        var y = conv.forward(padded);
        if (!_dropLastColumn) return y;
        using (y) return y.narrow(3, 0, x.shape[3]);
    }
}
