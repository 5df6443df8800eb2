namespace GenSharp.Training;

/// <summary>The optimisation algorithm of an <see cref="OptimizerSpec"/>; each maps to libtorch's own implementation.</summary>
public enum OptimizerAlgorithm
{
    /// <summary>Adam (Kingma &amp; Ba 2015); weight decay, if any, is added to the gradient (L2).</summary>
    Adam,
    /// <summary>AdamW (Loshchilov &amp; Hutter 2019): decoupled weight decay.</summary>
    AdamW,
    /// <summary>SGD with (optional) momentum; weight decay is L2 added to the gradient.</summary>
    Sgd,
}
