namespace GenSharp.Training;

/// <summary>Loop settings shared by every family (the family's own settings live in its config).</summary>
public sealed record TrainOptions
{
    /// <summary>Total optimisation steps (takes precedence over <see cref="Epochs"/> when both set).</summary>
    public long? Steps { get; init; }
    /// <summary>Total epochs over the training data.</summary>
    public int? Epochs { get; init; }
    public int BatchSize { get; init; } = 64;
    public long Seed { get; init; } = 0;
    /// <summary>Checkpoint every N steps (0 = only at the end).</summary>
    public long CheckpointEvery { get; init; } = 1000;
    /// <summary>Write a sample grid every N steps (0 = only at the end).</summary>
    public long SampleEvery { get; init; } = 1000;
    /// <summary>Append a metrics line every N steps.</summary>
    public long LogEvery { get; init; } = 50;
    /// <summary>EMA decay of the weights; null disables EMA.</summary>
    public double? EmaDecay { get; init; }
    /// <summary>Run the trainer's validation callback every N steps (0 = only at the end).</summary>
    public long ValidateEvery { get; init; }
    /// <summary>Number of samples in periodic grids.</summary>
    public int SampleCount { get; init; } = 64;
    /// <summary>What to do when a loss or a clipped gradient norm is NaN/Inf: stop (default) or skip the step.</summary>
    public NonFinitePolicy NonFinite { get; init; } = NonFinitePolicy.Stop;
    /// <summary>With <see cref="NonFinitePolicy.Skip"/>: stop after this many skipped steps in a row.</summary>
    public int MaxConsecutiveSkips { get; init; } = 10;

    /// <summary>Throws a one-line error for impossible values.</summary>
    public void Validate()
    {
        if (Steps is <= 0) throw new ParameterException("steps", $"must be ≥ 1, got {Steps}");
        if (Epochs is <= 0) throw new ParameterException("epochs", $"must be ≥ 1, got {Epochs}");
        if (BatchSize <= 0) throw new ParameterException("batch_size", $"must be ≥ 1, got {BatchSize}");
        if (CheckpointEvery < 0) throw new ParameterException("checkpoint_every", $"must be ≥ 0, got {CheckpointEvery}");
        if (SampleEvery < 0) throw new ParameterException("sample_every", $"must be ≥ 0, got {SampleEvery}");
        if (LogEvery <= 0) throw new ParameterException("log_every", $"must be ≥ 1, got {LogEvery}");
        if (ValidateEvery < 0) throw new ParameterException("validate_every", $"must be ≥ 0, got {ValidateEvery}");
        if (SampleCount <= 0) throw new ParameterException("sample_count", $"must be ≥ 1, got {SampleCount}");
        if (!Enum.IsDefined(NonFinite)) throw new ParameterException("non_finite", $"must be stop or skip, got {NonFinite}");
        if (MaxConsecutiveSkips < 1) throw new ParameterException("max_consecutive_skips", $"must be ≥ 1, got {MaxConsecutiveSkips}");
        if (EmaDecay is { } d && !(d >= 0 && d < 1)) throw new ParameterException("ema_decay", $"must be in [0, 1), got {d}");
    }
}
