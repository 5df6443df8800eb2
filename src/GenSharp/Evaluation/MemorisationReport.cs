namespace GenSharp.Evaluation;

/// <summary>Nearest-training-image distances of samples against those of held-out test images (pixel L2, pixels in [0, 1]).</summary>
/// <param name="Samples">Quantiles over the generated samples.</param>
/// <param name="Test">Quantiles over the held-out test images.</param>
/// <param name="Threshold">The smallest test-image distance: samples below it are flagged.</param>
/// <param name="Flagged">Samples closer to the training set than any test image gets.</param>
/// <param name="FlaggedFraction">Flagged / samples.</param>
public sealed record MemorisationReport(DistanceQuantiles Samples, DistanceQuantiles Test, double Threshold, long Flagged, double FlaggedFraction);
