namespace GenSharp.Training;

/// <summary>Everything a <see cref="FineTuneRun"/> needs, as a front end collects it.</summary>
public sealed record FineTuneRequest
{
    /// <summary>The base model: a GenSharp gpt checkpoint or a Hugging Face llama-family / gpt2 folder.</summary>
    public required string Model { get; init; }
    /// <summary>Run folder: the adapter (PEFT format), checkpoint/, metrics.jsonl, and merged/ with <see cref="Merge"/>.</summary>
    public required string OutDir { get; init; }
    /// <summary>A UTF-8 text file (next-token loss on every token) or a chat JSONL file (loss on assistant tokens); null on resume.</summary>
    public string? Data { get; init; }
    public int Rank { get; init; } = 8;
    public double Alpha { get; init; } = 16;
    public double Dropout { get; init; } = 0.05;
    /// <summary>Local projection names to adapt (q_proj, v_proj, …); null: the attention's query and value projections (c_attn for gpt).</summary>
    public IReadOnlyList<string>? Targets { get; init; }
    public long Steps { get; init; } = 200;
    /// <summary>Steps of the cosine decay of the learning rate; null: <see cref="Steps"/>. A resumed run keeps its first run's, so raising --steps on resume continues the same schedule.</summary>
    public long? LrDecaySteps { get; init; }
    public double LearningRate { get; init; } = 2e-4;
    public int BatchSize { get; init; } = 4;
    public long Seed { get; init; }
    /// <summary>Most tokens per training sequence; null: the smaller of the model's context and 512.</summary>
    public int? Context { get; init; }
    /// <summary>Chat template for JSONL data (chatml, llama3, plain); null: the model folder's.</summary>
    public string? Template { get; init; }
    public bool Resume { get; init; }
    /// <summary>Also write the base with the adapter merged into its weights to OutDir/merged.</summary>
    public bool Merge { get; init; }
    public long CheckpointEvery { get; init; } = 500;
    /// <summary>Held-out loss every N steps (0 = before and after training only).</summary>
    public long ValidateEvery { get; init; }
    public string Device { get; init; } = "cpu";
    public int Threads { get; init; }
    /// <summary>
    /// Fine-tune data-parallel over MPI ranks (<see cref="BatchSize"/> is the global batch); null for one process. Only
    /// rank 0 writes the run folder, the adapter and the merged model. Text windows all have the same length, so the
    /// averaged update is the one-process update on the whole batch; chat batches average each rank's mean over its own
    /// reply tokens, which weights tokens differently when the ranks' shares hold different numbers of them (as
    /// PyTorch's DistributedDataParallel does).
    /// </summary>
    public Distributed.DataParallel? Parallel { get; init; }
    /// <summary>Receives lines worth telling the user (data, parameter counts, held-out loss before training).</summary>
    public Action<string>? Log { get; init; }
}
