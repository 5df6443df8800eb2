using System.Security.Cryptography;
using System.Text;

namespace GenSharp.Server;

/// <summary>
/// The accepted API keys, kept only as SHA-256 hashes. A presented key is hashed and compared with every stored hash in
/// constant time, so neither the keys nor timing reveal which bytes matched.
/// </summary>
public sealed class ApiKeys
{
    readonly byte[][] _hashes;

    ApiKeys(byte[][] hashes) => _hashes = hashes;

    /// <summary>Reads a key file: one key per line; blank lines and lines starting with # are skipped.</summary>
    public static ApiKeys Load(string path)
    {
        var hashes = File.ReadLines(path)
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(Hash)
            .ToArray();
        if (hashes.Length == 0) throw new ParameterException("api_key_file", $"'{path}' holds no keys; write one key per line");
        return new ApiKeys(hashes);
    }

    static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary>
    /// The identity of a valid key (a prefix of its hash, for rate limits and logs), or null when <paramref name="key"/>
    /// is not one of the keys.
    /// </summary>
    public string? Check(string? key)
    {
        if (string.IsNullOrEmpty(key)) return null;
        var hash = Hash(key);
        int match = -1;
        // Every stored hash is compared, whatever matched earlier.
        for (int i = 0; i < _hashes.Length; i++)
            if (CryptographicOperations.FixedTimeEquals(hash, _hashes[i])) match = i;
        return match < 0 ? null : Convert.ToHexStringLower(hash.AsSpan(0, 8));
    }

    /// <summary>The key a request presents: <c>Authorization: Bearer K</c> or <c>X-Api-Key: K</c>.</summary>
    public static string? Presented(Microsoft.AspNetCore.Http.HttpRequest request)
    {
        string auth = request.Headers.Authorization.ToString();
        if (auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return auth["Bearer ".Length..].Trim();
        string header = request.Headers["X-Api-Key"].ToString();
        return header.Length > 0 ? header.Trim() : null;
    }
}
