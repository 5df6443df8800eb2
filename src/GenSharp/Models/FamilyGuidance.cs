namespace GenSharp.Models;

/// <summary>
/// What a first run of a family costs on a 2-core CPU at its default config and batch size, measured on the project's
/// benchmark machine (docs/benchmarks.md): time per training step, resident memory, and a step count that shows
/// recognisable samples in a short first run.
/// </summary>
public sealed record FamilyGuidance(string StepTime, string Memory, long FirstRunSteps, string? Note = null)
{
    /// <summary>The figures in one line; <paramref name="steps"/> names the step count as the reader sets it (the CLI: <c>--steps</c>).</summary>
    public string Describe(string steps = "steps") =>
        $"≈{StepTime} per step, ≈{Memory} resident on 2 cores; first run: {steps} {FirstRunSteps}" + (Note is null ? "" : $" ({Note})");

    public override string ToString() => Describe();
}
