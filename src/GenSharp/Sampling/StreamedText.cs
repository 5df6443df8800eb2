using System.Text;
using GenSharp.Text;

namespace GenSharp.Sampling;

/// <summary>
/// The text of one generated sequence as its tokens arrive: decoded incrementally, cut at the first stop sequence
/// (matched on the text, so it may span tokens), and handed out only once final — text that could still be the
/// start of a stop sequence is held back.
/// </summary>
internal sealed class StreamedText(TokenStreamDecoder decoder)
{
    readonly StringBuilder _text = new();
    int _emitted;

    public bool Done { get; private set; }
    public int Generated { get; private set; }
    public string FinishReason { get; private set; } = "length";
    public string Text => _text.ToString(0, Math.Min(_text.Length, _end ?? _text.Length));
    int? _end;

    /// <summary>Adds a generated token; returns the text that became final.</summary>
    public string Push(int token, GenerationOptions o, int maxStop)
    {
        Generated++;
        int before = _text.Length;
        _text.Append(decoder.Push(token));
        if (maxStop > 0)
        {
            // Stop sequences are matched on the text, so they may span token boundaries.
            int from = Math.Max(0, before - maxStop + 1);
            var window = _text.ToString(from, _text.Length - from);
            int at = -1;
            foreach (var s in o.StopSequences)
            {
                int i = window.IndexOf(s, StringComparison.Ordinal);
                if (i >= 0 && (at < 0 || i < at)) at = i;
            }
            if (at >= 0)
            {
                _end = from + at;
                Done = true;
                FinishReason = "stop";
                return Take(_end.Value);
            }
        }
        if (Generated >= o.MaxNewTokens)
        {
            Done = true;
            _text.Append(decoder.Flush());
            return Take(_text.Length);
        }
        return Take(_text.Length - HeldBack(o.StopSequences));
    }

    /// <summary>The model generated an end-of-sequence token: the row stops (its text is not added); returns what became final.</summary>
    public string EndOfSequence()
    {
        Generated++;
        Done = true;
        FinishReason = "stop";
        _text.Append(decoder.Flush());
        return Take(_text.Length);
    }

    /// <summary>Whatever was not handed out yet (only non-empty when the loop ended early).</summary>
    public string Finish()
    {
        if (!Done) { Done = true; _text.Append(decoder.Flush()); }
        return Take(_end ?? _text.Length);
    }

    string Take(int end)
    {
        if (end <= _emitted) return "";
        var s = _text.ToString(_emitted, end - _emitted);
        _emitted = end;
        return s;
    }

    /// <summary>Length of the longest end of the text that is the beginning of a stop sequence.</summary>
    int HeldBack(IReadOnlyList<string> stops)
    {
        int best = 0;
        foreach (var s in stops)
            for (int k = Math.Min(s.Length - 1, _text.Length - _emitted); k > best; k--)
                if (_text.ToString(_text.Length - k, k) == s[..k]) { best = k; break; }
        return best;
    }
}
