using System.Security.Cryptography;
using GenSharp.Runtime;

namespace GenSharp.Watermarking;

/// <summary>
/// A secret watermark key: 32 random bytes kept in a file (64 hex digits). Its id (the first 8 bytes of the SHA-256 of
/// the key, in hex) names it in provenance manifests without revealing it. Every pattern is derived from the key and a
/// purpose string, so the pixel watermark and Tree-Ring never share random numbers.
/// </summary>
public sealed class WatermarkKey
{
    readonly byte[] _bytes;

    /// <summary>A key from its 32 bytes.</summary>
    public WatermarkKey(byte[] bytes)
    {
        if (bytes.Length != 32) throw new GenSharpException($"a watermark key has 32 bytes, got {bytes.Length}");
        _bytes = (byte[])bytes.Clone();
        Id = Convert.ToHexString(SHA256.HashData(_bytes).AsSpan(0, 8)).ToLowerInvariant();
    }

    /// <summary>Public name of the key: 16 hex digits of its SHA-256.</summary>
    public string Id { get; }

    /// <summary>Where the default key lives: <c>UserConfig.Directory/watermark.key</c>.</summary>
    public static string DefaultPath => Path.Combine(UserConfig.Directory, "watermark.key");

    /// <summary>A seed for one use of the key (e.g. "pixel/28x28"): the first 8 bytes of SHA-256(key ‖ purpose).</summary>
    public ulong Seed(string purpose)
    {
        var data = _bytes.Concat(System.Text.Encoding.UTF8.GetBytes(purpose)).ToArray();
        return BitConverter.ToUInt64(SHA256.HashData(data), 0) & 0x7FFF_FFFF_FFFF_FFFF;
    }

    /// <summary>A fresh random key.</summary>
    public static WatermarkKey Create() => new(RandomNumberGenerator.GetBytes(32));

    /// <summary>A key derived from a passphrase or number (tests and benchmarks only: anyone who knows it can detect and forge).</summary>
    public static WatermarkKey FromSecret(string secret) => new(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("gensharp-watermark/" + secret)));

    /// <summary>Reads the key at <paramref name="path"/>.</summary>
    public static WatermarkKey Load(string path)
    {
        if (!File.Exists(path)) throw new GenSharpException($"no watermark key at {path}; give an existing key file with --watermark-key, or leave it out to use (and create) {DefaultPath}");
        var text = File.ReadAllText(path).Trim();
        byte[] bytes;
        try { bytes = Convert.FromHexString(text); }
        catch (FormatException) { throw new GenSharpException($"{path} is not a watermark key (expected 64 hex digits)"); }
        if (bytes.Length != 32) throw new GenSharpException($"{path} is not a watermark key (expected 64 hex digits, got {text.Length})");
        return new WatermarkKey(bytes);
    }

    /// <summary>The key at <paramref name="path"/> (default <see cref="DefaultPath"/>), created with owner-only permissions if missing.</summary>
    public static WatermarkKey LoadOrCreate(string? path = null)
    {
        path ??= DefaultPath;
        if (File.Exists(path)) return Load(path);
        var key = Create();
        try { UserConfig.WriteSecret(path, System.Text.Encoding.ASCII.GetBytes(Convert.ToHexString(key._bytes).ToLowerInvariant() + "\n")); }
        catch (IOException) when (File.Exists(path)) { return Load(path); }   // another process made it first
        return key;
    }

    /// <summary>Writes this key to a new file (owner-only permissions).</summary>
    public void Save(string path) => UserConfig.WriteSecret(path, System.Text.Encoding.ASCII.GetBytes(Convert.ToHexString(_bytes).ToLowerInvariant() + "\n"));
}
