namespace GenSharp.Pipelines;

/// <summary>
/// Fills the unknown pixels of a batch: raw uint8 images (B, C, H, W), a bool known mask (B, 1, H, W; true = keep) and
/// the run's generator in; float images in [0,1] (B, C, H, W) whose known pixels equal the input's out.
/// </summary>
public delegate Tensor BatchInpainter(Tensor images, Tensor knownMask, Generator gen);
