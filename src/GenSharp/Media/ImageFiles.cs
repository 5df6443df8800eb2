namespace GenSharp.Media;

/// <summary>Writes images where a user asked: a PNG grid, or an N×C×H×W uint8 NumPy array for tools.</summary>
public static class ImageFiles
{
    /// <summary>Images in [0,1] (N, C, H, W) to <paramref name="path"/>: .npy as uint8, anything else as a PNG grid of <paramref name="columns"/>.</summary>
    public static void Save(Tensor images, string path, int? columns = null)
    {
        EnsureParent(path);
        if (path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            using var bytes = ImageGrid.ToUint8(images);
            Npy.Save(path, bytes);
        }
        else ImageGrid.SavePng(images, path, columns, padding: 2, scale: 2);
    }

    /// <summary>Rows of images (each (k, C, H, W)) as one PNG, a row each.</summary>
    public static void SaveRows(IReadOnlyList<Tensor> rows, string path)
    {
        EnsureParent(path);
        ImageGrid.SaveRows(rows, path, padding: 2, scale: 2);
    }

    /// <summary>Creates the folder a file will go in.</summary>
    public static void EnsureParent(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
    }
}
