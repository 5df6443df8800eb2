using GenSharp.Runtime;
using Spectre.Console.Cli;
using TorchSharp;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp info</c>: versions, devices, threads.</summary>
public sealed class InfoCommand : Command<CliSettings>
{
    public override int Execute(CommandContext context, CliSettings s, CancellationToken cancel)
    {
        GenSharpCli.Prepare(s);
        Console.WriteLine($"GenSharp    {TorchRuntime.GenSharpVersion}");
        Console.WriteLine($"TorchSharp  {TorchRuntime.TorchSharpVersion}");
        Console.WriteLine($"libtorch    {TorchRuntime.LibTorchVersion}");
        Console.WriteLine($".NET        {Environment.Version}");
        Console.WriteLine($"threads     {torch.get_num_threads()} (cores: {Environment.ProcessorCount})");
        Console.WriteLine($"MKL kernels {TorchRuntime.MklDispatch}");
        Console.WriteLine($"oneDNN conv {(TorchRuntime.OneDnnConvolutions ? "on" : "off")} ({TorchRuntime.OneDnnReason})");
        bool cuda = torch.cuda.is_available();
        Console.WriteLine($"CUDA        {(cuda ? $"available, {torch.cuda.device_count()} device(s)" : "not available")}");
        Console.WriteLine($"devices     cpu{(cuda ? string.Concat(Enumerable.Range(0, (int)torch.cuda.device_count()).Select(i => $", cuda:{i}")) : "")}");
        return 0;
    }
}
