using System.ComponentModel;
using GenSharp.Runtime;
using Spectre.Console.Cli;

namespace GenSharp.Cli;

/// <summary>Options every command takes.</summary>
public class CliSettings : CommandSettings
{
    [CommandOption("--device <DEVICE>")]
    [Description("where the model runs: cpu, cuda or cuda:N (cuda needs a CUDA build of libtorch)")]
    [DefaultValue("cpu")]
    public string Device { get; init; } = "cpu";

    [CommandOption("--threads <N>")]
    [Description("libtorch threads (default: libtorch's choice, usually the core count)")]
    public int? Threads { get; init; }

    /// <summary>The parsed <see cref="Device"/>.</summary>
    public TorchSharp.torch.Device TorchDevice => TorchRuntime.ParseDevice(Device);
}

/// <summary>Options of a command that reads one checkpoint.</summary>
public class CheckpointSettings : CliSettings
{
    [CommandArgument(0, "<CKPT>")]
    [Description("a run folder or its checkpoint/ folder")]
    public string Checkpoint { get; init; } = "";
}

/// <summary>Options of a command that runs a checkpoint over the test split of an image data set.</summary>
public class TestSplitSettings : CheckpointSettings
{
    [CommandOption("--data <PATH>")]
    [Description("a Fashion-MNIST folder or 'embedded'; the command reads its test split (required)")]
    public string? Data { get; init; }

    [CommandOption("--limit <N>")]
    [Description("use the first N test images only")]
    public int? Limit { get; init; }

    /// <summary>The test split <paramref name="command"/> needs: --data is required, --limit applied.</summary>
    public Data.ImageDataset TestSplit(string command) => CliInputs.TestData(CliInputs.Required(Data, "data", command), Limit);
}
