using Spectre.Console;

namespace GenSharp.Training;

/// <summary>Receives progress from the trainer's loop.</summary>
public interface IProgressReporter
{
    /// <summary>Called after each step with a one-line status (losses, speed).</summary>
    void Report(long step, string status);
    /// <summary>An event worth a line of its own (checkpoint written, samples saved).</summary>
    void Log(string line);
}

/// <summary>How a training loop shows its progress.</summary>
public abstract class TrainingProgress
{
    /// <summary>Runs <paramref name="loop"/> while showing progress from <paramref name="start"/> to <paramref name="total"/>.</summary>
    public abstract T Run<T>(string title, long start, long total, Func<IProgressReporter, T> loop);

    /// <summary>A live Spectre.Console bar on a terminal; periodic plain lines when output is redirected.</summary>
    public static TrainingProgress Console() =>
        AnsiConsole.Profile.Capabilities.Interactive ? new SpectreProgress() : new PlainProgress(TimeSpan.FromSeconds(10));

    /// <summary>Shows nothing (tests, library use).</summary>
    public static TrainingProgress Silent { get; } = new SilentProgress();

    sealed class SilentProgress : TrainingProgress, IProgressReporter
    {
        public override T Run<T>(string title, long start, long total, Func<IProgressReporter, T> loop) => loop(this);
        public void Report(long step, string status) { }
        public void Log(string line) { }
    }

    sealed class SpectreProgress : TrainingProgress
    {
        public override T Run<T>(string title, long start, long total, Func<IProgressReporter, T> loop)
        {
            T result = default!;
            AnsiConsole.Progress()
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(),
                         new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask(Markup.Escape(title), autoStart: true, maxValue: total);
                    task.Value = start;
                    result = loop(new Reporter(task));
                    task.Value = task.MaxValue;
                    task.StopTask();
                });
            return result;
        }

        sealed class Reporter(ProgressTask task) : IProgressReporter
        {
            public void Report(long step, string status)
            {
                task.Value = step;
                task.Description = Markup.Escape(status);
            }
            public void Log(string line) => AnsiConsole.MarkupLine("[grey]" + Markup.Escape(line) + "[/]");
        }
    }

    sealed class PlainProgress(TimeSpan every) : TrainingProgress
    {
        public override T Run<T>(string title, long start, long total, Func<IProgressReporter, T> loop)
        {
            System.Console.WriteLine($"{title}: steps {start}..{total}");
            var reporter = new Reporter(every, total);
            var result = loop(reporter);
            reporter.Flush();
            return result;
        }

        sealed class Reporter(TimeSpan every, long total) : IProgressReporter
        {
            DateTime _last = DateTime.UtcNow;
            string? _pending;
            public void Report(long step, string status)
            {
                _pending = status;
                if (DateTime.UtcNow - _last >= every || step == total) Flush();
            }
            public void Flush()
            {
                if (_pending is null) return;
                System.Console.WriteLine(_pending);
                _pending = null;
                _last = DateTime.UtcNow;
            }
            public void Log(string line) => System.Console.WriteLine(line);
        }
    }
}
