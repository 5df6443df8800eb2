using GenSharp.Data;
using GenSharp.Runtime;
using TorchSharp;

namespace GenSharp.Tests;

/// <summary>Small shared fixtures.</summary>
static class TestData
{
    static ImageDataset? _train, _test;
    static readonly object Gate = new();

    /// <summary>The embedded Fashion-MNIST training subset (shared, do not dispose).</summary>
    public static ImageDataset Train { get { lock (Gate) { TorchRuntime.EnsureReady(); return _train ??= FashionMnist.Load("embedded", train: true); } } }

    /// <summary>The embedded Fashion-MNIST test subset (shared, do not dispose).</summary>
    public static ImageDataset Test { get { lock (Gate) { TorchRuntime.EnsureReady(); return _test ??= FashionMnist.Load("embedded", train: false); } } }

    /// <summary>A fresh temporary folder.</summary>
    public static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "gensharp-tests", Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(d);
        return d;
    }
}
