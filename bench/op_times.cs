#:project ../src/GenSharp/GenSharp.csproj
#:property Optimize=true
// GenSharp's side of bench/op_times.sh: the median time of each ATen operator in bench/op_times.json through
// TorchSharp and libtorch 2.10, forward under no_grad and forward + backward, as JSON lines.
//
//   dotnet run -c Release bench/op_times.cs [-- REPS]
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Runtime;
using GenSharp.Sampling;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

int reps = args.Length > 0 ? int.Parse(args[0]) : 100;
TorchRuntime.EnsureReady();
TorchRuntime.SetThreads(2);
torch.manual_seed(0);

var ops = new Dictionary<string, Func<Tensor[], Tensor>>
{
    ["silu"] = x => F.silu(x[0]),
    ["group_norm"] = x => F.group_norm(x[0], 8),
    ["batch_norm"] = x => F.batch_norm(x[0], null, null, training: true),
    ["layer_norm"] = x => F.layer_norm(x[0], new[] { x[0].shape[^1] }),
    ["add"] = x => x[0] + x[1],
    ["cat"] = x => torch.cat(new[] { x[0], x[1] }, 1),
    ["softmax"] = x => x[0].softmax(-1),
    ["bmm"] = x => torch.bmm(x[0], x[1]),
    ["linear"] = x => F.linear(x[0], x[1]),
    ["upsample"] = x => F.interpolate(x[0], scale_factor: new[] { 2.0, 2.0 }, mode: InterpolationMode.Nearest),
    ["relu"] = x => F.relu(x[0]),
    ["leaky_relu"] = x => F.leaky_relu(x[0], 0.2),
    ["gelu"] = x => F.gelu(x[0]),
    ["tanh"] = x => torch.tanh(x[0]),
    ["sigmoid"] = x => torch.sigmoid(x[0]),
    ["logsigmoid"] = x => F.logsigmoid(x[0]),
    ["actnorm"] = x => (x[0] + x[1]) * torch.exp(x[2]),
    ["sum_chw"] = x => x[0].sum(new long[] { 1, 2, 3 }),
    ["mse"] = x => F.mse_loss(x[0], x[1]),
    ["cross_entropy"] = x => F.cross_entropy(x[0], torch.zeros(x[0].shape[0], dtype: ScalarType.Int64)),
    ["bernoulli"] = x => torch.bernoulli(x[0]),
    ["rand_lt"] = x => BernoulliSampling.Sample(x[0]),
    ["randn"] = x => torch.randn_like(x[0]),
    ["dropout"] = x => F.dropout(x[0], 0.1, true),
};

double MedianMs(Action action)
{
    var times = new double[reps];
    for (int i = 0; i < reps; i++)
    {
        using var scope = NewDisposeScope();
        long start = Stopwatch.GetTimestamp();
        action();
        times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }
    Array.Sort(times);
    return times[reps / 2];
}

string specPath = new[] { AppContext.GetData("EntryPointFileDirectoryPath") as string, "bench", "." }
    .Where(d => d is not null).Select(d => Path.Combine(d!, "op_times.json")).FirstOrDefault(File.Exists)
    ?? throw new FileNotFoundException("op_times.json not found: run from the repository root (dotnet run -c Release bench/op_times.cs)");
foreach (var spec in JsonNode.Parse(File.ReadAllText(specPath))!.AsArray())
{
    string name = (string)spec!["name"]!, kind = (string)spec["op"]!;
    bool forwardOnly = spec["forward_only"]?.GetValue<bool>() ?? false;
    var shapes = spec["shapes"]!.AsArray().Select(s => s!.AsArray().Select(d => (long)d!).ToArray()).ToArray();
    var op = ops[kind];
    var xs = shapes.Select(s => kind is "bernoulli" or "rand_lt" ? torch.rand(s) : torch.randn(s).requires_grad_(!forwardOnly)).ToArray();
    var row = new JsonObject { ["impl"] = "gensharp", ["name"] = name };
    row["forward_ms"] = MedianMs(() => { using var _ = torch.no_grad(); op(xs); });
    if (!forwardOnly)
        row["forward_backward_ms"] = MedianMs(() =>
        {
            var y = op(xs);
            y.backward(new[] { torch.ones_like(y) });
            foreach (var x in xs) { x.grad?.Dispose(); x.grad = null; }
        });
    Console.WriteLine(row.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
}
