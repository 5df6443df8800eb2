namespace GenSharp.Data;

/// <summary>
/// A stack of single-channel 8-bit images as read from (or written to) an IDX image file:
/// <see cref="Count"/> images of <see cref="Rows"/> × <see cref="Columns"/> pixels, row-major,
/// one byte per pixel, images stored one after another.
/// </summary>
public sealed class IdxImages
{
    /// <summary>Wraps a pixel buffer, checking that its length is exactly count × rows × columns.</summary>
    /// <param name="count">Number of images (may be 0).</param>
    /// <param name="rows">Image height in pixels (at least 1).</param>
    /// <param name="columns">Image width in pixels (at least 1).</param>
    /// <param name="pixels">Row-major pixels of all images; the array is kept, not copied.</param>
    /// <exception cref="ArgumentException">A size is out of range or the buffer length does not match.</exception>
    public IdxImages(int count, int rows, int columns, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "count must be 0 or more");
        if (rows < 1) throw new ArgumentOutOfRangeException(nameof(rows), rows, "rows must be at least 1");
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns), columns, "columns must be at least 1");
        long expected = (long)count * rows * columns;
        if (pixels.LongLength != expected)
            throw new ArgumentException($"pixel buffer holds {pixels.LongLength} bytes but {count}×{rows}×{columns} = {expected} are needed", nameof(pixels));
        Count = count;
        Rows = rows;
        Columns = columns;
        Pixels = pixels;
    }

    /// <summary>Number of images.</summary>
    public int Count { get; }

    /// <summary>Image height in pixels.</summary>
    public int Rows { get; }

    /// <summary>Image width in pixels.</summary>
    public int Columns { get; }

    /// <summary>All pixels, image after image, each image row-major (length Count × Rows × Columns).</summary>
    public byte[] Pixels { get; }
}
