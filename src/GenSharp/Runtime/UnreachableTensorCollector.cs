using System.Diagnostics;

namespace GenSharp.Runtime;

/// <summary>
/// When a training loop calls <see cref="TorchRuntime.ReleaseUnreachableTensors"/>: after every <c>everySteps</c> steps,
/// or after the first step that ends <c>everySeconds</c> or more after the last collection. A collection costs about a
/// millisecond, so fast steps (a VAE's 20 ms) share one per 10 steps, while slow steps whose graphs are large (a
/// PixelCNN's 1.3 s, whose leaked handles pin hundreds of MB of activations each) get one per step.
/// </summary>
public sealed class UnreachableTensorCollector
{
    readonly int _everySteps;
    readonly TimeSpan _everyTime;
    int _steps;
    long _last = Stopwatch.GetTimestamp();

    public UnreachableTensorCollector(int everySteps = 10, double everySeconds = 0.25)
    {
        if (everySteps < 1) throw new ArgumentOutOfRangeException(nameof(everySteps), everySteps, "at least 1 step");
        _everySteps = everySteps;
        _everyTime = TimeSpan.FromSeconds(everySeconds);
    }

    /// <summary>Counts a finished step and collects when one is due; returns whether it collected.</summary>
    public bool AfterStep()
    {
        if (++_steps < _everySteps && Stopwatch.GetElapsedTime(_last) < _everyTime) return false;
        TorchRuntime.ReleaseUnreachableTensors();
        _steps = 0;
        _last = Stopwatch.GetTimestamp();
        return true;
    }
}
