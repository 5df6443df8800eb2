using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.Classifier;

/// <summary>
/// convs_per_stage × (conv c) → max-pool → convs_per_stage × (conv 2c) → max-pool → dense <c>feature_dim</c> (the feature
/// layer) → dropout → dense classes. 3×3 convolutions with padding 1, each followed by batch norm
/// (optional) and ReLU, so 28×28 inputs become 7×7 maps before the dense layers.
/// </summary>
public sealed class ClassifierNetwork : Module
{
    // Field names are the checkpoint keys (convs.0.weight, to_features.0.weight, head.weight, ...).
    private readonly Sequential convs;
    private readonly Sequential to_features;
    private readonly Dropout dropout;
    private readonly Linear head;

    public ClassifierNetwork(ClassifierConfig c) : base(nameof(ClassifierNetwork))
    {
        int c1 = c.Channels, c2 = 2 * c.Channels, s = c.ImageSize / 4;
        bool bn = c.BatchNorm;
        var layers = new List<Module<Tensor, Tensor>>();
        void Conv(int cin, int cout)
        {
            // A bias before batch norm is cancelled by its mean subtraction, so leave it out.
            layers.Add(Conv2d(cin, cout, 3, padding: 1, bias: !bn));
            if (bn) layers.Add(BatchNorm2d(cout));
            layers.Add(ReLU());
        }
        for (int i = 0; i < c.ConvsPerStage; i++) Conv(i == 0 ? c.ImageChannels : c1, c1);
        layers.Add(MaxPool2d(2));                              // (B, c1, H/2, W/2)
        for (int i = 0; i < c.ConvsPerStage; i++) Conv(i == 0 ? c1 : c2, c2);
        layers.Add(MaxPool2d(2));                              // (B, c2, H/4, W/4)
        layers.Add(Flatten());                                 // (B, c2·H/4·W/4)
        convs = Sequential(layers);
        to_features = bn
            ? Sequential(Linear(c2 * s * s, c.FeatureDim, hasBias: false), BatchNorm1d(c.FeatureDim), ReLU())
            : Sequential(Linear(c2 * s * s, c.FeatureDim), ReLU());   // (B, feature_dim)
        dropout = Dropout(c.Dropout);
        head = Linear(c.FeatureDim, c.NumClasses);                    // (B, classes)
        RegisterComponents();
    }

    /// <summary>Penultimate activations (after the ReLU, before dropout), (B, feature_dim).</summary>
    public Tensor Features(Tensor x01) => to_features.forward(convs.forward(x01));

    /// <summary>Class logits (B, classes) and the features they came from (B, feature_dim).</summary>
    public (Tensor Logits, Tensor Features) Forward(Tensor x01)
    {
        var f = Features(x01);
        return (head.forward(dropout.forward(f)), f);
    }
}
