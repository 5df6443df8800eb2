using System.IO.Compression;
using System.Text;
using GenSharp.Data;
using GenSharp.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

public class DataTests : IDisposable
{
    readonly string _dir;

    public DataTests()
    {
        TorchRuntime.EnsureReady();
        _dir = Path.Combine(Path.GetTempPath(), "gensharp-data-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    static IdxImages MakeImages(int n, int rows = 4, int cols = 3)
    {
        var pixels = new byte[n * rows * cols];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i * 37 % 256);
        return new IdxImages(n, rows, cols, pixels);
    }

    static byte[] MakeLabels(int n, int classes = 10) => Enumerable.Range(0, n).Select(i => (byte)(i % classes)).ToArray();

    static byte[] Encode(Action<Stream> write)
    {
        using var ms = new MemoryStream();
        write(ms);
        return ms.ToArray();
    }

    string Put(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    // ---- IDX ----------------------------------------------------------------------------------

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void IdxRoundTrip(bool gzip)
    {
        var images = MakeImages(7);
        var labels = MakeLabels(7);
        // Names without .gz: compression must be detected from content.
        var ip = Path.Combine(_dir, "images.idx");
        var lp = Path.Combine(_dir, "labels.idx");
        Idx.WriteImages(ip, images, gzip);
        Idx.WriteLabels(lp, labels, gzip);

        var head = File.ReadAllBytes(ip).Take(4).ToArray();
        if (gzip) Assert.Equal(new byte[] { 0x1f, 0x8b }, head[..2]);
        else Assert.Equal(new byte[] { 0, 0, 8, 3 }, head);

        var back = Idx.ReadImages(ip);
        Assert.Equal((7, 4, 3), (back.Count, back.Rows, back.Columns));
        Assert.Equal(images.Pixels, back.Pixels);
        Assert.Equal(labels, Idx.ReadLabels(lp));
        using var s = File.OpenRead(ip);
        Assert.Equal(images.Pixels, Idx.ReadImages(s, "stream").Pixels);
    }

    [Fact]
    public void WrongMagicIsReported()
    {
        var bytes = Encode(s => Idx.WriteImages(s, MakeImages(2), gzip: false));
        bytes[2] = 0x09; // 0x00000903: not unsigned bytes
        var path = Put("bad-magic-idx3", bytes);
        var e = Assert.Throws<IdxFormatException>(() => Idx.ReadImages(path));
        Assert.Contains("wrong magic number 0x00000903", e.Message);
        Assert.Contains("0x00000803", e.Message);
        Assert.Contains(path, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void WrongDimensionsAreReported()
    {
        var labelsPath = Put("labels-as-images", Encode(s => Idx.WriteLabels(s, MakeLabels(5), gzip: true)));
        var e = Assert.Throws<IdxFormatException>(() => Idx.ReadImages(labelsPath));
        Assert.Contains("wrong number of dimensions 1", e.Message);
        Assert.Contains(labelsPath, e.Message);

        var imagesPath = Put("images-as-labels", Encode(s => Idx.WriteImages(s, MakeImages(5), gzip: false)));
        e = Assert.Throws<IdxFormatException>(() => Idx.ReadLabels(imagesPath));
        Assert.Contains("wrong number of dimensions 3", e.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TruncatedPayloadIsReported(bool gzip)
    {
        var raw = Encode(s => Idx.WriteImages(s, MakeImages(3), gzip: false));
        var cut = raw[..^5];
        byte[] bytes = gzip ? Gzip(cut) : cut;
        var path = Put("truncated", bytes);
        var e = Assert.Throws<IdxFormatException>(() => Idx.ReadImages(path));
        Assert.Contains("truncated payload", e.Message);
        Assert.Contains("3 images of 4×3 (36 bytes) but only 31", e.Message);

        var header = Put("header-only", raw[..10]);
        e = Assert.Throws<IdxFormatException>(() => Idx.ReadImages(header));
        Assert.Contains("truncated header", e.Message);
    }

    [Fact]
    public void TrailingGarbageIsReported()
    {
        var raw = Encode(s => Idx.WriteLabels(s, MakeLabels(4), gzip: false));
        var path = Put("garbage", raw.Concat(new byte[] { 1, 2, 3 }).ToArray());
        var e = Assert.Throws<IdxFormatException>(() => Idx.ReadLabels(path));
        Assert.Contains("trailing garbage: 3 extra bytes after 4 labels", e.Message);
    }

    [Fact]
    public void CorruptGzipIsReported()
    {
        var gz = Encode(s => Idx.WriteImages(s, MakeImages(20), gzip: true));

        var badMethod = (byte[])gz.Clone();
        badMethod[2] = 7; // compression method must be 8 (deflate)
        var p1 = Put("bad-method.gz", badMethod);
        var e = Assert.Throws<IdxFormatException>(() => Idx.ReadImages(p1));
        Assert.Contains("corrupt gzip", e.Message);
        Assert.Contains(p1, e.Message);

        var badCrc = (byte[])gz.Clone();
        badCrc[^6] ^= 0xff; // inside the CRC-32 trailer
        var p2 = Put("bad-crc.gz", badCrc);
        e = Assert.Throws<IdxFormatException>(() => Idx.ReadImages(p2));
        Assert.Contains("corrupt gzip", e.Message);
    }

    [Fact]
    public void MissingFileIsReported()
    {
        var path = Path.Combine(_dir, "nope.gz");
        var e = Assert.Throws<GenSharpException>(() => Idx.ReadLabels(path));
        Assert.Contains("file not found", e.Message);
    }

    static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    // ---- Data sets ----------------------------------------------------------------------------

    void WriteSplit(string dir, bool train, IdxImages images, byte[] labels, bool gzip)
    {
        Directory.CreateDirectory(dir);
        var prefix = train ? "train" : "t10k";
        var ext = gzip ? ".gz" : "";
        Idx.WriteImages(Path.Combine(dir, $"{prefix}-images-idx3-ubyte{ext}"), images, gzip);
        Idx.WriteLabels(Path.Combine(dir, $"{prefix}-labels-idx1-ubyte{ext}"), labels, gzip);
    }

    [Fact]
    public void ImageLabelCountMismatchIsReported()
    {
        var dir = Path.Combine(_dir, "mismatch");
        WriteSplit(dir, train: true, MakeImages(5), MakeLabels(4), gzip: true);
        var e = Assert.Throws<GenSharpException>(() => FashionMnist.Load(dir, train: true));
        Assert.Contains("5 images but 4 labels", e.Message);

        using var x = torch.zeros(new long[] { 3, 1, 2, 2 }, dtype: ScalarType.Byte);
        using var y = torch.zeros(new long[] { 2 }, dtype: ScalarType.Int64);
        e = Assert.Throws<GenSharpException>(() => new ImageDataset(x, y, FashionMnist.ClassNames, "test tensors"));
        Assert.Contains("3 images but 2 labels", e.Message);
    }

    [Fact]
    public void LabelOutOfRangeIsReported()
    {
        var labels = MakeLabels(6);
        labels[4] = 10;
        var dir = Path.Combine(_dir, "range");
        WriteSplit(dir, train: false, MakeImages(6), labels, gzip: false);
        var e = Assert.Throws<GenSharpException>(() => FashionMnist.Load(dir, train: false));
        Assert.Contains("label 10 of item 4 is outside [0, 10)", e.Message);

        using var x = torch.zeros(new long[] { 2, 1, 2, 2 }, dtype: ScalarType.Byte);
        using var y = torch.tensor(new long[] { 0, -1 });
        e = Assert.Throws<GenSharpException>(() => new ImageDataset(x, y, FashionMnist.ClassNames, "test tensors"));
        Assert.Contains("label -1 of item 1", e.Message);
    }

    [Fact]
    public void DirectoryLoadFindsGzipAndRawNames()
    {
        var dir = Path.Combine(_dir, "mixed");
        WriteSplit(dir, train: true, MakeImages(8, 28, 28), MakeLabels(8), gzip: true);
        WriteSplit(dir, train: false, MakeImages(3, 28, 28), MakeLabels(3), gzip: false);
        using var train = FashionMnist.Load(dir, train: true);
        using var test = FashionMnist.Load(dir, train: false);
        Assert.Equal((8, 1, 28, 28), (train.Count, train.Channels, train.Height, train.Width));
        Assert.Equal(3, test.Count);
        Assert.Contains(Path.GetFullPath(dir), train.Source);

        var missing = Path.Combine(_dir, "empty");
        Directory.CreateDirectory(missing);
        GenSharpException e = Assert.ThrowsAny<GenSharpException>(() => FashionMnist.Load(missing, train: true));
        Assert.Contains("train-images-idx3-ubyte[.gz] not found", e.Message);
        e = Assert.ThrowsAny<GenSharpException>(() => FashionMnist.Load(Path.Combine(_dir, "absent"), train: true));
        Assert.Contains("no such directory", e.Message);
    }

    [Theory]
    [InlineData(true, 3500, 350)]
    [InlineData(false, 1000, 100)]
    public void EmbeddedSubsetLoadsBalanced(bool train, int count, int perClass)
    {
        using var data = FashionMnist.Load("embedded", train);
        Assert.Equal((count, 1, 28, 28, 10), (data.Count, data.Channels, data.Height, data.Width, data.NumClasses));
        Assert.Equal(ScalarType.Byte, data.Images.dtype);
        Assert.Equal(ScalarType.Int64, data.Labels.dtype);
        Assert.Equal(new long[] { count, 1, 28, 28 }, data.Images.shape);
        Assert.Equal(Enumerable.Repeat((long)perClass, 10), data.ClassCounts());
        Assert.Equal(0, data.Images.min().item<byte>());
        Assert.Equal(255, data.Images.max().item<byte>());
        Assert.Equal("Ankle boot", data.ClassNames[9]);
        Assert.Contains("embedded", data.Source);
    }

    [Fact]
    public void SubsetsSelectByClassAndCount()
    {
        using var data = FashionMnist.LoadEmbedded(train: false);
        using var without = data.WithoutClass(3);
        Assert.Equal(900, without.Count);
        Assert.Equal(0, without.ClassCounts()[3]);
        using var only = data.OnlyClass(7);
        Assert.Equal(100, only.Count);
        Assert.True(only.Labels.eq(7).all().item<bool>());
        Assert.Contains("Sneaker", only.Source);
        using var first = data.Take(10);
        Assert.Equal(10, first.Count);
        using (var head = data.Images.narrow(0, 0, 10))
            Assert.Equal(head.data<byte>().ToArray(), first.Images.data<byte>().ToArray());
        using var all = data.Take(5000);
        Assert.Equal(1000, all.Count);

        Assert.Contains("choose a class from 0 to 9", Assert.Throws<GenSharpException>(() => data.OnlyClass(10)).Message);
        Assert.Throws<GenSharpException>(() => data.WithoutClass(-1));
        Assert.Throws<GenSharpException>(() => data.Take(-1));
    }

    [Fact]
    public void RealFashionMnistLoadsWhenInstalled()
    {
        var dir = FashionMnist.DebianDirectory;
        if (!File.Exists(Path.Combine(dir, "train-images-idx3-ubyte.gz")) ||
            !File.Exists(Path.Combine(dir, "t10k-labels-idx1-ubyte.gz")))
            return; // Debian package dataset-fashion-mnist not installed (e.g. on CI)
        using var train = FashionMnist.Load(null, train: true);
        using var test = FashionMnist.Load(null, train: false);
        Assert.Equal((60000, 1, 28, 28), (train.Count, train.Channels, train.Height, train.Width));
        Assert.Equal(10000, test.Count);
        Assert.Equal(Enumerable.Repeat(6000L, 10), train.ClassCounts());
        Assert.Equal(Enumerable.Repeat(1000L, 10), test.ClassCounts());
        Assert.Contains(dir, train.Source);
    }

    // ---- Resolution and checksums -------------------------------------------------------------

    [Fact]
    public void Md5VerificationAcceptsRightBytesAndRejectsWrongOnes()
    {
        var abc = Encoding.ASCII.GetBytes("abc");
        Assert.True(FashionMnist.Md5Matches(abc, "900150983cd24fb0d6963f7d28e17f72"));
        Assert.True(FashionMnist.Md5Matches(abc, "900150983CD24FB0D6963F7D28E17F72"));
        Assert.False(FashionMnist.Md5Matches(Encoding.ASCII.GetBytes("abd"), "900150983cd24fb0d6963f7d28e17f72"));
        Assert.False(FashionMnist.MatchesOfficial("train-labels-idx1-ubyte.gz", abc));
        Assert.False(FashionMnist.MatchesOfficial("unknown.gz", abc));

        var final = Path.Combine(_dir, "final.gz");
        var good = Put("good.part", abc);
        Assert.True(FashionMnist.CommitVerified(good, final, "900150983cd24fb0d6963f7d28e17f72"));
        Assert.False(File.Exists(good));
        Assert.Equal(abc, File.ReadAllBytes(final));

        var final2 = Path.Combine(_dir, "final2.gz");
        var bad = Put("bad.part", Encoding.ASCII.GetBytes("abd"));
        Assert.False(FashionMnist.CommitVerified(bad, final2, "900150983cd24fb0d6963f7d28e17f72"));
        Assert.False(File.Exists(bad));
        Assert.False(File.Exists(final2));
    }

    [Fact]
    public void ResolutionFallsThroughToOneLineError()
    {
        var debian = Path.Combine(_dir, "no-debian");
        var cache = Path.Combine(_dir, "cache");
        Directory.CreateDirectory(cache);
        var stale = Put("cache/t10k-images-idx3-ubyte.gz", Encoding.ASCII.GetBytes("not the real file"));
        var asked = new List<string>();
        var e = Assert.Throws<GenSharpException>(() =>
            FashionMnist.Resolve(train: false, debian, cache, (file, dir, _) => { asked.Add(file); return false; }, log: null));
        Assert.EndsWith(FashionMnist.NotFoundMessage, e.Message);
        Assert.Contains(debian, e.Message);
        Assert.Single(e.Message.Split('\n'));
        Assert.Equal(new[] { "t10k-images-idx3-ubyte.gz" }, asked);
        Assert.False(File.Exists(stale)); // failed verification: deleted

        // A Debian-style directory wins without any download.
        WriteSplit(debian, train: false, MakeImages(4, 28, 28), MakeLabels(4), gzip: true);
        using var data = FashionMnist.Resolve(train: false, debian, cache, (_, _, _) => throw new InvalidOperationException("no download expected"), log: null);
        Assert.Equal(4, data.Count);
    }

    [Fact]
    public void FailedDownloadSaysWhy()
    {
        var cache = Path.Combine(_dir, "cache-why");
        var notes = new List<string>();
        var e = Assert.Throws<GenSharpException>(() => FashionMnist.Resolve(train: true, Path.Combine(_dir, "none"), cache,
            (file, dir, note) => { note!($"downloading http://example.invalid/{file}"); note!($"http://example.invalid/{file}: HTTP 404 Not Found"); return false; },
            log: notes.Add));
        Assert.Contains("the download failed: http://example.invalid/train-images-idx3-ubyte.gz: HTTP 404 Not Found", e.Message);
        Assert.Equal(2, notes.Count);   // the caller's log still sees every note
    }

    [Fact]
    public void DataFileInsteadOfFolderIsNamed()
    {
        var file = Put("notafolder.txt", Encoding.ASCII.GetBytes("x"));
        var e = Assert.Throws<ParameterException>(() => FashionMnist.Load(file, train: true));
        Assert.Equal("data", e.Parameter);
        Assert.Contains("is a file", e.Detail);
    }

    // ---- Transforms ---------------------------------------------------------------------------

    [Fact]
    public void ToFloatMapsExactly()
    {
        using var u8 = torch.tensor(new byte[] { 0, 51, 255 }, new long[] { 3 }, dtype: ScalarType.Byte);
        using var a = ImageTransforms.ToFloat(u8, PixelScale.ZeroOne);
        using var b = ImageTransforms.ToFloat(u8, PixelScale.MinusOneOne);
        Assert.Equal(ScalarType.Float32, a.dtype);
        Assert.Equal(new[] { 0f, 0.2f, 1f }, a.data<float>().ToArray());
        var bv = b.data<float>().ToArray();
        Assert.Equal(-1f, bv[0]);
        Assert.Equal(-0.6f, bv[1], 6);
        Assert.Equal(1f, bv[2]);
        using var f = torch.zeros(3);
        Assert.Throws<ArgumentException>(() => ImageTransforms.ToFloat(f, PixelScale.ZeroOne));
    }

    [Fact]
    public void DequantizeStaysInsideEachPixelsBin()
    {
        using var g = new torch.Generator(7);
        using var u8 = torch.arange(256, dtype: ScalarType.Int32).repeat(40).to_type(ScalarType.Byte);
        using var y = ImageTransforms.Dequantize(u8, g);
        using var x = u8.to_type(ScalarType.Float64);
        using var y64 = y.to_type(ScalarType.Float64);
        Assert.True(y64.ge(x.div(256)).all().item<bool>());
        Assert.True(y64.lt(x.add(1).div(256)).all().item<bool>());
        using var frac = y64.mul(256).sub(x);
        Assert.InRange(frac.mean().item<double>(), 0.45, 0.55);
    }

    [Fact]
    public void BinarizeThresholdAndBernoulliMean()
    {
        using var x = torch.tensor(new float[] { 0f, 0.2f, 0.5f, 0.51f, 1f });
        using var det = ImageTransforms.Binarize(x, stochastic: false);
        Assert.Equal(new[] { 0f, 0f, 0f, 1f, 1f }, det.data<float>().ToArray());
        using var det2 = ImageTransforms.Binarize(x, stochastic: false, threshold: 0.1);
        Assert.Equal(new[] { 0f, 1f, 1f, 1f, 1f }, det2.data<float>().ToArray());

        using var g = new torch.Generator(123);
        using var p = torch.linspace(0, 1, 11).repeat(20000);
        using var s = ImageTransforms.Binarize(p, stochastic: true, generator: g);
        Assert.True(s.eq(0).logical_or(s.eq(1)).all().item<bool>());
        Assert.Equal(p.mean().item<float>(), s.mean().item<float>(), 0.01f);
        using var perValue = s.reshape(20000, 11).mean(new long[] { 0 });
        var means = perValue.data<float>().ToArray();
        for (int i = 0; i <= 10; i++) Assert.Equal(i / 10f, means[i], 0.02f);

        using var g1 = new torch.Generator(5);
        using var g2 = new torch.Generator(5);
        using var r1 = ImageTransforms.Binarize(p, true, generator: g1);
        using var r2 = ImageTransforms.Binarize(p, true, generator: g2);
        Assert.Equal(r1.data<float>().ToArray(), r2.data<float>().ToArray());
    }

    [Fact]
    public void HorizontalFlipMirrorsOrKeepsEachImage()
    {
        const int n = 6, h = 2, w = 3;
        using var x = torch.arange(n * h * w, dtype: ScalarType.Int32).to_type(ScalarType.Byte).reshape(n, 1, h, w);
        var src = x.data<byte>().ToArray();
        var mirrored = new byte[src.Length];
        for (int i = 0; i < n * h; i++)
            for (int j = 0; j < w; j++)
                mirrored[i * w + j] = src[i * w + (w - 1 - j)];

        using var all = ImageTransforms.RandomHorizontalFlip(x, p: 1.0);
        Assert.Equal(mirrored, all.data<byte>().ToArray());
        using var none = ImageTransforms.RandomHorizontalFlip(x, p: 0.0);
        Assert.Equal(src, none.data<byte>().ToArray());

        using var g = new torch.Generator(11);
        using var big = torch.arange(400 * 4, dtype: ScalarType.Float32).reshape(400, 1, 2, 2);
        using var some = ImageTransforms.RandomHorizontalFlip(big, 0.5, g);
        using var same = some.eq(big).flatten(1).all(1);
        using var flipped = some.eq(big.flip(-1)).flatten(1).all(1);
        Assert.True(same.logical_xor(flipped).all().item<bool>()); // each image is exactly one of the two
        Assert.InRange(flipped.sum().item<long>(), 150, 250);
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageTransforms.RandomHorizontalFlip(x, 1.5));
    }

    // ---- Batches ------------------------------------------------------------------------------

    /// <summary>N images of 1×1×1 whose pixel is the image's index, so batches reveal which items they hold.</summary>
    static ImageDataset Indexed(int n)
    {
        var images = torch.arange(n, dtype: ScalarType.Int32).to_type(ScalarType.Byte).reshape(n, 1, 1, 1);
        var labels = torch.arange(n, dtype: ScalarType.Int64).remainder(10);
        return new ImageDataset(images, labels, FashionMnist.ClassNames, $"{n} indexed images");
    }

    static long[] Ids((Tensor Images, Tensor Labels) batch)
    {
        using var images = batch.Images;
        using var labels = batch.Labels;
        var ids = images.to_type(ScalarType.Int64).reshape(-1).data<long>().ToArray();
        Assert.Equal(ids.Select(i => i % 10), labels.data<long>().ToArray());
        Assert.Equal(ScalarType.Byte, images.dtype);
        Assert.Equal(ScalarType.Int64, labels.dtype);
        return ids;
    }

    [Fact]
    public void SameSeedSameBatchesDifferentSeedDifferentOrder()
    {
        using var data = Indexed(50);
        var a = new BatchLoader(data, 16, seed: 1);
        var b = new BatchLoader(data, 16, seed: 1);
        var c = new BatchLoader(data, 16, seed: 2);
        Assert.Equal(3, a.BatchesPerEpoch);
        for (long step = 0; step < 9; step++)
            Assert.Equal(Ids(a.GetBatch(step)), Ids(b.GetBatch(step)));
        Assert.NotEqual(a.EpochOrder(0), c.EpochOrder(0));
        Assert.NotEqual(a.EpochOrder(0), a.EpochOrder(1));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), new BatchLoader(data, 16, 1, shuffle: false).EpochOrder(3));
    }

    [Fact]
    public void ResumedRunSeesTheSameBatches()
    {
        using var data = Indexed(50);
        var run = new BatchLoader(data, 7, seed: 42, dropLast: false);
        var uninterrupted = new List<long[]>();
        for (long step = 0; step < 4 * run.BatchesPerEpoch; step++) uninterrupted.Add(Ids(run.GetBatch(step)));

        foreach (long k in new long[] { 0, 5, 8, 13, 27, 31 })
        {
            var resumed = new BatchLoader(data, 7, seed: 42, dropLast: false);
            Assert.Equal(uninterrupted[(int)k], Ids(resumed.GetBatch(k)));
            if (k + 1 < uninterrupted.Count) Assert.Equal(uninterrupted[(int)k + 1], Ids(resumed.GetBatch(k + 1)));
        }
        // Jumping back to an earlier epoch after the cache moved on still reproduces it.
        Assert.Equal(uninterrupted[1], Ids(run.GetBatch(1)));
    }

    [Fact]
    public void EachEpochIsAPermutation()
    {
        using var data = Indexed(50);
        var keepLast = new BatchLoader(data, 16, seed: 9, dropLast: false);
        Assert.Equal(4, keepLast.BatchesPerEpoch);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var seen = new List<long>();
            for (int i = 0; i < keepLast.BatchesPerEpoch; i++)
                seen.AddRange(Ids(keepLast.GetBatch(epoch * keepLast.BatchesPerEpoch + i)));
            Assert.Equal(50, seen.Count);
            Assert.Equal(Enumerable.Range(0, 50).Select(x => (long)x), seen.Order());
        }

        var dropLast = new BatchLoader(data, 16, seed: 9);
        var ids = Enumerable.Range(0, 3).SelectMany(i => Ids(dropLast.GetBatch(i))).ToArray();
        Assert.Equal(48, ids.Length);
        Assert.Equal(48, ids.Distinct().Count());
    }

    [Fact]
    public void SequentialKeepsOrderAndLastPartialBatch()
    {
        using var data = Indexed(50);
        var loader = new BatchLoader(data, 10, seed: 0);
        var batches = loader.Sequential(16).Select(Ids).ToList();
        Assert.Equal(new[] { 16, 16, 16, 2 }, batches.Select(b => b.Length));
        Assert.Equal(Enumerable.Range(0, 50).Select(x => (long)x), batches.SelectMany(b => b));
    }

    [Fact]
    public void BatchSizeIsValidated()
    {
        using var data = Indexed(20);
        Assert.Contains("use a batch size from 1 to 20", Assert.Throws<GenSharpException>(() => new BatchLoader(data, 21, 0)).Message);
        Assert.Throws<GenSharpException>(() => new BatchLoader(data, 0, 0));
        Assert.Throws<GenSharpException>(() => new BatchLoader(data, 5, 0).Sequential(0));
        var full = new BatchLoader(data, 20, 0);
        Assert.Equal(1, full.BatchesPerEpoch);
        Assert.Equal(20, Ids(full.GetBatch(5)).Length);
    }
}
