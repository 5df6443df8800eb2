namespace GenSharp.Evaluation;

/// <summary>KID estimate: mean over subsets of the unbiased MMD², with the spread of the subset values.</summary>
/// <param name="Mean">Mean of the per-subset unbiased MMD² estimates.</param>
/// <param name="Std">Standard deviation of the per-subset estimates (what torch-fidelity and clean-fid report as kid_std).</param>
/// <param name="StandardError">Std / √subsets: the standard error of <see cref="Mean"/> if the subsets were independent.
/// They overlap (drawn from the same N items), so the true error lies between this and <see cref="Std"/>.</param>
/// <param name="Subsets">Number of subsets averaged.</param>
/// <param name="SubsetSize">Items per set in each subset.</param>
public sealed record KidResult(double Mean, double Std, double StandardError, int Subsets, int SubsetSize);
