namespace GenSharp.Models.Flows;

/// <summary>One step of flow (Kingma &amp; Dhariwal 2018, Fig. 2a): ActNorm → invertible 1×1 conv → affine coupling.</summary>
public sealed class GlowStep : FlowLayer
{
    private readonly ActNorm actnorm;
    private readonly InvertibleConv1x1 invconv;
    private readonly GlowCoupling coupling;

    /// <param name="channels">C.</param>
    /// <param name="hidden">Width of the coupling network.</param>
    /// <param name="luDecomposed">LU-parameterised 1×1 convolution.</param>
    /// <param name="where">Position in the flow, for error messages.</param>
    public GlowStep(long channels, long hidden, bool luDecomposed, string where) : base(nameof(GlowStep))
    {
        actnorm = new ActNorm(channels);
        invconv = new InvertibleConv1x1(channels, luDecomposed, where);
        coupling = new GlowCoupling(channels, hidden);
        RegisterComponents();
    }

    public ActNorm ActNorm => actnorm;
    public InvertibleConv1x1 InvConv => invconv;
    public GlowCoupling Coupling => coupling;

    public override (Tensor Y, Tensor LogDet) Forward(Tensor x)
    {
        var (h1, ld1) = actnorm.Forward(x);
        var (h2, ld2) = invconv.Forward(h1);
        h1.Dispose();                                   // autograd keeps what backward needs; the step's scope need not
        var (y, ld3) = coupling.Forward(h2);
        h2.Dispose();
        using (ld1) using (ld2) using (ld3)
        using (var ld12 = ld1 + ld2)
            return (y, ld12 + ld3);
    }

    public override Tensor Inverse(Tensor y) => actnorm.Inverse(invconv.Inverse(coupling.Inverse(y)));
}
