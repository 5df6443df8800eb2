namespace GenSharp.Training;

/// <summary>
/// Progress as plain lines, for logs and redirected output: <c>TITLE: steps START..TOTAL</c>, then the latest status
/// whenever <see cref="Every"/> has passed since the last line (and always at the last step, and when the loop ends),
/// and each logged event on its own line.
/// </summary>
public sealed class PlainProgress : TrainingProgress
{
    readonly TextWriter? _writer;
    readonly Func<DateTime> _clock;

    /// <param name="every">Least time between two status lines.</param>
    /// <param name="writer">Where lines go; null: the console's current standard output at each line.</param>
    /// <param name="clock">Current time (UTC); injectable for tests.</param>
    public PlainProgress(TimeSpan every, TextWriter? writer = null, Func<DateTime>? clock = null)
    {
        if (every < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(every), every, "the interval must be ≥ 0");
        Every = every;
        _writer = writer;
        _clock = clock ?? (() => DateTime.UtcNow);
    }

    /// <summary>Least time between two status lines.</summary>
    public TimeSpan Every { get; }

    TextWriter Out => _writer ?? Console.Out;

    public override T Run<T>(string title, long start, long total, Func<IProgressReporter, T> loop)
    {
        Out.WriteLine($"{title}: steps {start}..{total}");
        var reporter = new Reporter(this, total);
        var result = loop(reporter);
        reporter.Flush();
        return result;
    }

    sealed class Reporter(PlainProgress owner, long total) : IProgressReporter
    {
        DateTime _last = owner._clock();
        string? _pending;

        public void Report(long step, string status)
        {
            _pending = status;
            if (owner._clock() - _last >= owner.Every || step == total) Flush();
        }

        public void Flush()
        {
            if (_pending is null) return;
            owner.Out.WriteLine(_pending);
            _pending = null;
            _last = owner._clock();
        }

        public void Log(string line) => owner.Out.WriteLine(line);
    }
}
