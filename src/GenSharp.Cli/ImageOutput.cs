using System.Globalization;
using GenSharp.Checkpoints;
using GenSharp.Media;
using GenSharp.Provenance;
using GenSharp.Runtime;
using GenSharp.Watermarking;
using TorchSharp;

namespace GenSharp.Cli;

/// <summary>
/// Writes the images a command generates: the pixel watermark on every PNG and .npy (unless turned off), and a signed
/// provenance manifest beside each file.
/// </summary>
sealed class ImageOutput : IDisposable
{
    readonly PixelWatermark? _watermark;
    readonly ProvenanceSigner? _signer;
    readonly string _family, _folder;

    ImageOutput(string family, string folder, WatermarkKey? key, ProvenanceSigner? signer)
    {
        _family = family;
        _folder = folder;
        Key = key;
        _watermark = key is null ? null : new PixelWatermark(key);
        _signer = signer;
    }

    /// <summary>The watermark key, or null with --no-watermark.</summary>
    public WatermarkKey? Key { get; }

    public static ImageOutput For(LoadedModel model, bool noWatermark, string? keyPath, bool noProvenance) =>
        For(model.Family.Name, model.Path, noWatermark, keyPath, noProvenance);

    /// <summary>Output for images made by a <paramref name="family"/> model read from <paramref name="folder"/> (its weights are hashed into the manifest).</summary>
    public static ImageOutput For(string family, string folder, bool noWatermark, string? keyPath, bool noProvenance)
    {
        if (noWatermark && keyPath is not null) throw new GenSharpException("give --no-watermark or --watermark-key, not both");
        var key = noWatermark ? null : keyPath is { } p ? WatermarkKey.Load(p) : WatermarkKey.LoadOrCreate();
        return new ImageOutput(family, folder, key, noProvenance ? null : ProvenanceSigner.LoadOrCreate());
    }

    /// <summary>Images in [0,1] (N, C, H, W): .npy as uint8 (each image watermarked), anything else a PNG grid (the grid watermarked).</summary>
    public void Save(torch.Tensor images, string path, int? columns, IReadOnlyDictionary<string, string> settings, bool treeRing = false,
                     int scale = 2, int padding = 2)
    {
        ImageFiles.EnsureParent(path);
        using var scope = torch.NewDisposeScope();
        if (path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            var bytes = ImageGrid.ToUint8(images).cpu();
            if (_watermark is not null && Math.Min(bytes.shape[2], bytes.shape[3]) >= PixelWatermark.MinSide) bytes = _watermark.Embed(bytes);
            Npy.Save(path, bytes);
        }
        else Write(ImageGrid.Tile(images, columns, padding: padding, scale: scale), path);
        Sign(path, settings, treeRing);
    }

    /// <summary>Rows of images (each (k, C, H, W)) as one PNG, a row each, enlarged ×<paramref name="scale"/>.</summary>
    public void SaveRows(IReadOnlyList<torch.Tensor> rows, string path, IReadOnlyDictionary<string, string> settings, bool treeRing = false, int scale = 2)
    {
        ImageFiles.EnsureParent(path);
        using var scope = torch.NewDisposeScope();
        // As ImageGrid.EncodeRows lays rows out: each row left-aligned, shorter rows filled with black.
        int cols = (int)rows.Max(r => r.shape[0]);
        var filled = rows.Select(r =>
        {
            var u8 = ImageGrid.ToUint8(r).cpu();
            return u8.shape[0] == cols ? u8 : torch.cat(new[] { u8, torch.zeros(cols - u8.shape[0], u8.shape[1], u8.shape[2], u8.shape[3], dtype: torch.uint8) }, 0);
        }).ToArray();
        Write(ImageGrid.Tile(torch.cat(filled, 0), cols, padding: 2, scale: scale), path);
        Sign(path, settings, treeRing);
    }

    /// <summary>A (3, H, W) uint8 picture, watermarked, as PNG.</summary>
    void Write(torch.Tensor rgb, string path)
    {
        if (_watermark is not null && Math.Min(rgb.shape[1], rgb.shape[2]) >= PixelWatermark.MinSide) rgb = _watermark.Embed(rgb);
        ImageGrid.SavePng(rgb.unsqueeze(0), path, columns: 1, padding: 0, scale: 1);
    }

    void Sign(string path, IReadOnlyDictionary<string, string> settings, bool treeRing)
    {
        if (_signer is null) return;
        var methods = new List<string>();
        if (_watermark is not null) methods.Add("pixel");
        if (treeRing) methods.Add("tree-ring");
        var folder = Path.GetFullPath(_folder);
        string name = Path.GetFileName(folder) == "checkpoint" ? Path.GetFileName(Path.GetDirectoryName(folder)!) : Path.GetFileName(folder);
        _signer.WriteSidecar(path, sha => new ProvenanceManifest
        {
            Image = Path.GetFileName(path), ImageSha256 = sha, CreatedUtc = DateTimeOffset.UtcNow,
            ModelFamily = _family, ModelName = name, WeightsSha256 = ProvenanceManifest.WeightsOf(folder),
            Settings = settings, Watermarks = methods, WatermarkKeyId = methods.Count > 0 ? Key!.Id : null,
            Software = $"gensharp {TorchRuntime.GenSharpVersion}",
        });
    }

    /// <summary>Settings of a draw as text: the seed and count, and every sampler option that has a value.</summary>
    public static Dictionary<string, string> Settings(long seed, long count, IReadOnlyDictionary<string, object?> sampler, int? cls = null)
    {
        var d = new Dictionary<string, string> { ["seed"] = seed.ToString(CultureInfo.InvariantCulture), ["images"] = count.ToString(CultureInfo.InvariantCulture) };
        if (cls is { } k) d["class"] = k.ToString(CultureInfo.InvariantCulture);
        foreach (var (key, value) in sampler)
            if (value is not null) d[key] = Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
        return d;
    }

    public void Dispose() => _signer?.Dispose();
}
