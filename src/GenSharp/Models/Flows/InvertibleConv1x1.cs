using GenSharp.Runtime;
using GenSharp.Training;
using TorchSharp.Modules;

namespace GenSharp.Models.Flows;

/// <summary>
/// Invertible 1×1 convolution (Kingma &amp; Dhariwal 2018, §3.2): y = W x at every pixel with a
/// learned C×C matrix W, a generalised channel permutation. log|det| = H·W·log|det W| (eq. 9).
/// W starts as a random rotation (Q of the QR decomposition of a Gaussian matrix), so log|det| = 0.
/// <para>
/// LU-decomposed form (§3.2, eq. 10): W = P·L·(U + diag(sign(s)·exp(log|s|))) with P a fixed
/// permutation (buffer), L unit lower-triangular, U strictly upper-triangular; then
/// log|det W| = Σ log|s| costs O(C) instead of O(C³). Initialised from the LU factors of the rotation.
/// </para>
/// </summary>
public sealed class InvertibleConv1x1 : FlowLayer
{
    readonly string _where;
    readonly bool _lu;
    // Plain form.
    private readonly Parameter? weight;     // (C, C)
    // LU form: the learned factors and the fixed parts.
    private readonly Parameter? lower;      // (C, C), only the strictly lower part is used
    private readonly Parameter? upper;      // (C, C), only the strictly upper part is used
    private readonly Parameter? log_s;      // (C)
    private readonly Tensor? perm;          // (C, C) permutation matrix
    private readonly Tensor? sign_s;        // (C) ±1
    private readonly Tensor? lower_mask;    // (C, C) strictly lower ones
    private readonly Tensor? eye;           // (C, C)

    /// <param name="channels">C.</param>
    /// <param name="luDecomposed">Use the LU parameterisation.</param>
    /// <param name="where">Where the layer sits (e.g. "level 1, step 3"), for error messages.</param>
    public InvertibleConv1x1(long channels, bool luDecomposed, string where = "the flow") : base(nameof(InvertibleConv1x1))
    {
        _where = where;
        _lu = luDecomposed;
        var (q, _) = torch.linalg.qr(torch.randn(channels, channels));          // random rotation
        if (!luDecomposed)
        {
            weight = new Parameter(q.contiguous());
        }
        else
        {
            var (p, l, u) = torch.linalg.lu(q);                                  // q = p · l · u
            var s = u.diagonal();
            perm = p.contiguous();
            sign_s = s.sign().contiguous();
            lower_mask = torch.ones(channels, channels).tril(-1);
            eye = torch.eye(channels);
            lower = new Parameter((l * lower_mask).contiguous());
            upper = new Parameter(u.triu(1).contiguous());
            log_s = new Parameter(s.abs().log().contiguous());
        }
        RegisterComponents();
    }

    /// <summary>Whether W is LU-parameterised.</summary>
    public bool LuDecomposed => _lu;

    /// <summary>The current C×C weight.</summary>
    public Tensor Weight()
    {
        if (!_lu) return weight!;
        var l = lower! * lower_mask! + eye!;
        var u = upper! * lower_mask!.t() + torch.diag(sign_s! * log_s!.exp());
        return perm!.matmul(l).matmul(u);
    }

    /// <summary>log|det W| as a scalar tensor; throws when W is singular or the value is not finite.</summary>
    public Tensor LogAbsDetWeight()
    {
        Tensor logAbs;
        if (_lu)
        {
            logAbs = log_s!.sum();
        }
        else
        {
            var (sign, la) = torch.linalg.slogdet(weight!);
            logAbs = la;
            if (sign.to_type(ScalarType.Float64).item<double>() == 0) ThrowSingular(double.NegativeInfinity);
        }
        double v = logAbs.to_type(ScalarType.Float64).item<double>();
        if (!double.IsFinite(v)) ThrowSingular(v);
        return logAbs;
    }

    void ThrowSingular(double logAbsDet) => throw new TrainingDivergedException(
        $"invertible 1×1 convolution in {_where} became singular at log|det W| = {logAbsDet}; lower learning_rate or grad_clip");

    public override (Tensor Y, Tensor LogDet) Forward(Tensor x)
    {
        long hw = x.shape[2] * x.shape[3];
        var w = Weight();
        var y = ConvolutionLayout.Pointwise(x, w, null);
        var logDet = (LogAbsDetWeight() * hw).expand(x.shape[0]);               // (B)
        return (y, logDet);
    }

    public override Tensor Inverse(Tensor y)
    {
        LogAbsDetWeight();                                                      // singularity check
        var wInv = torch.linalg.inv(Weight());
        return ConvolutionLayout.Pointwise(y, wInv, null);
    }
}
