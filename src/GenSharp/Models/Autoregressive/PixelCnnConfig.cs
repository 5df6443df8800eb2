namespace GenSharp.Models.Autoregressive;

/// <summary>
/// Gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN Decoders",
/// arXiv:1606.05328), optionally class-conditional. Grey-level images only: the R→G→B ordering
/// masks inside a pixel are not implemented, so <c>image_channels</c> must be 1.
/// The defaults (8 blocks of 64 channels, 7×7 type-A first layer, 3×3 later layers) keep a
/// 28×28 Fashion-MNIST epoch within CPU reach while the receptive field spans 10 rows up and
/// 10 columns either side.
/// </summary>
public sealed record PixelCnnConfig : ImageFamilyConfig
{
    /// <summary>Gated blocks; the first is the type-A block (it does not see the current pixel).</summary>
    public int Layers { get; init; } = 8;
    /// <summary>Feature maps per stack (p in the paper; the gates use 2p).</summary>
    public int Channels { get; init; } = 64;
    /// <summary>Kernel size of the first (type-A) block: n×n vertical, 1×(n/2) horizontal. Odd.</summary>
    public int FirstKernelSize { get; init; } = 7;
    /// <summary>Kernel size of the later (type-B) blocks: n×n vertical, 1×(n/2+1) horizontal. Odd.</summary>
    public int KernelSize { get; init; } = 3;
    /// <summary>Width of the 1×1 hidden layer of the output head.</summary>
    public int OutputHiddenChannels { get; init; } = 128;
    /// <summary>Per-pixel distribution: 256-way softmax on 8-bit pixels, or Bernoulli on binarized ones.</summary>
    public PixelCnnOutput Output { get; init; } = PixelCnnOutput.Softmax256;
    /// <summary>Condition every gate on the class label (a learned per-class bias, paper eq. 4).</summary>
    public bool Conditional { get; init; } = false;
    /// <summary>Adam learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Gradient clipping: maximum global L2 norm of the gradient; 0 turns clipping off.</summary>
    public double GradClip { get; init; } = 1.0;

    public override void Validate()
    {
        base.Validate();
        Require(ImageChannels == 1, "image_channels", "1 (pixelcnn models grey-level images; the R→G→B channel masks are not implemented)", ImageChannels);
        RequireIn(Layers, "layers", 1, 64);
        RequireIn(Channels, "channels", 1, 1024);
        Require(FirstKernelSize is >= 3 and <= 15 && FirstKernelSize % 2 == 1, "first_kernel_size", "odd, in [3, 15]", FirstKernelSize);
        Require(KernelSize is >= 3 and <= 15 && KernelSize % 2 == 1, "kernel_size", "odd, in [3, 15]", KernelSize);
        RequireIn(OutputHiddenChannels, "output_hidden_channels", 1, 4096);
        Require(Enum.IsDefined(Output), "output", "softmax256 or bernoulli", Output);
        Require(!Conditional || NumClasses >= 2, "num_classes", "≥ 2 for a conditional model", NumClasses);
        RequireLearningRate(LearningRate);
        RequireGradClip(GradClip);
    }
}
