using System.Net;
using System.Security.Cryptography;

namespace GenSharp.Data;

/// <summary>
/// Fashion-MNIST (Zalando SE, MIT licence): 28×28 grey-scale images of clothing in 10 classes,
/// 60,000 for training and 10,000 for testing. <see cref="Load"/> finds the files in a given
/// directory, in the Debian package's location, in GenSharp's cache, or downloads them; a small
/// class-balanced subset is embedded in the library for demos and tests.
/// </summary>
public static class FashionMnist
{
    /// <summary>The <c>data</c> value that selects the embedded subset.</summary>
    public const string Embedded = "embedded";

    /// <summary>Where the Debian package dataset-fashion-mnist installs the files.</summary>
    public const string DebianDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>Official download location; the file names are appended to it.</summary>
    public const string OfficialBaseUrl = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";

    /// <summary>What the error says to do when no copy of the data set can be found or fetched.</summary>
    public const string NotFoundMessage =
        "install the Debian package dataset-fashion-mnist, give a folder holding the four IDX files, or use 'embedded' (the built-in subset)";

    /// <summary>The 10 class names, indexed by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } = Array.AsReadOnly(new[]
    {
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    });

    /// <summary>
    /// Download cache folder: <c>$GENSHARP_CACHE/fashion-mnist</c> when the GENSHARP_CACHE environment
    /// variable is set, otherwise <c>~/.cache/gensharp/fashion-mnist</c>.
    /// </summary>
    public static string CacheDirectory
    {
        get
        {
            var root = Environment.GetEnvironmentVariable("GENSHARP_CACHE");
            if (string.IsNullOrWhiteSpace(root))
                root = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "gensharp");
            return Path.Combine(root, "fashion-mnist");
        }
    }

    /// <summary>Official MD5 checksums of the gzip files, keyed by file name.</summary>
    internal static readonly IReadOnlyDictionary<string, string> OfficialMd5 = new Dictionary<string, string>
    {
        ["train-images-idx3-ubyte.gz"] = "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        ["train-labels-idx1-ubyte.gz"] = "25c81989df183df01b3e8a0aad5dffbe",
        ["t10k-images-idx3-ubyte.gz"] = "bef4ecab320f06d8554ea6380940ec79",
        ["t10k-labels-idx1-ubyte.gz"] = "bb300cfdad3c16e7a12a480ee83cd310",
    };

    static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);
    static readonly TimeSpan DownloadTimeout = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Loads the train or test split.
    /// <paramref name="data"/> is "embedded" (the embedded subset), a directory holding
    /// <c>{train,t10k}-images-idx3-ubyte</c> and <c>{train,t10k}-labels-idx1-ubyte</c> (each optionally
    /// with <c>.gz</c>), or null to search, in order: <see cref="DebianDirectory"/>, verified files in
    /// <see cref="CacheDirectory"/>, and finally a download from <see cref="OfficialBaseUrl"/> into the
    /// cache, checked against the official MD5 checksums.
    /// </summary>
    /// <param name="data">"embedded", a directory, or null for automatic resolution.</param>
    /// <param name="train">The training split when true, the test split when false.</param>
    /// <param name="log">Receives one-line progress notes (cache use, downloads, failures); may be null.</param>
    /// <exception cref="GenSharpException">The directory or files are missing, or nothing could be found.</exception>
    /// <exception cref="IdxFormatException">A file is malformed.</exception>
    public static ImageDataset Load(string? data, bool train, Action<string>? log = null)
    {
        if (data is null)
            return Resolve(train, DebianDirectory, CacheDirectory, TryDownload, log);
        if (string.Equals(data.Trim(), Embedded, StringComparison.OrdinalIgnoreCase))
            return LoadEmbedded(train);
        return LoadDirectory(data, train);
    }

    /// <summary>Loads the split from the subset embedded in the library (3,500 train / 1,000 test images).</summary>
    public static ImageDataset LoadEmbedded(bool train)
    {
        var (imagesName, labelsName) = FileNames(train);
        var asm = typeof(FashionMnist).Assembly;
        IdxImages images;
        byte[] labels;
        using (var s = OpenResource(imagesName)) images = Idx.ReadImages(s, "embedded " + imagesName);
        using (var s = OpenResource(labelsName)) labels = Idx.ReadLabels(s, "embedded " + labelsName);
        return ImageDataset.FromIdx(images, labels, ClassNames, $"Fashion-MNIST {SplitName(train)} (embedded subset)");

        Stream OpenResource(string file) =>
            asm.GetManifestResourceStream("GenSharp.Data.Embedded." + file + ".gz")
            ?? throw new InvalidOperationException($"embedded resource {file}.gz is missing from {asm.GetName().Name}");
    }

    /// <summary>Loads the split from a directory holding the IDX files (gzip or not).</summary>
    /// <param name="directory">Directory with <c>{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]</c>.</param>
    /// <param name="train">The training split when true, the test split when false.</param>
    /// <exception cref="GenSharpException">The directory or one of the split's files is missing.</exception>
    /// <exception cref="IdxFormatException">A file is malformed.</exception>
    public static ImageDataset LoadDirectory(string directory, bool train)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (File.Exists(directory))
            throw new ParameterException("data", $"{directory} is a file; image families read a folder holding the four Fashion-MNIST IDX files (train-images-idx3-ubyte[.gz], ...), or 'embedded'");
        if (!Directory.Exists(directory))
            throw new ParameterException("data", $"{directory}: no such directory; pass a directory holding the Fashion-MNIST IDX files, or 'embedded'");
        var (imagesName, labelsName) = FileNames(train);
        var imagesPath = FindFile(directory, imagesName)
            ?? throw new ParameterException("data", $"{directory}: {imagesName}[.gz] not found; the directory must hold {imagesName} and {labelsName} (gzip or not)");
        var labelsPath = FindFile(directory, labelsName)
            ?? throw new ParameterException("data", $"{directory}: {labelsName}[.gz] not found; the directory must hold {imagesName} and {labelsName} (gzip or not)");
        return FromFiles(imagesPath, labelsPath, $"Fashion-MNIST {SplitName(train)} from {Path.GetFullPath(directory)}");
    }

    /// <summary>Automatic resolution with the locations and downloader supplied (testable core of <see cref="Load"/>).</summary>
    internal static ImageDataset Resolve(bool train, string debianDirectory, string cacheDirectory,
        Func<string, string, Action<string>?, bool> download, Action<string>? log)
    {
        var (imagesName, labelsName) = FileNames(train);
        if (FindFile(debianDirectory, imagesName) is not null && FindFile(debianDirectory, labelsName) is not null)
            return LoadDirectory(debianDirectory, train);

        var needed = new[] { imagesName + ".gz", labelsName + ".gz" };
        bool ready = true;
        string? why = null;
        // A download's failure note starts with its URL ("URL: HTTP 404 Not Found", "URL: download failed (...)").
        Action<string> note = line => { if (line.StartsWith("http", StringComparison.Ordinal) && line.Contains(": ")) why = line; log?.Invoke(line); };
        foreach (var file in needed)
        {
            var path = Path.Combine(cacheDirectory, file);
            if (File.Exists(path))
            {
                if (VerifyFile(path, OfficialMd5[file])) continue;
                note($"{path}: checksum mismatch, deleting it");
                TryDelete(path);
            }
            if (!download(file, cacheDirectory, note)) { ready = false; break; }
            note($"downloaded {file} into {cacheDirectory} (MD5 checked)");
            why = null;
        }
        if (!ready)
            throw new GenSharpException($"Fashion-MNIST not found in {debianDirectory} or {cacheDirectory}" +
                                        (why is null ? "" : $" and the download failed: {why}") + $"; {NotFoundMessage}");
        return FromFiles(Path.Combine(cacheDirectory, needed[0]), Path.Combine(cacheDirectory, needed[1]),
            $"Fashion-MNIST {SplitName(train)} from {cacheDirectory}");
    }

    /// <summary>
    /// Downloads one official file into <paramref name="cacheDirectory"/> via a temporary file that is
    /// renamed into place only when its MD5 matches. Returns false (after logging why) on any failure.
    /// </summary>
    internal static bool TryDownload(string fileName, string cacheDirectory, Action<string>? log)
    {
        var url = OfficialBaseUrl + fileName;
        string temp = "";
        try
        {
            Directory.CreateDirectory(cacheDirectory);
            var final = Path.Combine(cacheDirectory, fileName);
            temp = final + "." + Guid.NewGuid().ToString("N")[..8] + ".part";
            log?.Invoke($"downloading {url}");
            using var handler = new SocketsHttpHandler { ConnectTimeout = ConnectTimeout };
            using var http = new HttpClient(handler) { Timeout = DownloadTimeout };
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            using var response = http.Send(request, HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                log?.Invoke($"{url}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
                return false;
            }
            using (var body = response.Content.ReadAsStream())
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
                body.CopyTo(file);
            if (CommitVerified(temp, final, OfficialMd5[fileName])) return true;
            log?.Invoke($"{url}: downloaded file fails its MD5 check, deleted it");
            return false;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException
                                      or UnauthorizedAccessException or NotSupportedException)
        {
            log?.Invoke($"{url}: download failed ({e.Message.Split('\n')[0].TrimEnd('.')})");
            return false;
        }
        finally
        {
            if (temp.Length > 0) TryDelete(temp);
        }
    }

    /// <summary>
    /// Moves <paramref name="tempPath"/> to <paramref name="finalPath"/> (replacing it) when the file's
    /// MD5 equals <paramref name="expectedMd5"/>; otherwise deletes the temporary file. Returns whether it was kept.
    /// </summary>
    internal static bool CommitVerified(string tempPath, string finalPath, string expectedMd5)
    {
        if (!VerifyFile(tempPath, expectedMd5))
        {
            TryDelete(tempPath);
            return false;
        }
        File.Move(tempPath, finalPath, overwrite: true);
        return true;
    }

    /// <summary>Whether the file's MD5 equals <paramref name="expectedMd5"/> (hex, any case).</summary>
    internal static bool VerifyFile(string path, string expectedMd5)
    {
        using var stream = File.OpenRead(path);
        return string.Equals(Convert.ToHexString(MD5.HashData(stream)), expectedMd5, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Whether <paramref name="content"/> is the official file <paramref name="fileName"/> (by MD5).</summary>
    internal static bool MatchesOfficial(string fileName, ReadOnlySpan<byte> content) =>
        OfficialMd5.TryGetValue(fileName, out var expected) && Md5Matches(content, expected);

    /// <summary>Whether the MD5 of <paramref name="content"/> equals <paramref name="expectedMd5"/> (hex, any case).</summary>
    internal static bool Md5Matches(ReadOnlySpan<byte> content, string expectedMd5) =>
        string.Equals(Convert.ToHexString(MD5.HashData(content)), expectedMd5, StringComparison.OrdinalIgnoreCase);

    static ImageDataset FromFiles(string imagesPath, string labelsPath, string source) =>
        ImageDataset.FromIdx(Idx.ReadImages(imagesPath), Idx.ReadLabels(labelsPath), ClassNames, source);

    static (string Images, string Labels) FileNames(bool train) =>
        train ? ("train-images-idx3-ubyte", "train-labels-idx1-ubyte") : ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");

    static string SplitName(bool train) => train ? "train" : "test";

    static string? FindFile(string directory, string baseName)
    {
        foreach (var candidate in new[] { baseName + ".gz", baseName })
        {
            var path = Path.Combine(directory, candidate);
            if (File.Exists(path)) return path;
        }
        return null;
    }

    static void TryDelete(string path)
    {
        try { if (File.Exists(path)) File.Delete(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
