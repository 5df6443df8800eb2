namespace GenSharp.Evaluation;

/// <summary>
/// How close predicted frames are to the true ones (<see cref="FramePrediction.Score"/>), averaged over clips: per
/// predicted frame (index 0 = the first frame after the known ones) and over all predicted frames.
/// </summary>
/// <param name="Mse">Per-frame squared error summed over the frame's pixels (values in [0, 1]), mean over predicted frames and clips.</param>
/// <param name="MsePerPixel">The same error averaged over pixels instead of summed (comparable across frame sizes).</param>
/// <param name="Ssim">Per-frame SSIM (<see cref="Evaluation.Ssim"/>), mean over predicted frames and clips.</param>
/// <param name="CentroidError">Distance between the predicted and true frames' intensity centroids, in 64×64 canvas pixels.</param>
/// <param name="MseByFrame">Mse of each predicted frame.</param>
/// <param name="SsimByFrame">Ssim of each predicted frame.</param>
/// <param name="CentroidErrorByFrame">CentroidError of each predicted frame.</param>
public sealed record PredictionScores(double Mse, double MsePerPixel, double Ssim, double CentroidError,
    double[] MseByFrame, double[] SsimByFrame, double[] CentroidErrorByFrame);
