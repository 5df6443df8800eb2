namespace GenSharp.Server;

/// <summary>
/// Trims a streamed chat reply at both ends, as the whole reply is trimmed: leading white space is dropped, trailing
/// white space is held back until more text follows (and dropped at the end).
/// </summary>
sealed class ReplyTrimmer
{
    bool _started;
    string _pendingSpace = "";

    /// <summary>The part of <paramref name="piece"/> to send now (may be empty).</summary>
    public string Push(string piece)
    {
        if (!_started)
        {
            piece = piece.TrimStart();
            if (piece.Length == 0) return "";
            _started = true;
        }
        piece = _pendingSpace + piece;
        var body = piece.TrimEnd();
        _pendingSpace = piece[body.Length..];
        return body;
    }
}
