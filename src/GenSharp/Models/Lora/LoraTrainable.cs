using GenSharp.Data;
using GenSharp.Models.Gpt;
using GenSharp.Training;
using TorchSharp.Modules;

namespace GenSharp.Models.Lora;

/// <summary>
/// A LoRA fine-tune as the <see cref="Trainer"/> sees it: the frozen decoder with adapters runs forward, the loss is the
/// mean next-token cross-entropy over targets that are not <see cref="ChatExamples.Ignore"/>, and only the adapters' A and
/// B are optimized (AdamW, warm-up then cosine decay, gradient clipping). The checkpointed module holds just the
/// adapters, so a checkpoint of a 135M-parameter base is a few MB.
/// </summary>
public sealed class LoraTrainable : ITrainable
{
    readonly DecoderNetwork _network;
    readonly OptimizerSpec _spec;

    /// <param name="network">The decoder with adapters in place (<see cref="LoraAdapters.Apply"/>).</param>
    /// <param name="learningRate">Peak learning rate.</param>
    /// <param name="totalSteps">Steps of the run (the cosine decay ends there).</param>
    public LoraTrainable(DecoderNetwork network, double learningRate, long totalSteps)
    {
        _network = network;
        var adapters = LoraAdapters.Find(network);
        if (adapters.Count == 0) throw new GenSharpException("the model has no adapters to train");
        Model = new AdapterTree(adapters);
        _spec = new OptimizerSpec
        {
            Name = "lora",
            Algorithm = OptimizerAlgorithm.AdamW,
            Groups = new[] { new ParamGroupSpec(LoraAdapters.Parameters(network), 0.0) },
            LearningRate = learningRate,
            Schedule = LrSchedule.WarmupCosine(Math.Min(100, totalSteps / 10), totalSteps, learningRate / 10),
            GradClip = 1.0,
        };
    }

    /// <summary>The adapters' A and B under PEFT's module paths without the prefix (<c>model.layers.0.self_attn.q_proj.lora_A.weight</c>).</summary>
    public nn.Module Model { get; }

    public IReadOnlyList<OptimizerSpec> OptimizerSpecs => new[] { _spec };

    public IEnumerable<LossTerm> TrainStep(Tensor inputs, Tensor targets, StepContext ctx)
    {
        _network.train();
        var logits = _network.Forward(inputs);                                              // (B, T, V)
        var loss = nn.functional.cross_entropy(logits.view(-1, logits.shape[2]), targets.reshape(-1), ignore_index: ChatExamples.Ignore);
        ctx.Log("loss", loss);
        yield return new LossTerm(0, loss);
    }

    /// <summary>Mean cross-entropy (nats/token) over the non-ignored targets of <paramref name="batches"/>, in eval mode.</summary>
    public static double HeldOutLoss(DecoderNetwork network, IEnumerable<(Tensor Inputs, Tensor Targets)> batches)
    {
        using var _ = torch.no_grad();
        network.eval();
        double sum = 0;
        long count = 0;
        var device = network.parameters().First().device;
        foreach (var (x, y) in batches)
        {
            using var scope = torch.NewDisposeScope();
            using (x) using (y)
            {
                var targets = y.to(device).reshape(-1);
                var logits = network.Forward(x.to(device));
                var loss = nn.functional.cross_entropy(logits.view(-1, logits.shape[2]), targets, ignore_index: ChatExamples.Ignore, reduction: nn.Reduction.Sum);
                sum += loss.item<float>();
                count += targets.ne(ChatExamples.Ignore).sum().item<long>();
            }
        }
        return count == 0 ? double.NaN : sum / count;
    }

    /// <summary>
    /// A module whose tensors are the adapters' A and B under their projection's path (nodes per path segment), so the
    /// trainer's checkpoint and resume see only them. It shares the tensors with the network and is never disposed itself.
    /// </summary>
    sealed class AdapterTree : nn.Module
    {
        public AdapterTree(IEnumerable<(string Name, LoraLinear Layer)> adapters) : base(nameof(AdapterTree))
        {
            foreach (var (name, layer) in adapters)
            {
                nn.Module node = this;
                foreach (var segment in name.Split('.')) node = Child(node, segment);
                Child(node, "lora_A").register_parameter("weight", layer.A);
                Child(node, "lora_B").register_parameter("weight", layer.B);
            }
        }

        static nn.Module Child(nn.Module parent, string name)
        {
            foreach (var (n, m) in parent.named_children())
                if (n == name) return m;
            var child = new Node();
            parent.register_module(name, child);
            return child;
        }

        sealed class Node() : nn.Module(nameof(Node));
    }
}
