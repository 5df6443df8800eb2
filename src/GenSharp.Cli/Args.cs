using System.Globalization;

namespace GenSharp.Cli;

/// <summary>Parsed command line of one command: positionals, options and flags, checked against what the command accepts.</summary>
public sealed class Args
{
    readonly Dictionary<string, List<string>> _values = new();
    readonly HashSet<string> _flags = new();
    public List<string> Positionals { get; } = new();

    /// <summary>Parses <paramref name="argv"/>; <paramref name="valued"/> options take a value, <paramref name="flags"/> do not.</summary>
    public static Args Parse(string command, IEnumerable<string> argv, ISet<string> valued, ISet<string> flags)
    {
        var a = new Args();
        var list = argv.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            var tok = list[i];
            if (tok.StartsWith("--", StringComparison.Ordinal) && tok.Length > 2)
            {
                string name = tok[2..], value;
                int eq = name.IndexOf('=');
                if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
                else if (valued.Contains(name))
                {
                    if (i + 1 >= list.Count) throw new GenSharpException($"--{name} needs a value; see 'gensharp {command} --help'");
                    value = list[++i];
                }
                else value = "";
                if (flags.Contains(name))
                {
                    if (eq >= 0) throw new GenSharpException($"--{name} takes no value");
                    a._flags.Add(name);
                }
                else if (valued.Contains(name))
                {
                    if (!a._values.TryGetValue(name, out var vs)) a._values[name] = vs = new();
                    vs.Add(value);
                }
                else throw new GenSharpException($"unknown option --{name} for '{command}'; see 'gensharp {command} --help'");
            }
            else a.Positionals.Add(tok);
        }
        return a;
    }

    public bool Has(string flag) => _flags.Contains(flag);
    public string? Get(string name) => _values.TryGetValue(name, out var v) ? v[^1] : null;
    public IReadOnlyList<string> All(string name) => _values.TryGetValue(name, out var v) ? v : Array.Empty<string>();

    public string Require(string name, string command) =>
        Get(name) ?? throw new GenSharpException($"'{command}' needs --{name}; see 'gensharp {command} --help'");

    public long? Long(string name) => Get(name) is { } s
        ? long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v
          : throw new GenSharpException($"--{name} {s}: expected a whole number")
        : null;

    public int? Int(string name) => Long(name) is { } v
        ? v is >= int.MinValue and <= int.MaxValue ? (int)v : throw new GenSharpException($"--{name} {v}: out of range")
        : null;

    public double? Double(string name) => Get(name) is { } s
        ? double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
          : throw new GenSharpException($"--{name} {s}: expected a number")
        : null;

    /// <summary>The single positional argument, or a one-line error naming what is missing.</summary>
    public string Positional(string what, string command)
    {
        if (Positionals.Count == 0) throw new GenSharpException($"'{command}' needs {what}; see 'gensharp {command} --help'");
        if (Positionals.Count > 1) throw new GenSharpException($"'{command}' takes one {what}, got: {string.Join(" ", Positionals)}");
        return Positionals[0];
    }
}
