using System.Text;

namespace GenSharp.Text;

/// <summary>
/// Turns a stream of token ids into text pieces as they arrive. A byte-level token can end inside a
/// multi-byte UTF-8 character; the bytes wait until the character is complete, so no piece holds a
/// broken character.
/// </summary>
public sealed class TokenStreamDecoder
{
    readonly ITokenizer _tokenizer;
    readonly Decoder _utf8 = new UTF8Encoding(false, false).GetDecoder();
    readonly char[] _chars = new char[4096];

    public TokenStreamDecoder(ITokenizer tokenizer) => _tokenizer = tokenizer;

    /// <summary>The text completed by token <paramref name="id"/> (often empty or one character).</summary>
    public string Push(int id)
    {
        var bytes = _tokenizer.TokenBytes(id);
        var sb = new StringBuilder();
        // A token holds at most a few hundred bytes; decode in slices that fit the buffer.
        for (int i = 0; i < bytes.Length; i += 1024)
        {
            var slice = bytes.Slice(i, Math.Min(1024, bytes.Length - i));
            int n = _utf8.GetChars(slice, _chars, flush: false);
            sb.Append(_chars, 0, n);
        }
        return sb.ToString();
    }

    /// <summary>Whatever is left at the end (an incomplete character becomes U+FFFD).</summary>
    public string Flush()
    {
        int n = _utf8.GetChars(ReadOnlySpan<byte>.Empty, _chars, flush: true);
        return new string(_chars, 0, n);
    }
}
