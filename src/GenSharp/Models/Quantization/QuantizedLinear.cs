namespace GenSharp.Models.Quantization;

/// <summary>
/// What the low-bit linear layers share: their widths (which adapters read), the CPU-only check, a product that is
/// differentiable in its input (<see cref="QuantizedKernels.WithInputGradient"/>), and the native tensors they own.
/// A subclass registers its buffers by hand (non-persistent: the saved layout is <see cref="QuantizedDecoder"/>'s).
/// </summary>
public abstract class QuantizedLinear : nn.Module<Tensor, Tensor>
{
    readonly string _kernel;

    /// <param name="name">Module name.</param>
    /// <param name="outFeatures">Output width N.</param>
    /// <param name="inFeatures">Input width K.</param>
    /// <param name="kernel">The kernel's name in the CPU-only error ("int8", "int4").</param>
    protected QuantizedLinear(string name, long outFeatures, long inFeatures, string kernel) : base(name)
    {
        (OutFeatures, InFeatures, _kernel) = (outFeatures, inFeatures, kernel);
    }

    // Registered by hand in the subclass constructors: TorchSharp's field registration would save the buffers.
    protected override void RegisterComponents() { }

    /// <summary>Output width N.</summary>
    public long OutFeatures { get; }
    /// <summary>Input width K.</summary>
    public long InFeatures { get; }

    /// <summary>The native tensors the layer owns (disposed with it).</summary>
    protected abstract IEnumerable<Tensor> Owned { get; }

    /// <summary>x (…, K) → (…, N) through the kernel, without gradients.</summary>
    protected abstract Tensor Product(Tensor x);

    public sealed override Tensor forward(Tensor x)
    {
        if (x.device_type != DeviceType.CPU)
            throw new GenSharpException($"quantized layers run on the CPU (libtorch's {_kernel} kernel is a CPU kernel); load the model with device cpu");
        return QuantizedKernels.WithInputGradient(x, InFeatures, Product);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) foreach (var t in Owned) t.Dispose();
        base.Dispose(disposing);
    }
}
