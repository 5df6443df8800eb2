using GenSharp.Data;
using GenSharp.Models.Audio;
using GenSharp.Runtime;
using GenSharp.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>
/// A model that runs its convolutions natively (<see cref="ITrainable.NativeConvolutions"/>: WaveNet) inside a process
/// that chose oneDNN. libtorch's flag is global, so these tests run alone (the Console collection): a scope opened by
/// a test running beside them would turn the flag off under their feet.
/// </summary>
[Collection("Console")]
public sealed class ConvolutionBackendTests
{
    [Fact]
    public void NativeScopesNestAndGiveTheProcessItsChoiceBack()
    {
        bool chosen = TorchRuntime.OneDnnConvolutions;
        try
        {
            foreach (var choice in new[] { true, false })
            {
                TorchRuntime.SetOneDnnConvolutions(choice);
                Assert.Equal(choice, TorchRuntime.OneDnnFlag);
                var outer = TorchRuntime.NativeConvolutions();
                Assert.False(TorchRuntime.OneDnnFlag);
                using (TorchRuntime.NativeConvolutions()) Assert.False(TorchRuntime.OneDnnFlag);
                Assert.False(TorchRuntime.OneDnnFlag);                      // the outer scope still holds
                Assert.Equal(choice, TorchRuntime.OneDnnConvolutions);      // the choice is not the flag
                TorchRuntime.SetOneDnnConvolutions(choice);                 // choosing inside a scope waits for its end
                Assert.False(TorchRuntime.OneDnnFlag);
                outer.Dispose();
                outer.Dispose();                                            // twice is once
                Assert.Equal(choice, TorchRuntime.OneDnnFlag);
            }
        }
        finally { TorchRuntime.SetOneDnnConvolutions(chosen); }
    }

    [Fact]
    public void WaveNetStepsNativelyInAProcessThatChoseOneDnn()
    {
        bool chosen = TorchRuntime.OneDnnConvolutions;
        try
        {
            TorchRuntime.SetOneDnnConvolutions(true);
            var config = new WaveNetConfig
            {
                Layers = 4, DilationCycle = 3, ResidualChannels = 8, GateChannels = 8, SkipChannels = 16, ConditionChannels = 8,
                Mels = 10, NFft = 64, Hop = 16, SampleLength = 160, Conditioning = WaveNetConditioning.Mel,
            };
            TorchRuntime.Seed(5);
            using var model = new WaveNetModel(config, CPU);
            // Its weights keep libtorch's default layout even where every other family's go channels-last.
            foreach (var (_, m) in model.Model.named_modules())
                if (m is TorchSharp.Modules.Convolution conv && conv.weight!.shape[2] > 1)
                    Assert.False(ConvolutionLayout.IsChannelsLast(conv.weight!), "a WaveNet weight was made channels-last");
            Assert.True(model.NativeConvolutions);
        }
        finally { TorchRuntime.SetOneDnnConvolutions(chosen); }
    }

    /// <summary>Records libtorch's flag before its loss is handed over and after the trainer's backward and step.</summary>
    sealed class Recorder(bool native) : ITrainable
    {
        readonly nn.Module<Tensor, Tensor> _net = nn.Linear(3, 1);
        public readonly List<bool> Flags = new();
        public nn.Module Model => _net;
        public bool NativeConvolutions => native;
        public IReadOnlyList<OptimizerSpec> OptimizerSpecs =>
            new[] { OptimizerSpec.Single("r", OptimizerAlgorithm.Adam, _net.parameters(), 1e-3) };
        public IEnumerable<LossTerm> TrainStep(Tensor inputs, Tensor targets, StepContext ctx)
        {
            Flags.Add(TorchRuntime.OneDnnFlag);
            var loss = _net.forward(inputs).square().mean();
            ctx.Log("loss", loss);
            yield return new LossTerm(0, loss);
            Flags.Add(TorchRuntime.OneDnnFlag);                               // after backward and the optimizer step
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TheTrainerHoldsTheModelsBackendOverTheWholeStep(bool native)
    {
        bool chosen = TorchRuntime.OneDnnConvolutions;
        try
        {
            TorchRuntime.SetOneDnnConvolutions(true);
            var model = new Recorder(native);
            using var runner = new StepRunner(model);
            using var scope = NewDisposeScope();
            runner.Step(torch.ones(4, 3), torch.zeros(4));
            Assert.Equal(new[] { !native, !native }, model.Flags);
            Assert.True(TorchRuntime.OneDnnFlag);
        }
        finally { TorchRuntime.SetOneDnnConvolutions(chosen); }
    }
}
