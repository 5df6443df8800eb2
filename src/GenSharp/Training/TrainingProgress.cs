namespace GenSharp.Training;

/// <summary>
/// How a training loop shows its progress. The library has <see cref="Silent"/> and <see cref="Plain"/> (periodic
/// lines on a writer); a front end may derive its own (the CLI draws a live bar on a terminal).
/// </summary>
public abstract class TrainingProgress
{
    /// <summary>Runs <paramref name="loop"/> while showing progress from <paramref name="start"/> to <paramref name="total"/>.</summary>
    public abstract T Run<T>(string title, long start, long total, Func<IProgressReporter, T> loop);

    /// <summary>Shows nothing (tests, library use).</summary>
    public static TrainingProgress Silent { get; } = new SilentProgress();

    /// <summary>
    /// A header line, then the latest status at most every <paramref name="every"/> (and at the last step), and every
    /// logged event, as plain lines on <paramref name="writer"/> (the console's standard output when null), timed by
    /// <paramref name="clock"/> (UTC now when null).
    /// </summary>
    public static TrainingProgress Plain(TimeSpan every, TextWriter? writer = null, Func<DateTime>? clock = null) =>
        new PlainProgress(every, writer, clock);

    sealed class SilentProgress : TrainingProgress, IProgressReporter
    {
        public override T Run<T>(string title, long start, long total, Func<IProgressReporter, T> loop) => loop(this);
        public void Report(long step, string status) { }
        public void Log(string line) { }
    }
}
