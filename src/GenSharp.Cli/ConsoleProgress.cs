using GenSharp.Training;
using Spectre.Console;

namespace GenSharp.Cli;

/// <summary>Training progress on the console: a live Spectre.Console bar on a terminal, periodic plain lines when output is redirected.</summary>
static class ConsoleProgress
{
    /// <summary>The progress display for this console.</summary>
    public static TrainingProgress Create() =>
        AnsiConsole.Profile.Capabilities.Interactive ? new SpectreProgress() : TrainingProgress.Plain(TimeSpan.FromSeconds(10));

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
}
