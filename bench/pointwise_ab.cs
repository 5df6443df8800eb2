#:project ../src/GenSharp/GenSharp.csproj
#:property Optimize=true
// In-process A/B of ConvolutionLayout.PointwiseProducts: one family's training steps (the trainer's StepRunner, the
// embedded Fashion-MNIST subset, default config and batch), alternating blocks of steps with 1×1 convolutions as matrix
// products and as libtorch's convolutions. One process sees both variants in the same phase of the host, which
// separate processes on a noisy VM do not.
//
//   dotnet run -c Release bench/pointwise_ab.cs [-- FAMILY [STEPS_PER_BLOCK [BLOCKS]]]     (defaults: glow 10 8)
//
// Prints each variant's block means (ms a step, sorted) and the ratio of the medians.
using System.Diagnostics;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Runtime;
using TorchSharp;

string name = args.Length > 0 ? args[0] : "glow";
int block = args.Length > 1 ? int.Parse(args[1]) : 10;
int blocks = args.Length > 2 ? int.Parse(args[2]) : 8;
TorchRuntime.EnsureReady();
TorchRuntime.SetThreads(2);
TorchRuntime.Seed(0);
var family = FamilyRegistry.Get(name);
using var model = family.Build(family.DefaultConfig, torch.CPU);
var data = FashionMnist.Load(FashionMnist.Embedded, train: true);
var loader = new BatchLoader(data, family.DefaultBatchSize, seed: 0);
using var runner = new GenSharp.Training.StepRunner(model.Trainable());
var collector = new UnreachableTensorCollector();
long step = 0;

double Run(int n)
{
    var clock = Stopwatch.StartNew();
    for (int i = 0; i < n; i++)
    {
        using (var scope = torch.NewDisposeScope())
        {
            var (x, y) = loader.GetBatch(step++);
            runner.Step(x, y);
        }
        collector.AfterStep();
    }
    return clock.Elapsed.TotalMilliseconds / n;
}

Run(10);                                                                  // warm-up: oneDNN's primitives, the allocator
var products = new List<double>();
var convolutions = new List<double>();
for (int r = 0; r < blocks; r++)
{
    ConvolutionLayout.PointwiseProducts = true;
    products.Add(Run(block));
    ConvolutionLayout.PointwiseProducts = false;
    convolutions.Add(Run(block));
}
products.Sort();
convolutions.Sort();
static string List(List<double> v) => string.Join(" ", v.Select(t => t.ToString("F1")));
double mp = products[blocks / 2], mc = convolutions[blocks / 2];
Console.WriteLine($"{name}, {blocks} blocks of {block} steps, ms a step: products {List(products)} | convolutions {List(convolutions)}");
Console.WriteLine($"medians: products {mp:F2} ms, convolutions {mc:F2} ms: {mc / mp:F3}×");
