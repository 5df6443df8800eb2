namespace GenSharp.Cli;

public static class CliApp
{
    public static int Run(string[] args)
    {
        GenSharp.Runtime.TorchRuntime.EnsureReady();
        Console.WriteLine("gensharp");
        return 0;
    }
}
