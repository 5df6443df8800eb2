using TorchSharp.Modules;

namespace GenSharp.Runtime;

/// <summary>
/// Runs a <see cref="Sequential"/>'s layers one after another like its own <c>forward</c>, but disposes each
/// intermediate handle as soon as the next layer has consumed it, as Python drops a reference. Autograd keeps its own
/// references to whatever backward needs, so this frees only what nothing will read again; without it a training
/// step's dispose scope holds every layer's output until the step ends. The input is never disposed, nor a layer's
/// output that is the same handle as its input.
/// </summary>
public static class ReleasingSequential
{
    public static Tensor ForwardReleasing(this Sequential sequential, Tensor x)
    {
        var h = x;
        foreach (var child in sequential.children())
        {
            if (child is not nn.Module<Tensor, Tensor> layer)
                throw new GenSharpException($"ForwardReleasing: layer {child.GetName()} does not map a tensor to a tensor");
            var next = layer.forward(h);
            if (!ReferenceEquals(h, x) && !ReferenceEquals(next, h)) h.Dispose();
            h = next;
        }
        return h;
    }
}
