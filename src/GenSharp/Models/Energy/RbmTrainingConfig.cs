namespace GenSharp.Models.Energy;

/// <summary>
/// Training settings every RBM shares, alone (<see cref="RbmConfig"/>) or as a layer of a deep belief net
/// (<see cref="DbnConfig"/>): CD-k or persistent CD, SGD + momentum, L2 weight decay on the weights.
/// </summary>
public abstract record RbmTrainingConfig : ImageFamilyConfig
{
    /// <summary>k, Gibbs sweeps of the negative phase per update (CD-k; with persistent the sweeps per update of the fantasy particles).</summary>
    public int CdSteps { get; init; } = 1;
    /// <summary>
    /// Persistent contrastive divergence (Tieleman 2008): the negative chains carry over between updates.
    /// Use it with little or no momentum (e.g. <c>momentum=0</c>, <c>learning_rate=0.01</c>): with momentum 0.9 the
    /// fantasy particles and the weights oscillate (free-energy gap swinging by ±100 nats on Fashion-MNIST) and the
    /// model collapses onto a few modes.
    /// </summary>
    public bool Persistent { get; init; } = false;
    /// <summary>Fantasy particles of PCD (ignored unless persistent).</summary>
    public int PersistentChains { get; init; } = 100;
    /// <summary>SGD learning rate.</summary>
    public double LearningRate { get; init; } = 0.01;
    /// <summary>SGD momentum (0.9 suits CD-k; see <see cref="Persistent"/> for PCD).</summary>
    public double Momentum { get; init; } = 0.9;
    /// <summary>L2 weight decay on W (not on the biases), applied by SGD.</summary>
    public double WeightDecay { get; init; } = 1e-4;
    /// <summary>Standard deviation of the initial weights.</summary>
    public double InitStd { get; init; } = 0.01;
    /// <summary>Gibbs sweeps of <c>sample</c>: chains start from the training pixel means and the grid shows p(v | h) of the last sweep.</summary>
    public int SampleSteps { get; init; } = 1000;

    /// <summary>V = channels × size².</summary>
    public int Visible => ImageChannels * ImageSize * ImageSize;

    public override void Validate()
    {
        base.Validate();
        RequireIn(CdSteps, "cd_steps", 1, 10_000);
        RequireIn(PersistentChains, "persistent_chains", 1, 100_000);
        Require(LearningRate > 0 && LearningRate < 10, "learning_rate", "in (0, 10)", LearningRate);
        Require(Momentum >= 0 && Momentum < 1, "momentum", "in [0, 1)", Momentum);
        Require(WeightDecay >= 0 && WeightDecay < 1, "weight_decay", "in [0, 1)", WeightDecay);
        Require(InitStd > 0 && InitStd <= 1, "init_std", "in (0, 1]", InitStd);
        RequireIn(SampleSteps, "sample_steps", 1, 1_000_000);
    }
}
