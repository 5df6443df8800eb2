namespace GenSharp.Data;

/// <summary>
/// A labelled image data set held in memory on the CPU: images as a uint8 tensor (N, C, H, W) and
/// labels as an int64 tensor (N) with values in [0, <see cref="NumClasses"/>). The data set owns both
/// tensors and frees them on <see cref="Dispose"/>; subsets are new, independent data sets.
/// </summary>
public sealed class ImageDataset : IDisposable
{
    readonly Tensor _images;
    readonly Tensor _labels;
    bool _disposed;

    /// <summary>
    /// Wraps image and label tensors, checking that they agree in count and that every label is a
    /// valid class index. On success the data set takes ownership of both tensors (they are detached
    /// from any dispose scope and freed by <see cref="Dispose"/>).
    /// </summary>
    /// <param name="images">uint8 tensor (N, C, H, W) on the CPU.</param>
    /// <param name="labels">int64 tensor (N) on the CPU.</param>
    /// <param name="classNames">One name per class; its length is <see cref="NumClasses"/>.</param>
    /// <param name="source">Human description of where the data came from, used in messages.</param>
    /// <exception cref="ArgumentException">A tensor has the wrong shape, element type or device.</exception>
    /// <exception cref="GenSharpException">Image and label counts differ, or a label is out of range.</exception>
    public ImageDataset(Tensor images, Tensor labels, IReadOnlyList<string> classNames, string source)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(classNames);
        ArgumentNullException.ThrowIfNull(source);
        if (images.dim() != 4 || images.dtype != ScalarType.Byte || images.device_type != DeviceType.CPU)
            throw new ArgumentException($"images must be a uint8 CPU tensor of shape (N, C, H, W), got {images.dtype} {Shape(images)} on {images.device}", nameof(images));
        if (labels.dim() != 1 || labels.dtype != ScalarType.Int64 || labels.device_type != DeviceType.CPU)
            throw new ArgumentException($"labels must be an int64 CPU tensor of shape (N), got {labels.dtype} {Shape(labels)} on {labels.device}", nameof(labels));
        if (classNames.Count < 1)
            throw new ArgumentException("at least one class name is needed", nameof(classNames));
        if (images.shape[0] != labels.shape[0])
            throw new GenSharpException($"{source}: {images.shape[0]} images but {labels.shape[0]} labels; the images and labels files do not belong together, use matching files");
        if (labels.shape[0] > 0)
        {
            using var scope = NewDisposeScope();
            var bad = labels.lt(0).logical_or(labels.ge(classNames.Count)).nonzero();
            if (bad.shape[0] > 0)
            {
                long at = bad[0, 0].item<long>();
                long value = labels[at].item<long>();
                throw new GenSharpException($"{source}: label {value} of item {at} is outside [0, {classNames.Count}); the labels file does not match this data set, use the right file");
            }
        }
        _images = images.DetachFromDisposeScope();
        _labels = labels.DetachFromDisposeScope();
        ClassNames = classNames.ToArray();
        Source = source;
    }

    /// <summary>
    /// Builds a single-channel data set from IDX content (as returned by <see cref="Idx.ReadImages(string)"/>
    /// and <see cref="Idx.ReadLabels(string)"/>).
    /// </summary>
    /// <param name="images">Images, one channel each.</param>
    /// <param name="labels">One class index per image.</param>
    /// <param name="classNames">One name per class.</param>
    /// <param name="source">Human description of where the data came from, used in messages.</param>
    /// <exception cref="GenSharpException">Image and label counts differ, or a label is out of range.</exception>
    public static ImageDataset FromIdx(IdxImages images, byte[] labels, IReadOnlyList<string> classNames, string source)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(source);
        if (images.Count != labels.Length)
            throw new GenSharpException($"{source}: {images.Count} images but {labels.Length} labels; the images and labels files do not belong together, use matching files");
        Runtime.TorchRuntime.EnsureReady();
        var x = torch.tensor(images.Pixels, new long[] { images.Count, 1, images.Rows, images.Columns }, dtype: ScalarType.Byte);
        Tensor y;
        using (var raw = torch.tensor(labels, new long[] { labels.Length }, dtype: ScalarType.Byte))
            y = raw.to_type(ScalarType.Int64);
        try
        {
            return new ImageDataset(x, y, classNames, source);
        }
        catch
        {
            x.Dispose();
            y.Dispose();
            throw;
        }
    }

    /// <summary>Images, uint8 (N, C, H, W) on the CPU. Owned by the data set: do not dispose.</summary>
    public Tensor Images { get { ThrowIfDisposed(); return _images; } }

    /// <summary>Class indices, int64 (N) on the CPU. Owned by the data set: do not dispose.</summary>
    public Tensor Labels { get { ThrowIfDisposed(); return _labels; } }

    /// <summary>Number of images (N).</summary>
    public int Count => (int)Images.shape[0];

    /// <summary>Channels per image (C).</summary>
    public int Channels => (int)Images.shape[1];

    /// <summary>Image height in pixels (H).</summary>
    public int Height => (int)Images.shape[2];

    /// <summary>Image width in pixels (W).</summary>
    public int Width => (int)Images.shape[3];

    /// <summary>Number of classes; labels lie in [0, NumClasses).</summary>
    public int NumClasses => ClassNames.Count;

    /// <summary>Human description of where the data came from.</summary>
    public string Source { get; }

    /// <summary>Class names, indexed by label.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Number of images of each class, indexed by label (length <see cref="NumClasses"/>).</summary>
    public long[] ClassCounts()
    {
        using var counts = torch.bincount(Labels, minlength: NumClasses);
        return counts.data<long>().ToArray();
    }

    /// <summary>A new data set with every image of class <paramref name="k"/> removed, order kept.</summary>
    /// <exception cref="GenSharpException"><paramref name="k"/> is not a class of this data set.</exception>
    public ImageDataset WithoutClass(int k)
    {
        CheckClass(k);
        using var scope = NewDisposeScope();
        return Select(Labels.ne(k), $"{Source} without class {k} ({ClassNames[k]})");
    }

    /// <summary>A new data set holding only the images of class <paramref name="k"/>, order kept.</summary>
    /// <exception cref="GenSharpException"><paramref name="k"/> is not a class of this data set.</exception>
    public ImageDataset OnlyClass(int k)
    {
        CheckClass(k);
        using var scope = NewDisposeScope();
        return Select(Labels.eq(k), $"{Source}, class {k} ({ClassNames[k]}) only");
    }

    /// <summary>A new data set holding the first <paramref name="n"/> images (all of them if there are fewer).</summary>
    /// <exception cref="GenSharpException"><paramref name="n"/> is negative.</exception>
    public ImageDataset Take(int n)
    {
        if (n < 0)
            throw new GenSharpException($"cannot take {n} images from {Source}: the count must be 0 or more");
        int m = Math.Min(n, Count);
        using var scope = NewDisposeScope();
        return new ImageDataset(Images.narrow(0, 0, m).clone(), Labels.narrow(0, 0, m).clone(), ClassNames,
            m == Count ? Source : $"{Source}, first {m}");
    }

    /// <summary>Frees the image and label tensors.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _images.Dispose();
        _labels.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => _disposed
        ? $"{Source} (disposed)"
        : $"{Source}: {Count} images {Channels}×{Height}×{Width}, {NumClasses} classes";

    ImageDataset Select(Tensor mask, string source)
    {
        var index = mask.nonzero().reshape(-1);
        return new ImageDataset(Images.index_select(0, index), Labels.index_select(0, index), ClassNames, source);
    }

    void CheckClass(int k)
    {
        if (k < 0 || k >= NumClasses)
            throw new GenSharpException($"class {k} does not exist in {Source}: choose a class from 0 to {NumClasses - 1}");
    }

    void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    static string Shape(Tensor t) => "(" + string.Join(", ", t.shape) + ")";
}
