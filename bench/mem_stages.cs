#:project ../src/GenSharp/GenSharp.csproj
#:property Optimize=true
// Resident memory of a text model folder by stage (runtime, loaded, first logits, KV-cache prefill, 32 decoding steps,
// one generation through TextGenerator), read off /proc/self/status: VmRSS, its peak VmHWM, and the anonymous and
// file-backed parts; beside them the managed heap and glibc's own counts (mallinfo2: heap arenas, mmapped blocks, bytes in
// use and free). What docs/benchmarks.md "Resident memory while generating" breaks down.
//
//   MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 dotnet run -c Release bench/mem_stages.cs -- FOLDER
using GenSharp.Runtime;
using GenSharp.Sampling;
using TorchSharp;

if (args.Length != 1) { Console.Error.WriteLine("usage: dotnet run -c Release bench/mem_stages.cs -- MODEL_FOLDER"); return 2; }
string Status()
{
    var wanted = new[] { "VmRSS", "VmHWM", "RssAnon", "RssFile" };
    return string.Join("  ", File.ReadLines("/proc/self/status").Select(l => l.Split(':', 2)).Where(p => wanted.Contains(p[0]))
        .Select(p => $"{p[0]} {long.Parse(p[1].Trim().Split(' ')[0]) / 1024} MB"));
}
void Stage(string name)
{
    var gc = GC.GetGCMemoryInfo();
    var m = mallinfo2();
    Console.WriteLine($"{name,-22}{Status()}  managed heap {gc.HeapSizeBytes >> 20} MB (committed {gc.TotalCommittedBytes >> 20} MB)  malloc: arena {m.arena >> 20} MB, mmap {m.hblkhd >> 20} MB, in use {m.uordblks >> 20} MB, free {m.fordblks >> 20} MB");
}
[System.Runtime.InteropServices.DllImport("libc")] static extern MallInfo2 mallinfo2();

Stage("start");
TorchRuntime.EnsureReady();
TorchRuntime.SetThreads(2);
Stage("runtime");
using var loaded = GenSharp.Checkpoints.Checkpoint.LoadTextModel(args[0], torch.CPU);
Stage("loaded");
using (torch.no_grad())
{
    var lm = loaded.Model;
    using (var t = torch.randint(0, lm.VocabSize, new long[] { 1, 15 })) lm.Logits(t).Dispose();
    Stage("logits of 15 tokens");
    using var cache = lm.CreateCache();
    using (var t = torch.randint(0, lm.VocabSize, new long[] { 1, 15 })) lm.Logits(t, cache, lastOnly: true).Dispose();
    Stage("prefill into a cache");
    for (int i = 0; i < 32; i++) using (var t = torch.randint(0, lm.VocabSize, new long[] { 1, 1 })) lm.Logits(t, cache, lastOnly: true).Dispose();
    Stage("32 decoding steps");
}
new TextGenerator(loaded.Model, loaded.Tokenizer).Generate(new[] { "First Citizen: Before we proceed any further, hear me speak." },
    new GenerationOptions { MaxNewTokens = 32, Temperature = 0, IgnoreEos = true });
Stage("a generation");
return 0;

#pragma warning disable CS0649   // filled by the native call
struct MallInfo2 { public nuint arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost; }
