namespace GenSharp.Training;

/// <summary>Receives progress from the trainer's loop.</summary>
public interface IProgressReporter
{
    /// <summary>Called after each step with a one-line status (losses, speed).</summary>
    void Report(long step, string status);
    /// <summary>An event worth a line of its own (checkpoint written, samples saved).</summary>
    void Log(string line);
}
