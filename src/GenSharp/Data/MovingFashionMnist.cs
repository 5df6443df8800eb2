namespace GenSharp.Data;

/// <summary>
/// Moving Fashion-MNIST: short grey clips made deterministically from Fashion-MNIST the way Moving MNIST
/// (Srivastava et al. 2015, arXiv:1502.04681) is made from MNIST. Each clip shows one or two 28×28 garments
/// gliding over a black 64×64 canvas at constant speed and bouncing off the walls (angle of incidence = angle of
/// reflection); overlapping garments combine by per-pixel maximum. A clip depends only on (seed, index) and the
/// image split it draws from: clips for training come from the train images, clips for evaluation from the test
/// images, so no garment is shared between them. With <see cref="MovingFashionMnistOptions.FrameSize"/> 32 the
/// same 64×64 clip is averaged over 2×2 blocks (garments of 14×14), which keeps the motion and is 4× cheaper.
/// </summary>
public sealed class MovingFashionMnist : IBatchSource
{
    /// <summary>Name of the data set on the command line (<c>--data moving-fashion-mnist[:SOURCE]</c>).</summary>
    public const string Name = "moving-fashion-mnist";
    /// <summary>Side of the canvas clips are drawn on before any downscaling.</summary>
    public const int CanvasSize = 64;
    /// <summary>Side of a Fashion-MNIST garment.</summary>
    public const int GarmentSize = 28;
    /// <summary>Number of motion classes: the quadrant of the first garment's initial velocity.</summary>
    public const int Directions = 4;
    /// <summary>Names of the motion classes (image y grows downwards).</summary>
    public static IReadOnlyList<string> DirectionNames { get; } = Array.AsReadOnly(new[] { "right-down", "left-down", "left-up", "right-up" });

    readonly byte[] _pixels;      // N × 28 × 28 garments
    readonly long[] _labels;
    readonly int _batch;
    readonly long _seed;

    /// <summary>Clips drawn from <paramref name="images"/> (a Fashion-MNIST split, 1×28×28 uint8).</summary>
    /// <param name="images">The split the garments come from; the generator copies its pixels.</param>
    /// <param name="options">Clip geometry and motion.</param>
    /// <param name="batchSize">Clips per <see cref="GetBatch"/>.</param>
    /// <param name="seed">Seeds every clip (clip i of seed s is always the same clip).</param>
    public MovingFashionMnist(ImageDataset images, MovingFashionMnistOptions options, int batchSize, long seed)
    {
        ArgumentNullException.ThrowIfNull(images);
        options.Validate();
        if (images.Channels != 1 || images.Height != GarmentSize || images.Width != GarmentSize)
            throw new GenSharpException($"moving fashion-mnist needs 1×28×28 images, got {images.Channels}×{images.Height}×{images.Width} from {images.Source}");
        if (images.Count < 1) throw new GenSharpException($"{images.Source} holds no images");
        if (batchSize < 1) throw new ParameterException("batch_size", $"must be ≥ 1, got {batchSize}");
        Options = options;
        _batch = batchSize;
        _seed = seed;
        _pixels = images.Images.contiguous().data<byte>().ToArray();
        _labels = images.Labels.data<long>().ToArray();
        Count = images.Count;
        Source = $"moving {images.Source}";
        NumClasses = images.NumClasses;
    }

    /// <summary>Loads the split named by <paramref name="data"/> and wraps it.</summary>
    /// <param name="data"><c>moving-fashion-mnist</c> (Fashion-MNIST found as image families find it), <c>moving-fashion-mnist:SOURCE</c>
    /// or SOURCE alone, where SOURCE is <c>embedded</c> or a Fashion-MNIST folder; null = <c>moving-fashion-mnist</c>.</param>
    /// <param name="train">Train images (training clips) or test images (evaluation clips).</param>
    /// <param name="options">Clip geometry and motion.</param>
    /// <param name="batchSize">Clips per batch.</param>
    /// <param name="seed">Seeds the clips.</param>
    public static MovingFashionMnist Load(string? data, bool train, MovingFashionMnistOptions options, int batchSize, long seed)
    {
        using var images = FashionMnist.Load(ImageSource(data), train);
        return new MovingFashionMnist(images, options, batchSize, seed);
    }

    /// <summary>The Fashion-MNIST location inside a <c>--data</c> value (null = the usual search).</summary>
    public static string? ImageSource(string? data)
    {
        if (data is null) return null;
        var d = data.Trim();
        if (string.Equals(d, Name, StringComparison.OrdinalIgnoreCase)) return null;
        if (d.StartsWith(Name + ":", StringComparison.OrdinalIgnoreCase)) return d[(Name.Length + 1)..];
        return d;
    }

    /// <summary>Geometry and motion of the clips.</summary>
    public MovingFashionMnistOptions Options { get; }
    /// <summary>Images of the underlying split.</summary>
    public int Count { get; }
    /// <summary>Garment classes (10).</summary>
    public int NumClasses { get; }
    /// <summary>Where the garments come from, for messages and checkpoints.</summary>
    public string Source { get; }

    /// <summary>Clips per <see cref="GetBatch"/>.</summary>
    public int BatchSize => _batch;

    /// <summary>An epoch is as many clips as the split has images.</summary>
    public int BatchesPerEpoch => Math.Max(1, Count / _batch);

    /// <summary>Clips (B, T, 1, S, S) uint8 and the class of each clip's first garment (B) int64; clips step·B … step·B+B−1.</summary>
    public (Tensor Inputs, Tensor Targets) GetBatch(long step)
    {
        var (clips, infos) = Clips(step * _batch, _batch);
        return (clips, torch.tensor(infos.Select(i => (long)i.Classes[0]).ToArray(), dtype: ScalarType.Int64));
    }

    /// <summary>Clips <paramref name="first"/> … first+count−1 as (count, T, 1, S, S) uint8 with their records.</summary>
    public (Tensor Clips, IReadOnlyList<MovingClip> Infos) Clips(long first, int count)
    {
        int t = Options.Frames, s = Options.FrameSize;
        var all = new byte[(long)count * t * s * s];
        var infos = new MovingClip[count];
        for (int b = 0; b < count; b++)
        {
            var (frames, info) = Render(first + b);
            Array.Copy(frames, 0, all, (long)b * frames.Length, frames.Length);
            infos[b] = info;
        }
        return (torch.tensor(all, new long[] { count, t, 1, s, s }, dtype: ScalarType.Byte), infos);
    }

    /// <summary>Clip <paramref name="index"/> as (T, 1, S, S) uint8 with its record.</summary>
    public (Tensor Frames, MovingClip Info) Clip(long index)
    {
        var (frames, info) = Render(index);
        int s = Options.FrameSize;
        return (torch.tensor(frames, new long[] { Options.Frames, 1, s, s }, dtype: ScalarType.Byte), info);
    }

    /// <summary>The pixels (T·S·S) and record of clip <paramref name="index"/>.</summary>
    (byte[] Frames, MovingClip Info) Render(long index)
    {
        var rng = new Random(unchecked((int)(_seed * 1_000_003 + index * 7_919 + 12_345)));
        int frames = Options.Frames, garments = Options.Garments;
        const int limit = CanvasSize - GarmentSize;
        var imageIndex = new int[garments];
        var classes = new int[garments];
        var paths = new (double X, double Y)[garments][];
        var startVelocity = new (double X, double Y)[garments];
        for (int g = 0; g < garments; g++)
        {
            imageIndex[g] = rng.Next(Count);
            classes[g] = (int)_labels[imageIndex[g]];
            // The heading stays 15° or more away from the axes, so both components move and the quadrant is clear.
            int quadrant = rng.Next(Directions);
            double angle = quadrant * Math.PI / 2 + Math.PI / 12 + rng.NextDouble() * (Math.PI / 2 - Math.PI / 6);
            var v = (Options.Speed * Math.Cos(angle), Options.Speed * Math.Sin(angle));
            var start = (rng.NextDouble() * limit, rng.NextDouble() * limit);
            startVelocity[g] = v;
            paths[g] = Trajectory(start, v, limit, frames).Positions;
        }
        var canvas = new byte[frames * CanvasSize * CanvasSize];
        for (int f = 0; f < frames; f++)
            for (int g = 0; g < garments; g++)
            {
                int x0 = (int)Math.Round(paths[g][f].X), y0 = (int)Math.Round(paths[g][f].Y);
                int src = imageIndex[g] * GarmentSize * GarmentSize;
                for (int y = 0; y < GarmentSize; y++)
                {
                    int row = f * CanvasSize * CanvasSize + (y0 + y) * CanvasSize + x0;
                    for (int x = 0; x < GarmentSize; x++)
                        canvas[row + x] = Math.Max(canvas[row + x], _pixels[src + y * GarmentSize + x]);
                }
            }
        var info = new MovingClip(index, classes, imageIndex, paths, startVelocity, Quadrant(startVelocity[0]));
        return (Options.FrameSize == CanvasSize ? canvas : Downscale(canvas, frames, CanvasSize / Options.FrameSize), info);
    }

    /// <summary>Mean over f×f blocks, rounded half up.</summary>
    static byte[] Downscale(byte[] canvas, int frames, int f)
    {
        int s = CanvasSize / f;
        var out_ = new byte[frames * s * s];
        for (int t = 0; t < frames; t++)
            for (int y = 0; y < s; y++)
                for (int x = 0; x < s; x++)
                {
                    int sum = 0;
                    for (int dy = 0; dy < f; dy++)
                        for (int dx = 0; dx < f; dx++)
                            sum += canvas[t * CanvasSize * CanvasSize + (y * f + dy) * CanvasSize + x * f + dx];
                    out_[t * s * s + y * s + x] = (byte)((2 * sum + f * f) / (2 * f * f));
                }
        return out_;
    }

    /// <summary>The motion class of a velocity: 0 right-down, 1 left-down, 2 left-up, 3 right-up.</summary>
    public static int Quadrant((double X, double Y) v) => (v.X >= 0, v.Y >= 0) switch
    {
        (true, true) => 0, (false, true) => 1, (false, false) => 2, _ => 3,
    };

    /// <summary>
    /// Positions (top-left corners) and velocities of a garment over <paramref name="frames"/> frames, starting at
    /// <paramref name="start"/> with velocity <paramref name="velocity"/> (pixels per frame) inside [0, limit]²: each
    /// frame adds the velocity, and a coordinate that leaves [0, limit] is reflected back in and its velocity
    /// component flips sign (an elastic bounce off the wall, in the frame where it happens).
    /// </summary>
    public static ((double X, double Y)[] Positions, (double X, double Y)[] Velocities) Trajectory(
        (double X, double Y) start, (double X, double Y) velocity, double limit, int frames)
    {
        var p = new (double, double)[frames];
        var v = new (double, double)[frames];
        double x = start.X, y = start.Y, vx = velocity.X, vy = velocity.Y;
        for (int f = 0; f < frames; f++)
        {
            p[f] = (x, y);
            v[f] = (vx, vy);
            (x, vx) = Bounce(x + vx, vx, limit);
            (y, vy) = Bounce(y + vy, vy, limit);
        }
        return (p, v);
    }

    static (double, double) Bounce(double p, double v, double limit)
    {
        // Speeds are far below the free width, so one reflection per frame suffices.
        if (p < 0) return (-p, -v);
        if (p > limit) return (2 * limit - p, -v);
        return (p, v);
    }
}

/// <summary>Geometry and motion of Moving Fashion-MNIST clips.</summary>
public sealed record MovingFashionMnistOptions
{
    /// <summary>Frames per clip.</summary>
    public int Frames { get; init; } = 16;
    /// <summary>Side of each frame: 64 (garments 28×28) or 32 (the 64×64 clip averaged over 2×2 blocks).</summary>
    public int FrameSize { get; init; } = 64;
    /// <summary>Garments per clip, 1 or 2.</summary>
    public int Garments { get; init; } = 1;
    /// <summary>Speed in canvas pixels (64×64) per frame.</summary>
    public double Speed { get; init; } = 3.0;

    /// <summary>Throws a one-line error naming the first invalid setting.</summary>
    public void Validate()
    {
        if (Frames is < 2 or > 64) throw new ParameterException("frames", $"must be in [2, 64], got {Frames}");
        if (FrameSize is not (32 or 64)) throw new ParameterException("frame_size", $"must be 32 or 64, got {FrameSize}");
        if (Garments is < 1 or > 2) throw new ParameterException("garments", $"must be 1 or 2, got {Garments}");
        if (!(Speed > 0 && Speed <= 8)) throw new ParameterException("speed", $"must be in (0, 8] pixels per frame, got {Speed}");
    }
}

/// <summary>What a Moving Fashion-MNIST clip shows.</summary>
/// <param name="Index">The clip's index in its generator.</param>
/// <param name="Classes">Class of each garment.</param>
/// <param name="ImageIndices">Index of each garment's image in the split.</param>
/// <param name="Positions">Per garment, the top-left corner in each frame (64×64 canvas pixels, before rounding).</param>
/// <param name="Velocities">Per garment, the initial velocity (canvas pixels per frame).</param>
/// <param name="Direction">Motion class of the first garment (<see cref="MovingFashionMnist.Quadrant"/>).</param>
public sealed record MovingClip(long Index, int[] Classes, int[] ImageIndices, (double X, double Y)[][] Positions,
    (double X, double Y)[] Velocities, int Direction);
