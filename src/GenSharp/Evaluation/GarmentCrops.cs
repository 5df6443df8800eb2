namespace GenSharp.Evaluation;

/// <summary>
/// What an image metric sees of a Moving Fashion-MNIST frame. The domain classifier was trained on 28×28 Fashion-MNIST
/// garments, so a frame is brought to the 64×64 canvas (frames of 32×32 are enlarged 2× bilinearly) and the 28×28
/// window centred on the frame's intensity centroid (clamped inside the canvas) is cut out: for a clip of one garment
/// that is the garment at its native size. Frames of real and generated clips go through the same cut, so FD-cls
/// compares like with like. The centroid also gives a garment position per frame, for motion statistics.
/// </summary>
public static class GarmentCrops
{
    /// <summary>Side of the canvas frames are brought to.</summary>
    public const int Canvas = 64;
    /// <summary>Side of the crop: a Fashion-MNIST garment.</summary>
    public const int Size = 28;

    /// <summary>Frames (N, 1, S, S) in [0, 1] with S dividing 64, as (N, 1, 64, 64) float32.</summary>
    public static Tensor ToCanvas(Tensor frames01)
    {
        if (frames01.dim() != 4 || frames01.shape[1] != 1 || frames01.shape[2] != frames01.shape[3] || Canvas % frames01.shape[2] != 0)
            throw new ArgumentException($"frames must be (N, 1, S, S) with S dividing {Canvas}, got ({string.Join(", ", frames01.shape)})");
        var x = frames01.to(ScalarType.Float32);
        long s = x.shape[2];
        return s == Canvas ? x : torch.nn.functional.interpolate(x, new long[] { Canvas, Canvas }, mode: InterpolationMode.Bilinear, align_corners: false);
    }

    /// <summary>Intensity centroid (x, y) of each frame (N, 1, S, S) in canvas pixels (0…63), (N, 2) float64; the canvas centre for a black frame.</summary>
    public static Tensor Centroids(Tensor frames01)
    {
        using var scope = torch.NewDisposeScope();
        var x = ToCanvas(frames01).to(ScalarType.Float64).squeeze(1);                  // (N, 64, 64)
        var coords = torch.arange(Canvas, dtype: ScalarType.Float64);                  // (64)
        var mass = x.sum(new long[] { 1, 2 });                                         // (N)
        var cx = (x.sum(1) * coords).sum(1) / mass.clamp_min(1e-12);                   // Σ columns × x / mass
        var cy = (x.sum(2) * coords).sum(1) / mass.clamp_min(1e-12);
        var centre = torch.full_like(cx, (Canvas - 1) / 2.0);
        var empty = mass <= 1e-12;
        return torch.stack(new[] { torch.where(empty, centre, cx), torch.where(empty, centre, cy) }, 1).MoveToOuterDisposeScope(); // (N, 2)
    }

    /// <summary>The 28×28 crop around each frame's centroid, (N, 1, 28, 28) float32 in [0, 1].</summary>
    public static Tensor Crop(Tensor frames01)
    {
        using var scope = torch.NewDisposeScope();
        var canvas = ToCanvas(frames01);                                                // (N, 1, 64, 64)
        long n = canvas.shape[0];
        var corner = (Centroids(frames01) - (Size - 1) / 2.0).round().clamp(0, Canvas - Size).to(ScalarType.Int64); // (N, 2) top-left x, y
        var offsets = torch.arange(Size, dtype: ScalarType.Int64);                     // (28)
        var rows = (corner[.., 1].unsqueeze(1) + offsets).reshape(n, 1, Size, 1).expand(n, 1, Size, Canvas);   // (N, 1, 28, 64)
        var band = canvas.gather(2, rows);                                              // (N, 1, 28, 64)
        var cols = (corner[.., 0].unsqueeze(1) + offsets).reshape(n, 1, 1, Size).expand(n, 1, Size, Size);     // (N, 1, 28, 28)
        return band.gather(3, cols).MoveToOuterDisposeScope();
    }
}
